"""The simulated market: configuration, virtual time, determinism, the liquidity provider against a real
pybit bot, limit orders filled as the price walks, and historical trade replay (tests/test_living_market.py:
the past, the background takers, depth)."""

from __future__ import annotations

import gzip
import time
from decimal import Decimal
from pathlib import Path

import pytest

from paperex.config import ConfigError, load, parse
from tests.conftest import pybit_http
from tests.serverproc import ServerProcess

BOT_KEY, BOT_SECRET = "botkey0000000000001", "botsecret0000000000000000000000000001"

VIRTUAL = f"""
seed = 7
[clock]
mode = "virtual"
start = "2026-01-01T00:00:00Z"
tick_ms = 1000

[[symbols]]
category = "linear"
symbol = "BTCUSDT"
volatility = 2.0

[[symbols]]
category = "linear"
symbol = "ETHUSDT"

[[accounts]]
label = "bot"
balances = {{ USDT = "100000" }}
[[accounts.api_keys]]
api_key = "{BOT_KEY}"
api_secret = "{BOT_SECRET}"
"""


def start(tmp_path: Path, config: str, name: str = "run") -> ServerProcess:
    path = tmp_path / f"{name}.toml"
    path.write_text(config)
    return ServerProcess(tmp_path / name, ["--no-demo", "--config", str(path)], market=True).start()


def advance(server: ServerProcess, ms: int) -> int:
    reply = server.admin("POST", "/admin/v1/clock/advance", {"ms": ms})
    assert reply["retCode"] == 0, reply
    return reply["result"]["time"]


def test_config_parsing(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(VIRTUAL)
    cfg = load(path)
    assert cfg.clock == "virtual" and cfg.start_ms == 1_767_225_600_000 and cfg.seed == 7
    assert [s.symbol for s in cfg.symbols or []] == ["BTCUSDT", "ETHUSDT"] and cfg.symbols[0].volatility == 2.0
    assert cfg.accounts[0].label == "bot" and cfg.accounts[0].balances == {"USDT": Decimal(100000)}
    for bad, match in (({"clok": {}}, "unknown key"), ({"clock": {"mode": "warp"}}, "real or virtual"),
                       ({"symbols": [{"symbol": "BTCUSDT"}]}, "category and symbol"),
                       ({"symbols": [{"category": "linear", "symbol": "X", "feed": "trades"}]}, "needs a file"),
                       ({"accounts": [{"balances": {}}]}, "label is required"),
                       ({"clock": {"start": "2026-01-01T00:00:00"}}, "time zone")):
        with pytest.raises(ConfigError, match=match):
            parse(bad)


def test_virtual_time_is_deterministic_and_limit_orders_fill_as_the_price_walks(tmp_path) -> None:
    results = []
    for name in ("one", "two"):
        server = start(tmp_path, VIRTUAL, name)
        try:
            bot = pybit_http(server, BOT_KEY, BOT_SECRET)
            assert int(bot.get_server_time()["result"]["timeSecond"]) == 1_767_225_600  # the virtual clock
            book = bot.get_orderbook(category="linear", symbol="BTCUSDT", limit=5)["result"]
            assert len(book["b"]) == 5 and len(book["a"]) == 5
            best_ask = Decimal(book["a"][0][0])
            market = bot.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market",
                                     qty="1")["result"]["orderId"]  # ~20k USD at the touch: it sweeps levels
            filled = bot.get_open_orders(category="linear", symbol="BTCUSDT", orderId=market)["result"]["list"][0]
            assert filled["orderStatus"] == "Filled" and Decimal(filled["avgPrice"]) > best_ask  # slippage
            # limit orders 0.3 % away on both sides: the walk (200 % vol) crosses at least one in an hour
            mid = Decimal(bot.get_tickers(category="linear", symbol="BTCUSDT")["result"]["list"][0]["indexPrice"])
            for side, price in (("Buy", mid * Decimal("0.997")), ("Sell", mid * Decimal("1.003"))):
                bot.place_order(category="linear", symbol="BTCUSDT", side=side, orderType="Limit", qty="0.01",
                                price=str(price.quantize(Decimal("0.1"))))
            now = advance(server, 3_600_000)
            assert now == 1_767_225_600_000 + 3_600_000
            orders = bot.get_order_history(category="linear", symbol="BTCUSDT")["result"]["list"]
            assert any(o["orderType"] == "Limit" and o["orderStatus"] == "Filled" for o in orders)
            trades = bot.get_public_trade_history(category="linear", symbol="BTCUSDT", limit=100)["result"]["list"]
            klines = bot.get_kline(category="linear", symbol="BTCUSDT", interval="5", limit=20)["result"]["list"]
            marks = bot.get_mark_price_kline(category="linear", symbol="BTCUSDT", interval="15",
                                             start=1_767_225_600_000)["result"]["list"]
            assert len(marks) == 5 and len({row[4] for row in marks}) > 1  # the mark moved
            health = server.admin("GET", "/admin/v1/health?digest=1")["result"]
            assert health["moneyConserved"]
            results.append((health["stateDigest"], trades, klines, marks))
        finally:
            server.stop()
    assert results[0] == results[1]  # same config and seed: the same market, to the last trade and digest


