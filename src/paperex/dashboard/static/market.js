// Market view: candles (last / mark / index) from the V5 kline endpoints, live from the public WebSocket
// (kline.1, publicTrade, tickers, orderbook.50), a depth chart, the ladder, the tape, funding and open interest.
import { fmtTime, h, market, setStatus } from "./util.js";

const CATEGORIES = ["linear", "inverse", "spot"];
const INTERVALS = { "1": 60, "5": 300, "15": 900, "60": 3600, "240": 14400, D: 86400 };
const KLINE_PATH = { last: "kline", mark: "mark-price-kline", index: "index-price-kline" };
const TICKER_FIELD = { mark: "markPrice", index: "indexPrice" };

export async function marketView(main, parts, query, stops) {
  const category = CATEGORIES.includes(parts[0]) ? parts[0] : "linear";
  const tickers = (await market("tickers", { category })).list;
  const symbols = tickers.map((t) => t.symbol).sort();
  const symbol = symbols.includes(parts[1]) ? parts[1] : (symbols.includes("BTCUSDT") ? "BTCUSDT" : symbols[0]);
  const source = KLINE_PATH[query.get("price")] ? query.get("price") : "last";
  const interval = INTERVALS[query.get("interval")] ? query.get("interval") : "1";
  const go = (c, s, p, i) => { location.hash = `#/market/${c}/${encodeURIComponent(s)}?price=${p}&interval=${i}`; };

  const pick = (label, id, options, value, onchange) => h("label", { for: id }, label,
    h("select", { id, onchange }, options.map((o) => h("option", { value: o, selected: o === value }, o))));
  const stats = h("dl", { class: "stats", id: "ticker", "aria-label": "Ticker" });
  const chartEl = h("div", { id: "chart", role: "img", "aria-label": `${symbol} ${source} price candles` });
  const depth = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  depth.id = "depth"; depth.setAttribute("role", "img"); depth.setAttribute("aria-label", "Depth chart");
  depth.setAttribute("viewBox", "0 0 400 160"); depth.setAttribute("preserveAspectRatio", "none");
  const ladder = h("table", { class: "ladder", id: "ladder", "aria-label": "Order book" });
  const tape = h("tbody", { id: "tape" });
  main.append(
    h("div", { class: "row" },
      pick("Category", "m-category", CATEGORIES, category, (e) => go(e.target.value, "", source, interval)),
      pick("Symbol", "m-symbol", symbols, symbol, (e) => go(category, e.target.value, source, interval)),
      pick("Price", "m-price", Object.keys(KLINE_PATH), source, (e) => go(category, symbol, e.target.value, interval)),
      pick("Interval", "m-interval", Object.keys(INTERVALS), interval, (e) => go(category, symbol, source, e.target.value))),
    stats,
    h("div", { class: "grid" },
      h("section", { class: "panel", "aria-labelledby": "chart-h" }, h("h2", { id: "chart-h" }, `${symbol} · ${source} · ${interval}`),
        chartEl, h("p", { class: "muted attribution" }, "Charts by ",
          h("a", { href: "https://www.tradingview.com/", rel: "noopener noreferrer", target: "_blank" }, "TradingView"),
          " Lightweight Charts™"), h("h3", {}, "Depth"), depth),
      h("section", { class: "panel", "aria-labelledby": "book-h" }, h("h2", { id: "book-h" }, "Order book"), ladder,
        h("h3", {}, "Trades"), h("div", { class: "scroll" }, h("table", { "aria-label": "Recent trades" },
          h("thead", {}, h("tr", {}, ["Time", "Price", "Qty"].map((t) => h("th", { scope: "col" }, t)))), tape)))));

  // candles
  const LC = window.LightweightCharts;
  // the attribution TradingView asks for is the page's own link below the chart (its logo injects a <style>,
  // which the page's CSP refuses)
  const chart = LC.createChart(chartEl, { autoSize: true, layout: { background: { color: "#161c24" }, textColor: "#9aa5b4",
    attributionLogo: false },
    grid: { vertLines: { color: "#222b36" }, horzLines: { color: "#222b36" } }, timeScale: { timeVisible: true } });
  const series = chart.addSeries(LC.CandlestickSeries, { upColor: "#26a69a", downColor: "#ef5350", borderVisible: false,
    wickUpColor: "#26a69a", wickDownColor: "#ef5350" });
  stops.push(() => chart.remove());
  const rows = (await market(KLINE_PATH[source], { category, symbol, interval, limit: 1000 })).list;
  const bars = rows.map((r) => ({ time: Number(r[0]) / 1000, open: +r[1], high: +r[2], low: +r[3], close: +r[4] })).reverse();
  series.setData(bars);
  let last = bars[bars.length - 1];
  chartEl.dataset.candles = String(bars.length);
  chartEl.dataset.updates = "0";
  const step = INTERVALS[interval];
  const touch = (price, ms) => {  // a new price into the last candle (or a new one)
    if (!isFinite(price)) return;
    const t = Math.floor(ms / 1000 / step) * step;
    if (last && t < last.time) return;
    last = last && t === last.time ? { ...last, high: Math.max(last.high, price), low: Math.min(last.low, price), close: price }
      : { time: t, open: price, high: price, low: price, close: price };
    series.update(last);
    chartEl.dataset.updates = String(Number(chartEl.dataset.updates) + 1);
    chartEl.dataset.lastClose = String(price);
  };

  // the public stream
  const ticker = {};
  let clock = null;  // {exchange, wall}: the exchange clock at the last ticker, for the funding countdown
  const book = { b: new Map(), a: new Map() };
  let ws = null;
  let leaving = false;  // the view is closing the stream itself: no reconnect
  const connect = () => {
    ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v5/public/${category}`);
    ws.onopen = () => {
      if (document.getElementById("status").textContent.startsWith("public stream")) setStatus("");
      ws.send(JSON.stringify({ op: "subscribe", args: [`orderbook.50.${symbol}`, `publicTrade.${symbol}`,
        `tickers.${symbol}`, `kline.1.${symbol}`] }));  // the book starts again from a snapshot
    };
    ws.onclose = () => {
      if (leaving) return;
      setStatus("public stream lost; reconnecting…", true);
      setTimeout(() => { if (!leaving) connect(); }, 2000);
    };
    ws.onmessage = onMessage;
  };
  const ping = setInterval(() => ws && ws.readyState === 1 && ws.send(JSON.stringify({ op: "ping" })), 20000);
  stops.push(() => { leaving = true; clearInterval(ping); if (ws) ws.close(); });
  const onMessage = (m) => {
    const msg = JSON.parse(m.data);
    if (!msg.topic) return;
    const topic = msg.topic.split(".")[0];
    if (topic === "publicTrade") {
      for (const t of msg.data) {
        tape.prepend(h("tr", { dataset: { id: t.i, qty: t.v, side: t.S } }, h("td", {}, fmtTime(t.T).slice(11)),
          h("td", { class: t.S === "Buy" ? "buy" : "sell" }, t.p), h("td", {}, t.v)));
        if (source === "last") touch(+t.p, t.T);
      }
      while (tape.children.length > 60) tape.lastChild.remove();
    } else if (topic === "tickers") {
      Object.assign(ticker, msg.data);
      clock = { exchange: Number(msg.ts), wall: Date.now() };  // the exchange's time (virtual time too)
      if (source !== "last") touch(+ticker[TICKER_FIELD[source]], msg.ts);
      renderTicker();
    } else if (topic === "orderbook") {
      if (msg.type === "snapshot") { book.b.clear(); book.a.clear(); }
      for (const side of ["b", "a"]) for (const [p, q] of msg.data[side]) {
        if (+q === 0) book[side].delete(p); else book[side].set(p, q);
      }
      renderBook();
    } else if (topic === "kline" && source === "last" && interval === "1") {
      for (const k of msg.data) {
        const bar = { time: k.start / 1000, open: +k.open, high: +k.high, low: +k.low, close: +k.close };
        if (!last || bar.time >= last.time) { last = bar; series.update(bar); }
      }
    }
  };
  connect();

  function renderTicker() {
    const next = Number(ticker.nextFundingTime || 0);
    const now = clock ? clock.exchange + (Date.now() - clock.wall) : Date.now();
    const left = Math.max(0, next - now);
    const hms = next ? new Date(left).toISOString().slice(11, 19) : "–";
    const cells = [["Last", ticker.lastPrice], ["Mark", ticker.markPrice], ["Index", ticker.indexPrice],
      ["24h change", ticker.price24hPcnt && `${(ticker.price24hPcnt * 100).toFixed(2)}%`], ["24h volume", ticker.volume24h],
      ["Funding rate", ticker.fundingRate], ["Next funding", hms], ["Open interest", ticker.openInterest]];
    stats.replaceChildren(...cells.filter(([, v]) => v !== undefined && v !== "")
      .map(([k, v]) => h("div", { dataset: { field: k } }, h("dt", {}, k), h("dd", {}, v))));
  }
  const countdown = setInterval(renderTicker, 1000);
  stops.push(() => clearInterval(countdown));

  function renderBook() {
    const bids = [...book.b].sort((x, y) => y[0] - x[0]);
    const asks = [...book.a].sort((x, y) => x[0] - y[0]);
    const row = (side) => ([p, q]) => h("tr", {}, h("td", { class: side }, p), h("td", {}, q));
    ladder.replaceChildren(h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Price"), h("th", { scope: "col" }, "Qty"))),
      h("tbody", {}, asks.slice(0, 12).reverse().map(row("sell")), bids.slice(0, 12).map(row("buy"))));
    drawDepth(bids, asks);
  }

  function drawDepth(bids, asks) {
    const cum = (levels) => { let s = 0; return levels.map(([p, q]) => [+p, (s += +q)]); };
    const b = cum(bids), a = cum(asks);
    if (!b.length || !a.length) return;
    const lo = b[b.length - 1][0], hi = a[a.length - 1][0], top = Math.max(b[b.length - 1][1], a[a.length - 1][1]);
    const x = (p) => ((p - lo) / (hi - lo || 1)) * 400, y = (v) => 160 - (v / (top || 1)) * 150;
    const path = (pts, start) => `M${x(start)},160 ` + pts.map(([p, v]) => `L${x(p)},${y(v)}`).join(" ") +
      ` L${x(pts[pts.length - 1][0])},160 Z`;
    const ns = "http://www.w3.org/2000/svg";
    const mk = (d, color) => { const e = document.createElementNS(ns, "path"); e.setAttribute("d", d);
      e.setAttribute("fill", color); e.setAttribute("fill-opacity", "0.35"); e.setAttribute("stroke", color); return e; };
    depth.replaceChildren(mk(path(b, b[0][0]), "#26a69a"), mk(path(a, a[0][0]), "#ef5350"));
  }
  setStatus(`${symbol}: ${bars.length} candles`);
}
