"""Dated futures through real clients: ccxt lists them as futures (with ccxt's own validators), a bot trades
one, and a delivery in virtual time settles it at the average index, with the records in every history
endpoint, the symbol Delivering (110063) then Closed, and the next contract listed."""

from __future__ import annotations

from datetime import UTC, datetime

import ccxt
from ccxt.test.exchange.base.test_market import test_market as ccxt_test_market
from ccxt.test.exchange.base.test_ticker import test_ticker as ccxt_test_ticker
from pybit.exceptions import InvalidRequestError

from tests.conftest import ccxt_config, pybit_http
from tests.test_market import BOT_KEY, BOT_SECRET, advance, start

DELIVERY = int(datetime(2026, 12, 25, 8, tzinfo=UTC).timestamp() * 1000)
MIN = 60_000

CONFIG = f"""
seed = 11
[clock]
mode = "virtual"
start = "2026-12-25T06:50:00Z"
tick_ms = 1000

[market]
history_days = 1

[[symbols]]
category = "linear"
symbol = "BTCUSDT"

[[symbols]]
category = "inverse"
symbol = "BTCUSD"

[[accounts]]
label = "bot"
balances = {{ USDT = "1000000", BTC = "10" }}
[[accounts.api_keys]]
api_key = "{BOT_KEY}"
api_secret = "{BOT_SECRET}"
"""


