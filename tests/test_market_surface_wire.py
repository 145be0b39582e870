"""Open interest, the long/short account ratio, the price band, system status and maintenance, and the legacy
``liquidation.{symbol}`` topic, through unmodified pybit and ccxt (sync and async)."""

from __future__ import annotations

import asyncio
import threading
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import ccxt
import ccxt.async_support as ccxt_async
import orjson
import pytest
from ccxt.test.exchange.base.test_open_interest import test_open_interest as ccxt_test_open_interest
from ccxt.test.exchange.sync.test_fetch_open_interest_history import (
    test_fetch_open_interest_history as ccxt_test_fetch_open_interest_history,
)
from ccxt.test.exchange.sync.test_fetch_status import test_fetch_status as ccxt_test_fetch_status

from tests.conftest import ccxt_config, ccxt_sync, make_trader, pybit_http
from tests.serverproc import ServerProcess
from tests.test_trading_wire import client, rejected
from tests.test_ws_public import wait_for

BTC = {"category": "linear", "symbol": "BTCUSDT"}
FIVE_MIN, HOUR = 300_000, 3_600_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z, where the virtual clock starts


@pytest.fixture(scope="module")
def living(tmp_path_factory) -> Iterator[ServerProcess]:
    """The default market: a synthetic past, a liquidity provider and background takers."""
    server = ServerProcess(tmp_path_factory.mktemp("living"), ["--no-demo"], market=True).start()
    yield server
    server.stop()


@pytest.fixture()
def virtual(tmp_path: Path) -> Iterator[ServerProcess]:
    config = tmp_path / "virtual.toml"
    config.write_text('[clock]\nmode = "virtual"\nstart = "2026-01-01T00:00:00Z"\n[market]\nenabled = false\n')
    server = ServerProcess(tmp_path / "data", ["--no-demo", "--config", str(config)]).start()
    yield server
    server.stop()


def advance(server: ServerProcess, ms: int) -> None:
    assert server.admin("POST", "/admin/v1/clock/advance", {"ms": ms})["retCode"] == 0


def trade(server: ServerProcess, buyer, seller, qty: str, price: str = "65000") -> None:
    client(server, seller).place_order(**BTC, side="Sell", orderType="Limit", qty=qty, price=price)
    client(server, buyer).place_order(**BTC, side="Buy", orderType="Market", qty=qty)


# -- open interest ----------------------------------------------------------------------------------------
def test_open_interest_history_pages_back_through_the_past(living) -> None:
    http = pybit_http(living)
    first = http.get_open_interest(**BTC, intervalTime="5min", limit=5)["result"]
    assert (first["symbol"], first["category"]) == ("BTCUSDT", "linear")
    times = [int(r["timestamp"]) for r in first["list"]]
    assert len(times) == 5 and all(t % FIVE_MIN == 0 for t in times)
    assert times == sorted(times, reverse=True) and times[0] - times[-1] == 4 * FIVE_MIN  # newest first
    assert all(Decimal(r["openInterest"]) > 0 and len(r["openInterest"].split(".")[1]) == 8 for r in first["list"])
    assert first["nextPageCursor"].startswith("lastid%3D") and "%26lasttime%3D" in first["nextPageCursor"]
    second = http.get_open_interest(**BTC, intervalTime="5min", limit=5, cursor=first["nextPageCursor"])["result"]
    assert int(second["list"][0]["timestamp"]) == times[-1] - FIVE_MIN  # the next page goes on where it stopped
    # a window: the hours from startTime to endTime, newest first; the past reaches back 30 days
    end = times[0] - times[0] % HOUR - 24 * HOUR
    rows = http.get_open_interest(**BTC, intervalTime="1h", startTime=end - 5 * HOUR, endTime=end)["result"]
    assert [int(r["timestamp"]) for r in rows["list"]] == [end - k * HOUR for k in range(6)]
    assert rows["nextPageCursor"] == ""
    month = http.get_open_interest(**BTC, intervalTime="1d", limit=200)["result"]["list"]
    assert 29 <= len(month) <= 32
    inverse = http.get_open_interest(category="inverse", symbol="BTCUSD", intervalTime="4h", limit=3)["result"]
    assert inverse["category"] == "inverse" and all(r["openInterest"].endswith(".00000000") for r in inverse["list"])
    # refusals: Bybit's parameter errors, HTTP 404 for a category the endpoint does not serve
    assert rejected(lambda: http.get_open_interest(**BTC))[0] == 10001  # intervalTime is required
    assert rejected(lambda: http.get_open_interest(**BTC, intervalTime="1m"))[0] == 10001
    assert rejected(lambda: http.get_open_interest(**BTC, intervalTime="1h", cursor="nonsense"))[0] == 10001
    assert rejected(lambda: http.get_open_interest(category="linear", symbol="NOPEUSDT", intervalTime="1h"))[0] \
        == 10001
    with pytest.raises(Exception, match="404"):
        http.get_open_interest(category="spot", symbol="BTCUSDT", intervalTime="1h")


