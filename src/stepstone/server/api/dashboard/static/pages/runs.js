// The Runs page (also `/`): filters kept in the URL, newest first, "Load more" with the REST cursor, live
// updates from the change feed, and bulk Cancel / Replay of the selected runs or of all matching the filters.

import { h, replace } from "../dom.js";
import { del, get, post } from "../api.js";
import { inputToIso, isoToInput } from "../time.js";
import { confirm, empty, poll, title, toast } from "../ui.js";
import { runRow, runTable } from "./runtable.js";
import { navigate } from "../app.js";

const STATUSES = ["Queued", "Running", "Completed", "Failed", "Cancelled", "Skipped"];
const FILTERS = ["status", "function_id", "app_id", "started_after", "started_before", "if"];
const PAGE = 50;

function select(id, label, options, value) {
  return h("div", {class: "field"}, h("label", {for: id}, label),
    h("select", {id, name: id},
      h("option", {value: ""}, "Any"),
      options.map(([optionValue, text]) => h("option", {value: optionValue, selected: optionValue === value}, text))));
}

function filterForm(filters, functions, apps) {
  const form = h("form", {class: "filters", role: "search", "aria-label": "Filter runs"},
    select("f-status", "Status", STATUSES.map((name) => [name, name]), filters.status),
    select("f-function", "Function", functions.map((fn) => [fn.id, fn.id]), filters.function_id),
    select("f-app", "App", apps.map((app) => [app.name, app.name]), filters.app_id),
    h("div", {class: "field"}, h("label", {for: "f-after"}, "Started after"),
      h("input", {id: "f-after", type: "datetime-local", step: "1", value: isoToInput(filters.started_after)})),
    h("div", {class: "field"}, h("label", {for: "f-before"}, "Started before"),
      h("input", {id: "f-before", type: "datetime-local", step: "1", value: isoToInput(filters.started_before)})),
    h("div", {class: "field wide"}, h("label", {for: "f-if"}, "CEL filter (if)"),
      h("input", {id: "f-if", type: "text", value: filters.if || "", spellcheck: "false", class: "code",
        placeholder: 'event.data.account_id == "a-1"'})),
    h("div", {class: "field buttons"},
      h("button", {type: "submit", class: "primary"}, "Apply filters"),
      h("button", {type: "button", class: "secondary", onclick: () => navigate("/runs")}, "Clear")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const read = (id) => form.querySelector(`#${id}`).value.trim();
    const next = new URLSearchParams();
    const values = {status: read("f-status"), function_id: read("f-function"), app_id: read("f-app"),
      started_after: inputToIso(read("f-after")), started_before: inputToIso(read("f-before")), if: read("f-if")};
    for (const [key, value] of Object.entries(values)) if (value) next.set(key, value);
    const text = next.toString();
    navigate(`/runs${text ? `?${text}` : ""}`);
  });
  return form;
}

// Does a run from the change feed belong in the table? (The CEL filter is the engine's: with one,
// only rows already shown are updated.)
function matches(run, filters, appOf) {
  if (filters.status && run.status !== filters.status) return false;
  if (filters.function_id && run.function_id !== filters.function_id) return false;
  if (filters.app_id && appOf.get(run.function_id) !== filters.app_id) return false;
  if (filters.started_after && Date.parse(run.created_at) < Date.parse(filters.started_after)) return false;
  if (filters.started_before && Date.parse(run.created_at) >= Date.parse(filters.started_before)) return false;
  return true;
}

function progress(label) {
  const bar = h("progress", {max: "1", value: "0", "aria-label": label});
  const text = h("span", {}, "starting…");
  const node = h("div", {class: "progress", role: "status"}, h("strong", {}, label), " ", bar, " ", text);
  return {
    node,
    set(done, total, words) {
      bar.max = Math.max(total, 1);
      bar.value = done;
      replace(text, words);
    },
  };
}