def test_dated_futures_trade_and_deliver(tmp_path) -> None:
    server = start(tmp_path, CONFIG)
    try:
        bot = pybit_http(server, BOT_KEY, BOT_SECRET)
        public = ccxt.bybit(ccxt_config(server))  # without keys: markets only (no currencies, which lack USD)
        for market in public.load_markets().values():
            ccxt_test_market(public, {}, "loadMarkets", market)
        ex = ccxt.bybit(ccxt_config(server, BOT_KEY, BOT_SECRET))
        markets = ex.load_markets()
        future = ex.market("BTC/USDT:USDT-261225")
        assert future["future"] and future["type"] == "future" and future["id"] == "BTCUSDT-25DEC26"
        assert future["expiry"] == DELIVERY and future["linear"] and future["contract"]
        assert ex.market("BTC/USD:BTC-261225")["id"] == "BTCUSDZ26"
        assert ex.market("BTC/USDC:USDC-261225")["id"] == "BTC-25DEC26"
        assert "BTC/USDT:USDT-270625" not in markets  # listed when the December quarterly delivers

        info = bot.get_instruments_info(category="linear", symbol="BTCUSDT-25DEC26")["result"]["list"][0]
        assert info["contractType"] == "LinearFutures" and info["deliveryTime"] == str(DELIVERY)
        assert info["deliveryFeeRate"] == "0.0005" and info["fundingInterval"] == 0 and info["status"] == "Trading"
        ticker = ex.fetch_ticker("BTC/USDT:USDT-261225")
        ccxt_test_ticker(ex, {}, "fetchTicker", ticker, "BTC/USDT:USDT-261225")
        raw = bot.get_tickers(category="linear", symbol="BTCUSDT-25DEC26")["result"]["list"][0]
        assert raw["fundingRate"] == "" and raw["deliveryTime"] == str(DELIVERY) and raw["predictedDeliveryPrice"] == ""
        assert raw["bid1Price"] and raw["ask1Price"]  # the living market quotes it

        # its past: its perpetual's index, traded around it (the carry to delivery is small an hour before it)
        bars = bot.get_kline(category="linear", symbol="BTCUSDT-25DEC26", interval="1", limit=1000)["result"]["list"]
        own_index = bot.get_index_price_kline(category="linear", symbol="BTCUSDT-25DEC26", interval="1",
                                              limit=1000)["result"]["list"]
        perp_index = bot.get_index_price_kline(category="linear", symbol="BTCUSDT", interval="1",
                                               limit=1000)["result"]["list"]
        assert len(bars) == 1000 and [b[0] for b in bars] == [b[0] for b in perp_index]
        assert own_index[10:] == perp_index[10:]  # the past (the last minutes are live, sampled apart)
        ratio = sum(float(b[4]) / float(i[4]) for b, i in zip(bars, perp_index, strict=True)) / len(bars)
        assert 0.998 < ratio < 1.002 and sum(float(b[5]) for b in bars) > 0

        # a long on the USDT future and a short on the inverse one
        ex.create_order("BTC/USDT:USDT-261225", "market", "buy", 0.1)
        ex.create_order("BTC/USD:BTC-261225", "market", "sell", 1000)
        long = ex.fetch_positions(["BTC/USDT:USDT-261225"])
        assert [(p["symbol"], p["contracts"], p["side"]) for p in long] == [("BTC/USDT:USDT-261225", 0.1, "long")]
        short = ex.fetch_positions(["BTC/USD:BTC-261225"])
        assert [(p["symbol"], p["side"]) for p in short] == [("BTC/USD:BTC-261225", "short")]

        advance(server, DELIVERY - 10 * MIN - server_time(bot))  # in the last 30 minutes: a predicted price
        raw = bot.get_tickers(category="linear", symbol="BTCUSDT-25DEC26")["result"]["list"][0]
        assert float(raw["predictedDeliveryPrice"]) > 0

        advance(server, DELIVERY + 30_000 - server_time(bot))  # just delivered: Delivering
        try:
            bot.place_order(category="linear", symbol="BTCUSDT-25DEC26", side="Buy", orderType="Market", qty="0.1")
            raise AssertionError("an order on a contract being delivered was accepted")
        except InvalidRequestError as err:
            assert err.status_code == 110063
            assert err.message == "Settlement in progress! BTCUSDT-25DEC26 not available for trading."
        delivering = bot.get_instruments_info(category="linear", status="Delivering")["result"]["list"]
        assert "BTCUSDT-25DEC26" in {i["symbol"] for i in delivering}

        prices = bot._submit_request(method="GET", path=f"{server.base_url}/v5/market/delivery-price",
                                     query={"category": "linear", "settleCoin": "USDT"}, auth=False)["result"]
        row = next(r for r in prices["list"] if r["symbol"] == "BTCUSDT-25DEC26")
        price = float(row["deliveryPrice"])
        assert row["deliveryTime"] == str(DELIVERY) and price > 0
        settlements = ex.fetch_settlement_history("BTC/USDT:USDT-261225", params={"settleCoin": "USDT"})
        assert settlements[-1]["price"] == price and settlements[-1]["timestamp"] == DELIVERY

        assert not [p for p in ex.fetch_positions() if p["contracts"]]
        executions = bot.get_executions(category="linear", execType="Delivery")["result"]["list"]
        assert len(executions) == 1 and float(executions[0]["execPrice"]) == price
        assert executions[0]["symbol"] == "BTCUSDT-25DEC26" and executions[0]["side"] == "Sell"
        assert float(executions[0]["execFee"]) > 0
        settle = bot.get_executions(category="inverse", execType="Settle")["result"]["list"]
        assert len(settle) == 1 and settle[0]["side"] == "Buy"
        closed = bot.get_closed_pnl(category="linear", symbol="BTCUSDT-25DEC26")["result"]["list"]
        assert closed[0]["execType"] == "Delivery" and float(closed[0]["avgExitPrice"]) == price
        log = bot.get_transaction_log(accountType="UNIFIED", category="linear", type="DELIVERY")["result"]["list"]
        assert len(log) == 1 and log[0]["symbol"] == "BTCUSDT-25DEC26"
        mine = ex.fetch_my_settlement_history("BTC/USDT:USDT-261225")
        assert len(mine) == 1 and mine[0]["price"] == price
        record = bot._submit_request(method="GET", path=f"{server.base_url}/v5/asset/delivery-record",
                                     query={"category": "linear"}, auth=True)["result"]["list"][0]
        assert record["side"] == "Buy" and record["position"] == "0.1" and record["deliveryTime"] == DELIVERY

        # the next quarterly is listed now; the delivered one closes after the settlement window
        ex.load_markets(reload=True)
        assert "BTC/USDT:USDT-270625" in ex.markets and "BTC/USD:BTC-270625" in ex.markets
        advance(server, 10 * MIN)
        closed_list = bot.get_instruments_info(category="linear", status="Closed")["result"]["list"]
        assert "BTCUSDT-25DEC26" in {i["symbol"] for i in closed_list}
        trading = {i["symbol"] for i in bot.get_instruments_info(category="linear")["result"]["list"]}
        assert "BTCUSDT-25DEC26" not in trading and "BTCUSDT-01JAN27" in trading
        health = server.admin("GET", "/admin/v1/health")
        assert health["result"]["moneyConserved"], health["result"]["money"]
    finally:
        server.stop()


