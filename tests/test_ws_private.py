"""The private WebSocket stream with unmodified pybit and ccxt.pro clients: every order state, every
execution and wallet updates, after HMAC authentication (bad signatures and expired auth refused)."""

from __future__ import annotations

import asyncio
import threading
import time

import orjson
from ccxt.test.exchange.base.test_position import test_position as ccxt_test_position

from tests.conftest import ccxt_pro_urls, make_trader, pybit_http
from tests.serverproc import ServerProcess
from tests.test_ws_public import quiet, wait_for  # noqa: F401  (the fixture)


def test_pybit_private_stream_sees_every_order_state_and_fill(quiet) -> None:  # noqa: F811
    import pybit.unified_trading as ut

    ut.PRIVATE_WSS = quiet.base_url.replace("http", "ws") + "/v5/private"
    me, other = make_trader(quiet), make_trader(quiet)
    got: dict[str, list] = {"order": [], "execution": [], "wallet": [], "fast": [], "position": []}
    lock = threading.Lock()

    def keep(kind):
        def callback(message: dict) -> None:
            with lock:
                got[kind].append(orjson.loads(orjson.dumps(message)))
        return callback

    # pybit's auth expires 1 s after it is signed by default: on a loaded CI machine that can pass before
    # the server reads it (and the server rightly refuses an expired auth), so allow 10 s
    ws = ut.WebSocket(testnet=False, channel_type="private", api_key=me.api_key, api_secret=me.api_secret,
                      private_auth_expire=10)
    try:
        ws.order_stream(keep("order"))
        ws.execution_stream(keep("execution"))
        ws.fast_execution_stream(keep("fast"))
        ws.wallet_stream(keep("wallet"))
        ws.position_stream(keep("position"))
        time.sleep(1.0)  # pybit does not report subscription acks: let the five subscriptions land first
        session, seller = pybit_http(quiet, me.api_key, me.api_secret), pybit_http(quiet, other.api_key,
                                                                                   other.api_secret)
        oid = session.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.02",
                                  price="64500", orderLinkId="ws-1")["result"]["orderId"]  # within the band
        seller.place_order(category="linear", symbol="BTCUSDT", side="Sell", orderType="Market", qty="0.005")
        seller.place_order(category="linear", symbol="BTCUSDT", side="Sell", orderType="Market", qty="0.015")
        wait_for(lambda: [r["orderStatus"] for m in got["order"] for r in m["data"]] == ["New", "PartiallyFilled",
                                                                                          "Filled"])
        rows = [r for m in got["order"] for r in m["data"]]
        assert all(r["orderId"] == oid and r["orderLinkId"] == "ws-1" and r["category"] == "linear" for r in rows)
        assert [r["cumExecQty"] for r in rows] == ["0", "0.005", "0.02"]
        wait_for(lambda: len([r for m in got["execution"] for r in m["data"]]) == 2 and got["wallet"])
        fills = [r for m in got["execution"] for r in m["data"]]
        assert [(f["execQty"], f["isMaker"], f["feeRate"]) for f in fills] == [("0.005", True, "0.0002"),
                                                                               ("0.015", True, "0.0002")]
        rest = session.get_executions(category="linear", symbol="BTCUSDT")["result"]["list"]
        assert {f["execId"] for f in fills} == {r["execId"] for r in rest}
        assert got["fast"] and got["wallet"][-1]["data"][0]["accountType"] == "UNIFIED"
        assert got["wallet"][-1]["topic"] == "wallet"
        # position: a row at the order's creation (flat: Bybit pushes one on every order change), then
        # after each fill; the last one is exactly what REST shows
        wait_for(lambda: [r["size"] for m in got["position"] for r in m["data"]][-1:] == ["0.02"])
        positions = [r for m in got["position"] for r in m["data"]]
        assert positions[0]["size"] == "0" and positions[0]["side"] == ""
        assert [r["size"] for r in positions if r["size"] != "0"] == ["0.005", "0.02"]
        last = positions[-1]
        assert (last["side"], last["entryPrice"], last["category"], last["leverage"]) == ("Buy", "64500", "linear",
                                                                                           "10")
        listed = session.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]
        assert listed["avgPrice"] == last["entryPrice"]
        for field in ("size", "side", "positionValue", "positionIM", "positionMM", "cumRealisedPnl",
                      "curRealisedPnl", "breakEvenPrice", "seq", "riskId"):
            assert listed[field] == last[field], field
        assert listed["curRealisedPnl"] == "-0.258"  # maker fee 0.02 % of 1290 USDT
        assert last["seq"] == fills[-1]["seq"]  # a fill and the position update it caused share their seq
        # openTime (an integer): when the position was opened, the first fill's time; 0 while flat
        assert positions[0]["openTime"] == 0
        assert last["openTime"] == listed["openTime"] == int(fills[0]["execTime"])
        assert all(f["marketUnit"] == "" for f in fills)  # a linear order's, as in Bybit's execution example
    finally:
        ws.exit()


