// A run's page: header and actions (Cancel, Rerun, Rerun from step), its lineage, trigger events, output
// or final error, and the waterfall timeline with a panel for the chosen step. Refreshed while it runs.

import { h, link, replace } from "../dom.js";
import { del, get, post } from "../api.js";
import { info, infoLoaded } from "../app.js";
import { jsonView } from "../json.js";
import { between, formatDuration, time } from "../time.js";
import { confirm, eventLink, fnLink, jsonField, poll, runLink, status, title, toast } from "../ui.js";
import { kind, stepLabel, timeline } from "./timeline.js";

const ENDED = new Set(["Completed", "Failed", "Cancelled", "Skipped"]);

function errorBlock(error) {
  if (error === null || error === undefined) return null;
  if (typeof error !== "object") return h("pre", {class: "error"}, String(error));
  const stack = error.stack || error.traceback;
  return h("div", {class: "error-block"},
    h("p", {class: "error"}, h("strong", {}, error.name || "Error"), ": ", error.message || error.error || ""),
    stack ? h("details", {open: true}, h("summary", {}, "Traceback"), h("pre", {class: "stack"}, String(stack)))
      : null);
}

function facts(pairs) {
  return h("dl", {class: "facts"}, pairs.filter(Boolean).map(([term, value]) => [h("dt", {}, term),
    h("dd", {}, value)]));
}

// What a wait or invoke waits for: an event (with its condition), a signal, or an invoked function's run.
function waitsFor(wait) {
  if (wait.signal !== undefined) return ["signal ", h("code", {}, wait.signal)];
  if (wait.function !== undefined) return ["a run of ", fnLink(wait.function)];
  return ["event ", h("code", {}, wait.event), wait.if ? [" if ", h("code", {}, wait.if)] : null];
}

function stepPanel(run, step) {
  const attempts = (run.attempts || []).filter((a) => a.hashed_step_id === step.hashed_id);
  return h("section", {class: "panel", id: "step-panel", "aria-labelledby": "step-panel-title", tabindex: "-1"},
    h("h2", {id: "step-panel-title"}, "Step ", h("code", {}, stepLabel(step))),
    facts([
      ["Kind", `${kind(step)} (${step.op})`],
      ["Status", status(step.status)],
      ["Started", time(step.started_at)],
      ["Ended", time(step.ended_at)],
      ["Duration", step.started_at ? formatDuration(between(step.started_at, step.ended_at)) : "—"],
      // Every failed attempt is listed, the last one of a failed step too; any other step adds the attempt
      // that succeeded or is running.
      ["Attempts", String(step.status === "Failed" ? Math.max(attempts.length, 1) : attempts.length + 1)],
      step.waits_for ? ["Waits for", waitsFor(step.waits_for)] : null,
      step.deadline ? ["Deadline", time(step.deadline)] : null,
    ]),
    attempts.length ? h("h3", {}, "Failed attempts") : null,
    attempts.length ? h("ol", {class: "attempts"}, attempts.map((a) => h("li", {},
      h("p", {}, `Attempt ${a.attempt + 1} failed at `, time(a.at),
        a.next_attempt_at ? [" — next attempt at ", time(a.next_attempt_at)] : null),
      errorBlock(a.error)))) : null,
    "input" in step ? [h("h3", {}, "Input"), jsonView(step.input)] : null,
    step.error ? [h("h3", {}, "Error"), errorBlock(step.error)] : [h("h3", {}, "Output"), jsonView(step.output)]);
}

function resultLine(text, runId) {
  return h("p", {class: "result", role: "status"}, text, " ", runLink(runId, `Open the new run ${runId}`));
}

