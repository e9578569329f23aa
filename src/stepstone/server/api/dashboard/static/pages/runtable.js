// The runs table shared by the Runs page, a function's page and an event's page.

import { h, replace } from "../dom.js";
import { get } from "../api.js";
import { between, formatDuration, time } from "../time.js";
import { fnLink, runLink, status } from "../ui.js";

const eventNames = new Map();  // event internal id -> name (or a Promise of it)

// The trigger event's name of each run, one request per event not seen before.
async function eventName(id) {
  if (!eventNames.has(id)) {
    eventNames.set(id, get(`/v1/events/${encodeURIComponent(id)}`, null, {quiet: true})
      .then((answer) => answer.data.name).catch(() => null));
  }
  return eventNames.get(id);
}

function trigger(run) {
  if (run.cron) return h("span", {}, h("span", {class: "muted"}, "cron "), h("code", {}, run.cron));
  if (!run.event_id) return "—";
  const href = `/events/${encodeURIComponent(run.event_id)}`;
  // Run lists name the trigger event (`event_name`); asked for by id only where an answer lacks it.
  if (run.event_name) return h("a", {href, "data-nav": true}, run.event_name);
  const cell = h("a", {href, "data-nav": true}, "…");
  eventName(run.event_id).then((name) => replace(cell, name || run.event_id));
  return cell;
}

function statusCell(run) {
  return h("td", {class: "status-cell"}, status(run.status),
    run.status === "Queued" && run.reason ? h("div", {class: "reason muted"}, run.reason) : null,
    run.status !== "Queued" && run.reason && run.status === "Skipped" ? h("div", {class: "reason muted"},
      run.reason) : null);
}

// One <tr> of a run; `select` adds the selection checkbox (checked, onchange).
export function runRow(run, {select = null, showFunction = true} = {}) {
  const started = run.started_at || run.created_at;
  return h("tr", {"data-run-id": run.run_id, "data-status": run.status},
    select ? h("td", {class: "pick"}, h("input", {type: "checkbox", "aria-label": `Select run ${run.run_id}`,
      checked: select.checked, onchange: (event) => select.onchange(run, event.target.checked)})) : null,
    showFunction ? h("td", {}, fnLink(run.function_id)) : null,
    statusCell(run),
    h("td", {}, time(started)),
    h("td", {}, run.started_at ? formatDuration(between(run.started_at, run.ended_at)) : "—"),
    h("td", {}, trigger(run)),
    h("td", {}, runLink(run.run_id)));
}

export function runTable(runs, {select = null, showFunction = true, caption = null, head = null} = {}) {
  return h("table", {class: "table runs"},
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {},
      select ? h("th", {scope: "col", class: "pick"}, head || h("span", {class: "visually-hidden"}, "Select")) : null,
      showFunction ? h("th", {scope: "col"}, "Function") : null,
      h("th", {scope: "col"}, "Status"),
      h("th", {scope: "col"}, "Started"),
      h("th", {scope: "col"}, "Duration"),
      h("th", {scope: "col"}, "Trigger"),
      h("th", {scope: "col"}, "Run"))),
    h("tbody", {}, runs.map((run) => runRow(run, {select, showFunction}))));
}