def test_defaults_give_a_live_market_to_a_pybit_bot(tmp_path) -> None:
    server = ServerProcess(tmp_path, [], market=True).start()  # no config: real time, every instrument quoted
    try:
        key = next(line.split(": ")[1] for line in server.banner.splitlines() if "API key:" in line)
        secret = next(line.split(": ")[1] for line in server.banner.splitlines() if "API secret:" in line)
        bot = pybit_http(server, key.strip(), secret.strip())
        first = Decimal(bot.get_tickers(category="linear", symbol="BTCUSDT")["result"]["list"][0]["indexPrice"])
        time.sleep(2.5)
        for category, symbol in (("linear", "ETHUSDT"), ("inverse", "BTCUSD"), ("spot", "BTCUSDT")):
            book = bot.get_orderbook(category=category, symbol=symbol, limit=5)["result"]
            assert len(book["b"]) == 5 and len(book["a"]) == 5 and Decimal(book["b"][0][0]) < Decimal(book["a"][0][0])
        ticker = bot.get_tickers(category="linear", symbol="BTCUSDT")["result"]["list"][0]
        assert Decimal(ticker["indexPrice"]) != first  # the index walks in real time
        assert abs(Decimal(ticker["indexPrice"]) / first - 1) < Decimal("0.01")
        book = bot.get_orderbook(category="linear", symbol="BTCUSDT", limit=5)["result"]
        oid = bot.place_order(category="linear", symbol="BTCUSDT", side="Sell", orderType="Market",
                              qty="1.2")["result"]["orderId"]
        order = bot.get_open_orders(category="linear", symbol="BTCUSDT", orderId=oid)["result"]["list"][0]
        fills = bot.get_executions(category="linear", symbol="BTCUSDT", orderId=oid)["result"]["list"]
        assert order["orderStatus"] == "Filled" and len(fills) >= 2  # it swept several of the maker's levels
        assert Decimal(order["avgPrice"]) < Decimal(book["b"][0][0]) * Decimal("1.001")
        tape = bot.get_public_trade_history(category="linear", symbol="BTCUSDT")["result"]["list"]
        assert {t["execId"] for t in tape} >= {f["execId"] for f in fills}
        last_minute = int(tape[0]["time"]) // 60_000 * 60_000  # the minute of the latest trade
        bar = bot.get_kline(category="linear", symbol="BTCUSDT", interval="1", start=last_minute,
                            limit=1)["result"]["list"][0]
        assert int(bar[0]) == last_minute
        prices = [Decimal(t["price"]) for t in tape if last_minute <= int(t["time"]) < last_minute + 60_000]
        assert Decimal(bar[2]) == max(prices) and Decimal(bar[3]) == min(prices)  # klines agree with the tape
        ticker = bot.get_tickers(category="linear", symbol="BTCUSDT")["result"]["list"][0]
        assert Decimal(ticker["lastPrice"]) == Decimal(tape[0]["price"])
        maker = [server.admin("GET", f"/admin/v1/accounts/{uid}")["result"] for uid in (100000001, 100000002)]
        (summary,) = [m for m in maker if m["label"] == "market-maker"]  # an ordinary account, seen by admin
        assert Decimal(summary["wallet"]["totalEquity"]) > 0 and summary["apiKeys"] == []
    finally:
        server.stop()


