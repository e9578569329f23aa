// The compatibility suite's app, written with the official Inngest TypeScript SDK (`inngest` 4.24.0).
//
// Served with Node's own `http` server and `inngest/node`'s `serve`, configured only by environment
// variables: the SDK's own (INNGEST_DEV, INNGEST_BASE_URL, INNGEST_SIGNING_KEY, INNGEST_EVENT_KEY, …)
// and the suite's (PORT, COMPAT_APP_ID, COMPAT_LOG: a file each step body appends a `<token> <label>`
// line to, COMPAT_FUNCTIONS: the function ids to serve (default all), COMPAT_LOSSY_URL: an event API
// that loses its first answer, COMPAT_CHECKPOINTING=0: the classic protocol instead of checkpoints).
// `tests/compat/py_app.py` implements the same functions with the Python SDK.
//
// `POST /send {"events": [...], "lossy": bool}` sends events with the SDK's own `inngest.send`.
//
// The client's middleware notes `<order_token> after_send_events` when a send of an event carrying
// `data.order_token` has returned, and `<order_token> transform_input` when a function called for such
// an event starts: the order the official SDKs' own tests expect is send first, then the function.

import fs from "node:fs";
import http from "node:http";
import { Inngest, Middleware, NonRetriableError, RetryAfterError } from "inngest";
import { serve } from "inngest/node";

const env = process.env;
const APP_ID = env.COMPAT_APP_ID ?? "compat-ts";
const LOG = env.COMPAT_LOG ?? "compat.log";
const checkpointing = env.COMPAT_CHECKPOINTING !== "0";
const ORIGIN = `http://127.0.0.1:${env.PORT}`;

const note = (token, label) => fs.appendFileSync(LOG, `${token} ${label}\n`);

class OrderMiddleware extends Middleware.BaseMiddleware {
  id = "compat-order";

  async wrapSendEvent({ events, next }) {
    const output = await next();
    for (const event of events) {
      if (event.data?.order_token !== undefined) note(event.data.order_token, "after_send_events");
    }
    return output;
  }

  transformFunctionInput(arg) {
    const token = arg.ctx.event.data?.order_token;
    if (token !== undefined) note(token, "transform_input");
    return arg;
  }
}

const inngest = new Inngest({ id: APP_ID, checkpointing, middleware: [OrderMiddleware] });
const lossyClient = env.COMPAT_LOSSY_URL
  ? new Inngest({ id: APP_ID, checkpointing, baseUrl: env.COMPAT_LOSSY_URL })
  : null;
const logText = () => (fs.existsSync(LOG) ? fs.readFileSync(LOG, "utf8") : "");
const attempts = (token, label) => logText().split("\n").filter((line) => line === `${token} ${label}`).length;
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const multiStep = inngest.createFunction(
  { id: "multi-step", triggers: [{ event: "compat/multi-step" }] },
  async ({ event, step }) => {
    const token = event.data.token;
    const a = await step.run("a", () => (note(token, "a"), 1));
    const b = await step.run("b", () => (note(token, "b"), a + 1));
    await step.sleep("nap", "1s");
    const c = await step.run("c", () => (note(token, "c"), a + b));
    return { sum: a + b + c, token };
  },
);

// A step called with arguments: the SDK sends them as the step's input (`opts.input`), which the dashboard
// shows and a rerun from that step may change.
const withInput = inngest.createFunction(
  { id: "with-input", triggers: [{ event: "compat/with-input" }] },
  async ({ event, step }) => {
    const doubled = await step.run("double", (n) => n * 2, event.data.n);
    return { doubled };
  },
);

const sleeper = inngest.createFunction(
  { id: "sleeper", triggers: [{ event: "compat/sleep" }] },
  async ({ event, step }) => {
    await step.sleep("nap", `${event.data.seconds}s`);
    return "rested";
  },
);

const sleeperUntil = inngest.createFunction(
  { id: "sleeper-until", triggers: [{ event: "compat/sleep-until" }] },
  async ({ event, step }) => {
    await step.sleepUntil("nap", new Date(event.data.until));
    return "woke";
  },
);

const waiter = inngest.createFunction(
  { id: "waiter", triggers: [{ event: "compat/wait" }] },
  async ({ step }) => {
    const got = await step.waitForEvent("approval", {
      event: "compat/approve",
      if: "async.data.id == event.data.id",
      timeout: "1h",
    });
    return got ? got.data : null;
  },
);

const child = inngest.createFunction(
  { id: "child", triggers: [{ event: "compat/child" }] },
  async ({ event }) => ({ doubled: event.data.n * 2 }),
);

