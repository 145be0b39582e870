"""Conditional orders and position take-profit / stop-loss / trailing stops.

A conditional order (``triggerPrice``) waits as ``Untriggered`` without holding margin or resting in the
book. After every command, each waiting order whose trigger price its reference price (``triggerBy``: last,
mark or index) has reached — rising for ``triggerDirection`` 1, falling for 2 — becomes ``Triggered`` and
then an ordinary order under the same id (``New``, filled, ...), checked like a new order; one that fails
those checks ends ``Cancelled`` (Bybit: "cancelled if the margin is insufficient after it triggers"). At
most 10 wait per symbol and account (110009).

A position's stops are waiting conditional orders too, as on Bybit: Full-mode take profit and stop loss
(set by ``/v5/position/trading-stop`` or by an order's ``takeProfit``/``stopLoss`` when it fills) and the
trailing stop close the whole position (qty 0, reduce-only market); Partial-mode legs close their own size,
market or limit. They fire through the same path; a position that closes or reverses loses them, and
cancelling one removes it from the position.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paperex.core import position_mode, rules
from paperex.core.book import BUY, SELL
from paperex.core.commands import AmendOrder, PlaceOrder, SetTpslMode, SetTradingStop
from paperex.core.events import Event, OrderAccepted, OrderChanged, PositionChanged
from paperex.core.orders import CANCELLED, DEACTIVATED, PARTIALLY_FILLED, TRIGGERED, UNTRIGGERED, Order
from paperex.core.positions import DEFAULT_LEVERAGE
from paperex.core.symbol import SymbolState
from paperex.errors import ApiError, Code

if TYPE_CHECKING:
    from paperex.core.accounts import Account
    from paperex.core.engine import Exchange
    from paperex.core.positions import Position

MAX_CONDITIONALS = 10  # per symbol and account
TRIGGER_BY = ("LastPrice", "IndexPrice", "MarkPrice")
MAX_ROUNDS = 20
POSITION_STOPS = ("TakeProfit", "StopLoss", "TrailingStop")
PARTIAL_STOPS = ("PartialTakeProfit", "PartialStopLoss")
MAX_PARTIAL_LEGS = 20  # per position (110061)  # triggered orders move prices that trigger others: bounded


def reference(st: SymbolState, by: str) -> int:
    if by == "MarkPrice":
        return st.mark
    if by == "IndexPrice":
        return st.index
    return st.last if st.last is not None else st.mark


def _check_trigger_by(*values: str) -> None:
    for by in values:
        if by not in TRIGGER_BY:
            raise ApiError(Code.PARAM_ERROR, f"triggerBy must be one of {', '.join(TRIGGER_BY)}")


def _text(st: SymbolState, ticks: int) -> str:
    text = format(st.grid.price(ticks), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _check_tpsl_sides(st: SymbolState, side: int, base: int, take_profit: int, stop_loss: int, what: str) -> None:
    """A long's take profit is above the base price and its stop loss below; a short's the other way."""
    if take_profit and (take_profit <= base if side == BUY else take_profit >= base):
        raise ApiError(Code.PARAM_ERROR, f"TakeProfit:{_text(st, take_profit)} set for {what} should be "
                                         f"{'higher' if side == BUY else 'lower'} than base_price:{_text(st, base)}")
    if stop_loss and (stop_loss >= base if side == BUY else stop_loss <= base):
        raise ApiError(Code.PARAM_ERROR, f"StopLoss:{_text(st, stop_loss)} set for {what} should be "
                                         f"{'lower' if side == BUY else 'higher'} than base_price:{_text(st, base)}")


def attach_tpsl(order: Order, cmd: PlaceOrder, tpsl_mode: str) -> None:
    order.take_profit, order.stop_loss = cmd.take_profit, cmd.stop_loss
    if cmd.take_profit or cmd.stop_loss:
        order.tp_trigger_by, order.sl_trigger_by = cmd.tp_trigger_by, cmd.sl_trigger_by
        order.tpsl_mode = tpsl_mode
        order.tp_limit, order.sl_limit = cmd.tp_limit, cmd.sl_limit


def _partial_legs(account: Account, key: tuple[str, str, int]) -> int:
    return sum(1 for o in account.conditionals.values()
               if (o.category, o.symbol, o.position_idx) == key and o.stop_order_type in PARTIAL_STOPS)


def _check_limit_price(st: SymbolState, ticks: int, name: str) -> None:
    if ticks and (ticks < st.grid.min_price_ticks or (st.grid.max_price_ticks and ticks > st.grid.max_price_ticks)):
        raise ApiError(Code.PARAM_ERROR, f"{name} must be within [{st.inst.min_price}, {st.inst.max_price}]")


def check_order_tpsl(st: SymbolState, cmd: PlaceOrder, price: int | None, account: Account,
                     reduce_only: bool) -> str:
    """The TP/SL of a new order (``reduce_only``: as the order will be, hedge-mode closing orders included);
    returns its TP/SL mode: the order's ``tpslMode``, else the symbol's (set-tpsl-mode), else Full."""
    if not (cmd.take_profit or cmd.stop_loss):
        return ""
    if cmd.category == "spot":
        raise ApiError(Code.PARAM_ERROR, "takeProfit/stopLoss are supported on linear and inverse orders")
    if reduce_only or cmd.close_on_trigger:  # TP/SL belong to the position an order opens
        raise ApiError(Code.TPSL_PARAMS_NOT_ALLOWED, "a reduce-only or close-on-trigger order cannot carry TP/SL")
    mode = cmd.tpsl_mode or account.tpsl_modes.get(st.inst.key, "Full")
    if mode not in ("Full", "Partial"):
        raise ApiError(Code.PARAM_ERROR, "tpslMode must be Full or Partial")
    if mode == "Full" and (cmd.tp_limit or cmd.sl_limit):
        raise ApiError(Code.PARAM_ERROR, "limit TP/SL orders need tpslMode Partial (Full supports Market only)")
    _check_limit_price(st, cmd.tp_limit, "tpLimitPrice")
    _check_limit_price(st, cmd.sl_limit, "slLimitPrice")
    _check_trigger_by(cmd.tp_trigger_by, cmd.sl_trigger_by)
    base = price or reference(st, "LastPrice")
    _check_tpsl_sides(st, cmd.side, base, cmd.take_profit, cmd.stop_loss, "Buy" if cmd.side == BUY else "Sell")
    if mode == "Partial":
        legs = bool(cmd.take_profit) + bool(cmd.stop_loss)
        if _partial_legs(account, (cmd.category, cmd.symbol, cmd.position_idx)) + legs > MAX_PARTIAL_LEGS:
            raise ApiError(Code.TPSL_PARTIAL_LIMIT)
    return mode


def check_amend_tpsl(st: SymbolState, order: Order, cmd: AmendOrder) -> None:
    """An amend of the order's own TP/SL, or of the price its TP/SL are set against (before any change)."""
    changes = cmd.changes_tpsl()
    if not changes and not (cmd.price is not None and (order.take_profit or order.stop_loss)):
        return
    if changes and (order.category == "spot" or order.reduce_only or order.close_on_trigger):
        raise ApiError(Code.TPSL_PARAMS_NOT_ALLOWED, "this order carries no TP/SL")
    if changes and order.status == PARTIALLY_FILLED:
        raise ApiError(Code.TPSL_PARTIALLY_FILLED)
    if (cmd.tp_limit is not None or cmd.sl_limit is not None) and order.tpsl_mode != "Partial":
        raise ApiError(Code.TPSL_FULL_MODE, "tpLimitPrice/slLimitPrice need an order with Partial limit TP/SL")
    for given, current, name in ((cmd.tp_limit, order.tp_limit, "tpLimitPrice"),
                                 (cmd.sl_limit, order.sl_limit, "slLimitPrice")):
        if given is not None and not current:  # Bybit: "only working when the original order sets limit TP/SL"
            raise ApiError(Code.PARAM_ERROR, f"{name} works only for an order with a limit {name[:2].upper()} leg")
        if given is not None:
            _check_limit_price(st, given, name)
    _check_trigger_by(*(by for by in (cmd.tp_trigger_by, cmd.sl_trigger_by) if by is not None))
    take_profit = order.take_profit if cmd.take_profit is None else cmd.take_profit
    stop_loss = order.stop_loss if cmd.stop_loss is None else cmd.stop_loss
    base = cmd.price or order.price or cmd.trigger_price or order.trigger_price or reference(st, "LastPrice")
    _check_tpsl_sides(st, order.side, base, take_profit, stop_loss, "Buy" if order.side == BUY else "Sell")


