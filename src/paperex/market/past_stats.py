"""Open interest and the long/short account ratio before the exchange started: derived from a symbol's past
(market.history), seeded, never journaled, like the past candles.

Every 5-minute boundary of the past gets:
- an open-interest *shape* (1.0 at the end): the square root of the day's smoothed traded volume relative to
  its mean (busy markets hold more), times a slow seeded log-AR(1) wander; the gateway multiplies it by the
  level the live series starts at (core.samples anchors), so the past ends where the live series begins;
- a share of accounts net long: a retail lean against the day's move (longs grow when the price falls), plus
  seeded slow noise, kept within [0.2, 0.85]; its last day bends to the first live ratio when there is one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from paperex.core.rng import stream
from paperex.core.samples import SAMPLE_MS
from paperex.market.history import MINUTE, PastSeries, SymbolPast, normals

DAY_SAMPLES = 288


@dataclass(frozen=True)
class PastStats:
    first: int  # the first boundary
    end: int  # boundaries before this are the past's
    oi_shape: np.ndarray  # float, last = 1.0
    buy: np.ndarray  # float share of accounts net long
    level: int  # lots: an open interest in proportion to the past's volume (0.3 x a mean day's volume)

    def index(self, ts: int) -> int | None:
        if ts < self.first or ts >= self.end:
            return None
        return (ts - self.first) // SAMPLE_MS

    def open_interest(self, ts: int, anchor: int) -> int | None:
        """Lots at boundary ``ts`` for a series that ends at ``anchor`` lots (None: not in the past)."""
        k = self.index(ts)
        if k is None:
            return None
        return max(1, round(anchor * float(self.oi_shape[k])))

    def buy_ratio(self, ts: int, live: float | None) -> float | None:
        k = self.index(ts)
        if k is None:
            return None
        value = float(self.buy[k])
        n = len(self.buy)
        if live is not None and k >= n - DAY_SAMPLES:  # the last day bends towards the first live ratio
            w = (k - (n - DAY_SAMPLES) + 1) / DAY_SAMPLES
            value += (live - float(self.buy[-1])) * w
        return min(0.95, max(0.05, value))


def _minutes(series: PastSeries) -> np.ndarray:
    n = len(series.ohlc)
    return series.minutes if series.minutes is not None else series.first + np.arange(n, dtype=np.int64) * MINUTE


def derive(key: tuple[str, str], past: SymbolPast) -> PastStats | None:
    """The past's statistics, or None when the past is empty."""
    series = past.trades
    if not len(series.ohlc):
        return None
    minutes = _minutes(series)
    first = series.first - series.first % SAMPLE_MS + (SAMPLE_MS if series.first % SAMPLE_MS else 0)
    end = series.end
    n = max(0, -(-(end - first) // SAMPLE_MS))
    if n == 0:
        return None
    # a minute belongs to the boundary that follows it (the state at T is what the minutes before T built)
    bins = np.clip((minutes - first + SAMPLE_MS - 1) // SAMPLE_MS, 0, n - 1)
    volume = series.volume.astype(np.float64) if series.volume is not None else np.ones(len(minutes))
    per_bin = np.bincount(bins, weights=volume, minlength=n)[:n]
    seed = stream(int(series.first), "past-stats", *key)
    # open interest: smoothed volume (one-day half-life), square-rooted, and a slow wander
    keep = math.exp(-math.log(2) / DAY_SAMPLES)
    smooth = np.empty(n)
    acc = float(per_bin[:DAY_SAMPLES].mean()) if n else 0.0
    for i, v in enumerate(per_bin.tolist()):
        acc = acc * keep + v * (1 - keep)
        smooth[i] = acc
    mean = float(smooth.mean()) or 1.0
    level_term = np.sqrt(np.maximum(smooth, mean * 0.05) / mean)
    wander = np.empty(n)
    x, ar = 0.0, 0.995
    for i, z in enumerate(normals(seed, n).tolist()):
        x = x * ar + 0.004 * z
        wander[i] = x
    shape = level_term * np.exp(wander)
    shape /= shape[-1]
    level = max(1, round(0.3 * float(per_bin.mean()) * DAY_SAMPLES))
    # the long share: against the day's move, with slow noise
    closes = series.ohlc[:, 3].astype(np.float64)
    last_in_bin = np.searchsorted(bins, np.arange(n), side="right") - 1
    close = closes[np.maximum(last_in_bin, 0)]
    ret = np.log(close / np.concatenate((np.full(min(n, DAY_SAMPLES), close[0]), close[:-DAY_SAMPLES]))[:n])
    scale = float(ret.std()) or 1.0
    noise = np.empty(n)
    y = 0.0
    for i, z in enumerate(normals(seed + 1, n).tolist()):
        y = y * 0.98 + 0.006 * z
        noise[i] = y
    buy = np.clip(0.55 - 0.1 * np.tanh(ret / scale) + noise, 0.2, 0.85)
    return PastStats(first=first, end=end, oi_shape=shape, buy=buy, level=level)


def stats_of(st) -> PastStats | None:
    """The symbol's past statistics, derived on first use and kept with the past (None: no past)."""
    past = st.past
    if past is None:
        return None
    if past.stats is None:
        past.stats = derive(st.inst.key, past) or False
    return past.stats or None
