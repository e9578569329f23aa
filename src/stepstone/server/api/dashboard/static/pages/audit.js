// The Audit page: every action taken through the dashboard or the REST API, newest first.

import { h, replace } from "../dom.js";
import { get } from "../api.js";
import { time } from "../time.js";
import { empty, title } from "../ui.js";

function target(value) {
  if (value === null || value === undefined) return "—";
  return h("code", {}, typeof value === "string" ? value : JSON.stringify(value));
}

export async function render(container) {
  const tbody = h("tbody", {});
  const more = h("button", {type: "button", class: "secondary", hidden: true}, "Load more");
  let cursor = null;
  async function load() {
    const answer = await get("/v1/audit", {cursor, limit: 100});
    for (const entry of answer.data) {
      tbody.appendChild(h("tr", {},
        h("td", {}, time(entry.at)),
        h("td", {}, entry.actor),
        h("td", {}, entry.action),
        h("td", {}, target(entry.target)),
        h("td", {}, String(entry.status ?? "—")),
        h("td", {}, entry.result === null || entry.result === undefined ? "—" : typeof entry.result === "string"
          ? entry.result : JSON.stringify(entry.result))));
    }
    cursor = answer.cursor;
    more.hidden = !cursor;
  }
  more.addEventListener("click", load);
  await load();
  replace(container, title("Audit"),
    h("p", {class: "muted"}, "Every action taken through the dashboard or the REST API: who, what, when, result."),
    tbody.rows.length ? null : empty("Nothing recorded yet."),
    h("table", {class: "table"},
      h("thead", {}, h("tr", {}, ["When", "Who", "Action", "Target", "Status", "Result"]
        .map((n) => h("th", {scope: "col"}, n)))),
      tbody),
    more);
}
