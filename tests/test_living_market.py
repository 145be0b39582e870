"""A living market with a past, as a bot meets it: candles from the first second, a tape that prints by itself,
a deep book, Bybit's mark price; deterministic from the seed, the same after a restart."""

from __future__ import annotations

import itertools
import time
from decimal import Decimal
from pathlib import Path

from ccxt.test.exchange.base.test_funding_rate_history import test_funding_rate_history as ccxt_test_funding
from ccxt.test.exchange.base.test_ohlcv import test_ohlcv as ccxt_test_ohlcv
from ccxt.test.exchange.base.test_order_book import test_order_book as ccxt_test_order_book
from ccxt.test.exchange.base.test_ticker import test_ticker as ccxt_test_ticker
from ccxt.test.exchange.base.test_trade import test_trade as ccxt_test_trade

from tests.conftest import ccxt_sync, pybit_http
from tests.serverproc import ServerProcess
from tests.test_market import advance, start

BOT_KEY, BOT_SECRET = "botkey0000000000001", "botsecret0000000000000000000000000001"
MINUTE = 60_000

VIRTUAL = f"""
seed = 11
[clock]
mode = "virtual"
start = "2026-03-02T00:00:00Z"
[market]
history_days = 3

[[accounts]]
label = "bot"
balances = {{ USDT = "100000" }}
[[accounts.api_keys]]
api_key = "{BOT_KEY}"
api_secret = "{BOT_SECRET}"
"""
START = 1_772_409_600_000  # 2026-03-02T00:00:00Z


def start_virtual(tmp_path: Path, name: str, config: str = VIRTUAL) -> ServerProcess:
    return start(tmp_path, config, name)


def aggregate(bars: list[list]) -> list:
    """ccxt OHLCV rows -> one row, as a longer interval is made of shorter ones."""
    return [bars[0][0], bars[0][1], max(b[2] for b in bars), min(b[3] for b in bars), bars[-1][4],
            round(sum(b[5] for b in bars), 6)]


def check_made_of(longer: list[list], shorter: list[list], span: int | None) -> int:
    """Every complete bar of ``longer`` equals the aggregate of the ``shorter`` bars inside it; returns how
    many were compared. ``span`` None: calendar bars (the next bar's start ends each one)."""
    by_start = {b[0]: b for b in shorter}
    compared = 0
    for i, bar in enumerate(longer[:-1]):  # the newest is still open
        end = bar[0] + span if span else longer[i + 1][0]
        inside = [b for s, b in sorted(by_start.items()) if bar[0] <= s < end]
        if not inside or inside[0][0] != bar[0] or len(inside) != len({b[0] for b in inside}):
            continue
        step = inside[1][0] - inside[0][0] if len(inside) > 1 else end - bar[0]
        if len(inside) * step != end - bar[0]:
            continue  # not all its parts were fetched
        got, want = [*bar[:5], round(bar[5], 6)], aggregate(inside)
        assert got[:5] == want[:5] and abs(got[5] - want[5]) <= 1e-6 * max(1.0, want[5]), (bar, want)
        compared += 1
    return compared


