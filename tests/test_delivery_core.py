"""Dated futures in the pure core: the calendar lists them, delivery settles every position at the 30-minute
average index with money conserved, the symbol goes Delivering (110063) then Closed, the next contract lists."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings, strategies

from paperex.core import calendar, delivery, snapshot
from paperex.core.book import BUY, SELL
from paperex.core.commands import CreateAccount, PlaceOrder, SetPrices, Tick
from paperex.core.engine import Exchange
from paperex.data import load_market
from paperex.errors import ApiError, Code

MIN = 60_000
DELIVERY = int(datetime(2026, 12, 25, 8, tzinfo=UTC).timestamp() * 1000)
FUT = ("linear", "BTCUSDT-25DEC26")
INV = ("inverse", "BTCUSDZ26")


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def test_calendar_lists_bybit_style_contracts() -> None:
    series = {s.name: s for s in load_market().series}
    at = _ms("2026-12-06T08:21:00")
    usdt = [c.symbol for c in calendar.live(series["linear:usdt:BTC"], at)]
    assert usdt == ["BTCUSDT-11DEC26", "BTCUSDT-25DEC26", "BTCUSDT-26MAR27"]  # weekly, two quarterlies
    inverse = calendar.live(series["inverse:inverse:BTC"], at)
    assert [c.symbol for c in inverse] == ["BTCUSDZ26", "BTCUSDH27"]
    assert inverse[0].delivery == DELIVERY and inverse[0].launch == _ms("2026-06-26T08:00:00")
    assert [c.symbol for c in calendar.live(series["linear:usdc:ETH"], at)] == ["ETH-25DEC26"]
    # the moment one delivers, the next of its tenor is live; a quarter's last Friday is also a weekly Friday
    after = [c.symbol for c in calendar.live(series["linear:usdt:BTC"], DELIVERY)]
    assert after == ["BTCUSDT-01JAN27", "BTCUSDT-26MAR27", "BTCUSDT-25JUN27"]
    for c in calendar.live(series["linear:usdt:BTC"], DELIVERY):
        assert c.launch <= DELIVERY < c.delivery and datetime.fromtimestamp(c.delivery / 1000, UTC).weekday() == 4


def _exchange(start: int) -> tuple[Exchange, int, int]:
    ex = Exchange(load_market())
    ex.apply(Tick(), start)
    a = ex.apply(CreateAccount(balances={"USDT": 10**14, "BTC": 10**9}), start)[0].uid  # type: ignore[attr-defined]
    b = ex.apply(CreateAccount(balances={"USDT": 10**14, "BTC": 10**9}), start)[0].uid  # type: ignore[attr-defined]
    return ex, a, b


def _trade(ex: Exchange, key: tuple[str, str], maker: int, taker: int, side: int, lots: int, ts: int) -> None:
    st = ex.symbols[key]
    ex.apply(PlaceOrder(uid=maker, category=key[0], symbol=key[1], side=-side, order_type="Limit", qty=lots,
                        price=st.mark), ts)
    ex.apply(PlaceOrder(uid=taker, category=key[0], symbol=key[1], side=side, order_type="Market", qty=lots), ts)


@pytest.mark.parametrize("key", [FUT, INV])
def test_delivery_settles_at_the_average_index_and_conserves_money(key) -> None:
    start = DELIVERY - 60 * MIN
    ex, a, b = _exchange(start)
    st = ex.symbols[key]
    assert st.status == "Trading" and st.inst.delivery_time == DELIVERY and st.inst.is_derivative
    base = st.index
    _trade(ex, key, a, b, BUY, 1000, start + 1)  # b long 1000 lots, a short
    ex.apply(PlaceOrder(uid=a, category=key[0], symbol=key[1], side=BUY, order_type="Limit", qty=5,
                        price=base - 100), start + 2)  # a resting order, cancelled by the settlement
    # the index: base until 07:40, base + 300 for ten minutes, base + 600 for the last ten
    ex.apply(SetPrices(category=key[0], symbol=key[1], index=base + 300), DELIVERY - 20 * MIN)
    ex.apply(SetPrices(category=key[0], symbol=key[1], index=base + 600), DELIVERY - 10 * MIN)
    assert delivery.average_index(st, DELIVERY - 10 * MIN) == base + 150  # predicted: the window so far
    money_before = ex.money_check()
    assert all(row["conserved"] for row in money_before.values())
    events = ex.apply(Tick(), DELIVERY + 5_000)
    assert events
    assert st.status == "Delivering" and st.delivery_price == base + 300  # (base + base+300 + base+600) / 3
    for uid in (a, b):
        account = ex.accounts[uid]
        assert not any(p.size for p in account.held_positions(*key))
        delivered = [e for e in account.executions if e.exec_type in ("Delivery", "Settle")]
        assert len(delivered) == 1 and delivered[0].price == base + 300 and delivered[0].ts == DELIVERY
        assert delivered[0].exec_type == ("Settle" if key == INV else "Delivery")
        assert delivered[0].fee > 0  # the delivery fee (0.05 %)
        assert any(entry[2] == "DELIVERY" for entry in account.ledger)
        assert not [o for o in account.open_orders.values() if (o.category, o.symbol) == key]
    cancelled = [o for o in ex.orders.values() if o.cancel_type == "CancelBySettle"]
    assert len(cancelled) == 1 and cancelled[0].uid == a
    assert st.open_interest == 0
    assert all(row["conserved"] for row in ex.money_check().values())
    # the long gained what the short lost (an inverse value rounds per position: a unit at most)
    pnls = [e.pnl for uid in (a, b) for e in ex.accounts[uid].executions if e.exec_type in ("Delivery", "Settle")]
    assert abs(sum(pnls)) <= 1 and pnls[1] > 0  # b was long and the index rose
    with pytest.raises(ApiError) as err:
        ex.apply(PlaceOrder(uid=a, category=key[0], symbol=key[1], side=BUY, order_type="Market", qty=1),
                 DELIVERY + 6_000)
    assert err.value.code == Code.SETTLEMENT_IN_PROGRESS and key[1] in err.value.msg
    # the next contract is listed, this one closes after the settlement window
    assert ("linear", "BTCUSDT-25JUN27") in ex.symbols and ("inverse", "BTCUSDM27") in ex.symbols
    ex.apply(Tick(), DELIVERY + delivery.DELIVERING_MS)
    assert st.status == "Closed"
    with pytest.raises(ApiError) as err:
        ex.apply(PlaceOrder(uid=a, category=key[0], symbol=key[1], side=BUY, order_type="Market", qty=1),
                 DELIVERY + delivery.DELIVERING_MS + 1)
    assert err.value.code == Code.PARAM_ERROR


def test_dated_futures_survive_a_snapshot_and_replay_the_same() -> None:
    start = DELIVERY - 40 * MIN
    ex, a, b = _exchange(start)
    _trade(ex, FUT, a, b, SELL, 300, start + 1)
    ex.apply(SetPrices(category=FUT[0], symbol=FUT[1], index=ex.symbols[FUT].index + 50), DELIVERY - 15 * MIN)
    restored = snapshot.load(load_market(), snapshot.dump(ex))
    assert restored.digest() == ex.digest()
    assert restored.next_timed_check() == ex.next_timed_check()
    for core in (ex, restored):
        core.apply(Tick(), DELIVERY + 1)
    assert restored.digest() == ex.digest()
    assert ex.symbols[FUT].status == "Delivering"
    restored = snapshot.load(load_market(), snapshot.dump(ex))
    assert restored.digest() == ex.digest() and len(restored.dated) == len(ex.dated) > 12


@settings(max_examples=300, deadline=None)
@given(st_ts=strategies.integers(min_value=_ms("2020-01-01T00:00:00"), max_value=_ms("2040-12-31T00:00:00")))
def test_calendar_always_has_its_contracts_live(st_ts: int) -> None:
    """At any moment every series has its tenors' contracts live: Friday 08:00 UTC deliveries after now, each
    listed at or before now, symbols unique, and the set one moment later the same unless a delivery passed."""
    for series in load_market().series:
        live = calendar.live(series, st_ts)
        wanted = max(n for _, n in series.schedule)
        assert wanted <= len(live) <= sum(n for _, n in series.schedule)
        assert len({c.symbol for c in live}) == len(live)
        for c in live:
            when = datetime.fromtimestamp(c.delivery / 1000, UTC)
            assert c.launch <= st_ts < c.delivery and when.weekday() == 4 and (when.hour, when.minute) == (8, 0)
        following = calendar.live(series, st_ts + 1)
        if all(c.delivery > st_ts + 1 for c in live):
            assert following == live


def test_a_scenario_moves_the_futures_with_their_perpetual_and_refusals_change_nothing() -> None:
    start = DELIVERY - 40 * MIN  # the move comes before the 30-minute window
    ex, a, _ = _exchange(start)
    perp, fut = ex.symbols[("linear", "BTCUSDT")], ex.symbols[FUT]
    ex.apply(SetPrices(category="linear", symbol="BTCUSDT", index=perp.index + 500), start + 1)
    assert fut.index == perp.index and fut.mark == fut.index  # the same underlying index
    ex.apply(Tick(), DELIVERY + 1)
    assert fut.delivery_price == perp.index  # the whole window at the moved index
    digest = ex.digest()
    for command in (PlaceOrder(uid=a, category=FUT[0], symbol=FUT[1], side=BUY, order_type="Limit", qty=1,
                               price=fut.index, trigger_price=fut.index + 10, trigger_direction=1),
                    PlaceOrder(uid=a, category=FUT[0], symbol=FUT[1], side=BUY, order_type="Limit", qty=1,
                               price=fut.index)):
        with pytest.raises(ApiError) as err:  # conditional orders too: the contract is being delivered
            ex.apply(command, DELIVERY + 2)
        assert err.value.code == Code.SETTLEMENT_IN_PROGRESS
    assert ex.digest() == digest


def test_a_clamped_price_is_the_one_the_checks_see() -> None:
    """Futures move an out-of-band limit price to the band's edge: its TP/SL and minimum value are checked
    there, not at the price sent (a valid TP above the edge is taken; an SL above it is refused)."""
    ex, a, _ = _exchange(DELIVERY - 60 * MIN)
    st = ex.symbols[("linear", "BTCUSDT")]
    from paperex.core import trading

    max_buy, _ = trading.band(st)
    far = max_buy * 2
    ex.apply(PlaceOrder(uid=a, category="linear", symbol="BTCUSDT", side=BUY, order_type="Limit", qty=10, price=far,
                        take_profit=max_buy + 100), DELIVERY - 59 * MIN)
    order = ex.orders[ex.order_seq]
    assert order.price == max_buy and order.take_profit == max_buy + 100
    with pytest.raises(ApiError) as err:
        ex.apply(PlaceOrder(uid=a, category="linear", symbol="BTCUSDT", side=BUY, order_type="Limit", qty=10,
                            price=far, stop_loss=max_buy + 100), DELIVERY - 59 * MIN)
    assert err.value.code == Code.PARAM_ERROR and "StopLoss" in err.value.msg