const failingChild = inngest.createFunction(
  { id: "failing-child", triggers: [{ event: "compat/failing-child" }], retries: 0 },
  async () => {
    throw new Error("child broke");
  },
);

const slowChild = inngest.createFunction(
  { id: "slow-child", triggers: [{ event: "compat/slow-child" }] },
  async ({ step }) => {
    await step.waitForEvent("never", { event: "compat/never", timeout: "1d" });
    return "late";
  },
);

// No triggers: only `step.invoke` starts it.
const invokeOnly = inngest.createFunction({ id: "invoke-only" }, async ({ event }) => ({ tripled: event.data.n * 3 }));

const targets = { child, failing: failingChild, slow: slowChild, "invoke-only": invokeOnly };

const parent = inngest.createFunction(
  { id: "parent", triggers: [{ event: "compat/parent" }] },
  async ({ event, step }) => {
    try {
      const result = await step.invoke("call", {
        function: targets[event.data.target],
        data: { n: 21 },
        timeout: "30m",
      });
      return { result };
    } catch (err) {
      return { error: { name: err.name, message: err.message } };
    }
  },
);

const fanOut = inngest.createFunction(
  { id: "fan-out", triggers: [{ event: "compat/fan-out" }] },
  async ({ event, step }) => {
    const events = [1, 2].map((n) => ({ name: "compat/fanned", data: { token: event.data.token, n } }));
    return await step.sendEvent("announce", events);
  },
);

const fanned = inngest.createFunction(
  { id: "fanned", triggers: [{ event: "compat/fanned" }] },
  async ({ event }) => ({ got: event.data.n }),
);

const parallel = inngest.createFunction(
  { id: "parallel", triggers: [{ event: "compat/parallel" }] },
  async ({ event, step }) => {
    const token = event.data.token;
    const branch = async (n) => {
      // p0 finishes after p1, which finishes after p2: the reverse of the order they are declared in.
      for (let i = 0; i < 500 && n < 2 && attempts(token, `p${n + 1} done`) === 0; i++) await pause(20);
      note(token, `p${n} done`);
      return n * 10;
    };
    const results = await Promise.all([0, 1, 2].map((n) => step.run(`p${n}`, () => branch(n))));
    const total = await step.run("after", () => results.reduce((a, b) => a + b, 0)); // a plain step after the group
    return [...results, total];
  },
);

const parallelWait = inngest.createFunction(
  { id: "parallel-wait", triggers: [{ event: "compat/parallel-wait" }] },
  async ({ event, step }) => {
    const token = event.data.token;
    const [worked, signal] = await Promise.all([
      step.run("work", () => (note(token, "work"), "worked")),
      step.waitForEvent("signal", {
        event: "compat/signal",
        if: "async.data.token == event.data.token",
        timeout: "1h",
      }),
    ]);
    return [worked, signal ? signal.data.n : null];
  },
);

const race = inngest.createFunction(
  { id: "race", triggers: [{ event: "compat/race" }] },
  async ({ event, step, group }) => {
    const token = event.data.token;
    const winner = await group.parallel({ mode: "race" }, () =>
      Promise.race([
        step.run("fast", () => (note(token, "fast done"), "fast")),
        step.run("slow", async () => {
          for (let i = 0; i < 500 && attempts(token, "fast done") === 0; i++) await pause(20); // finishes after `fast`
          note(token, "slow done");
          return "slow";
        }),
      ]),
    );
    return [winner];
  },
);

const bounded = inngest.createFunction(
  { id: "bounded", triggers: [{ event: "compat/bounded" }], timeouts: { finish: "10m" } },
  async ({ step }) => {
    await step.waitForEvent("never", { event: "compat/never", timeout: "1h" });
    return "finished";
  },
);

// With checkpoints, the first two steps are checkpointed together (`bufferedSteps: 2`) and the third
// comes back in the same answer as `RunComplete`.
const threeSteps = inngest.createFunction(
  {
    id: "three-steps",
    triggers: [{ event: "compat/three-steps" }],
    checkpointing: checkpointing ? { bufferedSteps: 2 } : false,
  },
  async ({ event, step }) => {
    const token = event.data.token;
    const values = [];
    for (const [n, value] of [[1, 1], [2, undefined], [3, 3]]) {
      values.push(await step.run(`s${n}`, () => (note(token, `s${n}`), value)));
    }
    return { values: values.map((v) => v ?? null) };
  },
);

