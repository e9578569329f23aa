// A run's waterfall: one row per step, a bar from its start to its end (now while it runs), failed
// attempts as segments, sleeps, waits and invokes as their own bars with their deadlines (a pending one is
// drawn on to its deadline, dashed; an ended one marks it when it falls on the axis), overlapping (parallel)
// steps on their own rows, and a time axis with the run's total duration. Bars are buttons: click or Enter
// opens the step.

import { h } from "../dom.js";
import { formatDuration, formatTime } from "../time.js";
import { status } from "../ui.js";

const KINDS = {
  StepRun: "step", Step: "step", StepPlanned: "step", StepFailed: "step", StepError: "step",
  Sleep: "sleep", WaitForEvent: "wait", WaitForSignal: "wait", InvokeFunction: "invoke",
  AIGateway: "request", Gateway: "request",  // step.ai.infer, step.fetch: the engine made the request
};

export function kind(step) {
  return KINDS[step.op] || "step";
}

export function stepLabel(step) {
  return step.display_id || step.id || step.hashed_id;
}

const ms = (iso) => (iso ? Date.parse(iso) : null);

const DEADLINE_WORDS = {sleep: "wakes at", wait: "times out at", invoke: "times out at"};

// A step still sleeping or waiting on its deadline.
const pending = (run, step) => !run.ended_at && !step.ended_at && ms(step.deadline) !== null;

// [start, end] of the run on the axis, in epoch milliseconds: up to the deadlines of its pending steps.
function span(run, steps, now) {
  const start = ms(run.started_at) || ms(run.created_at) || now;
  let end = ms(run.ended_at) || now;
  for (const step of steps) {
    end = Math.max(end, ms(step.ended_at) || (run.ended_at ? 0 : now));
    if (pending(run, step)) end = Math.max(end, ms(step.deadline));
  }
  return [start, Math.max(end, start + 1)];
}

// A pending step's dashed bar from now to its deadline, or an ended step's deadline mark on the axis.
function deadlineMark(run, step, end, t0, t1, pct) {
  const deadline = ms(step.deadline);
  if (deadline === null) return null;
  const title = `${DEADLINE_WORDS[kind(step)] || "deadline"} ${formatTime(step.deadline)}`;
  if (pending(run, step) && deadline > end) {
    return h("span", {class: "bar-planned", title, "aria-hidden": "true",
      style: {left: pct(end), width: `calc(${pct(deadline)} - ${pct(end)})`}});
  }
  if (deadline < t0 || deadline > t1) return null;
  return h("span", {class: "deadline-mark", title, "aria-hidden": "true", style: {left: pct(deadline)}});
}

// When a step was scheduled: its own start when the engine saw it planned; a step the SDK ran inline (its
// record starts when its result arrived) was scheduled when the one before it ended (or the run started).
function scheduled(step, steps, runStart, now) {
  const start = ms(step.started_at);
  const end = ms(step.ended_at);
  if (start === null) return runStart;
  if (end === null || end > start) return start;
  let from = runStart;
  for (const other of steps) {
    const otherEnd = ms(other.ended_at);
    if (other !== step && otherEnd !== null && otherEnd < end) from = Math.max(from, otherEnd);
  }
  return Math.min(from, start);
}

function segments(step, attempts, start, end) {
  const failures = attempts.filter((a) => a.hashed_step_id === step.hashed_id && a.at)
    .map((a) => ms(a.at)).filter((at) => at >= start && at <= end).sort((a, b) => a - b);
  const parts = [];
  let from = start;
  for (const at of failures) {
    parts.push({from, to: at, failed: true});
    from = at;
  }
  parts.push({from, to: end, failed: step.status === "Failed"});
  return parts;
}

export function timeline(run, {onOpen, selected, now = Date.now()}) {
  const steps = [...(run.steps || [])].sort((a, b) => (ms(a.started_at) || 0) - (ms(b.started_at) || 0)
    || a.index - b.index);
  const attempts = run.attempts || [];
  const [t0, t1] = span(run, steps, now);
  const total = t1 - t0;
  const pct = (t) => `${Math.min(100, Math.max(0, ((t - t0) / total) * 100))}%`;
  const rows = steps.map((step) => {
    const start = scheduled(step, steps, t0, now);
    const end = ms(step.ended_at) || (run.ended_at ? ms(run.ended_at) : now);
    const label = stepLabel(step);
    const duration = formatDuration(end - start);
    const waiting = pending(run, step)
      ? `, ${DEADLINE_WORDS[kind(step)] || "deadline"} ${formatTime(step.deadline)}` : "";
    const failed = attempts.filter((a) => a.hashed_step_id === step.hashed_id).length;
    const widthPct = Math.max(((end - start) / total) * 100, 0.6);
    const bar = h("button", {
      type: "button",
      class: `bar kind-${kind(step)} bar-${String(step.status).toLowerCase()}`,
      style: {left: pct(start), width: `${Math.min(widthPct, 100)}%`},
      "data-step": step.hashed_id,
      "aria-pressed": selected === step.hashed_id ? "true" : "false",
      "aria-label": `Step ${label}: ${step.status}, ${kind(step)}, ${duration}${waiting}` +
        (failed ? `, ${failed} failed attempt${failed === 1 ? "" : "s"}` : ""),
      onclick: () => onOpen(step),
    }, segments(step, attempts, start, end).map((part) => h("span", {
      class: `segment${part.failed ? " segment-failed" : ""}`,
      style: {width: `${((part.to - part.from) / Math.max(end - start, 1)) * 100}%`},
      "aria-hidden": "true",
    })));
    return h("li", {class: "lane"},
      h("span", {class: "lane-label"}, h("span", {class: "step-id"}, label), " ", status(step.status),
        kind(step) !== "step" ? h("span", {class: "muted"}, ` ${kind(step)}`) : null),
      h("span", {class: "track"}, bar, deadlineMark(run, step, end, t0, t1, pct),
        h("span", {class: "bar-note", "aria-hidden": "true", style: (end - t0) / total > 0.85
          ? {right: `calc(${100 - parseFloat(pct(start))}% + 4px)`} : {left: `calc(${pct(end)} + 4px)`}},
        `${duration}${waiting}`)));
  });
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => h("span", {class: "tick", style: {left: `${f * 100}%`}},
    formatDuration(total * f)));
  return h("figure", {class: "timeline"},
    h("figcaption", {}, `Timeline: ${steps.length} step${steps.length === 1 ? "" : "s"} over `,
      h("strong", {}, formatDuration(total)), run.ended_at ? "" : " so far"),
    steps.length ? h("ol", {class: "lanes"}, rows) : h("p", {class: "muted"}, "No step yet."),
    h("div", {class: "axis", "aria-hidden": "true"}, h("span", {class: "lane-label"}),
      h("span", {class: "track"}, ticks)));
}
