"""OHLCV candles built from the engine's own trades (and mark/index/premium series), stored per minute and
aggregated on request to any Bybit interval. Empty intervals after the first trade carry the previous close
with zero volume, as Bybit shows quiet markets.

A series may have a ``past``: the minutes before the exchange started (market.history), derived from the
seed or a data file and never part of the state. Queries see one series: the past, then the live minutes."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import UTC, datetime
from typing import Protocol

MINUTE = 60_000
INTERVALS_MIN = {"1": 1, "3": 3, "5": 5, "15": 15, "30": 30, "60": 60, "120": 120, "240": 240, "360": 360,
                 "720": 720, "D": 1440}
INTERVALS = (*INTERVALS_MIN, "W", "M")


def interval_start(ts: int, interval: str) -> int:
    if interval in INTERVALS_MIN:
        span = INTERVALS_MIN[interval] * MINUTE
        return ts - ts % span
    day = datetime.fromtimestamp(ts // 1000, tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if interval == "W":  # weeks start on Monday
        start = day.timestamp() - day.weekday() * 86_400
        return int(start) * 1000
    return int(day.replace(day=1).timestamp()) * 1000


def next_start(start: int, interval: str) -> int:
    if interval in INTERVALS_MIN:
        return start + INTERVALS_MIN[interval] * MINUTE
    if interval == "W":
        return start + 7 * 86_400_000
    d = datetime.fromtimestamp(start // 1000, tz=UTC)
    d = d.replace(year=d.year + 1, month=1) if d.month == 12 else d.replace(month=d.month + 1)
    return int(d.timestamp()) * 1000


def bar_starts(interval: str, lo: int, hi: int, from_start: bool, limit: int) -> list[int]:
    """Up to ``limit`` bar starts in [lo, hi], ascending: the first ones from ``lo`` when paging forward
    from a start (as Bybit does when ``start`` is given), else the last ones up to ``hi``."""
    starts = []
    if from_start:
        s = lo
        while s <= hi and len(starts) < limit:
            starts.append(s)
            s = next_start(s, interval)
        return starts
    s = hi
    while s >= lo and len(starts) < limit:
        starts.append(s)
        s = interval_start(s - 1, interval)
    starts.reverse()
    return starts


class Past(Protocol):
    """Minutes before the live series (market.history.PastSeries)."""

    first: int  # the first minute
    end: int  # the minutes before this

    def aggregate(self, start: int, end: int) -> list[int] | None: ...
    def close_at(self, ts: int) -> int | None: ...


def _merge(early: list[int] | None, late: list[int] | None) -> list[int] | None:
    if early is None or late is None:
        return early or late
    return [early[0], max(early[1], late[1]), min(early[2], late[2]), late[3], early[4] + late[4],
            early[5] + late[5]]


class Candles:
    """Per-minute candles: minute start -> [open, high, low, close, volume, turnover] (integers)."""

    __slots__ = ("bars", "minutes", "past")

    def __init__(self) -> None:
        self.bars: dict[int, list[int]] = {}
        self.minutes: list[int] = []  # ascending; time only moves forward
        self.past: Past | None = None  # derived, not state: set by the market's setup

    def add(self, ts: int, price: int, volume: int = 0, turnover: int = 0) -> None:
        minute = ts - ts % MINUTE
        bar = self.bars.get(minute)
        if bar is None:
            self.bars[minute] = [price, price, price, price, volume, turnover]
            if not self.minutes or minute > self.minutes[-1]:
                self.minutes.append(minute)
            else:  # an out-of-order minute (clock moved back): keep the list sorted
                self.minutes.append(minute)
                self.minutes.sort()
            return
        if price > bar[1]:
            bar[1] = price
        if price < bar[2]:
            bar[2] = price
        bar[3] = price
        bar[4] += volume
        bar[5] += turnover

    def last_close(self) -> int | None:
        if self.minutes:
            return self.bars[self.minutes[-1]][3]
        return self.past.close_at(self.past.end) if self.past is not None else None

    def close_at(self, ts: int) -> int | None:
        """The close of the last minute at or before ``ts``."""
        i = bisect_right(self.minutes, ts)
        if i:
            return self.bars[self.minutes[i - 1]][3]
        return self.past.close_at(ts) if self.past is not None else None

    def first_minute(self) -> int | None:
        if self.past is not None:
            return self.past.first
        return self.minutes[0] if self.minutes else None

    def aggregate(self, start: int, end: int) -> list[int] | None:
        """[open, high, low, close, volume, turnover] of the minutes in [start, end), or None."""
        past = self.past.aggregate(start, end) if self.past is not None and start < self.past.end else None
        i, j = bisect_left(self.minutes, start), bisect_left(self.minutes, end)
        if i == j:
            return past
        bars = [self.bars[m] for m in self.minutes[i:j]]
        live = [bars[0][0], max(b[1] for b in bars), min(b[2] for b in bars), bars[-1][3],
                sum(b[4] for b in bars), sum(b[5] for b in bars)]
        return _merge(past, live)

    def query(self, interval: str, start: int | None, end: int, limit: int) -> list[tuple[int, list[int]]]:
        """Up to ``limit`` bars of ``interval`` in [start, end], newest first: with ``start``, the bars
        from ``start`` on (as Bybit pages forward from a start); without, the newest bars up to ``end``."""
        first_minute = self.first_minute()
        if first_minute is None:
            return []
        first = interval_start(first_minute, interval)
        lo = max(first, interval_start(start, interval)) if start is not None else first
        hi = interval_start(end, interval)
        if hi < lo:
            return []
        starts = bar_starts(interval, lo, hi, start is not None, limit)
        out: list[tuple[int, list[int]]] = []
        prev_close = self.close_at(starts[0] - 1)
        for s in starts:
            bar = self.aggregate(s, next_start(s, interval))
            if bar is None:
                if prev_close is None:
                    continue
                out.append((s, [prev_close, prev_close, prev_close, prev_close, 0, 0]))
                continue
            out.append((s, bar))
            prev_close = bar[3]
        out.reverse()
        return out
