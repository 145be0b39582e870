"""A central limit order book with price-time priority, on integer ticks and lots.

Each side is a dict of price levels plus a sorted list of the prices that have resting orders, so the
best price is an index away and an emptied level costs one bisect. A level is an insertion-ordered dict
``order_id -> order``: its iteration order is time priority.

The book only knows resting orders (``price``, ``leaves``, ``side``, ``order_id``, ``uid``); what a fill
means for wallets and positions is the engine's business. ``NaiveBook`` below is the test oracle.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator
from typing import Protocol

BUY = 1
SELL = -1


class Resting(Protocol):
    order_id: int
    uid: int
    side: int  # BUY or SELL
    price: int  # ticks
    leaves: int  # lots


class Level:
    __slots__ = ("orders", "price", "qty")

    def __init__(self, price: int) -> None:
        self.price = price
        self.qty = 0
        self.orders: dict[int, Resting] = {}


class Side:
    """One side of the book. ``prices`` is ascending for both sides; the best is at the end for bids."""

    __slots__ = ("is_bid", "levels", "prices")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.levels: dict[int, Level] = {}
        self.prices: list[int] = []

    def best(self) -> Level | None:
        if not self.prices:
            return None
        return self.levels[self.prices[-1] if self.is_bid else self.prices[0]]

    def add(self, order: Resting) -> None:
        level = self.levels.get(order.price)
        if level is None:
            level = self.levels[order.price] = Level(order.price)
            insort(self.prices, order.price)
        level.orders[order.order_id] = order
        level.qty += order.leaves

    def remove(self, order: Resting) -> None:
        level = self.levels[order.price]
        del level.orders[order.order_id]
        level.qty -= order.leaves
        if not level.orders:
            self._drop(level.price)

    def _drop(self, price: int) -> None:
        del self.levels[price]
        del self.prices[bisect_left(self.prices, price)]

    def iter_best_first(self) -> Iterator[Level]:
        """Levels from the best price outwards. Do not change the side while iterating."""
        prices = reversed(self.prices) if self.is_bid else iter(self.prices)
        for p in prices:
            yield self.levels[p]

    def depth(self, n: int) -> list[tuple[int, int]]:
        out = []
        prices = self.prices[::-1] if self.is_bid else self.prices
        for p in prices[:n]:
            out.append((p, self.levels[p].qty))
        return out


class OrderBook:
    __slots__ = ("asks", "bids", "update_id")

    def __init__(self) -> None:
        self.bids = Side(is_bid=True)
        self.asks = Side(is_bid=False)
        self.update_id = 0  # Bybit's orderbook ``u``: +1 on every change of the book

    def side(self, side: int) -> Side:
        return self.bids if side == BUY else self.asks

    def opposite(self, side: int) -> Side:
        return self.asks if side == BUY else self.bids

    def best_bid(self) -> int | None:
        return self.bids.prices[-1] if self.bids.prices else None

    def best_ask(self) -> int | None:
        return self.asks.prices[0] if self.asks.prices else None

    def add(self, order: Resting) -> None:
        """Rest an order (the caller has matched it first, so it does not cross)."""
        self.side(order.side).add(order)
        self.update_id += 1

    def remove(self, order: Resting) -> None:
        self.side(order.side).remove(order)
        self.update_id += 1

    def contains(self, order: Resting) -> bool:
        level = self.side(order.side).levels.get(order.price)
        return level is not None and order.order_id in level.orders

    def reduce(self, order: Resting, new_leaves: int) -> None:
        """Shrink a resting order in place: it keeps its time priority."""
        level = self.side(order.side).levels[order.price]
        level.qty -= order.leaves - new_leaves
        order.leaves = new_leaves
        self.update_id += 1

    def crosses(self, side: int, price: int | None) -> bool:
        """Would a ``side`` order at ``price`` (None: market) take liquidity right now?"""
        if side == BUY:
            best = self.best_ask()
            return best is not None and (price is None or price >= best)
        best = self.best_bid()
        return best is not None and (price is None or price <= best)

    def fillable(self, side: int, price: int | None, qty: int, exclude_uid: int | None = None) -> int:
        """How much of ``qty`` could fill at ``price`` or better against the book now (not counting the
        orders of ``exclude_uid``: self-match prevention would not let them fill)."""
        total = 0
        for level in self.opposite(side).iter_best_first():
            if price is not None and (level.price > price if side == BUY else level.price < price):
                break
            if exclude_uid is None:
                total += level.qty
            else:
                total += sum(o.leaves for o in level.orders.values() if o.uid != exclude_uid)
            if total >= qty:
                return qty
        return total

    def fill(self, maker: Resting, qty: int) -> None:
        """Take ``qty`` from a resting maker order; an exhausted order leaves the book."""
        if qty >= maker.leaves:
            self.remove(maker)
            maker.leaves = 0
        else:
            self.reduce(maker, maker.leaves - qty)

    def makers(self, side: int, price: int | None) -> Iterator[Resting]:
        """The resting order a ``side`` taker at ``price`` (None: any price) meets next, in priority order:
        always the oldest order at the best opposite price, so each step is O(1).

        The caller takes the yielded order out (fills it completely or removes it) before asking for the
        next one, or stops; otherwise the same order comes again.
        """
        opp = self.asks if side == BUY else self.bids
        prices, levels = opp.prices, opp.levels
        while prices:
            best = prices[-1] if opp.is_bid else prices[0]
            if price is not None and (best > price if side == BUY else best < price):
                return
            yield next(iter(levels[best].orders.values()))

    def orders(self) -> Iterator[Resting]:
        for s in (self.bids, self.asks):
            for level in s.levels.values():
                yield from level.orders.values()


class NaiveBook:
    """The oracle: a plain list of resting orders, sorted on every question. Slow and obviously right."""

    def __init__(self) -> None:
        self.resting: list[Resting] = []
        self._arrival: dict[int, int] = {}
        self._n = 0

    def add(self, order: Resting) -> None:
        self._n += 1
        self._arrival[order.order_id] = self._n
        self.resting.append(order)

    def remove(self, order: Resting) -> None:
        self.resting = [o for o in self.resting if o.order_id != order.order_id]

    def priority(self, taker_side: int) -> list[Resting]:
        opp = [o for o in self.resting if o.side == -taker_side and o.leaves > 0]
        key = (lambda o: (o.price, self._arrival[o.order_id])) if taker_side == BUY else (
            lambda o: (-o.price, self._arrival[o.order_id]))
        return sorted(opp, key=key)

    def best_bid(self) -> int | None:
        bids = [o.price for o in self.resting if o.side == BUY and o.leaves > 0]
        return max(bids) if bids else None

    def best_ask(self) -> int | None:
        asks = [o.price for o in self.resting if o.side == SELL and o.leaves > 0]
        return min(asks) if asks else None
