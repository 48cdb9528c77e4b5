// The console's shared code: the API key (this browser tab's session only), calls to the JSON API
// (Connect, the same endpoints any client uses), and building the page with textContent only, so
// whatever the data holds (an event text, an address) shows as text, never as markup.
"use strict";

const KEY_STORE = "kokokara-shipping-api-key";
const JAPANESE = /[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]/;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    if (typeof child === "string" || typeof child === "number") node.append(text(String(child)));
    else node.append(child);
  }
  return node;
}

// Text marked lang="ja" where it is Japanese, so it is read and drawn as Japanese.
function text(value) {
  if (!JAPANESE.test(value)) return document.createTextNode(value);
  const span = document.createElement("span");
  span.lang = "ja";
  span.textContent = value;
  return span;
}

function apiKey() {
  return sessionStorage.getItem(KEY_STORE) || "";
}

class ApiError extends Error {
  constructor(code, message, reason, fields) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.fields = fields;
  }
}

async function call(service, method, body) {
  const headers = { "content-type": "application/json" };
  const key = apiKey();
  if (key) headers.authorization = "Bearer " + key;
  let reply;
  try {
    reply = await fetch("/kokokara.shipping.v1." + service + "/" + method, { method: "POST", headers, body: JSON.stringify(body || {}) });
  } catch (failure) {
    throw new ApiError("unavailable", "The service cannot be reached: " + failure.message, "", []);
  }
  const payload = await reply.json().catch(() => ({}));
  if (reply.ok) return payload;
  let reason = "";
  const fields = [];
  for (const detail of payload.details || []) {
    if (detail.type === "google.rpc.ErrorInfo" && detail.debug) reason = detail.debug.reason || "";
    if (detail.type === "google.rpc.BadRequest" && detail.debug) fields.push(...(detail.debug.fieldViolations || []));
  }
  throw new ApiError(payload.code || "unknown", payload.message || reply.statusText, reason, fields);
}

function showError(where, error) {
  where.replaceChildren();
  const box = el("div", { class: "error", role: "alert" }, el("p", {}, el("strong", {}, errorTitle(error)), " ", error.message));
  if (error.fields && error.fields.length) {
    box.append(el("ul", {}, error.fields.map((v) => el("li", {}, el("code", {}, v.field), ": ", v.description))));
  }
  if (error.reason) box.append(el("p", { class: "muted" }, "Reason: ", el("code", {}, error.reason)));
  where.append(box);
}

function errorTitle(error) {
  switch (error.code) {
    case "unauthenticated": return "Sign in with a valid API key.";
    case "permission_denied": return "Your key's role may not do this.";
    case "invalid_argument": return "Please check the form.";
    case "not_found": return "Not found.";
    case "resource_exhausted": return "Too many requests; wait a moment.";
    case "unavailable": return "Temporarily unavailable.";
    default: return "Something went wrong.";
  }
}

function yen(money) {
  if (!money) return "";
  const units = Number(money.units || 0) + (money.nanos || 0) / 1e9;
  return units.toLocaleString("en-US") + " " + (money.currencyCode || "JPY");
}

function day(date) {
  if (!date || !date.year) return "";
  return date.year + "-" + String(date.month).padStart(2, "0") + "-" + String(date.day).padStart(2, "0");
}

// SHIPPING_METHOD_EMS -> EMS, UNAVAILABLE_REASON_SERVICE_SUSPENDED -> service suspended
function label(enumName, prefix) {
  const rest = (enumName || "").replace(prefix, "");
  return rest === "EMS" || rest === "EPACKET" ? rest : rest.replaceAll("_", " ").toLowerCase();
}

function busy(button, on) {
  button.disabled = on;
  button.setAttribute("aria-busy", on ? "true" : "false");
}

// The sign-in box at the top of every page.
function setUpSignIn() {
  const form = document.getElementById("signin");
  if (!form) return;
  const input = form.querySelector("input[name=key]");
  const state = document.getElementById("signin-state");
  const refresh = () => {
    state.textContent = apiKey() ? "Signed in for this browser session." : "Not signed in: enter an API key.";
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (value) sessionStorage.setItem(KEY_STORE, value);
    else sessionStorage.removeItem(KEY_STORE);
    input.value = "";
    refresh();
  });
  document.getElementById("signout").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORE);
    refresh();
  });
  refresh();
}

document.addEventListener("DOMContentLoaded", setUpSignIn);
