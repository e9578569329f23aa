// A pretty, collapsible JSON viewer built from elements (never HTML strings): objects and arrays fold
// with <details>, long strings and big collections are cut with a "show all" button, and values
// encrypted by the SDKs' encryption middleware show as encrypted.

import { h } from "./dom.js";

const MAX_STRING = 300;
const MAX_ITEMS = 50;
const OPEN_DEPTH = 2;

function isEncrypted(value) {
  return value && typeof value === "object" && !Array.isArray(value) && value.__ENCRYPTED__ === true;
}

function showAll(cut, full) {
  const button = h("button", {type: "button", class: "link show-all"}, "show all");
  const holder = h("span", {}, cut, " ", button);
  button.addEventListener("click", () => holder.replaceWith(full()));
  return holder;
}

function scalar(value) {
  if (value === null) return h("span", {class: "j-null"}, "null");
  if (typeof value === "string") {
    if (value.length > MAX_STRING) {
      return showAll(h("span", {class: "j-string"}, JSON.stringify(value.slice(0, MAX_STRING)) + "…",
        h("span", {class: "muted"}, ` (${value.length} characters)`)),
      () => h("span", {class: "j-string"}, JSON.stringify(value)));
    }
    return h("span", {class: "j-string"}, JSON.stringify(value));
  }
  if (typeof value === "number") return h("span", {class: "j-number"}, String(value));
  if (typeof value === "boolean") return h("span", {class: "j-bool"}, String(value));
  return h("span", {}, String(value));
}

function entries(value) {
  return Array.isArray(value) ? value.map((item, i) => [i, item]) : Object.entries(value);
}

function node(value, depth) {
  if (isEncrypted(value)) {
    const strategy = value.__STRATEGY__ ? ` (${value.__STRATEGY__})` : "";
    return h("span", {class: "j-encrypted"}, h("span", {"aria-hidden": "true"}, "🔒 "), `encrypted${strategy}`);
  }
  if (value === null || typeof value !== "object") return scalar(value);
  const array = Array.isArray(value);
  const items = entries(value);
  const [open, close] = array ? ["[", "]"] : ["{", "}"];
  if (items.length === 0) return h("span", {}, open + close);
  const rows = (list) => list.map(([key, item]) => h("li", {},
    array ? null : h("span", {class: "j-key"}, JSON.stringify(key)), array ? null : ": ", node(item, depth + 1)));
  const list = h("ul", {class: "j-list"}, rows(items.slice(0, MAX_ITEMS)));
  if (items.length > MAX_ITEMS) {
    const more = h("li", {}, h("button", {type: "button", class: "link show-all"},
      `show all ${items.length} ${array ? "items" : "keys"}`));
    more.firstChild.addEventListener("click", () => more.replaceWith(...rows(items.slice(MAX_ITEMS))));
    list.appendChild(more);
  }
  const summary = `${open} ${items.length} ${array ? "item" : "key"}${items.length === 1 ? "" : "s"} ${close}`;
  return h("details", {class: "j-fold", open: depth < OPEN_DEPTH}, h("summary", {}, summary), list);
}

export function jsonView(value) {
  if (value === undefined) return h("span", {class: "muted"}, "—");
  return h("div", {class: "json"}, node(value, 0));
}