def apply_amend_tpsl(order: Order, cmd: AmendOrder) -> None:
    for name in ("take_profit", "stop_loss", "tp_trigger_by", "sl_trigger_by", "tp_limit", "sl_limit"):
        value = getattr(cmd, name)  # None: unchanged
        if value is not None:
            setattr(order, name, value)
    if order.take_profit or order.stop_loss:
        order.tpsl_mode = order.tpsl_mode or "Full"
        order.tp_trigger_by = order.tp_trigger_by or "LastPrice"
        order.sl_trigger_by = order.sl_trigger_by or "LastPrice"


# -- conditional orders --------------------------------------------------------------------------------
def place_conditional(ex: Exchange, cmd: PlaceOrder, ts: int) -> list[Event]:
    from paperex.core import trading  # the ordinary order checks

    account = ex.account(cmd.uid)
    st = trading.symbol_open(ex, cmd.category, cmd.symbol)  # a contract being delivered or delivered: refused
    closes = trading.check_static(ex, st, cmd)  # all that does not depend on the market at trigger time
    _check_trigger_by(cmd.trigger_by)
    if cmd.trigger_direction not in (1, 2):
        raise ApiError(Code.PARAM_ERROR, "triggerDirection must be 1 (rise) or 2 (fall)")
    if cmd.trigger_price <= 0 or (st.grid.max_price_ticks and cmd.trigger_price > st.grid.max_price_ticks):
        raise ApiError(Code.PARAM_ERROR, "triggerPrice is out of range")
    current = reference(st, cmd.trigger_by)
    if cmd.trigger_direction == 1 and cmd.trigger_price <= current:
        raise ApiError(Code.PARAM_ERROR, f"expect Rising, but trigger_price[{_text(st, cmd.trigger_price)}] "
                                         f"<= current[{_text(st, current)}]")
    if cmd.trigger_direction == 2 and cmd.trigger_price >= current:
        raise ApiError(Code.PARAM_ERROR, f"expect Falling, but trigger_price[{_text(st, cmd.trigger_price)}] "
                                         f">= current[{_text(st, current)}]")
    reduce_only = cmd.reduce_only or closes
    pos = account.positions.get((cmd.category, cmd.symbol, cmd.position_idx))
    rules.check_trading(account, st, not reduce_only and cmd.category != "spot",
                        pos.leverage if pos else DEFAULT_LEVERAGE)
    tpsl_mode = check_order_tpsl(st, cmd, cmd.price, account, reduce_only)
    waiting = sum(1 for o in account.conditionals.values()
                  if (o.category, o.symbol) == (cmd.category, cmd.symbol) and o.stop_order_type == "Stop")
    if waiting >= MAX_CONDITIONALS:
        raise ApiError(Code.TOO_MANY_STOP_ORDERS)
    ex.order_seq += 1
    order = Order(order_id=ex.order_seq, uid=cmd.uid, category=cmd.category, symbol=cmd.symbol, side=cmd.side,
                  order_type=cmd.order_type, tif="IOC" if cmd.order_type == "Market" else cmd.tif,
                  price=cmd.price or 0, qty=cmd.qty, order_link_id=cmd.order_link_id, reduce_only=reduce_only,
                  close_on_trigger=cmd.close_on_trigger, smp_type=cmd.smp_type, position_idx=cmd.position_idx,
                  ts=ts, last_price_on_created=st.last if st.last is not None else st.mark,
                  market_unit=cmd.market_unit)
    order.status = UNTRIGGERED
    order.trigger_price, order.trigger_direction, order.trigger_by = (cmd.trigger_price, cmd.trigger_direction,
                                                                      cmd.trigger_by)
    order.stop_order_type = "Stop"
    if cmd.category != "spot":
        order.create_type = "CreateByStopOrder"
    attach_tpsl(order, cmd, tpsl_mode)
    order.seq = ex.next_seq()
    ex.orders[order.order_id] = order
    account.order_ids.append(order.order_id)
    account.conditionals[order.order_id] = order
    if order.order_link_id:
        ex.link_ids[(order.uid, order.order_link_id)] = order.order_id
    ex.trigger_uids.add(account.uid)
    return [OrderAccepted(uid=order.uid, order_id=order.order_id),
            OrderChanged(uid=order.uid, order_id=order.order_id, status=UNTRIGGERED)]