def test_ccxt_open_interest_passes_its_validators(living) -> None:
    ex = ccxt_sync(living)
    ex.load_markets()
    for symbol in ("BTC/USDT:USDT", "BTC/USD:BTC"):
        assert ccxt_test_fetch_open_interest_history(ex, [], symbol)
        latest = ex.fetch_open_interest(symbol)
        ccxt_test_open_interest(ex, [], "fetchOpenInterest", latest)
        assert latest["timestamp"] % HOUR == 0
    history = ex.fetch_open_interest_history("BTC/USDT:USDT", "5m", limit=20)
    assert len(history) == 20 and history[0]["timestamp"] < history[-1]["timestamp"]  # ccxt sorts ascending
    since = history[0]["timestamp"] - 10 * FIVE_MIN
    window = ex.fetch_open_interest_history("BTC/USDT:USDT", "5m", since=since, limit=5)
    # ccxt asks for [since, since + 5 x 5min]: six boundaries, the newest five (Bybit walks back from endTime)
    assert [r["timestamp"] for r in window] == [since + k * FIVE_MIN for k in range(1, 6)]
    paged = ex.fetch_open_interest_history("BTC/USDT:USDT", "1h", params={"paginate": True, "paginationCalls": 2})
    assert len({r["timestamp"] for r in paged}) == len(paged) > 200  # two pages of 200, no duplicates

    async def run_async() -> list:
        aex = ccxt_async.bybit(ccxt_config(living))
        try:
            await aex.load_markets()
            return await aex.fetch_open_interest_history("ETH/USDT:USDT", "15m", limit=4)
        finally:
            await aex.close()

    rows = asyncio.run(run_async())
    assert len(rows) == 4
    for row in rows:
        ccxt_test_open_interest(ex, [], "fetchOpenInterestHistory", row)


def test_the_live_series_follows_positions_and_the_ratio_counts_accounts(virtual) -> None:
    a, b, c = (make_trader(virtual, {"USDT": "1000000"}) for _ in range(3))
    http = pybit_http(virtual)
    trade(virtual, a, b, "0.5")  # a long, b short
    advance(virtual, FIVE_MIN)
    trade(virtual, c, b, "0.25")  # c long too: 0.75 held long
    # a boundary holds the state at that instant, before the commands stamped with it: the clock's advance
    # (a Tick at T0 + 5 min) saw 0.5 held long; at T0, before the first command, nothing was
    rows = http.get_open_interest(**BTC, intervalTime="5min")["result"]["list"]
    assert [(r["timestamp"], r["openInterest"]) for r in rows] == [
        (str(T0 + FIVE_MIN), "0.50000000"), (str(T0), "0.00000000")]
    ratio = http.get_long_short_ratio(**BTC, period="5min")["result"]["list"]
    assert [(r["buyRatio"], r["sellRatio"]) for r in ratio] == [("0.5", "0.5"), ("0.5", "0.5")]  # none: even
    advance(virtual, 2 * FIVE_MIN)  # one Tick at T0 + 15 min: it stands for T0 + 10 min too
    rows = http.get_open_interest(**BTC, intervalTime="5min", limit=3)["result"]["list"]
    assert [r["openInterest"] for r in rows] == ["0.75000000", "0.75000000", "0.50000000"]
    assert rows[0]["timestamp"] == str(T0 + 3 * FIVE_MIN)
    ratio = http.get_long_short_ratio(**BTC, period="5min", limit=3)["result"]["list"]
    assert [(r["buyRatio"], r["sellRatio"]) for r in ratio] == [("0.6667", "0.3333")] * 2 + [("0.5", "0.5")]
    client(virtual, c).place_order(**BTC, side="Sell", orderType="Market", qty="0.25", reduceOnly=True)
    now = http.get_open_interest(**BTC, intervalTime="5min", limit=1)["result"]["list"]
    assert now[0]["openInterest"] == "0.75000000"  # T0 + 15 min is sampled: a later change is the next one's
    ex = ccxt_sync(virtual)
    ex.load_markets()
    ratios = ex.fetch_long_short_ratio_history("BTC/USDT:USDT", "5min")  # ccxt sends the period as given
    assert ratios[-1]["longShortRatio"] == pytest.approx(2, rel=1e-3) and ratios[-1]["symbol"] == "BTC/USDT:USDT"


