"""Dated futures: listing on the calendar (core.calendar), delivery and settlement.

- **Listing**: every series of the market data file keeps its contracts live; a contract is listed (a new
  ``SymbolState``, its prices from its perpetual's index) when the calendar says so, in the ``Tick`` that passes
  its launch time — the sequencer journals a Tick whenever a timed event is due (``Exchange.next_timed_check``).
- **Delivery price**: Bybit's, the average index over the 30 minutes before the delivery time. The index is a
  step function of exchange time, so the average is its exact time-weighted integral (``accrue`` runs before
  every index change in the window).
- **Delivery** (the Tick that passes the delivery time): the symbol turns ``Delivering`` (orders are refused with
  110063), its open and waiting orders are cancelled (``CancelBySettle``), every position closes at the delivery
  price with the delivery fee (an execution ``Delivery`` for USDT/USDC futures, ``Settle`` for inverse ones, a
  closed-PnL record, a ``DELIVERY`` transaction-log entry), and ``DELIVERING_MS`` later it is ``Closed``.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import TYPE_CHECKING

from paperex.core import calendar, ledger, trading, triggers
from paperex.core.book import BUY, SELL
from paperex.core.events import Event, Executed, OrderAccepted, OrderChanged
from paperex.core.instruments import FutureSeries, Instrument
from paperex.core.numbers import MONEY_SCALE
from paperex.core.orders import CANCELLED, FILLED, Execution, Order
from paperex.core.symbol import SymbolState

if TYPE_CHECKING:
    from paperex.core.engine import Exchange

WINDOW_MS = 30 * 60_000  # the delivery price averages the index over the last 30 minutes
DELIVERING_MS = 10 * 60_000  # how long a delivered contract shows Delivering before Closed
NEVER = 2**62

TRADING, DELIVERING, CLOSED = "Trading", "Delivering", "Closed"


def instrument(ex: Exchange, series: FutureSeries, contract: calendar.Contract) -> Instrument:
    source = ex.instruments[(series.category, series.source)]
    return dataclasses.replace(
        source, symbol=contract.symbol, quote_coin=series.quote_coin, settle_coin=series.settle_coin,
        contract_type="InverseFutures" if series.category == "inverse" else "LinearFutures",
        launch_time=contract.launch, delivery_time=contract.delivery, delivery_fee_rate=series.delivery_fee_rate,
        source=series.source)


def list_contract(ex: Exchange, series: FutureSeries, contract: calendar.Contract, ts: int) -> SymbolState:
    """Add a contract to the exchange: its instrument, its symbol state (prices from its perpetual), and the
    living market's quotes when that runs."""
    inst = instrument(ex, series, contract)
    st = SymbolState(inst)
    source = ex.symbols[(series.category, series.source)]
    st.index = st.mark = source.index  # the same tick as its perpetual (the specs are copied)
    ex.instruments[inst.key] = inst
    ex.symbols[inst.key] = st
    ex.dated.append((series.name, contract.symbol, contract.launch, contract.delivery))
    if ex.sim is not None:
        from paperex.core import background  # the living market imports the whole core back

        background.add_listed(ex, st, ts)
    return st


def roll(ex: Exchange, ts: int, events: list[Event]) -> None:
    """List what the calendar says is live, deliver what is due, close what has delivered (a Tick's work)."""
    if ts < ex.next_dated_check:
        return
    listed = {(s, sym) for s, sym, _, _ in ex.dated}
    for series in ex.market.series:
        for contract in calendar.live(series, ts):
            if (series.name, contract.symbol) not in listed:
                list_contract(ex, series, contract, ts)
    for entry in ex.dated:
        st, delivery_ms = ex.symbols[key_of(entry)], entry[3]
        if st.status == TRADING and ts >= delivery_ms:
            deliver(ex, st, ts, events)
        if st.status == DELIVERING and ts >= delivery_ms + DELIVERING_MS:
            st.status = CLOSED
    index_futures(ex)
    ex.next_dated_check = next_check(ex)


def futures_of(ex: Exchange, perpetual: SymbolState) -> list[SymbolState]:
    """The trading dated futures listed from a perpetual (they share its index)."""
    return ex.futures.get(perpetual.inst.key, [])


def index_futures(ex: Exchange) -> None:
    """Derive ``Exchange.futures`` (perpetual -> its trading futures) after a listing, a delivery or a load: a
    scenario's or a feed's price on a perpetual finds its futures without walking every contract ever listed."""
    ex.futures = {}
    for entry in ex.dated:
        st = ex.symbols[key_of(entry)]
        if st.status == TRADING:
            ex.futures.setdefault((st.inst.category, st.inst.source), []).append(st)


def key_of(entry: tuple[str, str, int, int]) -> tuple[str, str]:
    """The (category, symbol) of an ``Exchange.dated`` entry (its series name starts with the category)."""
    return entry[0].split(":", 1)[0], entry[1]


def next_check(ex: Exchange) -> int:
    """The next time the calendar or a contract's status changes: a delivery, or a Delivering turning Closed
    (a delivery is also when the next contract of its tenor is listed)."""
    times = [NEVER]
    for entry in ex.dated:
        status, delivery_ms = ex.symbols[key_of(entry)].status, entry[3]
        if status == TRADING:
            times.append(delivery_ms)
        elif status == DELIVERING:
            times.append(delivery_ms + DELIVERING_MS)
    return min(times) if ex.market.series else NEVER


