// The dashboard's entry: the router (every page is drawn here from the REST API), the header's mode
// badge and time-zone toggle, and the footer's retention window.

import { h, replace } from "./dom.js";
import { get } from "./api.js";
import { isUtc, onZoneChange, toggleZone } from "./time.js";
import * as apps from "./pages/apps.js";
import * as functions from "./pages/functions.js";
import * as fn from "./pages/function.js";
import * as runs from "./pages/runs.js";
import * as run from "./pages/run.js";
import * as events from "./pages/events.js";
import * as event from "./pages/event.js";
import * as audit from "./pages/audit.js";
import * as overview from "./pages/overview.js";

const ROUTES = [
  [/^\/$/, runs, "runs"],
  [/^\/runs$/, runs, "runs"],
  [/^\/runs\/([^/]+)$/, run, "runs"],
  [/^\/apps$/, apps, "apps"],
  [/^\/functions$/, functions, "functions"],
  [/^\/functions\/([^/]+)$/, fn, "functions"],
  [/^\/events$/, events, "events"],
  [/^\/events\/([^/]+)$/, event, "events"],
  [/^\/audit$/, audit, "audit"],
  [/^\/overview$/, overview, "overview"],
];

const main = document.getElementById("main");
let stopPage = null;
let renderId = 0;

export const info = {mode: null, retention: null, trace_url: null};

async function render({focus = false} = {}) {
  if (stopPage) stopPage();
  stopPage = null;
  const id = ++renderId;
  const path = location.pathname.replace(/\/+$/, "") || "/";
  const found = ROUTES.map(([pattern, page, section]) => [path.match(pattern), page, section])
    .find(([match]) => match);
  for (const a of document.querySelectorAll("nav a[data-section]")) {
    if (found && a.dataset.section === found[2]) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (!found) {
    document.title = "Not found · Stepstone";
    replace(main, h("h1", {}, "Not found"), h("p", {}, `No page at ${path}.`));
    return;
  }
  const [match, page] = found;
  const params = match.slice(1).map(decodeURIComponent);
  const container = h("div", {class: "page"});
  try {
    const stop = await page.render(container, params, new URLSearchParams(location.search));
    if (id !== renderId) {  // another navigation started meanwhile
      if (typeof stop === "function") stop();
      return;
    }
    stopPage = typeof stop === "function" ? stop : null;
  } catch (err) {
    if (id !== renderId) return;
    replace(container, h("h1", {}, "Something went wrong"), h("p", {class: "error"}, err.message));
    document.title = "Error · Stepstone";
  }
  replace(main, container);
  if (focus) main.focus({preventScroll: true});
}

export function navigate(href, {replaceState = false} = {}) {
  if (replaceState) history.replaceState(null, "", href);
  else history.pushState(null, "", href);
  window.scrollTo(0, 0);
  return render({focus: !replaceState});
}

// Re-read the current page (after an action, or a filter change already in the URL).
export const refresh = () => render();

document.addEventListener("click", (event) => {
  const a = event.target.closest && event.target.closest("a[data-nav]");
  if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey
    || event.altKey || a.target) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener("popstate", () => render());

function showZone() {
  const button = document.getElementById("timezone");
  button.textContent = isUtc() ? "Times: UTC" : "Times: local";
  button.setAttribute("aria-label", isUtc() ? "Times shown in UTC; switch to local time"
    : "Times shown in local time; switch to UTC");
}
document.getElementById("timezone").addEventListener("click", toggleZone);
// A production dashboard (a login, so a CSRF token in the page) can be logged out of; dev has no login.
document.getElementById("logout").hidden = !document.querySelector('meta[name="stepstone-csrf"]')?.content;
onZoneChange(() => { showZone(); render(); });
showZone();

async function loadInfo() {
  const mode = document.getElementById("mode");
  const retention = document.getElementById("retention");
  try {
    const data = (await get("/v1/info", null, {quiet: true})).data;
    info.mode = data.mode;
    info.retention = data.retention;
    info.trace_url = data.trace_url || null;
    mode.textContent = data.mode === "dev" ? "Development" : "Production";
    mode.className = `mode mode-${data.mode === "dev" ? "dev" : "production"}`;
    retention.textContent = data.retention ? `Retention: runs and events are kept ${data.retention}`
      : "Retention: runs and events are kept forever";
  } catch {
    mode.textContent = "Mode unknown";
    retention.textContent = "Retention: unknown";
  }
}

export const infoLoaded = loadInfo();  // never rejects: a page that needs `info` awaits it
render();