export async function render(container, _params, query) {
  const filters = Object.fromEntries(FILTERS.map((key) => [key, query.get(key) || ""]));
  const [functions, apps] = await Promise.all([get("/v1/functions"), get("/v1/apps")]);
  const appOf = new Map(functions.data.map((fn) => [fn.id, fn.app]));
  const selected = new Set();
  let allMatching = false;
  let cursor = null;

  const status = h("p", {class: "muted", role: "status"});
  const bulkStatus = h("div", {class: "bulk-status", "aria-live": "polite"});
  const selection = h("span", {class: "selection"}, "No run selected");
  const pageBox = h("input", {type: "checkbox", "aria-label": "Select every run on this page"});
  const onchange = (run, checked) => {
    if (checked) selected.add(run.run_id); else selected.delete(run.run_id);
    allMatching = false;
    showSelection();
  };
  const rowOptions = () => ({select: {checked: allMatching || false, onchange}});
  const table = runTable([], {select: {onchange}, head: pageBox});
  const tbody = table.querySelector("tbody");
  const more = h("button", {type: "button", class: "secondary", hidden: true}, "Load more");
  const allButton = h("button", {type: "button", class: "link"}, "Select all runs matching the filters");
  const cancelButton = h("button", {type: "button", class: "danger", disabled: true}, "Cancel selected");
  const replayButton = h("button", {type: "button", class: "secondary", disabled: true}, "Replay selected");

  function showSelection() {
    const count = selected.size;
    replace(selection, allMatching ? "All runs matching the filters are selected"
      : count ? `${count} run${count === 1 ? "" : "s"} selected` : "No run selected");
    cancelButton.disabled = replayButton.disabled = !(allMatching || count);
    for (const box of tbody.querySelectorAll("input[type=checkbox]")) {
      const id = box.closest("tr").dataset.runId;
      box.checked = allMatching || selected.has(id);
    }
    const boxes = [...tbody.querySelectorAll("input[type=checkbox]")];
    pageBox.checked = boxes.length > 0 && boxes.every((box) => box.checked);
  }
  pageBox.addEventListener("change", () => {
    allMatching = false;
    for (const row of tbody.querySelectorAll("tr")) {
      if (pageBox.checked) selected.add(row.dataset.runId); else selected.delete(row.dataset.runId);
    }
    showSelection();
  });
  allButton.addEventListener("click", () => { allMatching = true; showSelection(); });

  async function load() {
    const params = {...filters, cursor, limit: PAGE};
    const answer = await get("/v1/runs", params);
    for (const run of answer.data) tbody.appendChild(runRow(run, rowOptions()));
    cursor = answer.cursor;
    more.hidden = !cursor;
    const shown = tbody.rows.length;
    const notes = [`${shown} run${shown === 1 ? "" : "s"} shown, newest first`];
    if (answer.search) {
      notes.push(`searched ${answer.search.scanned} runs` + (answer.search.stopped
        ? `, stopped at the limit (${answer.search.limit}): Load more searches further` : ""));
    }
    replace(status, notes.join("; "));
    showSelection();
  }
  more.addEventListener("click", () => load());

  cancelButton.addEventListener("click", () => bulk("cancel"));
  replayButton.addEventListener("click", () => bulk("replay"));

  async function bulk(kind) {
    const what = allMatching ? "every run matching the filters" : `${selected.size} selected run(s)`;
    const ok = await confirm(kind === "cancel" ? "Cancel runs?" : "Replay runs?",
      kind === "cancel" ? `Cancel ${what} that has not ended?`
        : `Start a new run with the same events for ${what}?`,
      {action: kind === "cancel" ? "Cancel runs" : "Replay runs", danger: kind === "cancel"});
    if (!ok) return;
    if (allMatching) await bulkMatching(kind); else await bulkSelected(kind, [...selected]);
  }

  async function bulkSelected(kind, ids) {
    const bar = progress(kind === "cancel" ? "Cancelling" : "Replaying");
    replace(bulkStatus, bar.node);
    let done = 0;
    let failed = 0;
    const started = [];
    for (const id of ids) {
      try {
        if (kind === "cancel") await del(`/v1/runs/${encodeURIComponent(id)}`, {quiet: true});
        else started.push((await post(`/v1/runs/${encodeURIComponent(id)}/rerun`, {})).body.data.run_id);
      } catch {
        failed += 1;
      }
      done += 1;
      bar.set(done, ids.length, `${done} of ${ids.length}`);
    }
    const verb = kind === "cancel" ? "cancelled" : "replayed";
    bar.set(ids.length, ids.length, `Done: ${ids.length - failed} ${verb}` +
      (failed ? `, ${failed} not (already ended or gone)` : ""));
    selected.clear();
    showSelection();
  }

  async function bulkMatching(kind) {
    const targets = filters.function_id ? [filters.function_id]
      : functions.data.filter((fn) => !filters.app_id || fn.app === filters.app_id).map((fn) => fn.id);
    const before = filters.started_before || new Date().toISOString();
    const bar = progress(kind === "cancel" ? "Cancelling" : "Replaying");
    replace(bulkStatus, bar.node);
    const jobs = [];
    for (const functionId of targets) {
      const body = {app_id: appOf.get(functionId), function_id: functionId, started_before: before};
      if (filters.started_after) body.started_after = filters.started_after;
      if (filters.if) body.if = filters.if;
      if (kind === "replay") {
        body.statuses = ["Failed", "Cancelled"].includes(filters.status) ? [filters.status] : ["Failed", "Cancelled"];
      }
      const path = kind === "cancel" ? "/v1/cancellations" : "/v1/replays";
      jobs.push(`${path}/${encodeURIComponent((await post(path, body)).body.data.id)}`);
    }
    const count = kind === "cancel" ? "cancelled" : "started";
    const stop = poll(async () => {
      const states = await Promise.all(jobs.map((path) => get(path)));
      const matched = states.reduce((sum, s) => sum + (s.data.matched || 0), 0);
      const handled = states.reduce((sum, s) => sum + (s.data[count] || 0), 0);
      const done = states.every((s) => s.data.done);
      bar.set(done ? Math.max(matched, 1) : handled, Math.max(matched, 1),
        `${handled} of ${matched} matching runs ${count}${done ? " — done" : ""}`);
      return !done;
    }, 500);
    stoppers.push(stop);
    allMatching = false;
    showSelection();
  }

  // Live: follow the change feed from its current end.
  let feed = "0";
  let caughtUp = false;
  const stoppers = [];
  async function follow() {
    for (;;) {
      const answer = await get("/v1/runs", {updated_after: feed, limit: 500}, {quiet: true});
      feed = answer.cursor;
      if (caughtUp) apply(answer.data);
      if (answer.data.length < 500) break;
    }
    caughtUp = true;
  }
  function apply(changed) {
    const scrolledFrom = window.scrollY;
    const heightBefore = document.documentElement.scrollHeight;
    for (const run of changed) {
      const row = tbody.querySelector(`tr[data-run-id="${CSS.escape(run.run_id)}"]`);
      if (row) {
        if (filters.if || matches(run, filters, appOf)) row.replaceWith(runRow(run, rowOptions()));
        else row.remove();
      } else if (!filters.if && matches(run, filters, appOf)) {
        const first = tbody.rows[0];
        if (!first || run.run_id > first.dataset.runId) {
          tbody.insertBefore(runRow(run, rowOptions()), first || null);
          container.querySelector(".empty")?.remove();
        }
      }
    }
    showSelection();
    if (scrolledFrom > 0) window.scrollBy(0, document.documentElement.scrollHeight - heightBefore);
  }

  replace(container,
    title("Runs"),
    filterForm(filters, functions.data, apps.data),
    h("div", {class: "bulk", role: "group", "aria-label": "Bulk actions"},
      selection, " ", allButton, " ", cancelButton, " ", replayButton),
    bulkStatus,
    status,
    table,
    more);
  // The feed's end before the first page is read (one request, whatever the history): every change from
  // here on is applied, none is missed between the page and the feed.
  feed = (await get("/v1/runs", {updated_after: "now"}, {quiet: true})).cursor;
  caughtUp = true;
  await load();
  if (!tbody.rows.length) container.insertBefore(empty("No runs match."), table);
  follow().catch(() => {});
  stoppers.push(poll(() => (caughtUp ? follow() : true), 2000));
  return () => stoppers.forEach((stop) => stop());
}