async function act(box, kind, run) {
  if (kind === "cancel") {
    if (!await confirm("Cancel this run?", `Run ${run.run_id} of ${run.function_id} stops; its steps in flight end.`,
      {action: "Cancel run", danger: true})) return false;
    await del(`/v1/runs/${encodeURIComponent(run.run_id)}`);
    replace(box, h("p", {class: "result", role: "status"}, "The run was cancelled."));
    return true;
  }
  if (kind === "rerun") {
    if (!await confirm("Rerun?", `Start a new run of ${run.function_id} with the same events.`,
      {action: "Rerun"})) return false;
    const answer = await post(`/v1/runs/${encodeURIComponent(run.run_id)}/rerun`, {});
    replace(box, resultLine("Rerun started:", answer.body.data.run_id));
    return true;
  }
  const steps = (run.steps || []).filter((step) => step.id);
  const picker = h("select", {id: "from-step", name: "from-step"},
    steps.map((step) => h("option", {value: stepLabel(step)}, `${stepLabel(step)} (${step.status})`)));
  // Only a step whose arguments the wire carried (the TypeScript SDK's `step.run(id, fn, ...args)`) takes
  // an input: the field starts with the stored one, to edit; other steps hide it.
  const input = jsonField("from-step-input", "Step input (JSON array; empty keeps the stored input)", "", 4);
  const withInput = () => {
    const step = steps.find((item) => stepLabel(item) === picker.value);
    const has = Boolean(step && "input" in step);
    input.node.hidden = !has;
    input.area.value = has ? JSON.stringify(step.input, null, 2) : "";
  };
  picker.addEventListener("change", withInput);
  withInput();
  const body = h("div", {},
    h("div", {class: "field"}, h("label", {for: "from-step"}, "Run again from step"), picker),
    input.node);
  if (!steps.length) {
    toast("This run has no step to start from", "error");
    return false;
  }
  if (!await confirm("Rerun from a step?", "The new run reuses the results of the steps before the chosen one.",
    {action: "Rerun from step", body})) return false;
  const fromStep = {step_id: picker.value};
  if (!input.node.hidden && input.area.value.trim()) fromStep.input = input.read();
  const answer = await post(`/v1/runs/${encodeURIComponent(run.run_id)}/rerun`, {from_step: fromStep});
  replace(box, resultLine(`Rerun from step ${picker.value} started:`, answer.body.data.run_id));
  return true;
}

function lineage(run) {
  const items = [];
  if (run.original_run_id) items.push(h("li", {}, "Rerun of ", runLink(run.original_run_id)));
  if (run.replay_id) items.push(h("li", {}, "Part of replay ", h("code", {}, run.replay_id)));
  if (run.parent_run_id) items.push(h("li", {}, "Invoked by ", runLink(run.parent_run_id)));
  if (run.reruns && run.reruns.length) {
    items.push(h("li", {}, "Reruns: ", run.reruns.map((id, i) => [i ? ", " : "", runLink(id)])));
  }
  return items.length ? h("ul", {class: "lineage"}, items) : null;
}

function outcome(run) {
  if (run.status === "Failed") {
    const error = run.output && typeof run.output === "object" ? run.output : {message: String(run.output)};
    return [h("h2", {}, "Final error"), errorBlock(error.error && typeof error.error === "object" ? error.error
      : error)];
  }
  if (run.status === "Completed") return [h("h2", {}, "Output"), jsonView(run.output)];
  return null;
}

// The run's trace in the viewer `--trace-url` names (its `{trace_id}` filled in), else its id to search for.
function traceLink(traceId) {
  if (!traceId) return "—";
  if (!info.trace_url) return h("code", {}, traceId);
  return h("a", {href: info.trace_url.replaceAll("{trace_id}", encodeURIComponent(traceId)), target: "_blank",
    rel: "noopener noreferrer", class: "trace-link"}, "Open the trace ", h("code", {}, traceId));
}

