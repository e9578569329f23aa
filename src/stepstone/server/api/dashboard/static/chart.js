// Charts drawn by hand as SVG (no library, nothing fetched): bars or lines over time buckets, a y axis with
// round ticks and a time axis in the dashboard's UTC/local choice. Each chart is a <figure> whose SVG is one
// image with an accessible name summing it up; every bar and point has a <title> (shown on hover), and the
// numbers are in a table under "Show the numbers". Colours come from the stylesheet; series differ by pattern
// and by legend text too, never by colour alone.

import { h, s } from "./dom.js";
import { formatDuration, isUtc } from "./time.js";

const WIDTH = 720;
const LEFT = 52;
const RIGHT = 8;
const TOP = 10;
const BOTTOM = 22;

const pad = (n) => String(n).padStart(2, "0");

// "14:05" (or "Dec 5 14:00" at midnight of a day's axis), in UTC or local time.
export function clock(iso, withDay = false) {
  const at = new Date(iso);
  const [mo, d, hh, mm] = isUtc() ? [at.getUTCMonth(), at.getUTCDate(), at.getUTCHours(), at.getUTCMinutes()]
    : [at.getMonth(), at.getDate(), at.getHours(), at.getMinutes()];
  const month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][mo];
  return `${withDay ? `${month} ${d} ` : ""}${pad(hh)}:${pad(mm)}`;
}

// The smallest 1, 2 or 5 times a power of ten at or above `value` (at least `floor`).
export function niceMax(value, floor = 1) {
  const target = Math.max(value, floor);
  const power = 10 ** Math.floor(Math.log10(target));
  return [1, 2, 5, 10].map((step) => step * power).find((candidate) => candidate >= target);
}

function yAxis(max, height, format) {
  const counts = format === String;  // a count's axis has no half-run tick
  return [0, max / 2, max].filter((value) => !counts || Number.isInteger(value)).map((value) => {
    const y = TOP + height - (value / max) * height;
    return s("g", {class: "chart-grid"},
      s("line", {x1: LEFT, x2: WIDTH - RIGHT, y1: y, y2: y}),
      s("text", {x: LEFT - 6, y: y + 4, "text-anchor": "end"}, format(value)));
  });
}

function xAxis(buckets, height, every) {
  const step = (WIDTH - LEFT - RIGHT) / buckets.length;
  const labels = [];
  buckets.forEach((bucket, i) => {
    if (i % every !== 0) return;
    labels.push(s("text", {x: LEFT + i * step, y: TOP + height + 16, "text-anchor": i ? "middle" : "start"},
      clock(bucket.start)));
  });
  return s("g", {class: "chart-axis"}, labels);
}

function legend(series) {
  return h("ul", {class: "chart-legend"}, series.map((item) => h("li", {},
    h("span", {class: `swatch ${item.cls}`, "aria-hidden": "true"}), item.label)));
}

function numbers(buckets, series, format) {
  return h("details", {class: "chart-numbers"},
    h("summary", {}, "Show the numbers"),
    h("table", {class: "table"},
      h("thead", {}, h("tr", {}, h("th", {scope: "col"}, "From"),
        series.map((item) => h("th", {scope: "col"}, item.label)))),
      h("tbody", {}, buckets.map((bucket) => h("tr", {},
        h("th", {scope: "row"}, clock(bucket.start, true)),
        series.map((item) => h("td", {}, bucket[item.key] === null ? "—" : format(bucket[item.key]))))))));
}

// A chart over `buckets` (the API's): `bars` stacked per bucket, `lines` drawn over them; `format` writes a
// value (counts by default), `summary` names the whole image for screen readers.
export function timeChart({title, buckets, bars = [], lines = [], format = String, summary, every, height = 150,
  floor = 2}) {
  const plotWidth = WIDTH - LEFT - RIGHT;
  const step = plotWidth / buckets.length;
  const stackTop = (bucket) => bars.reduce((sum, item) => sum + (bucket[item.key] || 0), 0);
  const peak = Math.max(0, ...buckets.map(stackTop),
    ...buckets.flatMap((bucket) => lines.map((item) => bucket[item.key] || 0)));
  const max = niceMax(peak, floor);
  const y = (value) => TOP + height - (value / max) * height;
  const when = (bucket) => clock(bucket.start, true);
  const rects = buckets.flatMap((bucket, i) => {
    let base = 0;
    return bars.filter((item) => bucket[item.key]).map((item) => {
      const value = bucket[item.key];
      const rect = s("rect", {class: `bar-${item.cls} ${item.cls}`, x: LEFT + i * step + step * 0.12,
        width: Math.max(step * 0.76, 1), y: y(base + value), height: Math.max(y(base) - y(base + value), 1)},
      s("title", {}, `${when(bucket)}: ${format(value)} ${item.label.toLowerCase()}`));
      base += value;
      return rect;
    });
  });
  const paths = lines.map((item) => {
    const points = buckets.map((bucket, i) => ({bucket, value: bucket[item.key], x: LEFT + i * step + step / 2}))
      .filter(({value}) => value !== null && value !== undefined);
    const d = points.map(({value, x}, i) => `${i ? "L" : "M"}${x.toFixed(1)},${y(value).toFixed(1)}`).join(" ");
    return s("g", {class: `line ${item.cls}`},
      points.length > 1 ? s("path", {d}) : null,
      points.filter(({value}) => value).map(({bucket, value, x}) => s("circle", {cx: x, cy: y(value), r: 2.5},
        s("title", {}, `${when(bucket)}: ${item.label.toLowerCase()} ${format(value)}`))));
  });
  const svg = s("svg", {viewBox: `0 0 ${WIDTH} ${TOP + height + BOTTOM}`, role: "img",
    "aria-label": `${title}: ${summary}`, class: "chart-svg", preserveAspectRatio: "xMidYMid meet"},
  yAxis(max, height, format), xAxis(buckets, height, every), rects, paths);
  const all = [...bars, ...lines];
  return h("figure", {class: "chart", "data-chart": title},
    h("figcaption", {}, h("strong", {}, title), " ", h("span", {class: "muted"}, summary)),
    svg, legend(all), numbers(buckets, all, format));
}

// Durations: `formatDuration`, with 0 written as "0 ms".
export const duration = (ms) => (ms === 0 ? "0 ms" : formatDuration(ms));

// Horizontal bars for a table cell: p50 solid, p95 lighter, on a shared scale; hidden from screen readers (the
// cells beside it have the numbers).
export function spanBar(p50, p95, max) {
  const scale = (value) => `${Math.max((value / Math.max(max, 1)) * 100, value ? 0.8 : 0)}%`;
  return h("span", {class: "span-bar", "aria-hidden": "true"},
    h("span", {class: "span-p95", style: {width: scale(p95)}}),
    h("span", {class: "span-p50", style: {width: scale(p50)}}));
}
