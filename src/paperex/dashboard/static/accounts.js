// Accounts: every account with equity, margin rates and PnL; one account's wallet, positions (with liquidation
// prices), open / conditional / recent orders (each linked to the request that created it and to its fills),
// executions, transaction log and API keys (never secrets). Refreshed every 700 ms from the admin API.
import { admin, every, fmtTime, h, table } from "./util.js";

const pct = (v) => (v === "" || v === undefined ? "" : `${(Number(v) * 100).toFixed(2)}%`);

export function accountsView(main, parts, query, stops) {
  if (parts[0]) return accountView(main, parts[0], query, stops);
  const box = h("div", { id: "accounts" });
  main.append(h("h2", {}, "Accounts"), box);
  every(1000, async () => {
    const { list } = await admin("/accounts");
    box.replaceChildren(table("Every account (equity and PnL in USD)", [
      ["UID", (a) => h("a", { href: `#/accounts/${a.uid}` }, a.uid), "left"],
      ["Label", (a) => a.label, "left"], ["Margin mode", (a) => a.marginMode, "left"],
      ["Equity", (a) => a.totalEquity], ["Wallet", (a) => a.totalWalletBalance],
      ["Available", (a) => a.totalAvailableBalance], ["Unrealised PnL", (a) => a.totalPerpUPL],
      ["IM rate", (a) => pct(a.accountIMRate)], ["MM rate", (a) => pct(a.accountMMRate)],
      ["Positions", (a) => a.positions], ["Open orders", (a) => a.openOrders],
      ["Rules", (a) => Object.keys(a.rules || {}).join(", "), "left"],
    ], list, (a) => ({ dataset: { uid: a.uid } })));
  }, stops);
}

