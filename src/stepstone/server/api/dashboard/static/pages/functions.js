// The Functions page: triggers (events, CEL `if`, cron and its next tick), app, flow control in words,
// and the last 24 hours' runs by status with the failure rate.

import { h, link, replace } from "../dom.js";
import { get } from "../api.js";
import { time } from "../time.js";
import { empty, title } from "../ui.js";

export function triggers(fn) {
  return h("ul", {class: "plain"}, (fn.triggers || []).map((trigger) => h("li", {},
    trigger.event ? [h("span", {class: "muted"}, "event "), h("code", {}, trigger.event)] : null,
    trigger.expression ? [h("span", {class: "muted"}, " if "), h("code", {}, trigger.expression)] : null,
    trigger.cron ? [h("span", {class: "muted"}, "cron "), h("code", {}, trigger.cron),
      fn.next_cron ? [h("span", {class: "muted"}, " next "), time(fn.next_cron)] : null] : null)));
}

export function flow(fn) {
  const words = fn.flow || [];
  return words.length ? h("ul", {class: "plain"}, words.map((line) => h("li", {}, line)))
    : h("span", {class: "muted"}, "none");
}

export function stats(fn) {
  if (!fn.stats) return h("span", {class: "muted"}, "—");
  const counts = Object.entries(fn.stats.counts || {}).filter(([, n]) => n);
  const rate = fn.stats.failure_rate;
  return h("div", {},
    counts.length ? counts.map(([name, n], i) => [i ? ", " : "", `${n} ${name}`]) : "no runs",
    rate === null || rate === undefined ? null : h("div", {class: "muted"},
      `failure rate ${(rate * 100).toFixed(1)}%`));
}

export async function render(container) {
  const functions = (await get("/v1/functions")).data;
  replace(container, title("Functions"),
    functions.length ? h("table", {class: "table"},
      h("thead", {}, h("tr", {}, ["Function", "App", "Triggers", "Flow control", "Runs (24 h)", "State"]
        .map((name) => h("th", {scope: "col"}, name)))),
      h("tbody", {}, functions.map((fn) => h("tr", {"data-function": fn.id},
        h("th", {scope: "row"}, link(`/functions/${encodeURIComponent(fn.id)}`, fn.id),
          fn.name && fn.name !== fn.id ? h("div", {class: "muted"}, fn.name) : null),
        h("td", {}, fn.app || "—"),
        h("td", {}, triggers(fn)),
        h("td", {}, flow(fn)),
        h("td", {}, stats(fn)),
        h("td", {}, fn.paused ? h("span", {class: "status status-paused"},
          h("span", {class: "icon", "aria-hidden": "true"}, "⏸"), " Paused") : "Active")))))
      : empty("No function yet: add an app on the Apps page."));
}