export async function render(container, [runId]) {
  await infoLoaded;
  let run = (await get(`/v1/runs/${encodeURIComponent(runId)}`)).data;
  let selected = null;
  const actions = h("div", {class: "actions", role: "group", "aria-label": "Run actions"});
  const actionResult = h("div", {class: "action-result", "aria-live": "polite"});
  const body = h("div", {});
  const panel = h("div", {});

  function open(step, {focus = true} = {}) {
    selected = step.hashed_id;
    replace(panel, stepPanel(run, step));
    for (const bar of body.querySelectorAll(".bar")) {
      bar.setAttribute("aria-pressed", bar.dataset.step === selected ? "true" : "false");
    }
    if (focus) panel.firstChild.focus({preventScroll: false});
  }

  function draw() {
    const focused = document.activeElement?.dataset?.step;
    const ended = ENDED.has(run.status);
    replace(actions,
      ended ? null : h("button", {type: "button", class: "danger", onclick: () => go("cancel")}, "Cancel"),
      h("button", {type: "button", class: "secondary", onclick: () => go("rerun")}, "Rerun"),
      h("button", {type: "button", class: "secondary", onclick: () => go("from-step")}, "Rerun from step"));
    replace(body,
      facts([
        ["Function", fnLink(run.function_id)],
        ["Status", h("span", {}, status(run.status), run.reason ? h("span", {class: "muted"}, ` — ${run.reason}`)
          : null)],
        ["Created", time(run.created_at)],
        ["Started", time(run.started_at)],
        ["Ended", time(run.ended_at)],
        ["Duration", run.started_at ? formatDuration(between(run.started_at, run.ended_at)) : "—"],
        run.next_attempt_at ? ["Next attempt", time(run.next_attempt_at)] : null,
        run.cron ? ["Cron", h("code", {}, run.cron)] : null,
        ["Trace", traceLink(run.trace_id)],
      ]),
      lineage(run),
      warnings(run),
      timeline(run, {onOpen: (step) => open(step), selected}),
      outcome(run),
      h("h2", {}, "Trigger event", (run.events || []).length === 1 ? "" : "s"),
      (run.events || []).length ? (run.events || []).map((payload, i) => h("div", {class: "event"},
        h("p", {}, h("strong", {}, payload.name || "event"),
          i === 0 && run.event_id ? [" — ", eventLink(run.event_id, "open the event")] : null),
        jsonView(payload))) : h("p", {class: "muted"}, run.cron ? "Started by its cron schedule." : "None."),
      functionAttempts(run));
    if (focused) body.querySelector(`.bar[data-step="${CSS.escape(focused)}"]`)?.focus();
    const step = (run.steps || []).find((item) => item.hashed_id === selected);
    if (step) open(step, {focus: false});
  }

  async function go(kind) {
    try {
      if (await act(actionResult, kind, run)) await reload();
    } catch { /* the API client showed the error */ }
  }

  async function reload() {
    run = (await get(`/v1/runs/${encodeURIComponent(runId)}`)).data;
    draw();
    return !ENDED.has(run.status);
  }

  replace(container, title(`Run ${run.function_id}`), h("p", {class: "muted"}, "Run ", h("code", {}, run.run_id)),
    actions, actionResult, body, panel);
  draw();
  return ENDED.has(run.status) ? null : poll(reload, 1000);
}

function functionAttempts(run) {
  const own = (run.attempts || []).filter((a) => !a.hashed_step_id);
  if (!own.length) return null;
  return [h("h2", {}, "Failed attempts of the function's code"), h("ol", {class: "attempts"}, own.map((a) =>
    h("li", {}, h("p", {}, `Attempt ${a.attempt + 1} failed at `, time(a.at)), errorBlock(a.error))))];
}

// Run-time non-determinism findings (STP101-STP104): said in words, so they do not rely on colour.
function warnings(run) {
  const found = run.warnings || [];
  if (!found.length) return null;
  return h("section", {class: "warnings", "aria-labelledby": "warnings-title"},
    h("h2", {id: "warnings-title"}, `Warnings (${found.length})`),
    h("p", {class: "muted"}, "The function's code took another path than this run's stored steps. ",
      "See docs/nondeterminism.md."),
    h("ol", {class: "attempts"}, found.map((w) => h("li", {},
      h("p", {}, h("strong", {}, `Warning ${w.code}`), " at ", time(w.at),
        w.step_ids.length ? [" — steps ", w.step_ids.map((id, i) => [i ? ", " : "", h("code", {}, id)])] : null),
      h("p", {}, w.message)))));
}