def cancel_conditional(ex: Exchange, account: Account, order: Order, ts: int, events: list[Event]) -> None:
    del account.conditionals[order.order_id]
    if order.stop_order_type in POSITION_STOPS:  # cancelling a position's TP/SL order removes it
        pos = account.positions.get((order.category, order.symbol, order.position_idx))
        if pos is not None:
            if order.stop_order_type == "TakeProfit":
                pos.take_profit = 0
            elif order.stop_order_type == "StopLoss":
                pos.stop_loss = 0
            else:
                pos.trailing_stop = pos.trail_active = 0
    order.status, order.cancel_type, order.leaves = DEACTIVATED, "CancelByUser", 0
    order.updated_ts, order.seq = ts, ex.next_seq()
    events.append(OrderChanged(uid=order.uid, order_id=order.order_id, status=order.status))


def amend_conditional(ex: Exchange, account: Account, order: Order, cmd: AmendOrder, ts: int) -> list[Event]:
    st = ex.symbols[(order.category, order.symbol)]
    trigger = cmd.trigger_price if cmd.trigger_price is not None else order.trigger_price
    current = reference(st, order.trigger_by)
    if (order.trigger_direction == 1 and trigger <= current) or (order.trigger_direction == 2 and trigger >= current):
        raise ApiError(Code.PARAM_ERROR, "the trigger price is already reached")
    if cmd.qty is not None and not st.grid.min_lots <= cmd.qty <= st.grid.max_lots:
        raise ApiError(Code.PARAM_ERROR, "qty is out of range")
    if cmd.price is not None and order.order_type != "Limit":
        raise ApiError(Code.PARAM_ERROR, "a market order has no price to amend")
    apply_amend_tpsl(order, cmd)
    order.trigger_price = trigger
    if cmd.qty is not None:
        order.qty = order.leaves = cmd.qty
    if cmd.price is not None:
        order.price = cmd.price
    order.updated_ts, order.seq = ts, ex.next_seq()
    return [OrderChanged(uid=order.uid, order_id=order.order_id, status=order.status)]