# -- the delivery price ------------------------------------------------------------------------------
def accrue(st: SymbolState, ts: int) -> None:
    """Integrate the index (constant since the last change) over the part of the delivery window up to ``ts``.
    Runs before every index change and at delivery."""
    start, end = st.inst.delivery_time - WINDOW_MS, st.inst.delivery_time
    t0, t1 = max(st.settle_ts, start), min(ts, end)
    if t1 > t0:
        st.settle_sum += st.index * (t1 - t0)
        st.settle_ts = t1


def average_index(st: SymbolState, ts: int) -> int | None:
    """The average index of the window so far (None before the window): the delivery price at delivery, the
    predicted delivery price during the last 30 minutes."""
    start = st.inst.delivery_time - WINDOW_MS
    if ts <= start:
        return None
    end = min(ts, st.inst.delivery_time)
    total = st.settle_sum + st.index * (end - max(st.settle_ts, start))
    span = end - start
    return (2 * total + span) // (2 * span)  # rounded half up, in ticks


# -- delivery ----------------------------------------------------------------------------------------
def deliver(ex: Exchange, st: SymbolState, ts: int, events: list[Event]) -> None:
    accrue(st, st.inst.delivery_time)
    price = average_index(st, st.inst.delivery_time) or st.index
    at = st.inst.delivery_time
    st.status = DELIVERING
    st.delivery_price = price
    if ex.sim is not None:
        from paperex.core import background

        background.remove_delivered(ex, st)
    key = st.inst.key
    accounts = sorted(ex.accounts.values(), key=lambda a: a.uid)  # the same order after a snapshot restore
    for account in accounts:
        for order in sorted((o for o in account.conditionals.values() if (o.category, o.symbol) == key),
                            key=lambda o: o.order_id):
            triggers.cancel_conditional(ex, account, order, ts, events)
            order.cancel_type = "CancelBySettle"
        for order in sorted((o for o in account.open_orders.values() if (o.category, o.symbol) == key),
                            key=lambda o: o.order_id):
            trading.finish(ex, account, order, CANCELLED, ts, events, cancel_type="CancelBySettle")
    coin = st.inst.settle_coin
    holders = [(a, p) for a in accounts for p in a.held_positions(*key) if p.size]
    before = _money(ex, st, holders)
    rate = int(st.inst.delivery_fee_rate * MONEY_SCALE)
    for account, pos in holders:
        _settle_position(ex, st, account, pos, price, rate, at, ts, events)
    dust = _money(ex, st, holders) - before  # inverse values round per position: the exchange keeps the rest
    ex.fees_collected[coin] = ex.fees_collected.get(coin, 0) - dust


def _money(ex: Exchange, st: SymbolState, holders: list) -> int:
    coin = st.inst.settle_coin
    direction = -1 if st.grid.inverse else 1
    accounts = {a.uid: a for a, _ in holders}
    return (sum(a.balance(coin) for a in accounts.values()) + ex.fees_collected.get(coin, 0)
            - sum(direction * p.signed_entry() for _, p in holders))


def _settle_position(ex: Exchange, st: SymbolState, account, pos, price: int, rate: int, at: int, ts: int,
                     events: list[Event]) -> None:
    lots, side = abs(pos.size), SELL if pos.size > 0 else BUY
    value = st.grid.value(price, lots)
    seq = ex.next_seq()
    ex.exec_seq += 1
    ex.order_seq += 1
    order = Order(order_id=ex.order_seq, uid=account.uid, category=st.inst.category, symbol=st.inst.symbol,
                  side=side, order_type="Market", tif="IOC", price=price, qty=lots, order_link_id="",
                  reduce_only=True, close_on_trigger=False, smp_type="None", position_idx=pos.idx, ts=at,
                  last_price_on_created=st.last if st.last is not None else st.mark)
    order.create_type = "CreateByDelivery"
    ex.orders[order.order_id] = order
    account.order_ids.append(order.order_id)
    events.append(OrderAccepted(uid=account.uid, order_id=order.order_id))
    fee, fee_coin, closed, pnl, open_fee, entry_closed = trading.settle_derivative(
        ex, st, account, order, price, lots, value, rate, at, seq, events)
    ex.fees_collected[fee_coin] = ex.fees_collected.get(fee_coin, 0) + fee
    order.leaves, order.cum_qty, order.cum_value, order.cum_fee = 0, lots, value, fee
    order.cum_inv = lots * 10**20 // price
    order.status, order.fee_coin, order.seq, order.updated_ts = FILLED, fee_coin, seq, at
    execution = Execution(ex.exec_seq, order, price, lots, value, fee, fee_coin, rate, False, at, seq, st.mark,
                          closed, pnl, open_fee)
    execution.leaves = 0
    execution.exec_type = "Settle" if st.grid.inverse else "Delivery"
    execution.entry_closed, execution.entry_inv_closed = entry_closed
    account.executions.append(execution)
    events.append(Executed(uid=account.uid, order_id=order.order_id, exec_id=execution.exec_id))
    events.append(OrderChanged(uid=account.uid, order_id=order.order_id, status=FILLED))
    ledger.record(ex, account, at, "DELIVERY", fee_coin, category=st.inst.category, symbol=st.inst.symbol,
                  side=side, qty=lots, size_after=pos.size, price=price, cash_flow=pnl, fee=fee, fee_rate=rate,
                  trade_id=execution.exec_id, order_id=order.order_id)


def delivery_fee_text(rate: Decimal) -> str:
    return format(rate.normalize(), "f") if rate else "0"
