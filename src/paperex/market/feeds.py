"""Reference-price feeds: where each symbol's index comes from.

- ``RandomWalk``: geometric Brownian motion, seeded, one step per tick interval. The walk is a pure
  function of (seed, symbol, step number), so a restarted or replayed market continues the same path.
- fixed (no feed object): never moves by itself (the admin API sets it).
- ``KlinePath``: recorded candles.
- ``TradeReplay``: Bybit's public trade-history CSV (``timestamp,symbol,side,size,price,...``; gzip
  accepted): the index follows the recorded trades, which can also be re-printed on the tape.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import math
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

YEAR_MS = 365 * 86_400_000


@dataclass(frozen=True)
class HistoricalTrade:
    ts: int
    side: str  # "Buy" / "Sell": the taker side
    size: Decimal
    price: Decimal


class RandomWalk:
    """GBM: S(k+1) = S(k) exp((mu - sigma^2/2) dt + sigma sqrt(dt) Z), Z ~ N(0, 1) from a seeded RNG.

    Each step multiplies the symbol's *current* index, so a price set through the admin API is where the
    walk goes on from; the random draws depend only on the step number, so a restarted or replayed market
    draws the same ones."""

    def __init__(self, symbol: str, seed: int, interval_ms: int = 1000, drift: float = 0.0,
                 volatility: float = 0.6) -> None:
        self.interval_ms = interval_ms
        dt = interval_ms / YEAR_MS
        self.mu_dt = (drift - volatility**2 / 2) * dt
        self.sigma_sqrt_dt = volatility * math.sqrt(dt)
        digest = hashlib.sha256(f"{seed}:{symbol}".encode()).digest()
        self.rng = random.Random(int.from_bytes(digest[:8], "big"))
        self.step = 0

    def skip_to(self, step: int) -> None:
        """Draw (and drop) the increments up to ``step``: where a restarted market resumes."""
        while self.step < step:
            self.rng.gauss(0.0, 1.0)
            self.step += 1

    def move(self, step: int, current: Decimal) -> Decimal | None:
        """The price at ``step``, walking on from ``current`` (None if the step was taken already)."""
        if step <= self.step:
            return None
        log_move = 0.0
        while self.step < step:
            log_move += self.mu_dt + self.sigma_sqrt_dt * self.rng.gauss(0.0, 1.0)
            self.step += 1
        return Decimal(repr(float(current) * math.exp(log_move)))


def read_trades(path: Path, symbol: str | None = None) -> list[HistoricalTrade]:
    """Bybit's public trade history: ``timestamp`` in seconds (with a fraction) or milliseconds."""
    opener = gzip.open if path.suffix == ".gz" else open
    out = []
    with opener(path, "rt", newline="") as f:  # type: ignore[operator]
        for row in csv.DictReader(f):
            if symbol and row.get("symbol", symbol) != symbol:
                continue
            raw = Decimal(row["timestamp"])
            ts = int(raw * 1000) if raw < 10**11 else int(raw)
            out.append(HistoricalTrade(ts, row["side"], Decimal(row["size"]), Decimal(row["price"])))
    out.sort(key=lambda t: t.ts)
    return out


class TradeFeed:
    """Recorded trades, handed out as the clock passes them: the driver sets the index to each trade's
    price and re-prints it on the tape (``replay = True``), or only follows its price."""

    def __init__(self, trades: list[HistoricalTrade], replay: bool = True) -> None:
        self.trades = trades
        self.replay = replay
        self._i = 0

    def skip_until(self, ms: int) -> None:
        """On a restart: trades at or before ``ms`` were handled already."""
        while self._i < len(self.trades) and self.trades[self._i].ts <= ms:
            self._i += 1

    def due(self, until_ms: int) -> list[HistoricalTrade]:
        """The trades not yet handed out up to ``until_ms`` (for re-printing on the tape)."""
        out = []
        while self._i < len(self.trades) and self.trades[self._i].ts <= until_ms:
            out.append(self.trades[self._i])
            self._i += 1
        return out


class KlinePath:
    """The index follows recorded candles (``start,open,high,low,close[,...]``, start in ms or s): within
    each bar it passes open, then the extreme nearer the open, then the other extreme, then close, so
    mark/index candles of the same interval reproduce the file's OHLC."""

    def __init__(self, bars: list[tuple[int, Decimal, Decimal, Decimal, Decimal]], bar_ms: int) -> None:
        self.bars = bars
        self.bar_ms = bar_ms

    def price_at(self, ts: int) -> Decimal | None:
        from bisect import bisect_right

        i = bisect_right([b[0] for b in self.bars], ts) - 1
        if i < 0:
            return None
        start, o, h, low, c = self.bars[i]
        if ts >= start + self.bar_ms:
            return c
        quarter = (ts - start) * 4 // self.bar_ms
        first, second = (low, h) if abs(o - low) <= abs(h - o) else (h, low)
        return (o, first, second, c)[quarter]


def read_klines(path: Path) -> tuple[list[tuple[int, Decimal, Decimal, Decimal, Decimal]], int]:
    """A kline CSV (header optional): start, open, high, low, close. Returns the bars and their length."""
    opener = gzip.open if path.suffix == ".gz" else open
    bars = []
    with opener(path, "rt", newline="") as f:  # type: ignore[operator]
        for row in csv.reader(f):
            if not row or not row[0].strip().replace(".", "").isdigit():
                continue  # a header
            raw = Decimal(row[0])
            start = int(raw * 1000) if raw < 10**11 else int(raw)
            bars.append((start, Decimal(row[1]), Decimal(row[2]), Decimal(row[3]), Decimal(row[4])))
    bars.sort()
    if len(bars) < 2 or len({b[0] for b in bars}) != len(bars):
        raise ValueError(f"{path}: a kline file needs at least two bars with distinct start times")
    return bars, bars[1][0] - bars[0][0]