// With checkpoints, a step that outlasts `maxRuntime` makes the SDK hand the rest back to the engine.
const slowStep = inngest.createFunction(
  {
    id: "slow-step",
    triggers: [{ event: "compat/slow-step" }],
    checkpointing: checkpointing ? { maxRuntime: 300 } : false,
  },
  async ({ event, step }) => {
    const token = event.data.token;
    const slow = await step.run("slow", async () => (note(token, "slow"), await pause(600), "slow"));
    const after = await step.run("after", () => (note(token, "after"), "after"));
    return [slow, after];
  },
);

const flaky = inngest.createFunction(
  { id: "flaky", triggers: [{ event: "compat/flaky" }], retries: 2 },
  async ({ event, step }) => {
    const token = event.data.token;
    return await step.run("maybe", () => {
      note(token, "attempt");
      const count = attempts(token, "attempt");
      if (count < 3) throw new Error(`failure ${count}`);
      return "ok";
    });
  },
);

const flakyFn = inngest.createFunction(
  { id: "flaky-fn", triggers: [{ event: "compat/flaky-fn" }], retries: 2 },
  async ({ event, attempt }) => {
    const token = event.data.token;
    if (attempts(token, "called") === 0) {
      note(token, "called");
      throw new Error("the function itself failed");
    }
    return { attempt };
  },
);

const filtered = inngest.createFunction(
  { id: "filtered", triggers: [{ event: "compat/filtered", if: "event.data.amount > 100" }] },
  async ({ event }) => ({ amount: event.data.amount }),
);

const wildcard = inngest.createFunction(
  { id: "wildcard", triggers: [{ event: "compat/wild.*" }] },
  async ({ event }) => ({ name: event.name }),
);

const retryAfter = inngest.createFunction(
  { id: "retry-after", triggers: [{ event: "compat/retry-after" }], retries: 2 },
  async ({ event, step }) => {
    const token = event.data.token;
    return await step.run("later", () => {
      note(token, "attempt");
      if (attempts(token, "attempt") === 1) throw new RetryAfterError("not yet", `${event.data.seconds}s`);
      return "ok";
    });
  },
);

const nonRetriable = inngest.createFunction(
  { id: "non-retriable", triggers: [{ event: "compat/non-retriable" }], retries: 3 },
  async ({ event, step }) => {
    return await step.run("refuse", () => {
      note(event.data.token, "attempt");
      throw new NonRetriableError("no point retrying");
    });
  },
);

const doomed = inngest.createFunction(
  {
    id: "doomed",
    triggers: [{ event: "compat/doomed" }],
    retries: 0,
    onFailure: async ({ event, error }) => ({ failed_run: event.data.run_id, message: error.message }),
  },
  async () => {
    throw new Error("doomed to fail");
  },
);

const cancellable = inngest.createFunction(
  {
    id: "cancellable",
    triggers: [{ event: "compat/cancellable" }],
    cancelOn: [{ event: "compat/cancel", if: "async.data.id == event.data.id" }],
  },
  async ({ step }) => {
    await step.waitForEvent("forever", { event: "compat/never", timeout: "1d" });
    return "not cancelled";
  },
);

const ticker = inngest.createFunction(
  { id: "ticker", triggers: [{ cron: "0 * * * *" }] },
  async ({ event }) => ({ event: event.name }),
);

const bigSteps = inngest.createFunction(
  { id: "big-steps", triggers: [{ event: "compat/big-steps" }] },
  async ({ event, step }) => {
    const blobs = [];
    for (const n of [0, 1, 2, 3, 4]) blobs.push(await step.run(`blob-${n}`, () => String(n).repeat(event.data.size)));
    await step.sleep("rest", "1s"); // a call after the blobs: over the inline limit
    return { sizes: blobs.map((b) => b.length), digits: blobs.map((b) => b.slice(0, 1)) };
  },
);

const bigEvent = inngest.createFunction(
  { id: "big-event", triggers: [{ event: "compat/big-event" }] },
  async ({ event, events, step }) => {
    const length = await step.run("measure", () => event.data.blob.length);
    return { length, events: events.length };
  },
);

const lossy = inngest.createFunction(
  { id: "lossy", triggers: [{ event: "compat/lossy" }] },
  async ({ event }) => ({ token: event.data.token }),
);