def server_time(bot) -> int:
    return int(bot.get_server_time()["result"]["timeNano"]) // 1_000_000


def test_ccxt_async_trades_a_dated_future_with_default_options(server) -> None:
    """ccxt.pro-style async client, ccxt's default options (options included): a dated future takes the unified
    methods a bot uses, every reply passing ccxt's own validators."""
    import asyncio

    import ccxt.async_support as ccxt_async
    from ccxt.test.exchange.base.test_ohlcv import test_ohlcv
    from ccxt.test.exchange.base.test_order import test_order
    from ccxt.test.exchange.base.test_order_book import test_order_book
    from ccxt.test.exchange.base.test_position import test_position
    from ccxt.test.exchange.base.test_trade import test_trade

    from tests.conftest import make_trader

    maker, taker = (make_trader(server, {"USDT": "100000"}) for _ in range(2))
    urls = {k: server.base_url for k in ("spot", "futures", "v2", "public", "private")}

    async def run() -> None:
        a = ccxt_async.bybit({"apiKey": maker.api_key, "secret": maker.api_secret, "urls": {"api": urls}})
        b = ccxt_async.bybit({"apiKey": taker.api_key, "secret": taker.api_secret, "urls": {"api": urls}})
        try:
            await a.load_markets()
            await b.load_markets()
            future = next(m for m in a.markets.values() if m["future"] and m["settle"] == "USDT" and m["base"] == "BTC")
            symbol = future["symbol"]
            assert future["expiry"] > a.milliseconds() and symbol.startswith("BTC/USDT:USDT-")
            ticker = await a.fetch_ticker(symbol)
            price = a.price_to_precision(symbol, ticker["info"]["markPrice"])
            resting = await a.create_order(symbol, "limit", "sell", 0.01, float(price))
            test_order(a, {}, "createOrder", resting, symbol, a.milliseconds())
            book = await b.fetch_order_book(symbol)
            test_order_book(b, {}, "fetchOrderBook", book, symbol)
            assert book["asks"][0][0] == float(price)
            filled = await b.create_order(symbol, "market", "buy", 0.01)
            order = await b.fetch_order(filled["id"], symbol, {"acknowledged": True})
            test_order(b, {}, "fetchOrder", order, symbol, b.milliseconds())
            assert order["status"] == "closed" and order["filled"] == 0.01
            for trade in await b.fetch_my_trades(symbol):
                test_trade(b, {}, "fetchMyTrades", trade, symbol, b.milliseconds(), False)
            for trade in await b.fetch_trades(symbol):
                test_trade(b, {}, "fetchTrades", trade, symbol, b.milliseconds(), True)
            for bar in await b.fetch_ohlcv(symbol, "1m", limit=5):
                test_ohlcv(b, {}, "fetchOHLCV", bar, symbol, b.milliseconds())
            positions = await b.fetch_positions([symbol])
            assert [p["side"] for p in positions] == ["long"]
            for p in positions:  # ccxt leaves marginMode unset for linear positions
                test_position(b, {"marginMode": True}, "fetchPositions", p, symbol, b.milliseconds())
        finally:
            await a.close()
            await b.close()

    asyncio.run(run())
