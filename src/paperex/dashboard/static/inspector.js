// Request inspector: every REST and /v5/trade request the gateway answered (the admin request log), newest
// first, with its refusal's rule in plain words; filters by uid, path, code (and order id, from an order's
// "request" link); the last N kept in the page; the filtered list can be downloaded as JSON.
import { explain } from "./reasons.js";
import { admin, every, fmtTime, h, setStatus } from "./util.js";

const KEPT = 2000;

export function inspectorView(main, parts, query, stops) {
  const orderId = query.get("orderId") || "";
  const entries = [];
  let lastId = 0;
  let selected = null;
  const field = (label, id, attrs = {}) => h("label", { for: id }, label, h("input", { id, ...attrs, oninput: render }));
  const uidBox = field("UID", "f-uid", { inputmode: "numeric", size: 10, value: query.get("uid") || "" });
  const pathBox = field("Path contains", "f-path", { size: 18, value: query.get("path") || "" });
  const codeBox = field("retCode", "f-code", { inputmode: "numeric", size: 7, value: query.get("code") || "" });
  const refusedBox = h("label", { for: "f-refused" }, "Refusals only",
    h("input", { type: "checkbox", id: "f-refused", onchange: render }));
  const body = h("tbody", { id: "requests" });
  const detail = h("section", { class: "panel", id: "request-detail", "aria-live": "polite" });
  main.append(h("h2", {}, orderId ? `Requests that created order ${orderId}` : "Requests"),
    h("div", { class: "row", role: "search" }, uidBox, pathBox, codeBox, refusedBox,
      h("button", { id: "download", onclick: download }, "Download JSON"),
      orderId ? h("a", { href: "#/requests" }, "all requests") : ""),
    h("div", { class: "grid" }, h("div", { class: "scroll", style: undefined },
      h("table", { "aria-label": "Requests, newest first" }, h("thead", {}, h("tr", {},
        ["Time", "Transport", "UID", "Key", "Request", "retCode", "retMsg / rule", "ms", "Limit left"]
          .map((t) => h("th", { scope: "col", class: "left" }, t)))), body)), detail));

  const value = (box) => box.querySelector("input").value.trim();
  function filtered() {
    const uid = value(uidBox), path = value(pathBox), code = value(codeBox);
    const refused = refusedBox.querySelector("input").checked;
    return entries.filter((e) => (!uid || String(e.uid) === uid) && (!path || e.path.includes(path))
      && (!code || String(e.retCode) === code) && (!refused || e.retCode));
  }
  function render() {
    const rows = filtered().slice(-300).reverse();
    body.replaceChildren(...rows.map((e) => h("tr", {
      tabindex: 0, class: [e.retCode ? "refused" : "", selected === e.id ? "selected" : ""].join(" "),
      dataset: { id: e.id, code: e.retCode ?? "", path: e.path }, "aria-selected": String(selected === e.id),
      onclick: () => select(e), onkeydown: (k) => { if (k.key === "Enter" || k.key === " ") { k.preventDefault(); select(e); } },
    }, h("td", {}, fmtTime(e.ts).slice(11)), h("td", { class: "left" }, e.transport), h("td", { class: "left" }, e.uid ?? ""),
      h("td", { class: "left" }, e.apiKey ? e.apiKey.slice(0, 8) + "…" : ""), h("td", { class: "left" }, `${e.method} ${e.path}`),
      h("td", { class: e.retCode || e.status !== 200 ? "err" : "ok" }, e.retCode ?? `HTTP ${e.status}`),
      h("td", { class: e.retCode ? "reason" : "left" }, e.retCode ? explain(e) : e.retMsg),
      h("td", {}, e.latencyMs?.toFixed(1) ?? ""), h("td", {}, e.rateLimit ? `${e.rateLimit.remaining}/${e.rateLimit.limit}` : ""))));
  }
  function select(e) {
    selected = e.id;
    const rows = [["Time", fmtTime(e.ts)], ["Transport", e.transport], ["UID", e.uid ?? "–"], ["API key", e.apiKey || "–"],
      ["Request", `${e.method} ${e.path}`], ["HTTP status", e.status], ["retCode", e.retCode ?? "–"], ["retMsg", e.retMsg],
      ["Latency", `${e.latencyMs} ms`],
      ["Rate limit", e.rateLimit ? `${e.rateLimit.remaining} of ${e.rateLimit.limit} left, resets ${fmtTime(e.rateLimit.resetTimestamp)}` : "not limited"],
      ["Orders created", e.orderIds?.join(", ") || "–"]];
    detail.replaceChildren(h("h2", {}, `Request ${e.id}`),
      e.retCode ? h("p", { class: "reason", id: "refusal" }, explain(e)) : "",
      h("dl", {}, rows.map(([k, v]) => [h("dt", { class: "muted" }, k), h("dd", {}, String(v))])),
      h("h3", {}, "Parameters"), h("pre", {}, e.params || "(none)"),
      e.uid && e.orderIds?.length ? h("a", { href: `#/accounts/${e.uid}?fills=${encodeURIComponent(e.orderIds[0])}` }, "its fills") : "");
    render();
  }
  function download() {
    const blob = new Blob([JSON.stringify(filtered(), null, 1)], { type: "application/json" });
    const a = h("a", { href: URL.createObjectURL(blob), download: `paperex-requests-${Date.now()}.json` });
    document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }
  every(700, async () => {
    const q = new URLSearchParams({ after: String(lastId), limit: String(KEPT) });
    if (orderId) q.set("orderId", orderId);
    const result = await admin(`/requests?${q}`);
    if (result.list.length || lastId === 0) {
      entries.push(...result.list);
      if (entries.length > KEPT) entries.splice(0, entries.length - KEPT);
      lastId = result.lastId;
      render();
      setStatus(`${entries.length} requests in this page (it keeps the last ${KEPT}; the server the last 5,000)`);
    }
  }, stops);
}