# -- position TP/SL ------------------------------------------------------------------------------------
def set_position_tpsl(ex: Exchange, account: Account, order: Order, lots: int, ts: int,
                      events: list[Event]) -> None:
    """An order with TP/SL filled ``lots``: Full mode sets the position's TP/SL, Partial mode grows the order's
    legs by what it filled (created at its first fill)."""
    pos = account.positions.get((order.category, order.symbol, order.position_idx))
    if pos is None or pos.size == 0 or order.reduce_only or (pos.size > 0) != (order.side > 0):
        return
    if order.tpsl_mode == "Partial":
        lots = min(lots, abs(pos.size))
        mine = {o.stop_order_type: o for o in account.conditionals.values() if o.parent == order.order_id}
        st = ex.symbols[(order.category, order.symbol)]
        for kind, price, limit, by in (("PartialTakeProfit", order.take_profit, order.tp_limit, order.tp_trigger_by),
                                       ("PartialStopLoss", order.stop_loss, order.sl_limit, order.sl_trigger_by)):
            if not price:
                continue
            leg = mine.get(kind)
            if leg is not None:
                leg.qty += lots
                leg.leaves += lots
                leg.updated_ts, leg.seq = ts, ex.next_seq()
                events.append(OrderChanged(uid=leg.uid, order_id=leg.order_id, status=leg.status))
            elif _partial_legs(account, pos.key) < MAX_PARTIAL_LEGS:
                _new_leg(ex, account, st, pos, kind, price, lots, limit, by, ts, events).parent = order.order_id
        pos.updated_ts = ts
        return
    if order.take_profit:
        pos.take_profit, pos.tp_trigger_by = order.take_profit, order.tp_trigger_by
    if order.stop_loss:
        pos.stop_loss, pos.sl_trigger_by = order.stop_loss, order.sl_trigger_by
    sync_position_stops(ex, account, pos, ts, events)