@pytest.mark.parametrize("quote", ["false", "true"])  # with the maker quoting too: it straddles each trade
def test_replay_of_a_trade_file_reproduces_its_ohlc(tmp_path, quote) -> None:
    import random

    rng = random.Random(3)
    t0 = 1_767_225_600  # seconds, as Bybit's history files write them
    rows, price = [], 65000.0
    for i in range(240):  # 4 minutes, one trade a second
        price += rng.choice([-5, -2.5, 0, 2.5, 5])
        rows.append(f"{t0 + i}.{rng.randrange(1000):03d},BTCUSDT,{rng.choice(['Buy', 'Sell'])},"
                    f"{rng.randrange(1, 50) / 1000:.3f},{price:.1f},PlusTick,id{i},0,0,0")
    path = tmp_path / "BTCUSDT2026-01-01.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,foreignNotional\n")
        f.write("\n".join(rows) + "\n")
    config = f"""
[clock]
mode = "virtual"
start = "2026-01-01T00:00:00Z"
[[symbols]]
category = "linear"
symbol = "BTCUSDT"
feed = "trades"
file = "{path}"
quote = {quote}
"""
    server = start(tmp_path, config)
    try:
        advance(server, 5 * 60_000)
        session = pybit_http(server)
        bars = session.get_kline(category="linear", symbol="BTCUSDT", interval="1", start=t0 * 1000,
                                 limit=4)["result"]["list"]
        assert len(bars) == 4
        for start_ms, o, h, low, c, volume, _ in bars:
            minute = [r.split(",") for r in rows if int(float(r.split(",")[0]) * 1000) // 60_000 * 60_000
                      == int(start_ms)]
            prices = [Decimal(r[4]) for r in minute]
            assert (Decimal(o), Decimal(h), Decimal(low), Decimal(c)) == (prices[0], max(prices), min(prices),
                                                                          prices[-1])
            assert Decimal(volume) == sum(Decimal(r[3]) for r in minute)
        tape = session.get_public_trade_history(category="linear", symbol="BTCUSDT", limit=1000)["result"]["list"]
        recorded = [t for t in tape if int(t["time"]) < (t0 + 240) * 1000]
        assert len(recorded) == 240 and recorded[0]["side"] == rows[-1].split(",")[2]  # each recorded trade, once
        later = [t for t in tape if int(t["time"]) >= (t0 + 240) * 1000]
        assert len(tape) == 240 + len(later)
        assert bool(later) == (quote == "true")  # then takers trade on by themselves, where there is liquidity
    finally:
        server.stop()


def test_a_kline_file_drives_the_index(tmp_path) -> None:
    path = tmp_path / "klines.csv"
    bars = [(1_767_225_600_000 + i * 60_000, 65000 + 10 * i, 65050 + 10 * i, 64950 + 10 * i, 65020 + 10 * i)
            for i in range(5)]
    path.write_text("start,open,high,low,close\n" + "\n".join(",".join(map(str, b)) for b in bars) + "\n")
    config = f"""
[clock]
mode = "virtual"
start = "2026-01-01T00:00:00Z"
[[symbols]]
category = "linear"
symbol = "BTCUSDT"
feed = "klines"
file = "{path}"
"""
    server = start(tmp_path, config)
    try:
        advance(server, 5 * 60_000)
        got = pybit_http(server).get_index_price_kline(category="linear", symbol="BTCUSDT", interval="1",
                                                       start=bars[0][0], limit=5)["result"]["list"]
        assert [[int(x) if i == 0 else Decimal(x) for i, x in enumerate(row)] for row in reversed(got)] == [
            [s, Decimal(o), Decimal(h), Decimal(low), Decimal(c)] for s, o, h, low, c in bars]
    finally:
        server.stop()


async def _run_virtual(tmp_path, config_text: str, script) -> tuple[object, object]:
    """A node with a virtual clock and the configured market, in process; ``script`` drives it."""
    from paperex.market.clock import VirtualClock
    from paperex.market.setup import build_market, ensure_accounts
    from paperex.server import Node

    cfg = parse(__import__("tomllib").loads(config_text))
    node = Node(tmp_path, None, 0, VirtualClock(cfg.start_ms))
    node.start()
    await ensure_accounts(node.sequencer, cfg)
    driver = await build_market(node.sequencer, cfg)
    await script(node, driver)
    return node, driver


