"""Order entry over /v5/trade with unmodified pybit WebSocketTrading and ccxt.pro: the REST handlers'
results and errors, reqId rules, the header timestamp rule."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
import time

import orjson

from tests.conftest import ccxt_pro_urls, make_trader, pybit_http
from tests.test_ws_public import quiet, wait_for  # noqa: F401  (the fixture)


def test_pybit_websocket_trading(quiet) -> None:  # noqa: F811
    import pybit._websocket_trading as wst_module
    from pybit.unified_trading import WebSocketTrading

    wst_module.TRADE_WSS = quiet.base_url.replace("http", "ws") + "/v5/trade"
    trader = make_trader(quiet)
    replies: list[dict] = []
    errors: list[dict] = []
    lock = threading.Lock()

    def ok(message: dict) -> None:
        with lock:
            replies.append(message)

    def bad(message: dict) -> None:
        with lock:
            errors.append(message)

    ws = WebSocketTrading(testnet=False, api_key=trader.api_key, api_secret=trader.api_secret)
    try:
        ws.place_order(ok, bad, category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.01",
                       price="60000", orderLinkId="wst-1")
        wait_for(lambda: replies)
        created = replies[0]
        assert created["retCode"] == 0 and created["op"] == "order.create" and created["data"]["orderLinkId"] == "wst-1"
        rest = pybit_http(quiet, trader.api_key, trader.api_secret)
        (row,) = rest.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"]
        assert row["orderId"] == created["data"]["orderId"]  # the same order REST sees
        ws.amend_order(ok, bad, category="linear", symbol="BTCUSDT", orderLinkId="wst-1", price="60100")
        ws.place_order(ok, bad, category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.01",
                       price="60000", orderLinkId="wst-1")  # a duplicate orderLinkId: the REST error
        ws.place_batch_order(ok, bad, category="linear", request=[
            {"symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.01", "price": "59000"},
            {"symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.0105", "price": "59000"}])
        wait_for(lambda: len(replies) == 3 and len(errors) == 1)
        assert errors[0]["retCode"] == 110072 and errors[0]["retMsg"] == "OrderLinkedID is duplicate"
        batch = next(r for r in replies if r["op"] == "order.create-batch")
        assert [e["code"] for e in batch["retExtInfo"]["list"]] == [0, 10001]
        assert rest.get_open_orders(category="linear", symbol="BTCUSDT", orderLinkId="wst-1")["result"]["list"][0][
            "price"] == "60100"
        ws.cancel_order(ok, bad, category="linear", symbol="BTCUSDT", orderLinkId="wst-1")
        wait_for(lambda: len(replies) == 4)
        assert replies[-1]["op"] == "order.cancel" and replies[-1]["header"]["Timenow"].isdigit()
    finally:
        ws.exit()


def test_trade_socket_rules(quiet) -> None:  # noqa: F811
    import aiohttp

    trader = make_trader(quiet)
    expires = int(time.time() * 1000) + 10_000
    signature = hmac.new(trader.api_secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
    order = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.01",
             "price": "60000"}

    async def run() -> list[dict]:
        out = []
        async with aiohttp.ClientSession() as s, s.ws_connect(quiet.base_url + "/v5/trade") as ws:
            async def ask(frame: dict) -> dict:
                await ws.send_str(orjson.dumps(frame).decode())
                return orjson.loads((await ws.receive(timeout=5)).data)

            now = str(int(time.time() * 1000))
            out.append(await ask({"reqId": "0", "header": {"X-BAPI-TIMESTAMP": now}, "op": "order.create",
                                  "args": [order]}))  # before auth
            out.append(await ask({"op": "auth", "args": [trader.api_key, expires]}))  # malformed
            out.append(await ask({"op": "auth", "args": [trader.api_key, expires, signature]}))
            out.append(await ask({"reqId": "1", "header": {"X-BAPI-TIMESTAMP": now}, "op": "order.create",
                                  "args": [order]}))
            out.append(await ask({"reqId": "1", "header": {"X-BAPI-TIMESTAMP": now}, "op": "order.create",
                                  "args": [order]}))  # the same reqId again
            old = str(int(time.time() * 1000) - 60_000)
            out.append(await ask({"reqId": "2", "header": {"X-BAPI-TIMESTAMP": old}, "op": "order.create",
                                  "args": [order]}))
            out.append(await ask({"reqId": "3", "header": {"X-BAPI-TIMESTAMP": now}, "op": "order.teleport",
                                  "args": [order]}))
            out.append(await ask({"header": {"X-BAPI-TIMESTAMP": now}, "op": "order.create", "args": [order]}))
        return out

    before, malformed, auth, first, again, stale, unknown, anonymous = asyncio.run(run())
    assert before["retCode"] == 10007
    assert (malformed["retCode"], malformed["op"]) == (10001, "auth")
    assert anonymous["retCode"] == 0 and "reqId" not in anonymous  # echoed only when sent
    assert (auth["retCode"], auth["op"]) == (0, "auth")
    assert first["retCode"] == 0 and first["reqId"] == "1" and first["data"]["orderId"]
    assert (again["retCode"], again["retMsg"].split(":")[0]) == (10014, "Invalid duplicate request.")
    assert stale["retCode"] == 10002
    assert unknown["retCode"] == 10001


def test_ccxt_pro_create_order_ws(quiet) -> None:  # noqa: F811
    import ccxt.pro

    trader = make_trader(quiet)
    urls = ccxt_pro_urls(quiet)

    async def run() -> tuple:
        ex = ccxt.pro.bybit({"apiKey": trader.api_key, "secret": trader.api_secret, "urls": {"api": urls},
                             "options": {"fetchMarkets": {"types": ["linear"]}}})
        try:
            await ex.load_markets()
            order = await ex.create_order_ws("BTC/USDT:USDT", "limit", "buy", 0.01, 60000)
            edited = await ex.edit_order_ws(order["id"], "BTC/USDT:USDT", "limit", "buy", 0.02, 60100)
            cancelled = await ex.cancel_order_ws(order["id"], "BTC/USDT:USDT")
            return order, edited, cancelled
        finally:
            await ex.close()

    order, edited, cancelled = asyncio.run(run())
    assert order["id"] and edited["id"] == order["id"] and cancelled["id"] == order["id"]
    rest = pybit_http(quiet, trader.api_key, trader.api_secret)
    row = rest.get_open_orders(category="linear", symbol="BTCUSDT", orderId=order["id"])["result"]["list"][0]
    assert (row["orderStatus"], row["qty"], row["price"]) == ("Cancelled", "0.02", "60100")
