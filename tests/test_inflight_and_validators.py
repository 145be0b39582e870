"""An amend racing another amend of the same order (110079), and ccxt's own validators on trading results."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from aiohttp import web
from ccxt.test.exchange.base.test_ohlcv import test_ohlcv as ccxt_test_ohlcv
from ccxt.test.exchange.base.test_order import test_order as ccxt_test_order
from ccxt.test.exchange.base.test_order_book import test_order_book as ccxt_test_order_book
from ccxt.test.exchange.base.test_ticker import test_ticker as ccxt_test_ticker
from ccxt.test.exchange.base.test_trade import test_trade as ccxt_test_trade
from ccxt.test.exchange.sync.test_fetch_my_trades import test_fetch_my_trades as ccxt_test_fetch_my_trades
from ccxt.test.exchange.sync.test_fetch_ohlcv import test_fetch_ohlcv as ccxt_test_fetch_ohlcv
from ccxt.test.exchange.sync.test_fetch_open_orders import test_fetch_open_orders as ccxt_test_fetch_open_orders
from ccxt.test.exchange.sync.test_fetch_order_book import test_fetch_order_book as ccxt_test_fetch_order_book
from ccxt.test.exchange.sync.test_fetch_ticker import test_fetch_ticker as ccxt_test_fetch_ticker
from ccxt.test.exchange.sync.test_fetch_trades import test_fetch_trades as ccxt_test_fetch_trades
from pybit.exceptions import InvalidRequestError

from paperex.server import Node, build_app
from tests.conftest import ccxt_sync, make_trader, pybit_http
from tests.serverproc import free_port
from tests.test_trading_wire import S, client


class SlowDiskServer:
    """paperex in this process, on a thread, with a journal that takes ``delay`` s per durable batch."""

    def __init__(self, data_dir, delay: float) -> None:
        self.data_dir, self.delay = data_dir, delay
        self.disk_full = False  # set: every journal write fails
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        node = Node(self.data_dir)
        store = node.journal
        original = store.append_batch

        def slow(rows):  # runs in the writer's worker thread
            time.sleep(self.delay)
            if self.disk_full:
                raise OSError(28, "No space left on device")
            original(rows)

        store.append_batch = slow  # type: ignore[method-assign]
        node.start()
        self.node = node
        runner = web.AppRunner(build_app(node), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()
        await node.close()

    def __enter__(self) -> SlowDiskServer:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def admin_account(self) -> tuple[str, str]:
        import json
        import urllib.request

        def post(path, body):
            req = urllib.request.Request(self.base_url + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
            return json.loads(urllib.request.urlopen(req, timeout=10).read())["result"]

        uid = post("/admin/v1/accounts", {"balances": {"USDT": "100000"}})["uid"]
        key = post("/admin/v1/api-keys", {"uid": uid})
        return key["apiKey"], key["apiSecret"]


def test_requests_on_an_order_in_flight_are_40004_or_110079(tmp_path) -> None:
    with SlowDiskServer(tmp_path, delay=0.4) as server:
        key, secret = server.admin_account()
        session = pybit_http(server, key, secret)
        oid = session.place_order(category="linear", symbol=S, side="Buy", orderType="Limit", qty="0.01",
                                  price="60000")["result"]["orderId"]

        def amend(price: str):
            try:
                return session.amend_order(category="linear", symbol=S, orderId=oid, price=price)["retCode"], ""
            except InvalidRequestError as err:
                return err.status_code, err.message

        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(amend, "60100")
            time.sleep(0.15)  # the first amend is applied and waiting for its (slow) durable write
            second = pool.submit(amend, "60200")
            outcomes = [first.result(), second.result()]
        assert outcomes[0] == (0, "")
        # an amend meeting an amend: the order is being replaced
        assert outcomes[1] == (40004, "the order is modified during the process of replacing , please check the "
                                      "order status again")
        # once the first is durable the order can be amended again
        assert amend("60300") == (0, "")
        assert server.node.core.orders[1].price == 603000

        def cancel():
            try:
                return session.cancel_order(category="linear", symbol=S, orderId=oid)["retCode"], ""
            except InvalidRequestError as err:
                return err.status_code, err.message

        with ThreadPoolExecutor(2) as pool:  # a cancel meeting an amend: the order is being processed
            first = pool.submit(amend, "60400")
            time.sleep(0.15)
            second = pool.submit(cancel)
            outcomes = [first.result(), second.result()]
        assert outcomes == [(0, ""), (110079, "The order is processing and can not be operated, please try again "
                                              "later")]


@pytest.fixture(scope="module")
def traded(tmp_path_factory):
    """A server with seeded resting orders, fills and candles for the validators."""
    from tests.serverproc import ServerProcess

    server = ServerProcess(tmp_path_factory.mktemp("validators"), ["--no-demo"]).start()
    maker_t, taker_t = make_trader(server), make_trader(server)
    maker, taker = client(server, maker_t), client(server, taker_t)
    for i, price in enumerate(("65100", "65200", "65300")):
        maker.place_order(category="linear", symbol=S, side="Sell", orderType="Limit", qty="0.1", price=price)
        maker.place_order(category="linear", symbol=S, side="Buy", orderType="Limit", qty="0.1",
                          price=str(64900 - 100 * i))
    taker.place_order(category="linear", symbol=S, side="Buy", orderType="Market", qty="0.15")
    taker.place_order(category="linear", symbol=S, side="Sell", orderType="Market", qty="0.05")
    taker.place_order(category="linear", symbol=S, side="Buy", orderType="Limit", qty="0.01", price="60000")
    yield server, maker_t, taker_t
    server.stop()


def test_ccxt_validators_on_market_data(traded) -> None:
    server, _, _ = traded
    ex = ccxt_sync(server)
    ex.load_markets()
    symbol = "BTC/USDT:USDT"
    ccxt_test_fetch_ticker(ex, {}, symbol)
    ccxt_test_fetch_order_book(ex, {}, symbol)
    ccxt_test_fetch_trades(ex, {}, symbol)
    ccxt_test_fetch_ohlcv(ex, {}, symbol)
    ticker = ex.fetch_ticker(symbol)
    ccxt_test_ticker(ex, {}, "fetchTicker", ticker, symbol)
    assert ticker["symbol"] == symbol and ticker["last"] == 64900.0  # the last trade was the market sell
    book = ex.fetch_order_book(symbol)
    ccxt_test_order_book(ex, {}, "fetchOrderBook", book, symbol)
    assert book["asks"][0] == [65200.0, 0.05] and book["bids"][0] == [64900.0, 0.05]
    trades = ex.fetch_trades(symbol)
    assert len(trades) == 3
    for trade in trades:
        ccxt_test_trade(ex, {}, "fetchTrades", trade, symbol, ex.milliseconds(), True)
    candles = ex.fetch_ohlcv(symbol, "1m")
    for candle in candles:
        ccxt_test_ohlcv(ex, {}, "fetchOHLCV", candle, symbol, ex.milliseconds())
    traded = [c for c in candles if c[5] > 0]  # the seeding may straddle a minute boundary
    o, c = traded[0][1], traded[-1][4]
    h, low, v = max(x[2] for x in traded), min(x[3] for x in traded), round(sum(x[5] for x in traded), 8)
    assert (o, h, low, c, v) == (65100.0, 65200.0, 64900.0, 64900.0, 0.2)


def test_ccxt_validators_on_orders_and_my_trades(traded) -> None:
    server, _, taker_t = traded
    ex = ccxt_sync(server, taker_t.api_key, taker_t.api_secret, fetchOrder={"acknowledged": True})
    ex.load_markets()
    symbol = "BTC/USDT:USDT"
    skips = {"fees": True}  # ccxt fills only `fee`, not `fees`, for bybit orders
    ccxt_test_fetch_open_orders(ex, skips, symbol)
    ccxt_test_fetch_my_trades(ex, {}, symbol)
    (open_order,) = ex.fetch_open_orders(symbol)
    ccxt_test_order(ex, skips, "fetchOpenOrders", open_order, symbol, ex.milliseconds())
    assert (open_order["price"], open_order["amount"], open_order["status"]) == (60000.0, 0.01, "open")
    created = ex.create_order(symbol, "limit", "sell", 0.01, 66000, {"clientOrderId": "ccxt-1"})
    fetched = ex.fetch_order(created["id"], symbol)
    ccxt_test_order(ex, skips, "fetchOrder", fetched, symbol, ex.milliseconds())
    assert fetched["clientOrderId"] == "ccxt-1" and fetched["status"] == "open"
    edited = ex.edit_order(created["id"], symbol, "limit", "sell", 0.02, 66100)
    assert ex.fetch_order(edited["id"], symbol)["amount"] == 0.02
    ex.cancel_order(created["id"], symbol)
    assert ex.fetch_order(created["id"], symbol)["status"] == "canceled"
    trades = ex.fetch_my_trades(symbol)
    assert len(trades) == 3 and {t["side"] for t in trades} == {"buy", "sell"}
    for trade in trades:
        ccxt_test_trade(ex, {}, "fetchMyTrades", trade, symbol, ex.milliseconds(), False)
        assert trade["takerOrMaker"] == "taker" and trade["fee"]["currency"] == "USDT"
    closed = ex.fetch_closed_orders(symbol)
    assert {o["status"] for o in closed} == {"closed"} and len(closed) == 2
    canceled = ex.fetch_canceled_orders(symbol)
    assert [o["id"] for o in canceled] == [created["id"]]


def test_nothing_is_seen_before_it_is_durable_and_a_push_accepts_the_next_request(tmp_path) -> None:
    """With a disk that takes 0.4 s a write: the private push, the public book and a REST read of an order come
    after its durable write (never before its own reply); an order whose push was seen can be cancelled at once."""
    import asyncio
    import json as jsonlib

    import aiohttp

    from tests.signing import sign

    with SlowDiskServer(tmp_path, delay=0.4) as server:
        key, secret = server.admin_account()
        session = pybit_http(server, key, secret)
        ws_base = server.base_url.replace("http", "ws")

        async def run() -> None:
            async with aiohttp.ClientSession() as http, http.ws_connect(ws_base + "/v5/private") as private, \
                    http.ws_connect(ws_base + "/v5/public/linear") as public:
                expires = int(time.time() * 1000) + 10_000
                await private.send_str(jsonlib.dumps({"op": "auth", "args": [key, expires,
                                                                              sign(secret, f"GET/realtime{expires}")]}))
                await private.receive(timeout=5)
                await private.send_str('{"op":"subscribe","args":["order"]}')
                await private.receive(timeout=5)
                await public.send_str('{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}')
                await public.receive(timeout=5)  # the subscribe reply
                await public.receive(timeout=5)  # the (empty) snapshot
                t0 = time.monotonic()
                place = asyncio.ensure_future(asyncio.to_thread(
                    session.place_order, category="linear", symbol=S, side="Buy", orderType="Limit", qty="0.01",
                    price="60000"))
                await asyncio.sleep(0.1)  # applied, not yet durable
                book = await asyncio.to_thread(session.get_orderbook, category="linear", symbol=S)
                assert book["result"]["b"] and time.monotonic() - t0 > 0.35  # the read waited for the write
                push = jsonlib.loads((await private.receive(timeout=5)).data)
                pushed = time.monotonic() - t0
                delta = jsonlib.loads((await public.receive(timeout=5)).data)
                assert pushed > 0.35 and delta["data"]["b"]  # neither the push nor the book ran ahead
                oid = (await place)["result"]["orderId"]
                assert push["data"][0]["orderId"] == oid
                # amend; cancel the moment its push arrives: Bybit accepts it (the reply came first)
                amend = asyncio.ensure_future(asyncio.to_thread(session.amend_order, category="linear", symbol=S,
                                                                orderId=oid, price="60100"))
                while True:
                    frame = jsonlib.loads((await private.receive(timeout=5)).data)
                    if frame.get("topic") == "order" and frame["data"][0]["price"] == "60100":
                        break
                cancelled = await asyncio.to_thread(session.cancel_order, category="linear", symbol=S, orderId=oid)
                assert cancelled["retCode"] == 0 and (await amend)["retCode"] == 0

        asyncio.run(run())


def test_after_a_failed_journal_write_nothing_unjournaled_is_shown(tmp_path) -> None:
    """A write the disk refused leaves no visible trace: the order got 10016 and no read lists it; reads and
    writes say a restart is needed, health says why, and the restart recovers what was durable."""
    with SlowDiskServer(tmp_path, delay=0.0) as server:
        key, secret = server.admin_account()
        session = pybit_http(server, key, secret)
        kept = session.place_order(category="linear", symbol=S, side="Buy", orderType="Limit", qty="0.01",
                                   price="60000")["result"]["orderId"]
        server.disk_full = True
        with pytest.raises(InvalidRequestError) as refused:
            session.place_order(category="linear", symbol=S, side="Buy", orderType="Limit", qty="0.01",
                                price="60100")
        assert refused.value.status_code == 10016
        for read in (lambda: session.get_open_orders(category="linear", symbol=S),
                     lambda: session.get_orderbook(category="linear", symbol=S)):
            with pytest.raises(InvalidRequestError) as answer:
                read()
            assert answer.value.status_code == 10016 and "restart the server" in answer.value.message
        import json
        import urllib.request

        health = json.loads(urllib.request.urlopen(server.base_url + "/admin/v1/health", timeout=10).read())
        assert health["result"]["accepting"] is False and "No space left" in health["result"]["needsRestart"]
    restarted = Node(tmp_path)
    try:
        orders = [o for o in restarted.core.orders.values() if o.is_open]
        assert [o.price for o in orders] == [600000] and kept  # only what was acknowledged
    finally:
        asyncio.run(restarted.close(snapshot=False))