def sync_position_stops(ex: Exchange, account: Account, pos: Position, ts: int, events: list[Event]) -> None:
    """A position's Full-mode TP and SL are waiting conditional orders, as on Bybit: ``Untriggered``,
    ``stopOrderType`` TakeProfit/StopLoss, reduce-only, closing the whole position (qty 0). Make the orders
    match the position's take_profit / stop_loss (created, re-priced or deactivated)."""
    st = ex.symbols[(pos.category, pos.symbol)]
    existing = {o.stop_order_type: o for o in account.conditionals.values()
                if (o.category, o.symbol, o.position_idx) == pos.key and o.stop_order_type in POSITION_STOPS}
    long = pos.size > 0
    for kind, price, by, rising in (("TakeProfit", pos.take_profit, pos.tp_trigger_by, long),
                                    ("StopLoss", pos.stop_loss, pos.sl_trigger_by, not long),
                                    ("TrailingStop", pos.trailing_stop, "LastPrice", not long)):
        order = existing.get(kind)
        if not price or not pos.size:
            if order is not None:
                del account.conditionals[order.order_id]
                order.status, order.cancel_type, order.leaves = DEACTIVATED, "CancelByTpSlTsClear", 0
                order.updated_ts, order.seq = ts, ex.next_seq()
                events.append(OrderChanged(uid=order.uid, order_id=order.order_id, status=order.status))
            continue
        if order is None:
            ex.order_seq += 1
            order = Order(order_id=ex.order_seq, uid=account.uid, category=pos.category, symbol=pos.symbol,
                          side=SELL if long else BUY, order_type="Market", tif="IOC", price=0, qty=0,
                          order_link_id="", reduce_only=True, close_on_trigger=True, smp_type="None",
                          position_idx=pos.idx, ts=ts,
                          last_price_on_created=st.last if st.last is not None else st.mark)
            order.status, order.stop_order_type, order.create_type = UNTRIGGERED, kind, f"CreateBy{kind}"
            ex.orders[order.order_id] = order
            account.order_ids.append(order.order_id)
            account.conditionals[order.order_id] = order
            events.append(OrderAccepted(uid=order.uid, order_id=order.order_id))
        if kind == "TrailingStop":  # the trigger follows the price from the start (set by _trail)
            if (order.trail, order.trail_active) != (price, pos.trail_active):
                order.trail, order.trail_active, order.trigger_price = price, pos.trail_active, 0
                order.trigger_by, order.trigger_direction = by, 1 if rising else 2
                order.updated_ts, order.seq = ts, ex.next_seq()
                events.append(OrderChanged(uid=order.uid, order_id=order.order_id, status=order.status))
            continue
        if (order.trigger_price, order.trigger_by) == (price, by):
            continue
        order.trigger_price, order.trigger_by, order.trigger_direction = price, by, 1 if rising else 2
        order.updated_ts, order.seq = ts, ex.next_seq()
        events.append(OrderChanged(uid=order.uid, order_id=order.order_id, status=order.status))
    if account.conditionals:
        ex.trigger_uids.add(account.uid)


def set_trading_stop(ex: Exchange, cmd: SetTradingStop, ts: int) -> list[Event]:
    account = ex.account(cmd.uid)
    st = ex.derivative(cmd.category, cmd.symbol)
    _check_trigger_by(cmd.tp_trigger_by, cmd.sl_trigger_by)
    idx = position_mode.check_idx(account, st.inst, cmd.position_idx)
    pos = account.positions.get((cmd.category, cmd.symbol, idx))
    if pos is None or pos.size == 0:
        raise ApiError(Code.PARAM_ERROR, "can not set tp/sl/ts for zero position")
    partial = cmd.partial if cmd.partial is not None else account.tpsl_modes.get(st.inst.key) == "Partial"
    if partial:
        return _add_partial_legs(ex, account, st, pos, cmd, ts)
    take_profit = pos.take_profit if cmd.take_profit is None else cmd.take_profit
    stop_loss = pos.stop_loss if cmd.stop_loss is None else cmd.stop_loss
    side = BUY if pos.size > 0 else SELL
    _check_tpsl_sides(st, side, reference(st, "LastPrice"), cmd.take_profit or 0, cmd.stop_loss or 0,
                      "Buy position" if side == BUY else "Sell position")
    if cmd.take_profit is None and cmd.stop_loss is None and cmd.trailing_stop is None:
        raise ApiError(Code.PARAM_ERROR, "takeProfit, stopLoss or trailingStop is required")
    if cmd.trailing_stop is not None:
        last = reference(st, "LastPrice")
        if cmd.active_price and (cmd.active_price <= last if side == BUY else cmd.active_price >= last):
            raise ApiError(Code.PARAM_ERROR, f"activePrice must be {'above' if side == BUY else 'below'} the "
                                             f"last price {_text(st, last)} for a {'long' if side == BUY else 'short'}")
        pos.trailing_stop, pos.trail_active = cmd.trailing_stop, cmd.active_price if cmd.trailing_stop else 0
    pos.take_profit, pos.stop_loss = take_profit, stop_loss
    if cmd.take_profit:
        pos.tp_trigger_by = cmd.tp_trigger_by
    if cmd.stop_loss:
        pos.sl_trigger_by = cmd.sl_trigger_by
    pos.updated_ts = ts  # seq stays the last trade's (Bybit)
    events: list[Event] = [PositionChanged(uid=account.uid, category=cmd.category, symbol=cmd.symbol)]
    sync_position_stops(ex, account, pos, ts, events)
    return events


