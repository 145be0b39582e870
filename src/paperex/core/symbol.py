"""Per-symbol market state: the book, reference prices, the public tape, candles and open interest."""

from __future__ import annotations

from collections import deque
from fractions import Fraction
from typing import Any

from paperex.core.book import OrderBook
from paperex.core.candles import Candles
from paperex.core.grid import Grid
from paperex.core.instruments import Instrument
from paperex.core.orders import PublicTrade

TAPE_LENGTH = 1000
LIQUIDATIONS_KEPT = 1000


class FundingState:
    """The current funding interval of a symbol and the rates it settled at."""

    __slots__ = ("due", "history", "premium", "premium_sum", "premium_ts")

    def __init__(self) -> None:
        self.due = 0  # the next funding time (ms); 0 until the exchange has seen a command
        self.premium = 0  # current premium of the mark over the index, 1e-8 units
        self.premium_sum = 0  # premium x ms accumulated over the interval so far
        self.premium_ts = 0  # until when premium_sum is accumulated
        self.history: list[tuple[int, int]] = []  # (funding time, rate)

    def state(self) -> tuple:
        return (self.due, self.premium, self.premium_sum, self.premium_ts, self.history)


class SymbolState:
    __slots__ = (
        "band",
        "band_key",
        "band_ratios",
        "book",
        "candles",
        "cts",
        "delivery_price",
        "funding",
        "grid",
        "index",
        "index_candles",
        "inst",
        "last",
        "liquidations",
        "mark",
        "mark_candles",
        "open_interest",
        "past",
        "premium_candles",
        "prev_last",
        "rules",
        "seq",
        "settle_sum",
        "settle_ts",
        "status",
        "tape",
        "tick_direction",
    )

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
        self.premium_candles = Candles()  # the funding premium (mark over index), 1e-8 units
        self.open_interest = 0  # lots held long (= held short)
        self.seq = 0  # last engine seq that changed this symbol
        self.cts = 0  # matching-engine time of the last book change
        self.band_ratios = (Fraction(inst.price_limit_ratio_x), Fraction(inst.price_limit_ratio_y))
        self.band_key: tuple[int, int] | None = None  # (mark, index) the cached band was computed for
        self.band: tuple[int, int] = (0, 0)
        self.funding = FundingState()
        # (trade id, ts, side of the liquidated position: Buy = a long, lots, bankruptcy price ticks)
        self.liquidations: deque[tuple[int, int, int, int, int]] = deque(maxlen=LIQUIDATIONS_KEPT)
        self.rules: dict[str, Any] = {}  # admin restrictions (core.rules)
        self.past: Any = None  # market.history.SymbolPast: derived at start, never part of the state
        # dated futures (core.delivery): Trading -> Delivering -> Closed, the index integrated over the delivery
        # window (ticks x ms) and until when, the price it settled at
        self.status = inst.status
        self.settle_sum = 0
        self.settle_ts = 0
        self.delivery_price = 0

    def state(self) -> tuple:
        book = [(o.order_id, o.side, o.price, o.leaves) for o in self.book.orders()]
        return (self.mark, self.index, self.last, self.prev_last, self.tick_direction, self.open_interest,
                self.seq, self.cts, self.book.update_id, sorted(book),
                [(t.exec_id, t.price, t.qty, t.side, t.ts, t.seq) for t in self.tape],
                *([(m, [*b[:4], str(b[4]), str(b[5])]) for m, b in sorted(c.bars.items())]
                  for c in (self.candles, self.mark_candles, self.index_candles, self.premium_candles)),
                self.funding.state(), list(self.liquidations), sorted(self.rules.items()),
                (self.status, self.settle_sum, self.settle_ts, self.delivery_price))
