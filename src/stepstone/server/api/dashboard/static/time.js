// Times as UTC or local time, by a toggle remembered in localStorage; durations in words.

const KEY = "stepstone.timezone";
let zone = localStorage.getItem(KEY) === "local" ? "local" : "utc";
const listeners = [];

export const isUtc = () => zone === "utc";

export function onZoneChange(listener) {
  listeners.push(listener);
}

export function toggleZone() {
  zone = isUtc() ? "local" : "utc";
  localStorage.setItem(KEY, zone);
  for (const listener of listeners) listener(zone);
}

const pad = (n, width = 2) => String(n).padStart(width, "0");

// "2026-12-05 19:07:08.123 UTC" or the same in local time.
export function formatTime(iso) {
  if (!iso) return "—";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return String(iso);
  const utc = isUtc();
  const parts = utc
    ? [at.getUTCFullYear(), at.getUTCMonth() + 1, at.getUTCDate(), at.getUTCHours(), at.getUTCMinutes(),
      at.getUTCSeconds(), at.getUTCMilliseconds()]
    : [at.getFullYear(), at.getMonth() + 1, at.getDate(), at.getHours(), at.getMinutes(), at.getSeconds(),
      at.getMilliseconds()];
  const [y, mo, d, hh, mm, ss, ms] = parts;
  return `${y}-${pad(mo)}-${pad(d)} ${pad(hh)}:${pad(mm)}:${pad(ss)}.${pad(ms, 3)} ${utc ? "UTC" : "local"}`;
}

// A <time> element.
export function time(iso) {
  const node = document.createElement("time");
  if (iso) node.setAttribute("datetime", iso);
  node.textContent = formatTime(iso);
  return node;
}

export function formatDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export function between(start, end) {
  if (!start) return null;
  const to = end ? Date.parse(end) : Date.now();
  return to - Date.parse(start);
}

// A datetime-local input's value (in the chosen zone) as RFC 3339 UTC, or "".
export function inputToIso(value) {
  if (!value) return "";
  const at = isUtc() ? new Date(`${value}Z`) : new Date(value);
  return Number.isNaN(at.getTime()) ? "" : at.toISOString();
}

// RFC 3339 as a datetime-local input's value in the chosen zone.
export function isoToInput(iso) {
  if (!iso) return "";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "";
  if (isUtc()) return at.toISOString().slice(0, 19);
  const local = new Date(at.getTime() - at.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 19);
}