def test_a_default_server_has_a_past_a_deep_book_and_trades_by_itself(tmp_path) -> None:
    server = ServerProcess(tmp_path, [], market=True).start()  # no config at all: what `make run` gives
    try:
        ex = ccxt_sync(server)
        ex.load_markets()
        symbol = "BTC/USDT:USDT"
        now = ex.milliseconds()
        bars = ex.fetch_ohlcv(symbol, "1m", limit=1000)
        assert len(bars) == 1000  # the past is there from the first second
        assert {b[1][0] - b[0][0] for b in itertools.pairwise(bars)} == {MINUTE}
        assert bars[-1][0] in (now - now % MINUTE, now - now % MINUTE + MINUTE)  # up to the current minute
        # volume in every closed minute (the one the server started in: the past's part, then the live one)
        assert all(b[5] > 0 for b in bars[:-1]) and len({b[4] for b in bars}) > 100  # and a moving price
        for bar in bars[:-1]:
            ccxt_test_ohlcv(ex, {}, "fetchOHLCV", bar, symbol, now)
        # every interval is made of the 1-minute bars (and the calendar ones of the hourly and daily bars)
        for tf, span in (("5m", 5 * MINUTE), ("15m", 15 * MINUTE), ("1h", 60 * MINUTE)):
            assert check_made_of(ex.fetch_ohlcv(symbol, tf, limit=200), bars, span) >= 10, tf
        hours = ex.fetch_ohlcv(symbol, "1h", limit=1000)
        days = ex.fetch_ohlcv(symbol, "1d", limit=100)
        assert len(hours) > 24 * 29 and len(days) >= 30  # 30 days of history by default
        assert check_made_of(days, hours, 86_400_000) >= 25
        assert check_made_of(ex.fetch_ohlcv(symbol, "1w", limit=10), days, 7 * 86_400_000) >= 3
        for tf in ("1w", "1M"):  # the open week and month are the days since they began
            for _ in range(5):  # the market trades on: compare a bar and days read with no step in between
                before = ex.fetch_ohlcv(symbol, "1d", limit=100)
                bar = ex.fetch_ohlcv(symbol, tf, limit=1)[-1]
                if ex.fetch_ohlcv(symbol, "1d", limit=100) == before:
                    break
            inside = [d for d in before if d[0] >= bar[0]]
            assert bar[:5] == aggregate(inside)[:5] and abs(bar[5] - aggregate(inside)[5]) < 1e-3, tf
        # the tape: the past's last trades at once, new ones without any user order
        trades = ex.fetch_trades(symbol, limit=1000)
        assert len(trades) == 1000
        for trade in trades[-50:]:
            ccxt_test_trade(ex, {}, "fetchTrades", trade, symbol, ex.milliseconds(), True)
        time.sleep(3)
        fresh = [t for t in ex.fetch_trades(symbol, limit=100) if t["timestamp"] > now]
        assert fresh, "no trade printed by itself"
        # depth: 200 levels a side on derivatives, 50 on spot, uncrossed
        for sym, depth in ((symbol, 200), ("BTC/USD:BTC", 200), ("BTC/USDT", 50)):
            book = ex.fetch_order_book(sym, limit=depth)
            ccxt_test_order_book(ex, {}, "fetchOrderBook", book, sym)
            assert len(book["bids"]) == depth and len(book["asks"]) == depth, sym
            assert book["bids"][0][0] < book["asks"][0][0]
            sizes = [q for _, q in book["bids"]]
            assert len(set(sizes)) > depth // 2 and sum(sizes[-20:]) > sum(sizes[:20])  # bigger away from the touch
        # mark, index and premium have their own past; funding settled every 8 hours of it
        session = pybit_http(server)
        for getter in (session.get_mark_price_kline, session.get_index_price_kline,
                       session.get_premium_index_price_kline):
            rows = getter(category="linear", symbol="BTCUSDT", interval="1", limit=1000)["result"]["list"]
            assert len(rows) == 1000 and int(rows[0][0]) >= now - now % MINUTE  # up to the current minute
        for fetch in (ex.fetch_mark_ohlcv, ex.fetch_index_ohlcv, ex.fetch_premium_index_ohlcv):
            rows = fetch(symbol, "1m", limit=1000)
            assert len(rows) == 1000
            for row in rows[-100:]:
                ccxt_test_ohlcv(ex, {}, fetch.__name__, row, symbol, ex.milliseconds())
        marks = session.get_mark_price_kline(category="linear", symbol="BTCUSDT", interval="1", limit=60)
        index = session.get_index_price_kline(category="linear", symbol="BTCUSDT", interval="1", limit=60)
        assert marks["result"]["list"][1:] != index["result"]["list"][1:]  # the mark has a basis of its own
        funding = ex.fetch_funding_rate_history(symbol, limit=200)
        assert len(funding) >= 89 and {f["timestamp"] % (8 * 3_600_000) for f in funding} == {0}
        for entry in funding:
            ccxt_test_funding(ex, {}, "fetchFundingRateHistory", entry, symbol)
        ticker = ex.fetch_ticker(symbol)
        ccxt_test_ticker(ex, {}, "fetchTicker", ticker, symbol)
        assert ticker["baseVolume"] > 0 and ticker["high"] >= ticker["last"] >= ticker["low"]
    finally:
        server.stop()