def test_account_ratio_reaches_into_the_past(living) -> None:
    http = pybit_http(living)
    rows = http.get_long_short_ratio(**BTC, period="1d", limit=500)["result"]["list"]
    assert 29 <= len(rows) <= 32
    for r in rows:
        buy, sell = Decimal(r["buyRatio"]), Decimal(r["sellRatio"])
        assert buy + sell == 1 and Decimal("0.05") <= buy <= Decimal("0.95") and r["symbol"] == "BTCUSDT"
    assert rejected(lambda: http.get_long_short_ratio(**BTC))[0] == 10001  # period is required
    ex = ccxt_sync(living)
    ex.load_markets()
    history = ex.fetch_long_short_ratio_history("BTC/USD:BTC", "4h", limit=6)
    assert len(history) == 6 and all(h["longShortRatio"] > 0 for h in history)


# -- the price band ---------------------------------------------------------------------------------------
def test_price_limit_is_the_band_orders_meet(virtual) -> None:
    body = {**BTC, "indexPrice": "65000", "markPrice": "65100"}
    assert virtual.admin("POST", "/admin/v1/prices", body)["retCode"] == 0
    http = pybit_http(virtual)
    band = http.get_price_limit(symbol="BTCUSDT")["result"]  # category defaults to linear
    info = http.get_instruments_info(**BTC)["result"]["list"][0]["riskParameters"]
    x, y = Decimal(info["priceLimitRatioX"]), Decimal(info["priceLimitRatioY"])
    mark, index = Decimal(65100), Decimal(65000)
    assert Decimal(band["buyLmt"]) == min(max(index, mark * (1 + x)), mark * (1 + y)).quantize(Decimal("0.1"))
    assert Decimal(band["sellLmt"]) == max(min(index, mark * (1 - x)), mark * (1 - y)).quantize(
        Decimal("0.1"), rounding="ROUND_CEILING")
    assert band["symbol"] == "BTCUSDT" and int(band["ts"]) == T0
    me = client(virtual, make_trader(virtual))
    assert me.place_order(**BTC, side="Buy", orderType="Limit", qty="0.01", price=band["buyLmt"])["retCode"] == 0
    above = str(Decimal(band["buyLmt"]) + Decimal("0.1"))
    # Bybit's futures default moves a price beyond the band to its edge (set-limit-px-action switches it)
    clamped = me.place_order(**BTC, side="Buy", orderType="Limit", qty="0.01", price=above)["result"]["orderId"]
    shown = me.get_open_orders(**BTC, orderId=clamped)["result"]["list"][0]
    assert Decimal(shown["price"]) == Decimal(band["buyLmt"])
    me.set_limit_price_action(category="linear", modifyEnable=False)
    assert rejected(lambda: me.place_order(**BTC, side="Buy", orderType="Limit", qty="0.01", price=above))[0] \
        == 110003
    spot = http.get_price_limit(category="spot", symbol="BTCUSDT")["result"]
    assert Decimal(spot["sellLmt"]) < Decimal(spot["buyLmt"])
    assert rejected(lambda: http.get_price_limit(category="linear"))[0] == 10001  # symbol is required