// The engine makes this request (a `Gateway` op), here to the app's own fake model.
const gateway = inngest.createFunction(
  { id: "gateway", triggers: [{ event: "compat/gateway" }] },
  async ({ step }) => {
    const response = await step.fetch(`${ORIGIN}/ai/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "hi" }] }),
    });
    return await response.json();
  },
);

const signalled = inngest.createFunction(
  { id: "signalled", triggers: [{ event: "compat/signalled" }] },
  async ({ event, step }) => {
    const token = event.data.token;
    const got = await step.waitForSignal("approval", { signal: `approve-${token}`, timeout: "1h", onConflict: "fail" });
    return await step.run("after", () => (note(token, "after"), got));
  },
);

const signaller = inngest.createFunction(
  { id: "signaller", triggers: [{ event: "compat/signaller" }] },
  async ({ event, step }) => {
    const sent = await step.sendSignal("send", { signal: `approve-${event.data.token}`, data: { by: "ts" } });
    return { runId: sent.runId ?? null };
  },
);

const batched = inngest.createFunction(
  { id: "batched", triggers: [{ event: "compat/batched" }], batchEvents: { maxSize: 5, timeout: "5s" } },
  async ({ events }) => ({ events: events.length }),
);

const limited = inngest.createFunction(
  { id: "limited", triggers: [{ event: "compat/limited" }], concurrency: { limit: 2, key: "event.data.user" } },
  async ({ event }) => ({ user: event.data.user }),
);

const rateLimited = inngest.createFunction(
  {
    id: "rate-limited",
    triggers: [{ event: "compat/rate-limited" }],
    rateLimit: { limit: 1, period: "1h", key: "event.data.token" },
  },
  async ({ event }) => ({ token: event.data.token }),
);

const debounced = inngest.createFunction(
  { id: "debounced", triggers: [{ event: "compat/debounced" }], debounce: { period: "5m", key: "event.data.token" } },
  async ({ event }) => ({ n: event.data.n }),
);

const throttled = inngest.createFunction(
  { id: "throttled", triggers: [{ event: "compat/throttled" }], throttle: { limit: 1, period: "1m", key: "event.data.token" } },
  async ({ event }) => ({ n: event.data.n }),
);

const idempotent = inngest.createFunction(
  { id: "idempotent", triggers: [{ event: "compat/idempotent" }], idempotency: "event.data.token" },
  async ({ event }) => ({ n: event.data.n }),
);

const single = inngest.createFunction(
  { id: "single", triggers: [{ event: "compat/single" }], singleton: { key: "event.data.token", mode: "skip" } },
  async ({ event, step }) => {
    const got = await step.waitForEvent("release", {
      event: "compat/release",
      if: "async.data.token == event.data.token",
      timeout: "1h",
    });
    return { n: event.data.n, released: got !== null };
  },
);

const functions = [
  multiStep,
  withInput,
  sleeper,
  sleeperUntil,
  waiter,
  child,
  failingChild,
  slowChild,
  invokeOnly,
  parent,
  fanOut,
  fanned,
  parallel,
  parallelWait,
  race,
  bounded,
  threeSteps,
  slowStep,
  flaky,
  flakyFn,
  filtered,
  wildcard,
  retryAfter,
  nonRetriable,
  doomed,
  cancellable,
  ticker,
  bigSteps,
  bigEvent,
  lossy,
  gateway,
  signalled,
  signaller,
  batched,
  limited,
  rateLimited,
  debounced,
  throttled,
  idempotent,
  single,
];
const served = env.COMPAT_FUNCTIONS ? env.COMPAT_FUNCTIONS.split(",") : null;
const handler = serve({
  client: inngest,
  functions: functions.filter((fn) => !served || served.includes(fn.opts.id)),
});

const readBody = (req) =>
  new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });

const answer = (res, status, body) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

const server = http.createServer(async (req, res) => {
  if (req.url.startsWith("/api/inngest")) return handler(req, res);
  if (req.url === "/health") return answer(res, 200, { status: "ok" });
  if (req.url === "/ai/chat/completions") {
    // The engine makes this request (`step.fetch`) with the function's method, headers and body.
    const body = req.method === "POST" ? JSON.parse(await readBody(req)) : null;
    if (req.headers["content-type"] !== "application/json" || body?.messages?.[0]?.content !== "hi") {
      return answer(res, 400, { error: "not the request the function made" });
    }
    return answer(res, 200, { choices: [{ message: { role: "assistant", content: "hello" } }] });
  }
  if (req.url === "/send" && req.method === "POST") {
    try {
      const body = JSON.parse(await readBody(req));
      const sender = body.lossy ? lossyClient : inngest;
      return answer(res, 200, await sender.send(body.events));
    } catch (err) {
      return answer(res, 500, { error: String(err) });
    }
  }
  return answer(res, 404, { error: "not found" });
});
server.listen(Number(env.PORT), "127.0.0.1");
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
