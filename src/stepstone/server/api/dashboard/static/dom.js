// A tiny element builder. Text always goes in as text nodes (never innerHTML): event data, outputs and
// errors shown by the dashboard are untrusted, so the pages are XSS-safe by construction.

const SVG_NS = "http://www.w3.org/2000/svg";

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
}

function setAttributes(node, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "style" && typeof value === "object") {
      Object.assign(node.style, value);  // CSSOM, allowed by the page's CSP
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else if (key === "value" || key === "checked" || key === "selected" || key === "indeterminate") {
      node[key] = value;
    } else {
      node.setAttribute(key === "className" ? "class" : key, value === true ? "" : String(value));
    }
  }
}

// h("a", {href: "/runs", class: "x", onclick: fn}, "text", child, [more])
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  setAttributes(node, attrs);
  append(node, children);
  return node;
}

// The same for SVG elements.
export function s(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttributes(node, attrs);
  append(node, children);
  return node;
}

// Replace every child of `node`.
export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

// An internal link: the router handles it without reloading the page.
export function link(href, ...children) {
  return h("a", {href, "data-nav": true}, ...children);
}
