// The Events page: received events, newest first, live; and the Send event form (with "Copy as cURL").

import { h, replace } from "../dom.js";
import { get, post } from "../api.js";
import { time } from "../time.js";
import { eventLink, empty, jsonField, poll, title, toast } from "../ui.js";
import { navigate } from "../app.js";

const PAGE = 50;

function row(event) {
  return h("tr", {"data-event": event.internal_id},
    h("th", {scope: "row"}, eventLink(event.internal_id, event.name)),
    h("td", {}, h("code", {}, event.internal_id)),
    h("td", {}, time(event.received_at)),
    h("td", {}, event.source || "—"));
}

export function curl(body) {
  const json = JSON.stringify(body).replaceAll("'", "'\\''");
  return `curl -X POST '${location.origin}/v1/events' -H 'Content-Type: application/json' `
    + `-H 'Authorization: Bearer <signing key>' -d '${json}'`;
}

function sendForm() {
  const name = h("input", {id: "send-name", type: "text", required: true, class: "code", placeholder: "app/user.signup"});
  const data = jsonField("send-data", "Data (a JSON object)", "{}", 6);
  const out = h("div", {class: "action-result", "aria-live": "polite"});
  const read = () => {
    const value = data.read();
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new Error("The data must be a JSON object");
    }
    if (!name.value.trim()) throw new Error("The event needs a name");
    return {name: name.value.trim(), data: value};
  };
  const copy = h("button", {type: "button", class: "secondary"}, "Copy as cURL");
  copy.addEventListener("click", async () => {
    let body;
    try { body = read(); } catch (err) { replace(out, h("p", {class: "error"}, err.message)); return; }
    const text = curl(body);
    try {
      await navigator.clipboard.writeText(text);
      toast("Copied the cURL command");
    } catch {
      toast("Could not reach the clipboard: the command is below");
    }
    replace(out, h("pre", {class: "code", "data-curl": true}, text));
  });
  const form = h("form", {class: "card", "aria-labelledby": "send-title"},
    h("h2", {id: "send-title"}, "Send event"),
    h("div", {class: "field"}, h("label", {for: "send-name"}, "Name"), name),
    data.node,
    h("div", {class: "buttons"}, h("button", {type: "submit", class: "primary"}, "Send event"), " ", copy),
    out);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let body;
    try { body = read(); } catch (err) { replace(out, h("p", {class: "error", role: "alert"}, err.message)); return; }
    try {
      const answer = await post("/v1/events", body);
      const id = answer.body.ids && answer.body.ids[0];
      toast(`Sent ${body.name}`);
      if (id) navigate(`/events/${encodeURIComponent(id)}`);
    } catch { /* shown */ }
  });
  return form;
}

export async function render(container) {
  const tbody = h("tbody", {});
  const more = h("button", {type: "button", class: "secondary", hidden: true}, "Load more");
  let cursor = null;
  async function load() {
    const answer = await get("/v1/events", {cursor, limit: PAGE});
    for (const event of answer.data) tbody.appendChild(row(event));
    cursor = answer.cursor;
    more.hidden = !cursor;
  }
  more.addEventListener("click", load);
  await load();
  const table = h("table", {class: "table"},
    h("thead", {}, h("tr", {}, ["Name", "Id", "Received", "Source"].map((n) => h("th", {scope: "col"}, n)))),
    tbody);
  replace(container, title("Events"), sendForm(), h("h2", {}, "Received events"),
    tbody.rows.length ? null : empty("No event yet."), table, more);
  // Live: newer events go on top.
  return poll(async () => {
    const answer = await get("/v1/events", {limit: PAGE}, {quiet: true});
    const known = new Set([...tbody.rows].map((tr) => tr.dataset.event));
    const fresh = answer.data.filter((event) => !known.has(event.internal_id));
    const heightBefore = document.documentElement.scrollHeight;
    for (const event of fresh.reverse()) tbody.insertBefore(row(event), tbody.firstChild);
    if (fresh.length && window.scrollY > 0) {
      window.scrollBy(0, document.documentElement.scrollHeight - heightBefore);
    }
  }, 2000);
}