function accountView(main, uid, query, stops) {
  let fillsOf = query.get("fills") || "";
  const head = h("div", { class: "stats", id: "wallet-summary" });
  const sections = Object.fromEntries(["wallet", "positions", "orders", "executions", "ledger", "keys"]
    .map((k) => [k, h("section", { class: "panel", id: `acct-${k}` })]));
  main.append(h("h2", {}, h("a", { href: "#/accounts" }, "Accounts"), ` › ${uid}`), head,
    h("div", { class: "grid" }, h("div", {}, sections.positions, sections.orders, sections.executions),
      h("div", {}, sections.wallet, sections.keys)), sections.ledger);
  const orderLinks = (o) => h("span", {},
    h("a", { href: `#/requests?orderId=${encodeURIComponent(o.orderId)}`, title: "the request that created it" }, "request"),
    " · ", h("a", { href: `#/accounts/${uid}?fills=${encodeURIComponent(o.orderId)}`, title: "its executions",
      onclick: (e) => { e.preventDefault(); fillsOf = fillsOf === o.orderId ? "" : o.orderId; refresh(); } }, "fills"));
  const orderColumns = [["Symbol", (o) => o.symbol, "left"], ["Side", (o) => h("span", { class: o.side.toLowerCase() }, o.side)],
    ["Type", (o) => o.orderType], ["Price", (o) => o.price], ["Qty", (o) => o.qty], ["Filled", (o) => o.cumExecQty],
    ["Status", (o) => o.orderStatus], ["Trigger", (o) => o.triggerPrice || ""], ["Order id", (o) => h("span", { title: o.orderId }, `…${o.orderId.slice(-10)}`), "left"],
    ["Link id", (o) => o.orderLinkId, "left"], ["Created", (o) => fmtTime(o.createdTime)], ["", orderLinks, "left"]];
  const orderAttrs = (o) => ({ dataset: { orderId: o.orderId, status: o.orderStatus } });

  async function refresh() {
    const [acct, positions, orders, execs, ledger, keys] = await Promise.all([
      admin(`/accounts/${uid}`), admin(`/accounts/${uid}/positions`), admin(`/accounts/${uid}/open-orders`),
      admin(`/accounts/${uid}/executions`), admin(`/accounts/${uid}/ledger`), admin(`/accounts/${uid}/api-keys`)]);
    const w = acct.wallet;
    head.replaceChildren(...[["Equity", w.totalEquity], ["Wallet", w.totalWalletBalance], ["Available", w.totalAvailableBalance],
      ["Unrealised PnL", w.totalPerpUPL], ["Initial margin", w.totalInitialMargin], ["IM rate", pct(w.accountIMRate)],
      ["MM rate", pct(w.accountMMRate)], ["Margin mode", acct.marginMode]]
      .map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v))));
    sections.wallet.replaceChildren(h("h2", {}, "Wallet"), table("Coins of the unified wallet", [
      ["Coin", (c) => c.coin, "left"], ["Wallet", (c) => c.walletBalance], ["Equity", (c) => c.equity],
      ["Locked", (c) => c.locked], ["uPnL", (c) => c.unrealisedPnl]], w.coin || []));
    sections.positions.replaceChildren(h("h2", {}, "Positions"), table("Open positions", [
      ["Symbol", (p) => p.symbol, "left"], ["Side", (p) => h("span", { class: p.side.toLowerCase() }, p.side)],
      ["Size", (p) => p.size], ["Entry", (p) => p.avgPrice], ["Mark", (p) => p.markPrice], ["Liq. price", (p) => p.liqPrice],
      ["Leverage", (p) => p.leverage], ["uPnL", (p) => p.unrealisedPnl], ["IM", (p) => p.positionIM], ["MM", (p) => p.positionMM],
      ["TP", (p) => p.takeProfit], ["SL", (p) => p.stopLoss]], positions.list, (p) => ({ dataset: { symbol: p.symbol } })));
    sections.orders.replaceChildren(h("h2", {}, "Orders"),
      table("Open orders", orderColumns, orders.open, orderAttrs),
      table("Conditional orders", orderColumns, orders.conditional, orderAttrs),
      table("Recent closed orders", orderColumns, orders.closed, orderAttrs));
    const shown = fillsOf ? execs.list.filter((e) => e.orderId === fillsOf) : execs.list;
    sections.executions.replaceChildren(h("h2", {}, fillsOf ? `Fills of order ${fillsOf}` : "Executions"),
      fillsOf ? h("button", { onclick: () => { fillsOf = ""; refresh(); } }, "Show all executions") : "",
      table("Newest first", [["Time", (e) => fmtTime(e.execTime), "left"], ["Symbol", (e) => e.symbol, "left"],
        ["Side", (e) => h("span", { class: e.side.toLowerCase() }, e.side)], ["Price", (e) => e.execPrice],
        ["Qty", (e) => e.execQty], ["Fee", (e) => e.execFee], ["Type", (e) => e.execType], ["Maker", (e) => String(e.isMaker)],
        ["Order", (e) => e.orderId, "left"]], shown, (e) => ({ dataset: { execId: e.execId, orderId: e.orderId } })));
    sections.ledger.replaceChildren(h("h2", {}, "Transaction log"), table("The last week, newest first", [
      ["Time", (r) => fmtTime(r.transactionTime), "left"], ["Type", (r) => r.type, "left"], ["Symbol", (r) => r.symbol, "left"],
      ["Side", (r) => r.side], ["Qty", (r) => r.qty], ["Price", (r) => r.tradePrice], ["Cash flow", (r) => r.cashFlow],
      ["Funding", (r) => r.funding], ["Fee", (r) => r.fee], ["Change", (r) => r.change], ["Balance", (r) => r.cashBalance],
      ["Coin", (r) => r.currency]], ledger.list));
    sections.keys.replaceChildren(h("h2", {}, "API keys"), table("Secrets are never shown", [
      ["Key", (k) => k.apiKey, "left"], ["Kind", (k) => k.kind], ["Read only", (k) => (k.readOnly ? "yes" : "no")],
      ["IPs", (k) => k.ips.join(", ")], ["Note", (k) => k.note, "left"]], keys.list));
  }
  every(700, refresh, stops);
}