def test_the_past_and_the_market_are_deterministic_and_survive_a_restart(tmp_path) -> None:
    def observe(server: ServerProcess) -> dict:
        bot = pybit_http(server, BOT_KEY, BOT_SECRET)
        return {
            "1m": bot.get_kline(category="linear", symbol="ETHUSDT", interval="1", end=START - 1,
                                limit=1000)["result"]["list"],
            "4h": bot.get_kline(category="inverse", symbol="BTCUSD", interval="240", end=START - 1,
                                limit=1000)["result"]["list"],
            "premium": bot.get_premium_index_price_kline(category="linear", symbol="SOLUSDT", interval="60",
                                                         end=START - 1, limit=100)["result"]["list"],
            "funding": bot.get_funding_rate_history(category="linear", symbol="BTCUSDT", endTime=START,
                                                    startTime=START - 3 * 86_400_000)["result"]["list"],
        }

    one = start_virtual(tmp_path, "one")
    try:
        past = observe(one)
        assert len(past["1m"]) == 1000 and len(past["4h"]) == 18 and len(past["funding"]) == 9
        bot = pybit_http(one)
        ticker = bot.get_tickers(category="linear", symbol="ETHUSDT")["result"]["list"][0]
        day_ago = bot.get_kline(category="linear", symbol="ETHUSDT", interval="1", start=START - 86_400_000,
                                limit=1)["result"]["list"][0]
        day = bot.get_kline(category="linear", symbol="ETHUSDT", interval="60", start=START - 86_400_000,
                            limit=24)["result"]["list"]
        assert ticker["prevPrice24h"] == day_ago[4]  # the 24 h statistics come from the past
        assert Decimal(ticker["volume24h"]) > 0 and Decimal(ticker["highPrice24h"]) == max(Decimal(b[2]) for b in day)
        first_tape = pybit_http(one).get_public_trade_history(category="spot", symbol="ETHUSDT", limit=60)
        advance(one, 10 * MINUTE)
        after = pybit_http(one).get_public_trade_history(category="linear", symbol="BTCUSDT", limit=1000)
        digest = one.admin("GET", "/admin/v1/health?digest=1")["result"]["stateDigest"]
        assert one.admin("GET", "/admin/v1/health")["result"]["moneyConserved"]
    finally:
        one.stop()
    assert len(first_tape["result"]["list"]) == 60
    assert all(int(t["time"]) > START for t in after["result"]["list"][:100])  # the market traded by itself
    two = start_virtual(tmp_path, "two")  # another data dir, the same config and seed
    try:
        assert observe(two) == past
        assert pybit_http(two).get_public_trade_history(category="spot", symbol="ETHUSDT", limit=60) == first_tape
        advance(two, 10 * MINUTE)
        assert pybit_http(two).get_public_trade_history(category="linear", symbol="BTCUSDT", limit=1000) == after
        assert two.admin("GET", "/admin/v1/health?digest=1")["result"]["stateDigest"] == digest
    finally:
        two.stop()
    again = ServerProcess(tmp_path / "one", ["--no-demo", "--config", str(tmp_path / "one.toml")],
                          market=True).start()  # a restart of the first one
    try:
        assert observe(again) == past  # the same past
        assert again.admin("GET", "/admin/v1/health?digest=1")["result"]["stateDigest"] == digest  # the same present
        advance(again, 5 * MINUTE)  # and the market goes on
        tape = pybit_http(again).get_public_trade_history(category="linear", symbol="BTCUSDT", limit=10)
        assert int(tape["result"]["list"][0]["time"]) > START + 10 * MINUTE
    finally:
        again.stop()


def test_background_flow_alone_fills_a_resting_limit_order(tmp_path) -> None:
    server = start_virtual(tmp_path, "fill", VIRTUAL.replace("history_days = 3", "history_days = 1"))
    try:
        bot = pybit_http(server, BOT_KEY, BOT_SECRET)
        book = bot.get_orderbook(category="linear", symbol="ETHUSDT", limit=10)["result"]
        price = book["b"][4][0]  # five levels below the touch: only the market's own moves reach it
        oid = bot.place_order(category="linear", symbol="ETHUSDT", side="Buy", orderType="Limit", qty="0.1",
                              price=price)["result"]["orderId"]
        status = "New"
        for _ in range(120):
            advance(server, MINUTE)
            status = bot.get_open_orders(category="linear", symbol="ETHUSDT", orderId=oid)["result"]["list"][0][
                "orderStatus"]
            if status == "Filled":
                break
        assert status == "Filled"
        (fill,) = bot.get_executions(category="linear", symbol="ETHUSDT", orderId=oid)["result"]["list"]
        assert fill["isMaker"] and Decimal(fill["execPrice"]) == Decimal(price)  # a background taker hit it
        assert server.admin("GET", "/admin/v1/health")["result"]["moneyConserved"]
    finally:
        server.stop()