def test_price_limit_stream(virtual) -> None:
    import pybit.unified_trading as ut

    ut.PUBLIC_WSS = virtual.base_url.replace("http", "ws") + "/v5/public/{CHANNEL_TYPE}"
    got: list[dict] = []
    ws = ut.WebSocket(testnet=False, channel_type="linear")
    try:
        ws.price_limit_stream("BTCUSDT", got.append)
        wait_for(lambda: got)
        assert got[0]["topic"] == "priceLimit.BTCUSDT" and set(got[0]["data"]) == {"symbol", "buyLmt", "sellLmt"}
        virtual.admin("POST", "/admin/v1/prices", {**BTC, "indexPrice": "70000"})
        rest = pybit_http(virtual).get_price_limit(symbol="BTCUSDT")["result"]
        wait_for(lambda: got[-1]["data"]["buyLmt"] == rest["buyLmt"], what=lambda: (got[-1], rest))
        assert got[-1]["data"]["sellLmt"] == rest["sellLmt"]
    finally:
        ws.exit()


# -- the legacy liquidation topic ---------------------------------------------------------------------------
def test_pybit_liquidation_stream_sees_a_forced_liquidation(virtual) -> None:
    import pybit.unified_trading as ut

    ut.PUBLIC_WSS = virtual.base_url.replace("http", "ws") + "/v5/public/{CHANNEL_TYPE}"
    me, mm = make_trader(virtual, {"USDT": "1000"}), make_trader(virtual, {"USDT": "1000000"})
    got: list[dict] = []
    lock = threading.Lock()

    def keep(message: dict) -> None:
        with lock:
            got.append(message)

    ws = ut.WebSocket(testnet=False, channel_type="linear")
    try:
        ws.liquidation_stream("BTCUSDT", keep)
        ws.ticker_stream("BTCUSDT", lambda m: got.append({"ticker": True}))  # subscriptions are in order:
        wait_for(lambda: got)  # once the ticker's snapshot is here the liquidation topic is live
        trade(virtual, me, mm, "0.1")  # 0.1 BTC long from 65000 on 1000 USDT
        client(virtual, mm).place_order(**BTC, side="Buy", orderType="Limit", qty="0.1", price="55040")
        assert virtual.admin("POST", "/admin/v1/prices", {**BTC, "indexPrice": "55000"})["retCode"] == 0
        wait_for(lambda: any("topic" in m for m in got), what=lambda: got)
    finally:
        ws.exit()
    (frame,) = [m for m in got if "topic" in m]
    assert frame["topic"] == "liquidation.BTCUSDT" and frame["type"] == "snapshot" and isinstance(frame["ts"], int)
    # one object per frame (not a list as allLiquidation): Buy = a long was liquidated, at the bankruptcy price
    assert frame["data"] == {"price": "55035.7", "side": "Buy", "size": "0.1", "symbol": "BTCUSDT",
                             "updatedTime": T0}
    assert client(virtual, me).get_positions(**BTC)["result"]["list"][0]["size"] == "0"


# -- system status and maintenance --------------------------------------------------------------------------
def schedule(server: ServerProcess, **body) -> dict:
    reply = server.admin("POST", "/admin/v1/maintenance", body)
    assert reply["retCode"] == 0, reply
    return reply["result"]


