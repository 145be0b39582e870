// Scenario controls for the operator, each through the admin API after a confirmation: set a price, advance
// virtual time, freeze (or unfreeze) an account, inject or clear a fault.
import { admin, confirmAction, h, setStatus } from "./util.js";

export function scenarioView(main, parts, query, stops) {
  const out = h("pre", { id: "scenario-result", "aria-live": "polite" });
  const input = (label, id, attrs = {}) => h("label", { for: id }, label, h("input", { id, ...attrs }));
  const val = (id) => document.getElementById(id).value.trim();
  const form = (title, id, fields, describe, run) => h("form", { class: "panel", id, "aria-labelledby": `${id}-h`,
    onsubmit: async (e) => {
      e.preventDefault();
      if (!(await confirmAction(describe()))) return;
      try {
        const result = await run();
        out.textContent = JSON.stringify(result, null, 2);
        setStatus(`${title}: done`);
      } catch (err) {
        out.textContent = String(err.message || err);
        setStatus(`${title}: ${err.message || err}`, true);
      }
    } }, h("h2", { id: `${id}-h` }, title), h("div", { class: "row" }, fields, h("button", { class: "primary" }, title)));

  main.append(h("div", { class: "grid" }, h("div", {},
    form("Set price", "sc-price", [
      input("Category", "p-category", { value: "linear", size: 8 }), input("Symbol", "p-symbol", { value: "BTCUSDT", size: 12 }),
      input("Index price", "p-index", { inputmode: "decimal", size: 10 }), input("Mark price", "p-mark", { inputmode: "decimal", size: 10 })],
    () => `Set ${val("p-symbol")} (${val("p-category")}) to index ${val("p-index") || "–"}, mark ${val("p-mark") || "(follows the index)"}?`,
    () => admin("/prices", Object.fromEntries(Object.entries({ category: val("p-category"), symbol: val("p-symbol"),
      indexPrice: val("p-index") || undefined, markPrice: val("p-mark") || undefined }).filter(([, v]) => v !== undefined)))),
    form("Advance time", "sc-clock", [input("Milliseconds", "c-ms", { inputmode: "numeric", value: "60000", size: 10 })],
      () => `Advance the virtual clock by ${val("c-ms")} ms? Funding, triggers and the market step through it.`,
      () => admin("/clock/advance", { ms: Number(val("c-ms")) })),
    form("Freeze account", "sc-freeze", [input("UID", "z-uid", { inputmode: "numeric", size: 12 }),
      h("label", { for: "z-state" }, "State", h("select", { id: "z-state" },
        h("option", { value: "frozen" }, "frozen (10007)"), h("option", { value: "banned" }, "banned (10008)"),
        h("option", { value: "" }, "active (remove the rule)")))],
      () => `Set account ${val("z-uid")} to ${val("z-state") || "active"}? Its signed requests will be refused while it lasts.`,
      () => admin(`/accounts/${encodeURIComponent(val("z-uid"))}/rules`, { status: val("z-state") || null })),
    form("Inject fault", "sc-fault", [input("Path", "f-fpath", { value: "/v5/order/create", size: 18 }),
      h("label", { for: "f-fcode" }, "Code", h("select", { id: "f-fcode" }, h("option", { value: "10016" }, "10016 (dropped)"),
        h("option", { value: "10000" }, "10000 (timeout, applied)"), h("option", { value: "0" }, "latency only"))),
      input("Count", "f-count", { inputmode: "numeric", value: "1", size: 4 }),
      input("Latency ms", "f-latency", { inputmode: "numeric", value: "0", size: 6 })],
      () => `Inject a fault on ${val("f-fpath")} for the next ${val("f-count")} request(s)?`,
      () => admin("/faults", Object.assign({ path: val("f-fpath"), count: Number(val("f-count")) },
        Number(val("f-fcode")) ? { code: Number(val("f-fcode")) } : {},
        Number(val("f-latency")) ? { latency_ms: Number(val("f-latency")) } : {}))),
    h("div", { class: "row" }, h("button", { id: "clear-faults", onclick: async () => {
      if (await confirmAction("Clear every injected fault?")) out.textContent = JSON.stringify(await admin("/faults/clear", {}), null, 2);
    } }, "Clear faults"))),
  h("section", { class: "panel" }, h("h2", {}, "Result"), out)));
  document.getElementById("p-index").focus();
}
