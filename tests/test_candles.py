"""Candles of every Bybit interval agree with the trades they were built from."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from paperex.core.candles import INTERVALS, Candles, interval_start, next_start

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z, a Thursday


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40 * 86_400_000), st.integers(1, 1000), st.integers(1, 9)),
                min_size=1, max_size=80),
       st.sampled_from(INTERVALS))
def test_bars_match_trades(trades, interval) -> None:
    trades = sorted(trades)
    candles = Candles()
    for dt, price, volume in trades:
        candles.add(T0 + dt, price, volume, price * volume)
    end = T0 + 41 * 86_400_000
    bars = candles.query(interval, None, end, 1000)
    assert bars == sorted(bars, reverse=True)  # newest first
    by_start: dict[int, list] = {}
    for dt, price, volume in trades:
        by_start.setdefault(interval_start(T0 + dt, interval), []).append((price, volume))
    for start, bar in bars:
        assert next_start(start, interval) > start
        group = by_start.get(start)
        if group is None:  # a quiet interval carries the previous close, with no volume
            assert bar[4] == 0 and bar[0] == bar[1] == bar[2] == bar[3]
            continue
        prices = [p for p, _ in group]
        assert bar == [prices[0], max(prices), min(prices), prices[-1], sum(v for _, v in group),
                       sum(p * v for p, v in group)]
    assert set(by_start) <= {s for s, _ in bars} or len(bars) == 1000


def test_interval_boundaries() -> None:
    ts = int(datetime(2026, 3, 18, 13, 47, 5, tzinfo=UTC).timestamp() * 1000)  # a Wednesday
    assert datetime.fromtimestamp(interval_start(ts, "W") / 1000, tz=UTC) == datetime(2026, 3, 16, tzinfo=UTC)
    assert datetime.fromtimestamp(interval_start(ts, "M") / 1000, tz=UTC) == datetime(2026, 3, 1, tzinfo=UTC)
    assert datetime.fromtimestamp(next_start(interval_start(ts, "M"), "M") / 1000, tz=UTC) == datetime(
        2026, 4, 1, tzinfo=UTC)
    assert datetime.fromtimestamp(interval_start(ts, "240") / 1000, tz=UTC) == datetime(2026, 3, 18, 12, tzinfo=UTC)
    assert interval_start(ts, "D") == int(datetime(2026, 3, 18, tzinfo=UTC).timestamp() * 1000)


def test_start_and_limit_window() -> None:
    candles = Candles()
    for minute in range(10):
        candles.add(T0 + minute * 60_000, 100 + minute, 1, 100 + minute)
    last3 = candles.query("1", None, T0 + 9 * 60_000, 3)
    assert [s for s, _ in last3] == [T0 + 9 * 60_000, T0 + 8 * 60_000, T0 + 7 * 60_000]
    since = candles.query("5", T0 + 5 * 60_000, T0 + 9 * 60_000, 100)
    assert [(s, b[0], b[3]) for s, b in since] == [(T0 + 5 * 60_000, 105, 109)]


def test_start_returns_the_bars_from_start() -> None:
    """ccxt's fetch_ohlcv(since, limit) sends start and expects the bars beginning there."""
    candles = Candles()
    for minute in range(10):
        candles.add(T0 + minute * 60_000, 100 + minute, 1, 100 + minute)
    bars = candles.query("1", T0 + 60_000, T0 + 9 * 60_000, 3)
    assert [s for s, _ in bars] == [T0 + 3 * 60_000, T0 + 2 * 60_000, T0 + 60_000]