def test_private_auth_is_checked(quiet) -> None:  # noqa: F811
    import hashlib
    import hmac

    import aiohttp

    trader = make_trader(quiet)

    async def auth(args: list) -> dict:
        async with aiohttp.ClientSession() as s, s.ws_connect(quiet.base_url + "/v5/private") as ws:
            await ws.send_str(orjson.dumps({"op": "auth", "args": args}).decode())
            reply = orjson.loads((await ws.receive(timeout=5)).data)
            await ws.send_str('{"op":"subscribe","req_id":"s","args":["order"]}')
            sub = orjson.loads((await ws.receive(timeout=5)).data)
            return {"auth": reply, "sub": sub}

    def sign(expires: int | str) -> str:
        return hmac.new(trader.api_secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()

    future = int(time.time() * 1000) + 10_000
    good = asyncio.run(auth([trader.api_key, future, sign(future)]))
    assert good["auth"]["success"] is True and good["sub"]["success"] is True
    as_string = asyncio.run(auth([trader.api_key, str(future), sign(str(future))]))  # ccxt sends a string
    assert as_string["auth"]["success"] is True
    bad = asyncio.run(auth([trader.api_key, future, sign(future + 1)]))
    assert bad["auth"]["success"] is False and bad["sub"]["success"] is False
    past = int(time.time() * 1000) - 1000
    expired = asyncio.run(auth([trader.api_key, past, sign(past)]))
    assert expired["auth"]["success"] is False


def test_ccxt_pro_watches_orders_trades_and_balance(tmp_path) -> None:
    import ccxt.pro

    server = ServerProcess(tmp_path, ["--no-demo"]).start()
    try:
        me, other = make_trader(server), make_trader(server)
        urls = ccxt_pro_urls(server)

        async def run() -> None:
            ex = ccxt.pro.bybit({"apiKey": me.api_key, "secret": me.api_secret, "urls": {"api": urls},
                                 "options": {"fetchMarkets": {"types": ["spot", "linear"]}}})
            try:
                await ex.load_markets()
                symbol = "BTC/USDT:USDT"
                assert await ex.watch_positions([symbol]) == []  # ccxt's REST snapshot: nothing held yet
                positions = asyncio.ensure_future(ex.watch_positions([symbol]))
                orders = asyncio.ensure_future(ex.watch_orders(symbol))
                trades = asyncio.ensure_future(ex.watch_my_trades(symbol))
                balance = asyncio.ensure_future(ex.watch_balance())
                await asyncio.sleep(0.5)
                seller = pybit_http(server, other.api_key, other.api_secret)
                await asyncio.to_thread(seller.place_order, category="linear", symbol="BTCUSDT", side="Sell",
                                        orderType="Limit", qty="0.01", price="65000")
                created = await ex.create_order(symbol, "market", "buy", 0.01)
                seen = await asyncio.wait_for(orders, 5)
                assert seen[-1]["id"] == created["id"] and seen[-1]["symbol"] == symbol
                mine = await asyncio.wait_for(trades, 5)
                assert mine[-1]["order"] == created["id"] and mine[-1]["price"] == 65000.0
                assert mine[-1]["takerOrMaker"] == "taker"
                wallet = await asyncio.wait_for(balance, 5)
                assert wallet["USDT"]["total"] < 100000  # the fee was paid
                pushed = await asyncio.wait_for(positions, 5)
                assert pushed[-1]["symbol"] == symbol and pushed[-1]["contracts"] == 0.01
                ccxt_test_position(ex, {"marginMode": True}, "watchPositions", pushed[-1], symbol, ex.milliseconds())
                held = await ex.fetch_positions([symbol])
                assert len(held) == 1 and held[0]["contracts"] == 0.01 and held[0]["side"] == "long"
                for p in held:  # ccxt leaves marginMode unset for linear positions (clients.md)
                    ccxt_test_position(ex, {"marginMode": True}, "fetchPositions", p, symbol, ex.milliseconds())
                assert held[0]["entryPrice"] == 65000.0 and held[0]["notional"] == 650.0
                assert held[0]["initialMargin"] == 65.0  # 650 at 10x
            finally:
                await ex.close()

        asyncio.run(run())
    finally:
        server.stop()
