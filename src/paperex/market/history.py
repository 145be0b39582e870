"""The market's past: what happened before the exchange first started, derived, never journaled.

``HistorySpec`` (journaled once, when the data dir is new) fixes the seed, the end of the past (the first
start) and its length; each symbol's past is then derived from it, the same on every start:

- **Synthetic** (the default): one-minute bars of the index (a geometric Brownian walk run *backwards* from
  the symbol's price at the first start, so the present continues the past without a seam; one walk per base
  coin, so every BTC product shares the BTC index's past), the book's basis
  (a mean-reverting ratio, as the living market draws it), the traded price (index x (1 + basis) at the bid or
  the ask), Bybit's mark, the funding premium, volume and turnover from the same taker flow the living market
  runs (Poisson arrivals, heavy-tailed sizes, busier in the US afternoon), the funding settlements of every
  interval, and trade by trade the last minutes (enough for the last 1000 trades: the tape at the first start),
  whose bars are built from those trades.
- **A data file** (Bybit's trade archive, Tardis trades, kline CSVs: market.datafiles): the traded price,
  index and mark follow the file; no premium, no funding settlements.

Everything is integers on the symbol's grid (ticks, lots, 1e-8 units), held in numpy arrays: 30 days of nine
symbols take a few MB and a fraction of a second to derive.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from paperex.core import risk
from paperex.core.background import CARRY, YEAR_MS
from paperex.core.book import BUY, SELL
from paperex.core.commands import HistorySpec, SimSymbol
from paperex.core.orders import PublicTrade
from paperex.core.rng import GOLDEN, MASK, stream
from paperex.core.symbol import TAPE_LENGTH, SymbolState
from paperex.market import datafiles

MINUTE = 60_000
YEAR_MIN = 365 * 1440
HISTORY_EXEC_BASE = 1 << 47  # history trades' execution ids: far above any the core hands out
BASIS_MEAN, BASIS_SD, BASIS_HALF_LIFE_MIN = 0.00005, 0.0002, 10.0  # as core.background draws the live basis


# -- seeded draws, vectorised (the same SplitMix64 as core.rng) ------------------------------------------
def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def uniforms(state: int, n: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = np.uint64(state & MASK) + np.uint64(GOLDEN) * np.arange(1, n + 1, dtype=np.uint64)
        return (_mix(z) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def normals(state: int, n: int) -> np.ndarray:
    u = uniforms(state, 2 * n)
    return np.sqrt(-2.0 * np.log(1.0 - u[:n])) * np.cos(2 * math.pi * u[n:])


# -- one series of minutes ---------------------------------------------------------------------------------
class PastSeries:
    """Per-minute [open, high, low, close, volume, turnover] before ``end`` (core.candles.Past). Prices in
    int32 where they fit; volume and turnover (when the series has them) summed over 60-minute blocks in
    exact integers, so a month's turnover never overflows."""

    BLOCK = 60

    def __init__(self, first: int, ohlc: np.ndarray, volume: list[int] | None = None,
                 turnover: list[int] | None = None, minutes: np.ndarray | None = None) -> None:
        fits = not len(ohlc) or (int(ohlc.max()) < 2**31 and int(ohlc.min()) > -(2**31))
        self.ohlc = np.ascontiguousarray(ohlc, dtype=np.int32 if fits else np.int64)
        n = len(self.ohlc)
        self.minutes = minutes  # None: one bar a minute from ``first``
        self.first = int(minutes[0]) if minutes is not None and n else first
        self.end = (int(minutes[-1]) if minutes is not None else first + (n - 1) * MINUTE) + MINUTE if n else first
        self.volume = np.array(volume, dtype=np.int64) if volume is not None else None
        self.turnover = np.array(turnover, dtype=np.int64) if turnover is not None else None
        self._blocks = [self._block_sums(a) for a in (self.volume, self.turnover)]

    def _block_sums(self, values: np.ndarray | None) -> list[int]:
        """Exact prefix sums at every BLOCK-th minute."""
        if values is None:
            return []
        out, total = [0], 0
        for k in range(0, len(values), self.BLOCK):
            total += int(values[k:k + self.BLOCK].sum())
            out.append(total)
        return out

    def _sum(self, which: int, i: int, j: int) -> int:
        values, blocks = (self.volume, self.turnover)[which], self._blocks[which]
        if values is None:
            return 0
        b_i, b_j = -(-i // self.BLOCK), j // self.BLOCK
        if b_i >= b_j:
            return int(values[i:j].sum())
        return (int(values[i:b_i * self.BLOCK].sum()) + blocks[b_j] - blocks[b_i]
                + int(values[b_j * self.BLOCK:j].sum()))

    def _index(self, ts: int, right: bool = False) -> int:
        if self.minutes is not None:
            return int(np.searchsorted(self.minutes, ts, side="right" if right else "left"))
        n = len(self.ohlc)
        k = (ts - self.first) // MINUTE + (1 if right or (ts - self.first) % MINUTE else 0)
        return max(0, min(n, k))

    def aggregate(self, start: int, end: int) -> list[int] | None:
        i, j = self._index(start), self._index(end)
        if i >= j:
            return None
        block = self.ohlc[i:j]
        return [int(block[0, 0]), int(block[:, 1].max()), int(block[:, 2].min()), int(block[-1, 3]),
                self._sum(0, i, j), self._sum(1, i, j)]

    def close_at(self, ts: int) -> int | None:
        i = self._index(ts, right=True)
        return int(self.ohlc[i - 1, 3]) if i else None


@dataclass
class SymbolPast:
    trades: PastSeries
    index: PastSeries
    mark: PastSeries
    premium: PastSeries | None
    funding: list[tuple[int, int]]  # (time, rate), oldest first
    tape: list[PublicTrade]  # the last trades, oldest first
    stats: Any = None  # market.past_stats.PastStats, derived on first use (False: none)

    def attach(self, st: SymbolState) -> None:
        """Give the symbol's live series their past (not part of the state: re-derived on every start)."""
        st.candles.past = self.trades
        st.index_candles.past = self.index
        st.mark_candles.past = self.mark
        if self.premium is not None:
            st.premium_candles.past = self.premium


def _ohlc_from_path(opens: np.ndarray, closes: np.ndarray, wiggle: np.ndarray) -> np.ndarray:
    """OHLC (float ticks) of minutes that run from ``opens`` to ``closes``, with extremes ``wiggle`` beyond."""
    high = np.maximum(opens, closes) + np.abs(wiggle[0])
    low = np.minimum(opens, closes) - np.abs(wiggle[1])
    return np.stack([opens, high, low, closes], axis=1)


def _ticks(values: np.ndarray) -> np.ndarray:
    out = np.maximum(1, np.rint(values)).astype(np.int64)
    out[:, 1] = out.max(axis=1)  # rounding never leaves an open or close outside the high and low
    out[:, 2] = out.min(axis=1)
    return out


def synthetic(spec: HistorySpec, st: SymbolState, sim: SimSymbol, anchor: int | None = None) -> SymbolPast:
    key = f"{st.inst.category}:{st.inst.symbol}"
    anchor = spec.anchors.get(key, st.index) if anchor is None else anchor
    end = spec.end_ms - spec.end_ms % MINUTE
    first = end - max(1, spec.days * 1440) * MINUTE
    partial = spec.end_ms - end  # the exchange started this far into a minute: its first part is the past's
    n = (end - first) // MINUTE + (1 if partial else 0)
    grid = st.grid
    seed = lambda *names: stream(spec.seed, "history", key, *names)  # noqa: E731
    coin = lambda *names: stream(spec.seed, "history", st.inst.base_coin, *names)  # noqa: E731
    # the index, walked backwards from the anchor (one walk per base coin): close[n-1] = anchor
    sigma = sim.volatility / math.sqrt(YEAR_MIN)
    steps = (sim.drift / YEAR_MIN - sigma * sigma / 2) + sigma * normals(coin("walk"), n)
    log_close = math.log(anchor) - np.concatenate((np.cumsum(steps[::-1])[::-1][1:], [0.0]))
    close = np.exp(log_close)
    open_ = np.concatenate(([close[0] * math.exp(-steps[0])], close[:-1]))
    swing = close * sigma * 0.6 * normals(coin("range"), 2 * n).reshape(2, n)
    index = _ticks(_ohlc_from_path(open_, close, swing))
    # the basis (mean-reverting, one value a minute) and what follows from it
    keep = math.exp(-math.log(2) / BASIS_HALF_LIFE_MIN)
    shocks = BASIS_SD * math.sqrt(1 - keep * keep) * normals(seed("basis"), n)
    basis = np.empty(n)
    b = BASIS_MEAN
    for i, shock in enumerate(shocks.tolist()):
        b = BASIS_MEAN + (b - BASIS_MEAN) * keep + shock
        basis[i] = b
    half = sim.half_spread + sim.spacing / 2
    sides = np.where(uniforms(seed("side"), n) < 0.5, 1.0, -1.0)
    traded = index.astype(np.float64) * (1 + basis)[:, None]
    traded[:, 1] += half
    traded[:, 2] -= half
    traded[:, 3] += half * sides
    traded[1:, 0] = traded[:-1, 3]  # each minute opens where the last one closed
    trades = _ticks(traded)
    if st.inst.is_derivative:
        mark_ratio = 1 + 0.8 * basis
        mark = _ticks(index.astype(np.float64) * mark_ratio[:, None])
        premium_rate = np.rint((mark[:, 3] - index[:, 3]) / index[:, 3] * risk.RATE_SCALE).astype(np.int64)
        wiggle = np.abs(normals(seed("premium"), n)) * 2_000
        premium = np.stack([np.concatenate(([premium_rate[0]], premium_rate[:-1])),
                            premium_rate + wiggle.astype(np.int64), premium_rate - wiggle.astype(np.int64),
                            premium_rate], axis=1)
        premium[:, 1] = premium.max(axis=1)
        premium[:, 2] = premium.min(axis=1)
    else:
        mark, premium = index, None
    # volume: the taker flow of the living market, busier from 13:00 to 21:00 UTC
    hours = ((first // MINUTE + np.arange(n)) % 1440) / 60.0
    season = 1 + 0.6 * np.exp(-((hours - 17.0) ** 2) / 8.0)
    mean_lots = max(sim.trade_rate, 0.05) * 60 * sim.taker_lots * math.exp(0.5)
    lots = np.rint(mean_lots * season * np.exp(0.6 * normals(seed("volume"), n) - 0.18)).astype(np.int64)
    lots = np.maximum(lots, 0)
    typical = trades.mean(axis=1)
    volume = lots.tolist()
    turnover = [grid.value(int(p), v) for p, v in zip(np.rint(typical).astype(np.int64).tolist(), volume,
                                                         strict=True)]
    # the last minutes, trade by trade
    rate = max(sim.trade_rate, 0.05)
    tail = min(n, max(5, math.ceil(TAPE_LENGTH * 1.2 / (rate * 60)) + 1))
    tape = _tail_trades(seed("tape"), first, index, basis, half, rate, sim, grid, n - tail, n, spec.end_ms)
    bars = _bars_of(tape, first, grid)
    for m in range(n - tail, n):  # the minutes of the tape are the tape's own bars (quiet ones flat)
        bar = bars.get(m)
        if bar is None:
            close = int(trades[m - 1, 3]) if m else int(trades[m, 0])
            bar = [close, close, close, close, 0, 0]
        trades[m, :] = bar[:4]
        volume[m], turnover[m] = bar[4], bar[5]
    funding = _funding(st, first, end, premium) if st.inst.is_derivative else []
    return SymbolPast(trades=PastSeries(first, trades, volume, turnover), index=PastSeries(first, index),
                      mark=PastSeries(first, mark), premium=PastSeries(first, premium) if premium is not None
                      else None, funding=funding, tape=tape[-TAPE_LENGTH:])


def dated(spec: HistorySpec, st: SymbolState, sim: SimSymbol, source_anchor: int) -> SymbolPast:
    """A dated future's past, from its launch: its perpetual's index (the same walk, from the same anchor), traded
    and marked above it by the carry the living market quotes (``CARRY`` a year until delivery, shrinking to
    nothing at delivery), its own (thinner) flow; no funding."""
    past = synthetic(spec, st, sim, anchor=source_anchor)
    first = past.trades.first
    n = len(past.trades.ohlc)
    minutes = first + MINUTE * np.arange(n)
    carry = 1 + CARRY * np.maximum(0, st.inst.delivery_time - minutes) / YEAR_MS
    start = max(0, -(-(st.inst.launch_time - first) // MINUTE))  # the first whole minute it was listed

    def lifted(series: PastSeries) -> np.ndarray:
        return _ticks(series.ohlc.astype(np.float64)[start:] * carry[start:, None])

    volume = past.trades.volume.tolist()[start:] if past.trades.volume is not None else None
    turnover = past.trades.turnover.tolist()[start:] if past.trades.turnover is not None else None
    launched = first + start * MINUTE
    tape = [t for t in past.tape if t.ts >= st.inst.launch_time]
    for t in tape:  # fresh objects of this symbol's own past: lifted in place
        t.price = max(1, round(t.price * (1 + CARRY * max(0, st.inst.delivery_time - t.ts) / YEAR_MS)))
    return SymbolPast(trades=PastSeries(launched, lifted(past.trades), volume, turnover),
                      index=PastSeries(launched, np.ascontiguousarray(past.index.ohlc[start:])),
                      mark=PastSeries(launched, lifted(past.mark)), premium=None, funding=[], tape=tape)


def _tail_trades(state: int, first: int, index: np.ndarray, basis: np.ndarray, half: float, rate: float,
                 sim: SimSymbol, grid, lo: int, hi: int, until: int) -> list[PublicTrade]:
    """Trade by trade, minutes ``lo`` to ``hi``, before ``until``: Poisson arrivals (normal approximation),
    prices along the minute's index path at the bid or the ask, heavy-tailed sizes."""
    lam = rate * 60
    counts = np.maximum(0, np.rint(lam + math.sqrt(lam) * normals(state, hi - lo))).astype(np.int64).tolist()
    total = sum(counts)
    when, pick = uniforms(state + 1, total).tolist(), uniforms(state + 2, total).tolist()
    noise, size = normals(state + 3, total).tolist(), normals(state + 4, total).tolist()
    trades: list[PublicTrade] = []
    k = 0
    for m, count in enumerate(counts, start=lo):
        start = first + m * MINUTE
        o, c = float(index[m, 0]), float(index[m, 3])
        for j, off in enumerate(sorted(int(x * MINUTE) for x in when[k:k + count])):
            centre = (o + (c - o) * (j + 1) / (count + 1) + noise[k + j] * 0.2 * (abs(c - o) + 1)) * (1 + basis[m])
            side = BUY if pick[k + j] < 0.5 else SELL
            qty = max(grid.min_lots, min(round(sim.taker_lots * math.exp(size[k + j])), sim.max_taker_lots))
            if start + off < until:
                trades.append(PublicTrade(HISTORY_EXEC_BASE + (m << 12) + j, max(1, round(centre + half * side)),
                                          qty, side, start + off, 0, "ZeroPlusTick"))
        k += count
    previous, rising = None, True
    for t in trades:  # Bybit's tick direction
        if previous is not None and t.price != previous.price:
            rising = t.price > previous.price
            t.tick_direction = "PlusTick" if rising else "MinusTick"
        else:
            t.tick_direction = "ZeroPlusTick" if rising else "ZeroMinusTick"
        previous = t
    return trades


def _bars_of(tape: list[PublicTrade], first: int, grid) -> dict[int, list[int]]:
    bars: dict[int, list[int]] = {}
    for t in tape:
        m = (t.ts - first) // MINUTE
        bar = bars.get(m)
        value = grid.value(t.price, t.qty)
        if bar is None:
            bars[m] = [t.price, t.price, t.price, t.price, t.qty, value]
        else:
            bar[1], bar[2], bar[3] = max(bar[1], t.price), min(bar[2], t.price), t.price
            bar[4] += t.qty
            bar[5] += value
    return bars


def _funding(st: SymbolState, first: int, end: int, premium: np.ndarray | None) -> list[tuple[int, int]]:
    """The settlements of every funding interval in the past, from its minutes' premium (Bybit: the time-
    weighted average premium, plus the interest rate clamped to +-0.05 %, within the symbol's bounds)."""
    assert premium is not None
    length = risk.interval_ms(st)
    interest = risk.INTEREST_PER_8H * st.inst.funding_interval_min // 480
    lower, upper = int(st.inst.lower_funding_rate * risk.RATE_SCALE), int(st.inst.upper_funding_rate * risk.RATE_SCALE)
    out = []
    t = first - first % length + length
    while t <= end:
        i, j = max(0, (t - length - first) // MINUTE), (t - first) // MINUTE
        p = int(premium[i:j, 3].mean()) if j > i else 0
        rate = p + max(-risk.PREMIUM_CLAMP, min(risk.PREMIUM_CLAMP, interest - p))
        out.append((t, max(lower, min(upper, rate))))
        t += length
    return out


# -- from a data file ----------------------------------------------------------------------------------------
def from_file(path: Path, st: SymbolState, end: int, shift: int) -> SymbolPast:
    """The past of a symbol fed by a data file: its bars (or its trades' minute bars) before ``end``, moved by
    ``shift`` ms; traded price, index and mark alike."""
    if datafiles.detect_kind(path) == "trades":
        trades = [dataclasses.replace(t, ts=t.ts + shift) for t in datafiles.read_trades(path, st.inst.symbol)
                  if t.ts + shift < end]
        bars = datafiles.minute_bars(trades)
        shift = 0  # the bars are the moved trades' own
        tape = [PublicTrade(HISTORY_EXEC_BASE + i, _round(st, t.price), max(1, int(t.size / st.grid.step)),
                            BUY if t.side == "Buy" else SELL, t.ts, 0, "ZeroPlusTick")
                for i, t in enumerate(trades[-TAPE_LENGTH:], start=len(trades) - min(len(trades), TAPE_LENGTH))]
    else:
        raw, bar_ms = datafiles.read_klines(path)
        bars = [b for b in raw if b.start + shift + bar_ms <= end]
        tape = []
    if not bars:
        empty = PastSeries(end, np.zeros((0, 4), dtype=np.int64), minutes=np.zeros(0, dtype=np.int64))
        return SymbolPast(empty, empty, empty, None, [], [])
    minutes = np.array([b.start + shift for b in bars], dtype=np.int64)
    ohlc = np.array([[_round(st, b.open), _round(st, b.high), _round(st, b.low), _round(st, b.close)]
                     for b in bars], dtype=np.int64)
    volume = [int(b.volume / st.grid.step) for b in bars]
    turnover = [int(b.turnover * 10**8) if b.turnover else st.grid.value(int(ohlc[i, 3]), volume[i])
                for i, b in enumerate(bars)]
    series = PastSeries(int(minutes[0]), ohlc, volume, turnover, minutes)
    prices = PastSeries(int(minutes[0]), ohlc, minutes=minutes)
    return SymbolPast(series, prices, prices, None, [], tape)


def _round(st: SymbolState, price) -> int:
    return max(1, st.grid.round_ticks(price, up=False))


