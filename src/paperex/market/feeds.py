"""Data-file feeds: what the driver plays into the live market after the past (market.history) ends.

- ``TradeFeed``: recorded trades (market.datafiles), handed out as the clock passes them: the index
  follows each trade's price, and the trade can be re-printed on the tape.
- ``KlinePath``: recorded candles: the index follows each bar's path.

The built-in random walk lives in the core (core.background): it is derived from the seed, not journaled.
"""

from __future__ import annotations

from bisect import bisect_right
from decimal import Decimal

from paperex.market.datafiles import HistoricalTrade


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
        self.starts = [b[0] for b in bars]

    def price_at(self, ts: int) -> Decimal | None:
        i = bisect_right(self.starts, ts) - 1
        if i < 0:
            return None
        start, o, h, low, c = self.bars[i]
        if ts >= start + self.bar_ms:
            return c
        quarter = (ts - start) * 4 // self.bar_ms
        first, second = (low, h) if abs(o - low) <= abs(h - o) else (h, low)
        return (o, first, second, c)[quarter]
