"""The order book against the naive oracle: price-time priority, no crossed book, quantities conserved."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from paperex.core.book import BUY, SELL, NaiveBook, OrderBook


@dataclass
class Rest:
    order_id: int
    uid: int
    side: int
    price: int
    leaves: int


ops = st.lists(
    st.one_of(
        st.tuples(st.just("limit"), st.sampled_from([BUY, SELL]), st.integers(90, 110), st.integers(1, 20)),
        st.tuples(st.just("market"), st.sampled_from([BUY, SELL]), st.just(0), st.integers(1, 60)),
        st.tuples(st.just("cancel"), st.just(0), st.integers(0, 200), st.just(0)),
        st.tuples(st.just("reduce"), st.just(0), st.integers(0, 200), st.integers(1, 20)),
    ),
    max_size=120,
)


def match(book, naive, taker: Rest, limit: int | None) -> list[tuple[int, int, int]]:
    """Match on the real book; check each maker is the oracle's next in priority."""
    fills = []
    for maker in book.makers(taker.side, limit):
        if taker.leaves == 0:
            break
        expected = naive.priority(taker.side)[0]
        assert maker.order_id == expected.order_id, "price-time priority violated"
        q = min(taker.leaves, maker.leaves)
        fills.append((maker.order_id, maker.price, q))
        book.fill(maker, q)
        taker.leaves -= q
        if maker.leaves == 0:
            naive.remove(maker)
    return fills


@settings(max_examples=300, deadline=None)
@given(ops)
def test_book_matches_oracle(operations) -> None:
    book, naive = OrderBook(), NaiveBook()
    live: dict[int, Rest] = {}
    next_id = 0
    added = filled = cancelled = 0
    for kind, side, price, qty in operations:
        if kind in ("limit", "market"):
            next_id += 1
            taker = Rest(next_id, 1, side, price, qty)
            added += qty
            fills = match(book, naive, taker, price if kind == "limit" else None)
            for _, fill_price, q in fills:
                assert (fill_price <= price) if (kind == "limit" and side == BUY) else True
                assert (fill_price >= price) if (kind == "limit" and side == SELL) else True
                filled += 2 * q
            if kind == "limit" and taker.leaves:
                book.add(taker)
                naive.add(taker)
                live[taker.order_id] = taker
            elif taker.leaves:
                cancelled += taker.leaves
        elif kind == "cancel" and live:
            target = list(live.values())[price % len(live)]
            if target.leaves:
                book.remove(target)
                naive.remove(target)
                cancelled += target.leaves
                target.leaves = 0
            del live[target.order_id]
        elif kind == "reduce" and live:
            target = list(live.values())[price % len(live)]
            if 0 < qty < target.leaves:
                cancelled += target.leaves - qty
                book.reduce(target, qty)
        for oid in [o for o, v in live.items() if v.leaves == 0]:
            del live[oid]
        # invariants after every step
        bid, ask = book.best_bid(), book.best_ask()
        assert bid is None or ask is None or bid < ask, "crossed book at rest"
        assert (bid, ask) == (naive.best_bid(), naive.best_ask())
        resting = sum(o.leaves for o in book.orders())
        assert resting == sum(level.qty for s in (book.bids, book.asks) for level in s.levels.values())
        assert added == resting + filled + cancelled, "quantity not conserved"
        assert sorted(book.bids.prices) == book.bids.prices and len(set(book.asks.prices)) == len(book.asks.prices)


def test_fillable_and_depth() -> None:
    book = OrderBook()
    for i, (side, price, qty) in enumerate([(SELL, 101, 5), (SELL, 102, 7), (SELL, 101, 3), (BUY, 99, 4)]):
        book.add(Rest(i + 1, 1, side, price, qty))
    assert book.asks.depth(5) == [(101, 8), (102, 7)] and book.bids.depth(5) == [(99, 4)]
    assert book.fillable(BUY, 101, 100) == 8 and book.fillable(BUY, None, 10) == 10
    assert book.crosses(BUY, 101) and not book.crosses(BUY, 100) and book.crosses(SELL, None)
    order_ids = []
    for maker in book.makers(BUY, 102):  # the caller takes each maker before asking for the next
        order_ids.append(maker.order_id)
        book.remove(maker)
    assert order_ids == [1, 3, 2]  # price first, then time
    assert book.best_ask() is None and book.best_bid() == 99