def _add_partial_legs(ex: Exchange, account: Account, st: SymbolState, pos: Position, cmd: SetTradingStop,
                      ts: int) -> list[Event]:
    """Partial mode: each take profit / stop loss is a leg of its own size, a market or limit reduce-only
    order waiting for its trigger (``PartialTakeProfit`` / ``PartialStopLoss``)."""
    side = BUY if pos.size > 0 else SELL
    legs = [(kind, price, size, limit, by) for kind, price, size, limit, by in (
        ("PartialTakeProfit", cmd.take_profit or 0, cmd.tp_size, cmd.tp_limit, cmd.tp_trigger_by),
        ("PartialStopLoss", cmd.stop_loss or 0, cmd.sl_size, cmd.sl_limit, cmd.sl_trigger_by)) if price]
    if not legs:
        raise ApiError(Code.PARAM_ERROR, "takeProfit or stopLoss is required")
    _check_tpsl_sides(st, side, reference(st, "LastPrice"), cmd.take_profit or 0, cmd.stop_loss or 0,
                      "Buy position" if side == BUY else "Sell position")
    for _, _, size, _, _ in legs:
        if size <= 0 or size > abs(pos.size):
            raise ApiError(Code.TPSL_POSITION_TOO_SMALL)
    if _partial_legs(account, pos.key) + len(legs) > MAX_PARTIAL_LEGS:
        raise ApiError(Code.TPSL_PARTIAL_LIMIT)
    events: list[Event] = []
    for kind, price, size, limit, by in legs:
        _new_leg(ex, account, st, pos, kind, price, size, limit, by, ts, events)
    pos.updated_ts = ts
    return events


def _new_leg(ex: Exchange, account: Account, st: SymbolState, pos: Position, kind: str, price: int, size: int,
             limit: int, by: str, ts: int, events: list[Event]) -> Order:
    """A Partial TP/SL leg: a reduce-only market or limit order of its own size, waiting for its trigger."""
    side = BUY if pos.size > 0 else SELL
    ex.order_seq += 1
    order = Order(order_id=ex.order_seq, uid=account.uid, category=pos.category, symbol=pos.symbol,
                  side=-side, order_type="Limit" if limit else "Market", tif="GTC" if limit else "IOC",
                  price=limit, qty=size, order_link_id="", reduce_only=True, close_on_trigger=False,
                  smp_type="None", position_idx=pos.idx, ts=ts,
                  last_price_on_created=st.last if st.last is not None else st.mark)
    order.status, order.stop_order_type, order.create_type = UNTRIGGERED, kind, f"CreateBy{kind}"
    rising = (kind == "PartialTakeProfit") == (side == BUY)
    order.trigger_price, order.trigger_by, order.trigger_direction = price, by, 1 if rising else 2
    order.seq = ex.next_seq()
    ex.orders[order.order_id] = order
    account.order_ids.append(order.order_id)
    account.conditionals[order.order_id] = order
    events += [OrderAccepted(uid=order.uid, order_id=order.order_id),
               OrderChanged(uid=order.uid, order_id=order.order_id, status=UNTRIGGERED)]
    ex.trigger_uids.add(account.uid)
    return order


def set_tpsl_mode(ex: Exchange, cmd: SetTpslMode, ts: int) -> list[Event]:
    """The symbol's TP/SL mode; not while a TP, SL or trailing stop waits on it (110054/110055/110056)."""
    account = ex.account(cmd.uid)
    st = ex.derivative(cmd.category, cmd.symbol)
    if cmd.mode not in ("Full", "Partial"):
        raise ApiError(Code.PARAM_ERROR, "tpSlMode must be Full or Partial")
    waiting = {o.stop_order_type for o in account.conditionals.values() if (o.category, o.symbol) == st.inst.key}
    for kinds, code in ((("TakeProfit", "PartialTakeProfit"), Code.TPSL_SWITCH_HAS_TP),
                        (("StopLoss", "PartialStopLoss"), Code.TPSL_SWITCH_HAS_SL),
                        (("TrailingStop",), Code.TPSL_SWITCH_HAS_TRAILING)):
        if waiting.intersection(kinds):
            raise ApiError(code)
    account.tpsl_modes[st.inst.key] = cmd.mode
    return [PositionChanged(uid=account.uid, category=cmd.category, symbol=cmd.symbol)]


