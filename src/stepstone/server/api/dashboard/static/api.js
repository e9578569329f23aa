// The REST API client: JSON in and out, same origin, the CSRF token on state-changing requests.
// A failed request shows its error as a toast (unless `quiet`) and throws an ApiError.

import { toast } from "./ui.js";

const csrf = document.querySelector('meta[name="stepstone-csrf"]')?.content || "";

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export async function request(method, path, {body, params, quiet} = {}) {
  const headers = {Accept: "application/json"};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD") headers["X-Stepstone-CSRF"] = csrf;
  let response;
  try {
    response = await fetch(path + query(params), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch (err) {
    const error = new ApiError(0, `The engine did not answer (${err.message})`, null);
    if (!quiet) toast(error.message, "error");
    throw error;
  }
  if (response.status === 401 && document.querySelector('meta[name="stepstone-csrf"]')?.content) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  }
  let data = null;
  const text = await response.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = {error: text}; }
  }
  if (!response.ok) {
    const message = (data && (data.error || data.detail && JSON.stringify(data.detail))) || response.statusText;
    const error = new ApiError(response.status, `${method} ${path}: ${response.status} ${message}`, data);
    if (!quiet) toast(error.message, "error");
    throw error;
  }
  return {status: response.status, body: data};
}

export const get = async (path, params, options) => (await request("GET", path, {params, ...options})).body;
export const post = (path, body, options) => request("POST", path, {body: body ?? {}, ...options});
export const del = (path, options) => request("DELETE", path, options);
