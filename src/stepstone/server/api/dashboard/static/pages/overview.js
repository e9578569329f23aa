// The Metrics page (`/overview`; `/metrics` is Prometheus's): runs started, completed and failed per bucket,
// the failure rate, the backlog, queue latency p50/p95 and step durations per function, over the last hour or
// day, from `GET /v1/stats`. A function's page shows the same for that function, smaller (`activity`). Both
// refresh every 10 seconds; the window is in the address (`?window=24h`).

import { h, replace } from "../dom.js";
import { get } from "../api.js";
import { duration, spanBar, timeChart } from "../chart.js";
import { fnLink, poll, title } from "../ui.js";

const WINDOWS = {"1h": {label: "Last hour", per: "minute", every: 10}, "24h": {label: "Last day", per: "15 minutes",
  every: 16}};
const REFRESH_MS = 10_000;

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const percent = (rate) => (rate === null || rate === undefined ? "no run ended" : `${(rate * 100).toFixed(1)}%`);

// "12 started, 9 completed, 3 failed, 0 cancelled": the words the page and its tests read.
export function summary(totals) {
  return `${totals.started} started, ${totals.completed} completed, ${totals.failed} failed, `
    + `${totals.cancelled} cancelled`;
}

function facts(data, compact = false) {
  const t = data.totals;
  const latency = t.queue_latency_p50_ms === null ? "no run started"
    : `p50 ${duration(t.queue_latency_p50_ms)}, p95 ${duration(t.queue_latency_p95_ms)}`;
  if (compact) {
    return h("p", {class: "stats-facts"}, h("span", {class: "stats-summary"}, summary(t)),
      ` · failure rate ${percent(t.failure_rate)} · backlog ${t.backlog} now (at most ${t.backlog_max})`
      + ` · queue latency ${latency}`);
  }
  return h("dl", {class: "facts stats-facts"},
    h("dt", {}, "Runs"), h("dd", {class: "stats-summary"}, summary(t)),
    h("dt", {}, "Failure rate"), h("dd", {}, percent(t.failure_rate)),
    h("dt", {}, "Backlog"), h("dd", {}, `${plural(t.backlog, "run")} waiting now (at most ${t.backlog_max})`),
    h("dt", {}, "Queue latency"), h("dd", {}, latency));
}

function runsChart(data, win, height = 150) {
  const t = data.totals;
  return timeChart({
    height,
    title: `Runs per ${win.per}`,
    buckets: data.buckets,
    bars: [{key: "completed", label: "Completed", cls: "s-ok"}, {key: "failed", label: "Failed", cls: "s-bad"},
      {key: "cancelled", label: "Cancelled", cls: "s-muted"}],
    lines: [{key: "started", label: "Started", cls: "s-accent"}],
    summary: `${summary(t)}; failure rate ${percent(t.failure_rate)}`,
    every: win.every,
  });
}

function backlogChart(data, win) {
  return timeChart({
    title: "Backlog",
    buckets: data.buckets,
    lines: [{key: "backlog", label: "Waiting runs", cls: "s-warn"}],
    summary: `${plural(data.totals.backlog, "run")} waiting now, at most ${data.totals.backlog_max}`,
    every: win.every,
  });
}

function latencyChart(data, win) {
  const t = data.totals;
  return timeChart({
    title: "Queue latency",
    buckets: data.buckets,
    lines: [{key: "queue_latency_p95_ms", label: "p95", cls: "s-bad"},
      {key: "queue_latency_p50_ms", label: "p50", cls: "s-accent"}],
    format: duration,
    floor: 10,
    summary: t.queue_latency_p50_ms === null ? "no run started"
      : `from a run's creation to its first call: p50 ${duration(t.queue_latency_p50_ms)}, `
        + `p95 ${duration(t.queue_latency_p95_ms)}`,
    every: win.every,
  });
}

