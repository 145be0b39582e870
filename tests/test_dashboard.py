"""The web dashboard at / (paperex.dashboard): served files and headers, the admin routes behind its views, and
the views themselves in headless Chromium (Playwright) against a living market, driven by pybit as a bot would.

The browser: $PAPEREX_CHROMIUM, Debian's chromium (scripts/ensure-chromium.sh installs it in `make test`), or
Playwright's own download; without one the browser tests are skipped with the reason. Screenshots of each view
go to test-output/dashboard/ (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from pybit.exceptions import InvalidRequestError

from tests.conftest import Trader, make_trader, pybit_http
from tests.serverproc import ServerProcess

SHOTS = Path(__file__).resolve().parent.parent / "test-output" / "dashboard"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("dash-data"), market=True).start()
    yield proc
    proc.stop()


def _chromium() -> str | None:
    for path in (os.environ.get("PAPEREX_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                 shutil.which("google-chrome")):
        if path and os.path.exists(path):
            return path
    return None


@pytest.fixture(scope="module")
def page(live: ServerProcess) -> Iterator:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the test extras)")
    with sync_api.sync_playwright() as p:
        path = _chromium()
        try:
            browser = p.chromium.launch(executable_path=path, args=["--no-sandbox"]) if path else p.chromium.launch()
        except Exception as exc:  # no system chromium and no Playwright download
            pytest.skip(f"no browser for the dashboard tests: {str(exc).splitlines()[0]} "
                        "(install Debian's chromium, or set PAPEREX_CHROMIUM)")
        pg = browser.new_page(viewport={"width": 1366, "height": 860})
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.errors = errors  # type: ignore[attr-defined]
        SHOTS.mkdir(parents=True, exist_ok=True)
        yield pg
        browser.close()
    assert not errors, f"the page reported errors: {errors}"


def _shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _index(live: ServerProcess) -> Decimal:
    t = pybit_http(live).get_tickers(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    return Decimal(t["indexPrice"])


# -- served files -----------------------------------------------------------------------------------------
def test_page_and_assets_are_served_with_types_cache_and_csp(server: ServerProcess) -> None:
    r = requests.get(server.base_url + "/", timeout=5)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["Cache-Control"] == "no-cache" and r.headers["X-Content-Type-Options"] == "nosniff"
    assert '<script type="module" src="/dashboard/app.js">' in r.text
    lib = requests.get(server.base_url + "/dashboard/vendor/lightweight-charts.standalone.production.js", timeout=5)
    assert lib.status_code == 200 and lib.headers["Content-Type"].startswith("text/javascript")
    assert "max-age=86400" in lib.headers["Cache-Control"] and "Lightweight Charts" in lib.text[:300]
    for name in ("app.js", "market.js", "accounts.js", "inspector.js", "scenario.js", "util.js", "reasons.js",
                 "style.css"):
        assert requests.get(f"{server.base_url}/dashboard/{name}", timeout=5).status_code == 200, name
    for bad in ("/dashboard/nope.js", "/dashboard/%2e%2e/errors.py", "/dashboard/vendor/README"):
        assert requests.get(server.base_url + bad, timeout=5).status_code == 404, bad


def test_account_views_show_what_v5_shows_and_never_a_secret(server: ServerProcess, trader: Trader) -> None:
    session = pybit_http(server, trader.api_key, trader.api_secret)
    placed = session.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.01",
                                 price="50000")["result"]
    rows = server.admin("GET", "/admin/v1/accounts")["result"]["list"]
    mine = next(r for r in rows if r["uid"] == trader.uid)
    assert mine["openOrders"] == 1 and Decimal(mine["totalEquity"]) > 0 and "accountIMRate" in mine
    orders = server.admin("GET", f"/admin/v1/accounts/{trader.uid}/open-orders")["result"]
    v5 = session.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    assert orders["open"][0] == v5 and orders["open"][0]["orderId"] == placed["orderId"]
    keys = server.admin("GET", f"/admin/v1/accounts/{trader.uid}/api-keys")["result"]["list"]
    assert [k["apiKey"] for k in keys] == [trader.api_key] and "secret" not in keys[0]
    assert trader.api_secret not in str(server.admin("GET", f"/admin/v1/accounts/{trader.uid}/api-keys"))
    ledger = server.admin("GET", f"/admin/v1/accounts/{trader.uid}/ledger")["result"]["list"]
    assert ledger and ledger[0]["type"] == "TRANSFER_IN"
    log = server.admin("GET", f"/admin/v1/requests?orderId={placed['orderId']}")["result"]["list"]
    assert [e["path"] for e in log] == ["/v5/order/create"] and log[0]["apiKey"] == trader.api_key
    assert log[0]["latencyMs"] > 0 and trader.api_secret not in str(log)
    assert server.admin("GET", "/admin/v1/requests?code=x")["retCode"] == 10001


def test_a_refusal_is_logged_with_its_rule_in_numbers_and_the_wire_keeps_bybits_message(
        server: ServerProcess) -> None:
    poor = make_trader(server, {"USDT": "100"})
    with pytest.raises(InvalidRequestError) as info:
        pybit_http(server, poor.api_key, poor.api_secret).place_order(
            category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.1", price="60000")
    assert info.value.status_code == 110007 and info.value.message == "Available balance is insufficient"
    entry = server.admin("GET", f"/admin/v1/requests?uid={poor.uid}&code=110007")["result"]["list"][-1]
    assert entry["retMsg"] == "Available balance is insufficient"
    # 0.1 BTC at 60000 = 6000 USDT: IM at 10x 600, fees 2 x 0.055% of 6000 = 6.6
    assert entry["reason"] == ("available balance 100 USDT < order cost 606.6 USDT (IM 600 USDT at 10x + fees "
                               "6.6 USDT) at price 60000"), entry["reason"]


# -- in the browser ---------------------------------------------------------------------------------------
def test_market_view_charts_the_history_and_updates_when_a_trade_prints(live: ServerProcess, page) -> None:
    page.goto(live.base_url + "/#/market/linear/BTCUSDT")
    chart = page.locator("#chart")
    chart.locator("canvas").first.wait_for()
    page.locator("#chart[data-candles]").wait_for()  # (no wait_for_function: the page's CSP forbids eval)
    assert int(chart.get_attribute("data-candles") or 0) >= 500  # a day of 1-minute history, at most 1000 a page
    trader = make_trader(live)
    session = pybit_http(live, trader.api_key, trader.api_secret)
    before = int(chart.get_attribute("data-updates") or 0)
    order_id = session.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market",
                                   qty="0.037")["result"]["orderId"]
    fill = session.get_executions(category="linear", orderId=order_id)["result"]["list"][0]
    row = page.locator(f"#tape tr[data-id='{fill['execId']}']")
    row.wait_for(timeout=3000)  # the public trade our fill printed, on the tape
    assert int(chart.get_attribute("data-updates") or 0) > before  # and into the last candle
    page.locator("#ladder tbody tr").first.wait_for()
    assert page.locator("#depth path").count() == 2
    assert page.locator("#ticker [data-field='Open interest']").count() == 1
    _shot(page, "market")


def test_an_order_placed_through_pybit_shows_in_the_account_view_within_a_second(live: ServerProcess, page) -> None:
    trader = make_trader(live)
    page.goto(f"{live.base_url}/#/accounts/{trader.uid}")
    page.locator("#acct-orders table").first.wait_for()
    session = pybit_http(live, trader.api_key, trader.api_secret)
    bid = Decimal(session.get_orderbook(category="linear", symbol="BTCUSDT")["result"]["b"][0][0])
    order_id = session.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.002",
                                   price=str((bid * Decimal("0.97")).quantize(Decimal("0.5"))))["result"]["orderId"]
    placed = time.monotonic()
    page.locator(f"#acct-orders tr[data-order-id='{order_id}']").wait_for(timeout=1000)
    assert time.monotonic() - placed < 1.0
    assert page.locator(f"#acct-orders tr[data-order-id='{order_id}']").get_attribute("data-status") == "New"
    _shot(page, "account")
    page.goto(f"{live.base_url}/#/accounts")
    page.locator(f"#accounts tr[data-uid='{trader.uid}']").wait_for()
    _shot(page, "accounts")
    # the order's "request" link: the create that made it
    page.goto(f"{live.base_url}/#/accounts/{trader.uid}")
    page.locator(f"#acct-orders tr[data-order-id='{order_id}'] a", has_text="request").click()
    page.locator("#requests tr[data-path='/v5/order/create']").wait_for()
    assert page.locator("#requests tr").count() == 1


def test_a_refused_order_shows_in_the_inspector_with_its_code_and_reason(live: ServerProcess, page) -> None:
    poor = make_trader(live, {"USDT": "50"})
    with pytest.raises(InvalidRequestError) as info:
        pybit_http(live, poor.api_key, poor.api_secret).place_order(
            category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.05", price="60000")
    assert info.value.status_code == 110007
    page.goto(f"{live.base_url}/#/requests?uid={poor.uid}")
    row = page.locator("#requests tr[data-code='110007']")
    row.wait_for()
    assert "110007: available balance 50 USDT < order cost" in row.inner_text()
    row.focus()
    page.keyboard.press("Enter")  # keyboard: a row opens its details
    refusal = page.locator("#refusal")
    refusal.wait_for()
    assert refusal.inner_text().startswith("110007: available balance 50 USDT < order cost 303.3 USDT (IM 300 USDT")
    details = page.locator("#request-detail dl").inner_text()  # the request's fields, each a term and its value
    assert "retCode" in details and "POST /v5/order/create" in details and "[object" not in details
    _shot(page, "requests")
    page.fill("#f-code", "0")
    page.locator("#requests tr[data-code='110007']").wait_for(state="detached")


def test_a_scenario_control_moves_the_price_after_confirmation(live: ServerProcess, page) -> None:
    target = (_index(live) * Decimal("1.04")).quantize(Decimal("0.1"))
    page.goto(f"{live.base_url}/#/scenario")
    page.fill("#p-index", str(target))
    page.click("#sc-price button.primary")
    page.locator("#confirm[open]").wait_for()
    _shot(page, "scenario-confirm")
    page.click("#confirm-ok")
    page.locator("#scenario-result", has_text="indexPrice").wait_for()
    assert abs(_index(live) - target) / target < Decimal("0.005")
    page.goto(f"{live.base_url}/#/market/linear/BTCUSDT?price=index&interval=1")
    index_cell = page.locator("#ticker [data-field='Index'] dd")
    index_cell.wait_for()
    assert abs(Decimal(index_cell.inner_text()) - target) / target < Decimal("0.005")
    _shot(page, "market-after-price")
