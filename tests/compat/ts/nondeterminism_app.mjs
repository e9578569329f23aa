// Functions written with the official TypeScript SDK whose steps change between calls (a call counter
// stands for a deploy in between), for `tests/integration/test_nondeterminism_official.py`: what the wire
// shows of non-determinism. Configured by INNGEST_DEV (the engine's URL) and PORT; COMPAT_CHECKPOINTING=0
// serves the classic protocol.

import http from "node:http";
import { Inngest } from "inngest";
import { serve } from "inngest/node";

const env = process.env;
const inngest = new Inngest({ id: "drift-ts", checkpointing: env.COMPAT_CHECKPOINTING !== "0" });
const calls = { renamed: 0, kind: 0 };

// Call 1 plans two parallel steps; every later call names them differently, so the targeted step is gone.
const renamed = inngest.createFunction(
  { id: "renamed", retries: 0, triggers: [{ event: "drift/renamed" }] },
  async ({ step }) => {
    calls.renamed += 1;
    const n = calls.renamed;
    await Promise.all([step.run(`a-${n}`, () => "a"), step.run(`b-${n}`, () => "b")]);
    return "ok";
  },
);

// Call 1 plans `x` as a step.run; later calls reach `x` as a sleep.
const kind = inngest.createFunction(
  { id: "kind", retries: 0, triggers: [{ event: "drift/kind" }] },
  async ({ step }) => {
    calls.kind += 1;
    if (calls.kind === 1) {
      // found together: `x` is planned (then targeted alone), `y` sleeps
      await Promise.all([step.run("x", () => "x"), step.sleep("y", "1h")]);
    } else {
      await step.sleep("x", "1h");
    }
    return "ok";
  },
);

const handler = serve({ client: inngest, functions: [renamed, kind] });
const server = http.createServer(async (req, res) => {
  if (req.url.startsWith("/api/inngest")) return handler(req, res);
  res.writeHead(req.url === "/health" ? 200 : 404, { "content-type": "application/json" });
  res.end("{}");
});
server.listen(Number(env.PORT), "127.0.0.1");
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
