// The dashboard: a hash router over four views. Keys 1-4 switch views (when not typing in a field).
import { admin, fmtTime, setStatus } from "./util.js";
import { marketView } from "./market.js";
import { accountsView } from "./accounts.js";
import { inspectorView } from "./inspector.js";
import { scenarioView } from "./scenario.js";

const VIEWS = { market: marketView, accounts: accountsView, requests: inspectorView, scenario: scenarioView };
let stops = [];

function route() {
  for (const stop of stops) stop();
  stops = [];
  const [path, query] = location.hash.replace(/^#\/?/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const name = VIEWS[parts[0]] ? parts[0] : "market";
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.view === name) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  const main = document.getElementById("main");
  main.replaceChildren();
  setStatus("");
  document.title = `paperex · ${name}`;
  VIEWS[name](main, parts.slice(1), new URLSearchParams(query || ""), stops);
}

document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || /^(INPUT|SELECT|TEXTAREA)$/.test(e.target.tagName)) return;
  if (document.querySelector("dialog[open]")) return;
  const view = { 1: "market", 2: "accounts", 3: "requests", 4: "scenario" }[e.key];
  if (view) { location.hash = `#/${view}`; document.getElementById("main").focus(); }
});

async function tickClock() {
  try {
    const c = await admin("/clock");
    document.getElementById("clock").textContent = `${c.mode} time ${fmtTime(c.time)}`;
  } catch { /* the views report errors */ }
}

window.addEventListener("hashchange", route);
route();
tickClock();
setInterval(tickClock, 2000);