def drop_partial_legs(ex: Exchange, account: Account, pos: Position, ts: int, events: list[Event]) -> None:
    """The partial TP/SL legs of a position that closed or reversed go with it."""
    for order in [o for o in account.conditionals.values()
                  if (o.category, o.symbol, o.position_idx) == pos.key and o.stop_order_type in PARTIAL_STOPS]:
        del account.conditionals[order.order_id]
        order.status, order.cancel_type, order.leaves = DEACTIVATED, "CancelByTpSlTsClear", 0
        order.updated_ts, order.seq = ts, ex.next_seq()
        events.append(OrderChanged(uid=order.uid, order_id=order.order_id, status=order.status))


# -- firing --------------------------------------------------------------------------------------------
def _reached(st: SymbolState, by: str, price: int, rising: bool) -> bool:
    ref = reference(st, by)
    return ref >= price if rising else ref <= price


def check_triggers(ex: Exchange, ts: int, events: list[Event]) -> None:
    """Fire every conditional order and TP/SL whose trigger price has been reached, until none is."""
    for _ in range(MAX_ROUNDS):
        fired = False
        for uid in sorted(ex.trigger_uids):
            account = ex.accounts[uid]
            for order in sorted(account.conditionals.values(), key=lambda o: o.order_id):
                if order.order_id not in account.conditionals:  # a sibling TP/SL that went with this one
                    continue
                st = ex.symbols[(order.category, order.symbol)]
                if order.trail:
                    _trail(st, order)
                    if not order.trigger_price:  # not started yet
                        continue
                if _reached(st, order.trigger_by, order.trigger_price, order.trigger_direction == 1):
                    _fire(ex, account, order, ts, events)
                    if order.stop_order_type in POSITION_STOPS:  # the position closed: the other stop goes too
                        pos = account.positions[(order.category, order.symbol, order.position_idx)]
                        pos.take_profit = pos.stop_loss = 0
                        sync_position_stops(ex, account, pos, ts, events)
                    fired = True
            if not account.conditionals:
                ex.trigger_uids.discard(uid)
        if not fired:
            return


def _trail(st: SymbolState, order: Order) -> None:
    """A trailing stop's trigger: the best last price since it started, less (a long's) or plus (a short's)
    the distance. It starts when the last price reaches the activation price (at once without one)."""
    ref = reference(st, "LastPrice")
    long = order.trigger_direction == 2  # it closes a long when the price falls
    if not order.trigger_price:
        if order.trail_active and (ref < order.trail_active if long else ref > order.trail_active):
            return
        order.trigger_price = max(1, ref - order.trail) if long else ref + order.trail
    elif long:
        order.trigger_price = max(order.trigger_price, ref - order.trail)
    else:
        order.trigger_price = min(order.trigger_price, ref + order.trail)


def _fire(ex: Exchange, account: Account, order: Order, ts: int, events: list[Event]) -> None:
    from paperex.core import trading

    del account.conditionals[order.order_id]
    order.status, order.updated_ts = TRIGGERED, ts
    events.append(OrderChanged(uid=order.uid, order_id=order.order_id, status=TRIGGERED))
    cmd = PlaceOrder(uid=order.uid, category=order.category, symbol=order.symbol, side=order.side,
                     order_type=order.order_type, qty=order.qty, price=order.price or None,
                     tif="GTC" if order.order_type == "Market" else order.tif, reduce_only=order.reduce_only,
                     close_on_trigger=order.close_on_trigger, smp_type=order.smp_type,
                     position_idx=order.position_idx, market_unit=order.market_unit)
    try:
        events.extend(trading.place(ex, cmd, ts, conditional=order))
    except ApiError:  # Bybit: "if the margin is insufficient after the conditional order is triggered, the
        # order will be cancelled"
        order.status, order.leaves = CANCELLED, 0
        order.seq = ex.next_seq()
        events.append(OrderChanged(uid=order.uid, order_id=order.order_id, status=CANCELLED))