def test_a_data_file_is_the_past_and_the_market_walks_on_from_it(tmp_path) -> None:
    """A Tardis trades file and a Bybit-style kline CSV as two symbols' past, in real time: shifted to end at
    the start, their minutes are the klines, their last trades the tape; then the market goes on."""
    t0 = 1_717_200_000_000  # 2024-06-01, µs in the Tardis file
    trades = []
    for i in range(90 * 6):  # 90 minutes, a trade every 10 s
        price = Decimal("3500") + Decimal(i % 37) - Decimal(i % 11) / 2
        trades.append((t0 + i * 10_000, "buy" if i % 3 else "sell", price, Decimal("0.5") + Decimal(i % 5) / 10))
    tardis = tmp_path / "ETHUSDT.csv"
    tardis.write_text("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n" + "".join(
        f"bybit,ETHUSDT,{ts * 1000},{ts * 1000 + 5},{i},{side},{price},{size}\n"
        for i, (ts, side, price, size) in enumerate(trades)))
    klines = tmp_path / "SOLUSDT-1m.csv"
    bars = [(t0 + i * MINUTE, 150 + i % 7, 152 + i % 7, 149 + i % 7, 151 + i % 7, 100 + i) for i in range(120)]
    klines.write_text("startTime,open,high,low,close,volume\n" + "".join(
        f"{s},{o},{h},{low},{c},{v}\n" for s, o, h, low, c, v in bars))
    config = tmp_path / "files.toml"
    config.write_text(f"""
[[symbols]]
category = "linear"
symbol = "ETHUSDT"
feed = "trades"
file = "{tardis}"

[[symbols]]
category = "linear"
symbol = "SOLUSDT"
feed = "klines"
file = "{klines}"
""")
    server = ServerProcess(tmp_path / "data", ["--no-demo", "--config", str(config)], market=True).start()
    try:
        bot = pybit_http(server)
        tape = bot.get_public_trade_history(category="linear", symbol="ETHUSDT", limit=1000)["result"]["list"]
        recorded = [t for t in tape if t["execId"].split("-")[-1].startswith("8")]  # the past's ids
        index = int(recorded[0]["execId"].split("-")[-1], 16) - (1 << 47)  # which trade of the file it is
        assert len(trades) - 60 < index + 1 <= len(trades)  # the past ends within a minute of the recording's end
        assert len(recorded) == min(index + 1, 1000 - (len(tape) - len(recorded)))  # all of it that fits
        newest = trades[index]
        shift = int(recorded[0]["time"]) - newest[0]
        assert Decimal(recorded[0]["price"]) == newest[2] and recorded[0]["side"] == newest[1].capitalize()
        assert abs(shift - (server_now(bot) - trades[-1][0])) < 120_000  # the recording ends where we start
        end = newest[0] + shift
        first_minute = (trades[0][0] + shift) // MINUTE * MINUTE
        got = bot.get_kline(category="linear", symbol="ETHUSDT", interval="1", start=first_minute,
                            end=end - end % MINUTE - MINUTE, limit=1000)["result"]["list"]
        by_minute: dict[int, list] = {}
        for ts, _, price, size in trades:
            by_minute.setdefault((ts + shift) // MINUTE * MINUTE, []).append((price, size))
        assert len(got) >= 80
        for row in got:
            minute = by_minute[int(row[0])]
            prices = [p for p, _ in minute]
            assert [Decimal(x) for x in row[1:6]] == [prices[0], max(prices), min(prices), prices[-1],
                                                       sum(s for _, s in minute)], (row, got.index(row), end)
        sol = bot.get_kline(category="linear", symbol="SOLUSDT", interval="60", end=server_now(bot) - 1,
                            limit=3)["result"]["list"]
        assert sol and all(Decimal("149") <= Decimal(r[3]) and Decimal(r[2]) <= Decimal("158") for r in sol[1:])
        time.sleep(2.5)  # after the recording, the market walks on from its last price
        fresh = bot.get_public_trade_history(category="linear", symbol="ETHUSDT", limit=20)["result"]["list"]
        assert int(fresh[0]["time"]) > end and abs(Decimal(fresh[0]["price"]) / newest[2] - 1) < Decimal("0.01")
    finally:
        server.stop()


def server_now(bot) -> int:
    return int(bot.get_server_time()["result"]["timeNano"]) // 1_000_000
