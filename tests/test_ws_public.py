"""Public WebSocket streams with unmodified pybit and ccxt.pro clients, and a book rebuilt from the stream
that equals the REST book at every ``u``."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import orjson
import pytest
from ccxt.test.exchange.base.test_ohlcv import test_ohlcv as ccxt_test_ohlcv
from ccxt.test.exchange.base.test_order_book import test_order_book as ccxt_test_order_book
from ccxt.test.exchange.base.test_ticker import test_ticker as ccxt_test_ticker
from ccxt.test.exchange.base.test_trade import test_trade as ccxt_test_trade

from tests.conftest import ccxt_pro_urls, make_trader, pybit_http
from tests.serverproc import ServerProcess
from tests.test_trading_wire import client


@pytest.fixture()
def quiet(tmp_path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path, ["--no-demo"]).start()
    yield server
    server.stop()


def wait_for(predicate, timeout: float = 10.0, what=None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out: {what() if what else ''}")
        time.sleep(0.02)


def test_pybit_websocket_streams(quiet) -> None:
    import pybit.unified_trading as ut

    ut.PUBLIC_WSS = quiet.base_url.replace("http", "ws") + "/v5/public/{CHANNEL_TYPE}"
    got: dict[str, list] = {"book": [], "trade": [], "ticker": [], "kline": []}
    lock = threading.Lock()

    def keep(kind):
        def callback(message: dict) -> None:
            with lock:
                got[kind].append(orjson.loads(orjson.dumps(message)))  # pybit hands out its live book: copy it
        return callback

    ws = ut.WebSocket(testnet=False, channel_type="linear")
    try:
        ws.orderbook_stream(50, "BTCUSDT", keep("book"))
        ws.trade_stream("BTCUSDT", keep("trade"))
        ws.ticker_stream("BTCUSDT", keep("ticker"))
        ws.kline_stream(1, "BTCUSDT", keep("kline"))
        # pybit does not wait for subscription acks; the topics are processed in order, so once the ticker's
        # snapshot is here every subscription is active (publicTrade carries only later trades, as on Bybit)
        wait_for(lambda: got["book"] and got["ticker"])
        maker, taker = client(quiet, make_trader(quiet)), client(quiet, make_trader(quiet))
        for price in ("65100", "65200", "65300"):
            maker.place_order(category="linear", symbol="BTCUSDT", side="Sell", orderType="Limit", qty="0.1",
                              price=price)
        maker.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.2",
                          price="64900")
        taker.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.15")
        rest = pybit_http(quiet).get_orderbook(category="linear", symbol="BTCUSDT", limit=50)["result"]
        wait_for(lambda: got["book"] and got["book"][-1]["data"]["u"] == rest["u"],
                 what=lambda: (rest["u"], [m["data"]["u"] for m in got["book"]]))
        wait_for(lambda: len([t for m in got["trade"] for t in m["data"]]) == 2 and got["kline"],
                 what=lambda: (got["trade"], got["kline"]))
        local = got["book"][-1]["data"]
        assert sorted(map(tuple, local["b"])) == sorted(map(tuple, rest["b"]))
        assert sorted(map(tuple, local["a"])) == sorted(map(tuple, rest["a"]))
        trades = [t for m in got["trade"] for t in m["data"]]
        assert [(t["p"], t["v"], t["S"]) for t in trades] == [("65100", "0.1", "Buy"), ("65200", "0.05", "Buy")]
        wait_for(lambda: got["ticker"][-1]["data"].get("lastPrice") == "65200")
        ticker = got["ticker"][-1]["data"]  # pybit merges deltas into its snapshot
        assert ticker["symbol"] == "BTCUSDT" and ticker["openInterestValue"] and ticker["ask1Price"] == "65200"
        bar = got["kline"][-1]["data"][0]
        assert (bar["open"], bar["high"], bar["close"], bar["volume"], bar["confirm"]) == (
            "65100", "65200", "65200", "0.15", False)
    finally:
        ws.exit()


def test_stream_rebuilds_the_rest_book_at_every_u(quiet) -> None:
    import aiohttp

    traders = [client(quiet, make_trader(quiet)) for _ in range(3)]
    rng = random.Random(4)
    rest = pybit_http(quiet)

    async def run() -> int:
        checks = 0
        async with aiohttp.ClientSession() as session, session.ws_connect(
                quiet.base_url + "/v5/public/linear") as ws:
            await ws.send_str('{"op":"subscribe","req_id":"1","args":["orderbook.50.ETHUSDT"]}')
            bids: dict[str, str] = {}
            asks: dict[str, str] = {}
            u = -1

            async def pump(until: float) -> None:
                nonlocal u
                while True:
                    try:
                        msg = await ws.receive(timeout=max(0.01, until - time.monotonic()))
                    except TimeoutError:
                        return
                    frame = orjson.loads(msg.data)
                    if "topic" not in frame:
                        continue
                    data = frame["data"]
                    if frame["type"] == "snapshot":
                        bids.clear()
                        asks.clear()
                    for side, levels in (("b", bids), ("a", asks)):
                        for price, size in data[side]:
                            if size == "0":
                                assert price in levels, "a delete of a level never sent"
                                del levels[price]
                            else:
                                levels[price] = size
                    u = data["u"]

            for _ in range(25):
                for _ in range(rng.randrange(1, 6)):
                    trader = rng.choice(traders)
                    side = rng.choice(["Buy", "Sell"])
                    price = 3200 + rng.randrange(-20, 21) * 0.5
                    kind = rng.choice(["Limit", "Limit", "Limit", "Market"])
                    params = {"price": str(price)} if kind == "Limit" else {}
                    await asyncio.to_thread(trader.place_order, category="linear", symbol="ETHUSDT", side=side,
                                            orderType=kind, qty=str(rng.randrange(1, 20) / 100), **params)
                book = await asyncio.to_thread(rest.get_orderbook, category="linear", symbol="ETHUSDT", limit=50)
                book = book["result"]
                deadline = time.monotonic() + 3
                while u != book["u"] and time.monotonic() < deadline:
                    await pump(time.monotonic() + 0.05)
                assert u == book["u"]
                assert bids == dict(book["b"]) and asks == dict(book["a"])
                checks += 1
        return checks

    assert asyncio.run(run()) == 25


def test_ccxt_pro_watches_with_its_validators(tmp_path) -> None:
    import ccxt.pro

    server = ServerProcess(tmp_path, ["--no-demo"], market=True).start()  # a live market
    try:
        urls = ccxt_pro_urls(server)

        async def run() -> None:
            ex = ccxt.pro.bybit({"urls": {"api": urls},
                                 "options": {"fetchMarkets": {"types": ["spot", "linear", "inverse"]}}})
            try:
                await ex.load_markets()
                symbol = "BTC/USDT:USDT"
                book = await ex.watch_order_book(symbol)
                for _ in range(3):
                    book = await ex.watch_order_book(symbol)
                ccxt_test_order_book(ex, {}, "watchOrderBook", book, symbol)
                assert len(book["bids"]) == 50 and book["bids"][0][0] < book["asks"][0][0]  # orderbook.50
                ticker = await ex.watch_ticker(symbol)
                ccxt_test_ticker(ex, {}, "watchTicker", ticker, symbol)
                assert ticker["symbol"] == symbol  # a linear ticker (openInterestValue is there)
                spot_book = await ex.watch_order_book("BTC/USDT")
                assert spot_book["symbol"] == "BTC/USDT" and spot_book["asks"]
                key = make_trader(server)
                trader = pybit_http(server, key.api_key, key.api_secret)
                watch = asyncio.ensure_future(ex.watch_trades(symbol))
                await asyncio.sleep(0.3)
                await asyncio.to_thread(trader.place_order, category="linear", symbol="BTCUSDT", side="Buy",
                                        orderType="Market", qty="0.01")
                trades = await asyncio.wait_for(watch, 5)
                for trade in trades:
                    ccxt_test_trade(ex, {}, "watchTrades", trade, symbol, ex.milliseconds(), True)
                assert trades[-1]["amount"] == 0.01 and trades[-1]["side"] == "buy"
                assert Decimal(str(trades[-1]["price"])) > 0
                candles = await asyncio.wait_for(ex.watch_ohlcv(symbol, "1m"), 5)
                for candle in candles:
                    ccxt_test_ohlcv(ex, {}, "watchOHLCV", candle, symbol, ex.milliseconds())
                rest = await ex.fetch_ohlcv(symbol, "1m", limit=1)
                # the stream's current bar is REST's latest (or the one before, if a minute just closed)
                assert rest[-1][0] - candles[-1][0] in (0, 60_000) and candles[-1][4] > 0
            finally:
                await ex.close()

        asyncio.run(run())
    finally:
        server.stop()
