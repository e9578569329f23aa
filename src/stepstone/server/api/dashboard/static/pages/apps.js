// The Apps page: each app's URL, SDK, functions, last sync and its result; Sync, Add app, Remove app.

import { h, replace } from "../dom.js";
import { del, get, post } from "../api.js";
import { time } from "../time.js";
import { confirm, empty, title, toast } from "../ui.js";
import { refresh } from "../app.js";

function syncResult(app) {
  if (app.error) {
    return h("div", {class: "sync-failed"}, h("span", {class: "status status-failed"},
      h("span", {class: "icon", "aria-hidden": "true"}, "✗"), " Failed"), h("pre", {class: "error"}, app.error));
  }
  return h("span", {class: "status status-completed"}, h("span", {class: "icon", "aria-hidden": "true"}, "✓"),
    " Synced");
}

async function sync(url, button) {
  button.disabled = true;
  try {
    await post("/v1/apps", {url});
    toast(`Synced ${url}`);
  } catch { /* shown */ }
  await refresh();
}

async function remove(app) {
  if (!await confirm(`Remove app ${app.name}?`, `Its ${app.functions.length} function(s) are archived: they start `
    + "no more runs. Syncing the same URL again brings them back.", {action: "Remove app", danger: true})) return;
  try {
    await del(`/v1/apps/${encodeURIComponent(app.id)}`);
    toast(`Removed ${app.name}`);
  } catch { /* shown */ }
  await refresh();
}

function addForm() {
  const input = h("input", {id: "app-url", type: "url", required: true, class: "code",
    placeholder: "http://127.0.0.1:8000/api/inngest"});
  const button = h("button", {type: "submit", class: "primary"}, "Add app");
  const form = h("form", {class: "inline-form", "aria-label": "Add app"},
    h("div", {class: "field wide"}, h("label", {for: "app-url"}, "App URL (where it serves the Inngest protocol)"),
      input), h("div", {class: "field buttons"}, button));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sync(input.value.trim(), button);
  });
  return form;
}

export async function render(container) {
  const apps = (await get("/v1/apps")).data;
  const functions = (await get("/v1/functions")).data;
  const rows = apps.map((app) => {
    const syncButton = h("button", {type: "button", class: "secondary", "aria-label": `Sync ${app.name}`},
      "Sync");
    syncButton.addEventListener("click", () => sync(app.url, syncButton));
    const sdk = [app.sdk, app.framework].filter(Boolean).join(" · ") || "—";
    const count = functions.filter((fn) => fn.app === app.name).length || app.functions.length;
    return h("tr", {"data-app": app.name},
      h("th", {scope: "row"}, app.name),
      h("td", {}, h("code", {}, app.url || "—")),
      h("td", {}, sdk),
      h("td", {}, String(count)),
      h("td", {}, time(app.synced_at)),
      h("td", {}, syncResult(app)),
      h("td", {class: "row-actions"}, syncButton, " ",
        h("button", {type: "button", class: "danger", "aria-label": `Remove ${app.name}`,
          onclick: () => remove(app)}, "Remove app")));
  });
  replace(container, title("Apps"), addForm(),
    apps.length ? h("table", {class: "table"},
      h("thead", {}, h("tr", {}, ["App", "URL", "SDK", "Functions", "Last sync", "Result", "Actions"]
        .map((name) => h("th", {scope: "col"}, name)))),
      h("tbody", {}, rows)) : empty("No app yet: add one by its URL."));
}
