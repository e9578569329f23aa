// An event's page: its payload, the runs it started, the functions that skipped it (and why), those
// holding it (debounce, batch); Replay event sends it again as a new event.

import { h, replace } from "../dom.js";
import { get, post } from "../api.js";
import { jsonView } from "../json.js";
import { time } from "../time.js";
import { confirm, fnLink, poll, title, toast } from "../ui.js";
import { navigate } from "../app.js";
import { runTable } from "./runtable.js";

function reasons(items, what) {
  if (!items.length) return h("p", {class: "muted"}, `No function ${what}.`);
  return h("table", {class: "table"},
    h("thead", {}, h("tr", {}, ["Function", "Reason", what === "holding it" ? "Until" : "At"]
      .map((n) => h("th", {scope: "col"}, n)))),
    h("tbody", {}, items.map((item) => h("tr", {},
      h("td", {}, fnLink(item.function_id)),
      h("td", {}, item.reason),
      h("td", {}, time(item.until || item.at))))));
}

async function replay(event) {
  if (!await confirm("Replay this event?", `Send ${event.name} again as a new event with the same data.`,
    {action: "Replay event"})) return;
  try {
    const body = {name: event.name, data: event.data, user: event.user};
    const answer = await post("/v1/events", body);
    const id = answer.body.ids && answer.body.ids[0];
    toast(`Sent ${event.name} again`);
    if (id) navigate(`/events/${encodeURIComponent(id)}`);
  } catch { /* shown */ }
}

export async function render(container, [eventId]) {
  const event = (await get(`/v1/events/${encodeURIComponent(eventId)}`)).data;
  const outcome = h("div", {});
  async function load() {
    const answer = await get(`/v1/events/${encodeURIComponent(eventId)}/runs`, null, {quiet: true});
    replace(outcome,
      h("h2", {}, "Runs it started"),
      answer.data.length ? runTable(answer.data) : h("p", {class: "muted"}, "No run."),
      h("h2", {}, "Functions that skipped it"),
      reasons(answer.skipped || [], "skipped it"),
      h("h2", {}, "Functions holding it"),
      reasons(answer.waiting || [], "holding it"));
  }
  await load();
  const payload = {id: event.id, name: event.name, data: event.data, user: event.user, ts: event.ts, v: event.v};
  replace(container,
    title(`Event ${event.name}`),
    h("div", {class: "actions", role: "group", "aria-label": "Event actions"},
      h("button", {type: "button", class: "secondary", onclick: () => replay(event)}, "Replay event")),
    h("dl", {class: "facts"},
      h("dt", {}, "Internal id"), h("dd", {}, h("code", {}, event.internal_id)),
      h("dt", {}, "Event id"), h("dd", {}, h("code", {}, event.id || "—")),
      h("dt", {}, "Received"), h("dd", {}, time(event.received_at)),
      h("dt", {}, "Source"), h("dd", {}, event.source || "—")),
    h("h2", {}, "Payload"),
    jsonView(payload),
    outcome);
  return poll(load, 2000);
}
