// Shared pieces of every page: toasts, confirmation dialogs, status badges, titles, polling.

import { h, link, replace } from "./dom.js";

const ICONS = {
  Queued: "◷", Running: "▶", Completed: "✓", Failed: "✗", Cancelled: "⊘", Skipped: "↷",
  Planned: "◷", Sleeping: "☾", Waiting: "⌛", Invoking: "↗",
};

// A status as an icon and its name: never colour alone.
export function status(name) {
  const text = name || "Unknown";
  return h("span", {class: `status status-${text.toLowerCase()}`},
    h("span", {class: "icon", "aria-hidden": "true"}, ICONS[text] || "•"), " ", text);
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = h("div", {class: `toast toast-${kind}`, role: kind === "error" ? "alert" : null},
    h("span", {}, message),
    h("button", {type: "button", class: "link", "aria-label": "Dismiss", onclick: () => item.remove()}, "×"));
  box.appendChild(item);
  setTimeout(() => item.remove(), kind === "error" ? 15000 : 6000);
}

// A modal <dialog> asking to confirm; resolves true when confirmed. `body` may hold extra inputs.
export function confirm(title, text, {action = "Confirm", body = null, danger = false} = {}) {
  return new Promise((resolve) => {
    const heading = `dialog-title-${Math.random().toString(36).slice(2)}`;
    const dialog = h("dialog", {class: "dialog", "aria-labelledby": heading},
      h("form", {method: "dialog"},
        h("h2", {id: heading}, title),
        text ? h("p", {}, text) : null,
        body,
        h("div", {class: "actions"},
          h("button", {type: "submit", value: "cancel", class: "secondary"}, "Back"),
          h("button", {type: "submit", value: "ok", class: danger ? "danger" : "primary"}, action))));
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "ok");
    });
    document.body.appendChild(dialog);
    dialog.showModal();
  });
}

export function title(text, ...extra) {
  document.title = `${text} · Stepstone`;
  return h("h1", {}, text, ...extra);
}

export function empty(text) {
  return h("p", {class: "muted empty"}, text);
}

export function fnLink(id) {
  return id ? link(`/functions/${encodeURIComponent(id)}`, id) : "—";
}

export function runLink(id, text) {
  return id ? link(`/runs/${encodeURIComponent(id)}`, h("code", {}, text || id)) : "—";
}

export function eventLink(id, text) {
  return id ? link(`/events/${encodeURIComponent(id)}`, text || h("code", {}, id)) : "—";
}

// Call `tick` every `ms` until the page goes away (the returned stop function) or `tick` returns false.
export function poll(tick, ms = 2000) {
  let stopped = false;
  let timer = null;
  const loop = async () => {
    if (stopped) return;
    let again = true;
    try { again = (await tick()) !== false; } catch { /* shown as a toast by the API client */ }
    if (!stopped && again) timer = setTimeout(loop, ms);
  };
  timer = setTimeout(loop, ms);
  return () => { stopped = true; clearTimeout(timer); };
}

// A JSON <textarea> with its label and a live validity message; `read()` returns the value or throws.
export function jsonField(id, label, initial = "{}", rows = 6) {
  const note = h("p", {class: "hint", id: `${id}-note`, "aria-live": "polite"});
  const area = h("textarea", {id, name: id, rows, spellcheck: "false", "aria-describedby": `${id}-note`,
    class: "code"});
  area.value = initial;
  const check = () => {
    try {
      JSON.parse(area.value || "null");
      area.removeAttribute("aria-invalid");
      replace(note);
      return true;
    } catch (err) {
      area.setAttribute("aria-invalid", "true");
      replace(note, `Not valid JSON: ${err.message}`);
      return false;
    }
  };
  area.addEventListener("input", check);
  return {
    node: h("div", {class: "field"}, h("label", {for: id}, label), area, note),
    area,
    read() {
      if (!check()) throw new Error(note.textContent);
      return JSON.parse(area.value || "null");
    },
  };
}