def test_system_status_and_a_maintenance_on_the_exchange_clock(virtual) -> None:
    http = pybit_http(virtual)
    status = http.get_system_status()
    assert status["retCode"] == 0 and status["result"] == {"list": []}
    ex = ccxt_sync(virtual)
    assert ccxt_test_fetch_status(ex, [])
    assert ex.fetch_status()["status"] == "ok"
    me = client(virtual, make_trader(virtual))
    m = schedule(virtual, in_ms=60_000, duration_ms=600_000, serviceTypes=[1, 2], product=[1], title="upgrade")
    assert (m["state"], m["begin"], m["end"], m["serviceTypes"], m["product"], m["uidSuffix"], m["maintainType"],
            m["env"], m["href"]) == ("scheduled", str(T0 + 60_000), str(T0 + 660_000), [1, 2], [1], [], 1, 1, "")
    status = ex.fetch_status()
    assert (status["status"], status["eta"]) == ("ok", T0 + 60_000)  # ccxt: the next scheduled one's begin
    assert me.place_order(**BTC, side="Buy", orderType="Limit", qty="0.01", price="60000")["retCode"] == 0
    advance(virtual, 60_000)  # it begins on the exchange clock
    assert http.get_system_status()["result"]["list"][0]["state"] == "ongoing"
    assert ex.fetch_status()["status"] == "maintenance" and ex.fetch_status()["eta"] == T0 + 660_000
    code, msg = rejected(lambda: me.place_order(**BTC, side="Buy", orderType="Limit", qty="0.01", price="60000"))
    assert code == 10016 and msg.startswith("Server error.")
    assert rejected(lambda: me.get_open_orders(**BTC))[0] == 10016
    with pytest.raises(ccxt.ExchangeError, match="10016"):
        ccxt_sync(virtual, me.api_key, me.api_secret).fetch_open_orders("BTC/USDT:USDT")
    # spot is not in the maintenance, nor is market data
    assert me.get_open_orders(category="spot")["retCode"] == 0
    assert http.get_tickers(**BTC)["retCode"] == 0
    assert [r["id"] for r in public_get(virtual, "/v5/system/status?state=ongoing")["result"]["list"]] == [m["id"]]
    assert public_get(virtual, "/v5/system/status?state=scheduled")["result"]["list"] == []
    assert public_get(virtual, f"/v5/system/status?id={m['id']}")["result"]["list"][0]["title"] == "upgrade"
    assert public_get(virtual, "/v5/system/status?state=sleeping")["retCode"] == 10001
    advance(virtual, 600_000)
    assert http.get_system_status()["result"]["list"][0]["state"] == "completed"
    assert me.place_order(**BTC, side="Buy", orderType="Limit", qty="0.01", price="60000")["retCode"] == 0
    assert ex.fetch_status()["status"] == "ok"


def public_get(server: ServerProcess, path: str) -> dict:
    with urllib.request.urlopen(server.base_url + path, timeout=10) as reply:
        return orjson.loads(reply.read())


def test_market_data_maintenance_and_cancel(virtual) -> None:
    import aiohttp

    http = pybit_http(virtual)
    m = schedule(virtual, in_ms=0, duration_ms=3_600_000, serviceTypes=[5], maintainType=2)
    assert m["state"] == "ongoing"
    assert rejected(lambda: http.get_tickers(**BTC))[0] == 10016
    assert http.get_server_time()["retCode"] == 0  # the clock is not market data

    async def connect() -> int:
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(virtual.base_url.replace("http", "ws") + "/v5/public/linear"):
                    return 101
            except aiohttp.WSServerHandshakeError as err:
                return err.status

    assert asyncio.run(connect()) == 503
    cancelled = virtual.admin("POST", f"/admin/v1/maintenance/{m['id']}/cancel", {})["result"]
    assert cancelled["state"] == "completed" and int(cancelled["end"]) == T0
    assert http.get_tickers(**BTC)["retCode"] == 0
    assert asyncio.run(connect()) == 101
    later = schedule(virtual, in_ms=60_000, duration_ms=60_000)
    assert virtual.admin("POST", f"/admin/v1/maintenance/{later['id']}/cancel", {})["result"]["state"] == "canceled"
    assert virtual.admin("POST", f"/admin/v1/maintenance/{later['id']}/cancel", {})["retCode"] == 10001
    assert virtual.admin("POST", "/admin/v1/maintenance", {"in_ms": 0})["retCode"] == 10001  # no end
    assert virtual.admin("POST", "/admin/v1/maintenance", {"in_ms": 0, "duration_ms": 5,
                                                           "serviceTypes": [9]})["retCode"] == 10001
    assert orjson.loads(orjson.dumps(http.get_system_status()))["result"]["list"][0]["state"] == "canceled"

