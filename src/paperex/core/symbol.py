"""Per-symbol market state: the book, reference prices, the public tape, candles and open interest."""

from __future__ import annotations

from collections import deque
from fractions import Fraction

from paperex.core.book import OrderBook
from paperex.core.candles import Candles
from paperex.core.grid import Grid
from paperex.core.instruments import Instrument
from paperex.core.orders import PublicTrade

TAPE_LENGTH = 1000


class SymbolState:
    __slots__ = ("band", "band_key", "band_ratios", "book", "candles", "cts", "grid", "index", "index_candles",
                 "inst", "last", "mark",
                 "mark_candles", "open_interest", "prev_last", "seq", "tape", "tick_direction")

    def __init__(self, inst: Instrument) -> None:
        self.inst = inst
        self.grid = Grid.of(inst)
        self.book = OrderBook()
        start = self.grid.round_ticks(inst.initial_price, up=False)
        self.mark = start  # ticks
        self.index = start
        self.last: int | None = None  # last traded price, ticks
        self.prev_last: int | None = None
        self.tick_direction = "ZeroPlusTick"
        self.tape: deque[PublicTrade] = deque(maxlen=TAPE_LENGTH)
        self.candles = Candles()
        self.mark_candles = Candles()
        self.index_candles = Candles()
        self.open_interest = 0  # lots held long (= held short)
        self.seq = 0  # last engine seq that changed this symbol
        self.cts = 0  # matching-engine time of the last book change
        self.band_ratios = (Fraction(inst.price_limit_ratio_x), Fraction(inst.price_limit_ratio_y))
        self.band_key: tuple[int, int] | None = None  # (mark, index) the cached band was computed for
        self.band: tuple[int, int] = (0, 0)

    def state(self) -> tuple:
        book = [(o.order_id, o.side, o.price, o.leaves) for o in self.book.orders()]
        return (self.mark, self.index, self.last, self.prev_last, self.tick_direction, self.open_interest,
                self.seq, self.cts, self.book.update_id, sorted(book),
                [(t.exec_id, t.price, t.qty, t.side, t.ts, t.seq) for t in self.tape],
                *([(m, [*b[:4], str(b[4]), str(b[5])]) for m, b in sorted(c.bars.items())]
                  for c in (self.candles, self.mark_candles, self.index_candles)))
