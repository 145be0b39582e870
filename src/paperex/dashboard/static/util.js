// Small helpers shared by the views: DOM building (text only: nothing from the exchange is parsed as HTML),
// the admin API (same-origin JSON with the optional token from sessionStorage) and the V5 market API.
const TOKEN_KEY = "paperex.adminToken";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {  // nested lists of children (e.g. [dt, dd] pairs) too
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function table(caption, columns, rows, rowAttrs) {
  // columns: [title, (row) => cell content, className?]
  return h("table", {}, h("caption", { class: "muted left" }, caption),
    h("thead", {}, h("tr", {}, columns.map(([t, , c]) => h("th", { scope: "col", class: c }, t)))),
    h("tbody", {}, rows.length ? rows.map((r) => h("tr", rowAttrs ? rowAttrs(r) : {},
      columns.map(([, f, c]) => h("td", { class: c }, f(r)))))
      : h("tr", {}, h("td", { colspan: columns.length, class: "muted left" }, "none"))));
}

export function setStatus(text, error = false) {
  const el = document.getElementById("status");
  el.textContent = text;
  el.className = error ? "err" : "muted";
}

export function fmtTime(ms) {
  const d = new Date(Number(ms));
  return isNaN(d) ? "" : d.toISOString().replace("T", " ").replace("Z", "");
}

let asking = null;
function askToken() {
  if (asking) return asking;
  const dialog = document.getElementById("token");
  const input = document.getElementById("token-input");
  asking = new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      sessionStorage.setItem(TOKEN_KEY, input.value);
      input.value = "";
      asking = null;
      resolve();
    }, { once: true });
    dialog.showModal();
  });
  return asking;
}

export async function admin(path, body) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const headers = { "Content-Type": "application/json" };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers["X-Admin-Token"] = token;
    const r = await fetch("/admin/v1" + path, { method: body === undefined ? "GET" : "POST", headers,
      body: body === undefined ? undefined : JSON.stringify(body), credentials: "omit", cache: "no-store" });
    if (r.status === 401) { await askToken(); continue; }
    if (r.status === 403) throw new Error("the admin API refused this page (HTTP 403): open it from a loopback address");
    const reply = await r.json();
    if (reply.retCode !== 0) throw new Error(`${reply.retCode}: ${reply.retMsg}`);
    return reply.result;
  }
  throw new Error("no valid admin token");
}

export async function market(path, params) {
  const r = await fetch(`/v5/market/${path}?${new URLSearchParams(params)}`, { cache: "no-store" });
  const reply = await r.json();
  if (reply.retCode !== 0) throw new Error(`${reply.retCode}: ${reply.retMsg}`);
  return reply.result;
}

// a view's periodic refresh, stopped when the view is left
export function every(ms, fn, stops) {
  let alive = true;
  const run = async () => {
    if (!alive) return;
    try { await fn(); } catch (e) { setStatus(String(e.message || e), true); }
    if (alive) timer = setTimeout(run, ms);
  };
  let timer = setTimeout(run, 0);
  stops.push(() => { alive = false; clearTimeout(timer); });
}

export function confirmAction(text) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "cancel";
    dialog.showModal();
    document.getElementById("confirm-cancel").focus();
  });
}