def test_the_maker_never_trades_with_itself_and_restarts_resume_the_same_market(tmp_path) -> None:
    import asyncio

    from paperex.core.commands import PlaceOrder

    config = VIRTUAL.replace("volatility = 2.0", "volatility = 3.0")

    def bot_order(node):
        uid = node.core.account_labelled("bot").uid
        return PlaceOrder(uid=uid, category="linear", symbol="BTCUSDT", side=1, order_type="Market", qty=800)

    async def straight(node, driver) -> None:
        await driver.advance(1500)
        await node.sequencer.submit(bot_order(node))
        await driver.advance(500)
        await driver.advance(3_600_000)

    async def part_one(node, driver) -> None:
        await driver.advance(1500)
        await node.sequencer.submit(bot_order(node))
        await driver.advance(500)

    async def part_two(node, driver) -> None:
        await driver.advance(3_600_000)

    async def close(node) -> str:
        digest = node.core.digest()
        await node.close()
        return digest

    async def run_straight() -> tuple[str, object]:
        node, _ = await _run_virtual(tmp_path / "a", config, straight)
        maker = node.core.account_labelled("market-maker")
        ids = [e.exec_id for e in maker.executions]
        assert len(ids) == len(set(ids)), "the maker traded with itself"
        return await close(node), node.sequencer.clock.now_ms()

    async def run_restarted() -> tuple[str, object]:
        node, _ = await _run_virtual(tmp_path / "b", config, part_one)
        await node.close()
        node, _ = await _run_virtual(tmp_path / "b", config, part_two)
        return await close(node), node.sequencer.clock.now_ms()

    assert asyncio.run(run_straight()) == asyncio.run(run_restarted())


def test_concurrent_advances_are_serialised(tmp_path) -> None:
    import asyncio

    async def both(node, driver) -> None:
        start = node.sequencer.clock.now_ms()
        times = await asyncio.gather(driver.advance(600_000), driver.advance(600_000))
        assert sorted(times) == [start + 600_000, start + 1_200_000]

    async def go() -> None:
        node, _ = await _run_virtual(tmp_path, VIRTUAL, both)
        await node.close()

    asyncio.run(go())


def test_bad_configs_are_refused_clearly(tmp_path) -> None:
    for text, match in (('seed = "abc"', "not a number"), ('[[symbols]]\ncategory = "linear"\nsymbol = "BTCUSDT"\n'
                                                            'drift = "x"', "not a number"),
                        ('[[symbols]]\ncategory = "linear"\nsymbol = "BTCUSDT"\nfeed = "trades"\nfile = "nope.csv"',
                         "no file")):
        path = tmp_path / "bad.toml"
        path.write_text(text)
        with pytest.raises(ConfigError, match=match):
            load(path)


def test_an_admin_price_sticks_and_the_walk_goes_on_from_it(tmp_path) -> None:
    server = start(tmp_path, VIRTUAL)
    try:
        advance(server, 5_000)
        assert server.admin("POST", "/admin/v1/prices", {"symbol": "BTCUSDT", "indexPrice": "50000"})["retCode"] == 0
        advance(server, 10_000)
        index = Decimal(pybit_http(server).get_tickers(category="linear", symbol="BTCUSDT")["result"]["list"][0][
            "indexPrice"])
        assert abs(index / 50000 - 1) < Decimal("0.01")  # walked on from 50,000, not back to ~65,000
    finally:
        server.stop()


def test_replayed_trades_never_print_before_the_time_the_exchange_showed(tmp_path) -> None:
    """Real time: a recording's trades print when they are due, never stamped before a server time a client
    has already seen."""
    t0 = 1_767_225_600_000
    path = tmp_path / "BTCUSDT.csv"
    path.write_text("timestamp,symbol,side,size,price\n" + "".join(
        f"{(t0 + i * 40) / 1000:.3f},BTCUSDT,{'Buy' if i % 2 else 'Sell'},0.01,{65000 + i % 7}\n"
        for i in range(60)))
    config = tmp_path / "replay.toml"
    config.write_text(f'[market]\nhistory_days = 0\n[[symbols]]\ncategory = "linear"\nsymbol = "BTCUSDT"\n'
                      f'feed = "trades"\nfile = "{path}"\n')
    server = ServerProcess(tmp_path / "data", ["--no-demo", "--config", str(config)], market=True).start()
    try:
        session = pybit_http(server)
        seen: list[tuple[int, int]] = []  # (server time seen, highest trade seq on the tape then)
        for _ in range(12):
            now = int(session.get_server_time()["result"]["timeNano"]) // 1_000_000
            tape = session.get_public_trade_history(category="linear", symbol="BTCUSDT", limit=100)["result"]["list"]
            seen.append((now, max((int(t["seq"]) for t in tape), default=0)))
            time.sleep(0.25)
        time.sleep(1.0)  # the recording (2.4 s) has played
        tape = session.get_public_trade_history(category="linear", symbol="BTCUSDT", limit=1000)["result"]["list"]
        assert len(tape) >= 60
        for now, top in seen:  # every trade printed after a client saw ``now`` carries a time at or after it
            assert all(int(t["time"]) >= now for t in tape if int(t["seq"]) > top), now
    finally:
        server.stop()