function stepsTable(steps) {
  if (!steps.length) return h("p", {class: "muted"}, "No step finished in this window.");
  const max = Math.max(...steps.map((row) => row.duration_p95_ms));
  return h("table", {class: "table steps-table"},
    h("caption", {class: "visually-hidden"}, "Step durations per function"),
    h("thead", {}, h("tr", {}, ["Function", "Steps", "p50", "p95", "Durations"]
      .map((name) => h("th", {scope: "col"}, name)))),
    h("tbody", {}, steps.map((row) => h("tr", {"data-function": row.function_id},
      h("th", {scope: "row"}, fnLink(row.function_id)),
      h("td", {}, String(row.steps)),
      h("td", {}, duration(row.duration_p50_ms)),
      h("td", {}, duration(row.duration_p95_ms)),
      h("td", {}, spanBar(row.duration_p50_ms, row.duration_p95_ms, max))))));
}

function windowToggle(current, onPick) {
  return h("div", {class: "window-toggle", role: "group", "aria-label": "Time window"},
    Object.entries(WINDOWS).map(([key, win]) => h("button", {
      type: "button", "aria-pressed": key === current ? "true" : "false", "data-window": key,
      onclick: () => onPick(key),
    }, win.label)));
}

function windowOf(params) {
  const asked = params && params.get("window");
  return WINDOWS[asked] ? asked : "1h";
}

// A refreshing panel of charts: the whole page's, or (`functionId`) one function's smaller one.
function panel(params, functionId, draw) {
  let current = windowOf(params);
  const body = h("div", {class: "stats-body", "aria-busy": "true"});
  const toggle = h("div", {});
  let asked = 0;
  async function load() {
    const mine = ++asked;
    const data = (await get("/v1/stats", {window: current, function_id: functionId})).data;
    if (mine !== asked) return;  // a later request (another window, or the next refresh) draws instead
    replace(body, draw(data, WINDOWS[current]));
    body.setAttribute("aria-busy", "false");
    body.dataset.window = current;
  }
  function pick(key) {
    current = key;
    const url = new URL(location.href);
    url.searchParams.set("window", key);
    history.replaceState(null, "", url.pathname + url.search);
    replace(toggle, windowToggle(current, pick));
    load().catch(() => { /* shown as a toast */ });
  }
  replace(toggle, windowToggle(current, pick));
  return {toggle, body, load, stop: poll(load, REFRESH_MS)};
}

export async function render(container, _params, search) {
  const view = panel(search, null, (data, win) => [
    facts(data),
    h("div", {class: "chart-grid-2"}, runsChart(data, win), backlogChart(data, win), latencyChart(data, win)),
    h("h2", {}, "Step durations"),
    h("p", {class: "muted"}, "step.run steps that finished in the window, from when each was scheduled to when "
      + "its result was stored (retries included)."),
    stepsTable(data.steps),
  ]);
  try {
    await view.load();
  } catch (err) {
    view.stop();
    throw err;
  }
  replace(container, title("Metrics"),
    h("p", {class: "muted"}, "Every engine sharing this database, computed from the runs and steps it keeps. "
      + "Refreshes every 10 seconds."),
    view.toggle, view.body);
  return view.stop;
}

// A function page's section: its runs, failure rate, backlog and latency, and its step durations.
export async function activity(functionId, search) {
  const view = panel(search, functionId, (data, win) => {
    const steps = data.steps[0];
    return [
      facts(data, true),
      runsChart(data, win, 80),
      h("p", {}, "Step durations: ", steps ? `${plural(steps.steps, "step")}, p50 ${duration(steps.duration_p50_ms)}`
        + `, p95 ${duration(steps.duration_p95_ms)}` : "no step finished in this window."),
    ];
  });
  try {
    await view.load();
  } catch (err) {
    view.stop();
    throw err;
  }
  return {node: h("section", {class: "activity", "aria-labelledby": "activity-title"},
    h("h2", {id: "activity-title"}, "Activity"), view.toggle, view.body), stop: view.stop};
}
