// A function's page: its config, triggers and flow control, its activity chart, recent runs, the Invoke form,
// Pause / Resume.

import { h, link, replace } from "../dom.js";
import { get, post } from "../api.js";
import { jsonView } from "../json.js";
import { time } from "../time.js";
import { confirm, jsonField, title, toast } from "../ui.js";
import { navigate, refresh } from "../app.js";
import { flow, stats, triggers } from "./functions.js";
import { runTable } from "./runtable.js";
import { activity } from "./overview.js";

function invokeForm(fn) {
  const field = jsonField("invoke-data", "Event data (a JSON object)", "{}", 6);
  const outcome = h("div", {class: "action-result", "aria-live": "polite"});
  const form = h("form", {class: "card", "aria-labelledby": "invoke-title"},
    h("h2", {id: "invoke-title"}, "Invoke"),
    h("p", {class: "muted"}, "Start a run with this data (as an inngest/function.invoked event), through the "
      + "function's flow control."),
    field.node,
    h("button", {type: "submit", class: "primary"}, "Invoke"),
    outcome);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let data;
    try {
      data = field.read();
    } catch (err) {
      field.area.focus();
      return;
    }
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
      field.area.setAttribute("aria-invalid", "true");
      replace(form.querySelector(".hint"), "The data must be a JSON object, such as {\"id\": 1}");
      field.area.focus();
      return;
    }
    try {
      const answer = await post(`/v1/functions/${encodeURIComponent(fn.id)}/invoke`, {data});
      if (answer.status === 200 && answer.body.data) {
        toast(`Started run ${answer.body.data.run_id}`);
        navigate(`/runs/${encodeURIComponent(answer.body.data.run_id)}`);
        return;
      }
      const reasons = [...(answer.body.skipped || []).map((s) => `skipped: ${s.reason}`),
        ...(answer.body.waiting || []).map((w) => `held: ${w.reason}`)];
      replace(outcome, h("p", {class: "result", role: "status"}, "No run started: ",
        reasons.join("; ") || "no reason given", answer.body.event_id ? [" — ",
          link(`/events/${encodeURIComponent(answer.body.event_id)}`, "open the event")] : null));
    } catch { /* shown */ }
  });
  return form;
}

async function pause(fn, paused) {
  const verb = paused ? "resume" : "pause";
  if (!paused && !await confirm(`Pause ${fn.id}?`, "A paused function starts no runs; its events are still "
    + "stored, and its queued runs wait until it resumes.", {action: "Pause"})) return;
  try {
    await post(`/v1/functions/${encodeURIComponent(fn.id)}/${verb}`, {});
    toast(paused ? `Resumed ${fn.id}` : `Paused ${fn.id}`);
  } catch { /* shown */ }
  await refresh();
}

export async function render(container, [functionId], search) {
  const functions = (await get("/v1/functions", {include_archived: true})).data;
  const fn = functions.find((item) => item.id === functionId);
  if (!fn) {
    replace(container, title("Function not found"), h("p", {}, `No function ${functionId}.`));
    return;
  }
  const runs = (await get("/v1/runs", {function_id: fn.id, limit: 20})).data;
  const chart = await activity(fn.id, search);
  const state = fn.archived ? "Archived" : fn.paused ? "Paused" : "Active";
  replace(container,
    title(fn.id),
    h("p", {}, h("span", {class: `status status-${state.toLowerCase()}`},
      h("span", {class: "icon", "aria-hidden": "true"}, {Active: "▶", Paused: "⏸", Archived: "⊘"}[state]),
      ` ${state}`), fn.paused_at ? [" since ", time(fn.paused_at)] : null),
    fn.archived ? null : h("div", {class: "actions", role: "group", "aria-label": "Function actions"},
      h("button", {type: "button", class: fn.paused ? "primary" : "secondary", onclick: () => pause(fn, fn.paused)},
        fn.paused ? "Resume" : "Pause")),
    h("dl", {class: "facts"},
      h("dt", {}, "Name"), h("dd", {}, fn.name || fn.id),
      h("dt", {}, "App"), h("dd", {}, fn.app || "—"),
      h("dt", {}, "Triggers"), h("dd", {}, triggers(fn)),
      h("dt", {}, "Flow control"), h("dd", {}, flow(fn)),
      h("dt", {}, "Runs (24 h)"), h("dd", {}, stats(fn)),
      h("dt", {}, "Updated"), h("dd", {}, time(fn.updated_at))),
    fn.archived ? null : invokeForm(fn),
    chart.node,
    h("h2", {}, "Recent runs"),
    runs.length ? [runTable(runs, {showFunction: false}),
      h("p", {}, link(`/runs?function_id=${encodeURIComponent(fn.id)}`, "All runs of this function"))]
      : h("p", {class: "muted"}, "No run yet."),
    h("h2", {}, "Config"),
    jsonView(fn.config));
  return chart.stop;
}
