"""Order entry and matching: place, amend, cancel, cancel-all, and what every fill does to wallets,
positions, orders, the tape and candles.

Every function validates first and mutates after, so a rejected command leaves no trace.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING

import msgspec

from paperex.core import margin, position_mode, rules, triggers
from paperex.core.book import BUY, SELL
from paperex.core.commands import AmendOrder, CancelAll, CancelOrder, PlaceOrder
from paperex.core.events import BookChanged, Event, Executed, OrderAccepted, OrderChanged, PositionChanged
from paperex.core.grid import fee_of
from paperex.core.numbers import MONEY_SCALE, from_units
from paperex.core.orders import (
    CANCELLED,
    FILLED,
    MAX_ACTIVE_ORDERS,
    NEW,
    ORDER_LINK_ID_MAX,
    PARTIALLY_FILLED,
    PARTIALLY_FILLED_CANCELED,
    Execution,
    Order,
    PublicTrade,
)
from paperex.core.positions import DEFAULT_LEVERAGE, Position
from paperex.errors import ApiError, Code

if TYPE_CHECKING:
    from paperex.core.accounts import Account
    from paperex.core.engine import Exchange
    from paperex.core.symbol import SymbolState

LINK_ID = re.compile(r"^[A-Za-z0-9_\-]{1,36}$")
CANCEL_ALL_LIMIT = 500


def _reject(code: int, detail: str | None = None, reason: str | None = None) -> ApiError:
    return ApiError(code, detail, reason)


def _amount(units: int, coin: str) -> str:
    """Money in plain words for a refusal's reason: 12.3 USDT."""
    return f"{_plain(from_units(units))} {coin}"


def _plain(value: Decimal) -> str:
    """A number without trailing zeros (60000, 0.05), for a refusal's reason."""
    return f"{value.normalize():f}"


# -- price band (bybit-v5.md §4.6, the get-config formula) ------------------------------------------
def band(st: SymbolState) -> tuple[int, int]:
    """(max buy price, min sell price) in ticks, from mark and index and the instrument's X/Y ratios:
    max buy = min(max(index, mark(1+X)), mark(1+Y)), min sell = max(min(index, mark(1-X)), mark(1-Y)),
    rounded inwards to the tick. Exact integer arithmetic; cached until the prices move."""
    key = (st.mark, st.index)
    if st.band_key == key:
        return st.band
    x, y = st.band_ratios
    mark, index = (st.index if st.inst.category == "spot" else st.mark), st.index
    # floor(max(i, a)) = max(i, floor(a)) for an integer i, and likewise for min and ceil
    max_buy = min(max(index, mark * (x.denominator + x.numerator) // x.denominator),
                  mark * (y.denominator + y.numerator) // y.denominator)
    min_sell = max(min(index, -(-mark * (x.denominator - x.numerator) // x.denominator)),
                   -(-mark * (y.denominator - y.numerator) // y.denominator))
    st.band_key, st.band = key, (max_buy, min_sell)
    return st.band


def _within_band(account: Account, st: SymbolState, side: int, price: int, max_buy: int, min_sell: int) -> int:
    """A limit price beyond the band: moved to the band's edge when the account clamps (Bybit's futures default,
    set-limit-px-action), refused with 110003 otherwise (spot's default)."""
    edge = max_buy if side == BUY and price > max_buy else min_sell if side == SELL and price < min_sell else None
    if edge is None:
        return price
    if account.clamps(st.inst.category):
        return edge
    raise _reject(Code.PRICE_OUT_OF_RANGE,
                  f"max buy price {st.grid.price(max_buy)}, min sell price {st.grid.price(min_sell)}",
                  f"{'buy' if side == BUY else 'sell'} price {_plain(st.grid.price(price))} is outside the price "
                  f"band (max buy {_plain(st.grid.price(max_buy))}, min sell {_plain(st.grid.price(min_sell))}; "
                  f"mark {_plain(st.grid.price(st.mark))}, index {_plain(st.grid.price(st.index))})")


def _clamped(account: Account, st: SymbolState, cmd: PlaceOrder) -> PlaceOrder:
    """A limit order of an account that clamps, with its price moved into the band (refusing accounts meet the
    band later, after the checks that answer before 110003)."""
    if cmd.order_type != "Limit" or cmd.price is None or not account.clamps(st.inst.category):
        return cmd
    max_buy, min_sell = band(st)
    price = _within_band(account, st, cmd.side, cmd.price, max_buy, min_sell)
    return cmd if price == cmd.price else msgspec.structs.replace(cmd, price=price)


# -- place ------------------------------------------------------------------------------------------
def symbol_open(ex: Exchange, category: str, symbol: str) -> SymbolState:
    st = ex.symbols.get((category, symbol))
    if st is None:
        raise _reject(Code.PARAM_ERROR, f"symbol {symbol} does not exist in {category}")
    if st.status != "Trading":
        if st.status == "Delivering":  # a dated future being settled
            raise _reject(Code.SETTLEMENT_IN_PROGRESS, symbol)
        if st.status == "Closed":
            raise _reject(Code.PARAM_ERROR, f"symbol {symbol} has been delivered and is closed")
        raise _reject(Code.TRADING_NOT_ALLOWED, f"{symbol} is {st.status}")
    return st


def _check_qty_price(st: SymbolState, cmd: PlaceOrder, qty: int) -> None:
    """The instrument's static limits (qty range, price range, minimum order value), on the integer grid."""
    inst, grid = st.inst, st.grid
    if qty <= 0:
        raise _reject(Code.PARAM_ERROR, "qty must be positive")
    if inst.category == "spot" and cmd.order_type == "Market" and cmd.market_unit == "quoteCoin":
        if qty < grid.min_notional:
            raise _reject(Code.PARAM_ERROR, f"order value must be at least {inst.min_notional}")
        return
    if qty < grid.min_lots:
        raise _reject(Code.PARAM_ERROR, f"qty must be at least {inst.min_order_qty}")
    max_lots = grid.max_mkt_lots if cmd.order_type == "Market" else grid.max_lots
    if max_lots and qty > max_lots:
        raise _reject(Code.PARAM_ERROR, f"qty must not exceed {grid.qty(max_lots)}")
    if cmd.order_type == "Limit":
        assert cmd.price is not None
        if cmd.price < grid.min_price_ticks or (grid.max_price_ticks and cmd.price > grid.max_price_ticks):
            raise _reject(Code.PRICE_OUT_OF_RANGE, f"price must be within [{inst.min_price}, {inst.max_price}]")
    ref = cmd.price if cmd.order_type == "Limit" else st.mark
    assert ref is not None
    if grid.min_notional and not grid.inverse and grid.value(ref, qty) < grid.min_notional:
        raise _reject(Code.PARAM_ERROR, f"order value must be at least {inst.min_notional}")


def check_static(ex: Exchange, st: SymbolState, cmd: PlaceOrder, new: bool = True) -> bool:
    """The checks that do not depend on the market: type, link id, position index, the grid and limits. True for a
    hedge-mode order that closes its side (it is reduce-only)."""
    spot = cmd.category == "spot"
    if cmd.order_type not in ("Limit", "Market"):
        raise _reject(Code.PARAM_ERROR, "orderType must be Limit or Market")
    if cmd.order_type == "Limit" and cmd.price is None:
        raise _reject(Code.PARAM_ERROR, "price is required for a limit order")
    if cmd.order_type == "Market" and cmd.tif == "PostOnly":
        raise _reject(Code.PARAM_ERROR, "a market order cannot be PostOnly")
    if cmd.order_link_id:
        if not LINK_ID.match(cmd.order_link_id) or len(cmd.order_link_id) > ORDER_LINK_ID_MAX:
            raise _reject(Code.PARAM_ERROR, "orderLinkId must be 1-36 characters of [A-Za-z0-9_-]")
        if (cmd.uid, cmd.order_link_id) in ex.link_ids and new:
            raise _reject(Code.DUPLICATE_ORDER_LINK_ID)
    closes = not spot and position_mode.closes(ex.account(cmd.uid), st.inst, cmd.side, cmd.position_idx)
    if spot and cmd.is_leverage:  # spot margin: isolated margin cannot, a leverage ban forbids it
        account = ex.account(cmd.uid)
        if account.margin_mode == margin.ISOLATED:
            raise _reject(Code.ISOLATED_CANNOT_CREATE, "spot margin trading needs cross or portfolio margin")
        rules.check_leverage(account, 200)
        raise _reject(Code.PARAM_ERROR, "spot margin trading (isLeverage=1) is not supported by paperex yet")
    if spot and cmd.order_type == "Market" and cmd.side == SELL and cmd.market_unit == "quoteCoin":
        raise _reject(Code.PARAM_ERROR, "marketUnit quoteCoin is supported for market buys only")
    if cmd.trigger_price and new and not (cmd.reduce_only and cmd.qty == 0):
        _check_qty_price(st, cmd, cmd.qty)
    return closes


def place(ex: Exchange, cmd: PlaceOrder, ts: int, conditional: Order | None = None) -> list[Event]:
    """A new order; ``conditional``: a triggered conditional order becoming active under its own id."""
    if cmd.trigger_price and conditional is None:
        return triggers.place_conditional(ex, cmd, ts)
    account = ex.account(cmd.uid)
    st = symbol_open(ex, cmd.category, cmd.symbol)
    spot = cmd.category == "spot"
    # a hedge-mode order against its side's direction closes it: reduce-only
    reduce_only = check_static(ex, st, cmd, new=conditional is None) or cmd.reduce_only
    key = (cmd.category, cmd.symbol)
    pos = None if spot else account.positions.get((cmd.category, cmd.symbol, cmd.position_idx))
    qty = cmd.qty
    rules.check_trading(account, st, not reduce_only and not spot, pos.leverage if pos else DEFAULT_LEVERAGE)
    cmd = _clamped(account, st, cmd)  # the price every later check sees is the one the order will rest at
    tpsl_mode = triggers.check_order_tpsl(st, cmd, cmd.price, account, reduce_only) if conditional is None else ""
    closes_nothing = pos is None or pos.size == 0 or (pos.size > 0) == (cmd.side > 0)
    if reduce_only and not spot:
        if closes_nothing:
            raise _reject(Code.REDUCE_ONLY_RULE, "there is no position to reduce on this side")
        if qty == 0 and cmd.close_on_trigger:  # qty 0 + reduceOnly + closeOnTrigger: close the whole position
            qty = min(abs(pos.size), st.grid.max_mkt_lots if cmd.order_type == "Market" else st.grid.max_lots)
        qty = min(qty, abs(pos.size))
    elif cmd.close_on_trigger and not spot and closes_nothing:
        raise _reject(Code.NO_NET_POSITION, "a close-on-trigger order needs a position to close")
    _check_qty_price(st, cmd, qty)
    max_buy, min_sell = band(st)
    if cmd.order_type == "Limit":
        assert cmd.price is not None
        price = _within_band(account, st, cmd.side, cmd.price, max_buy, min_sell)
        if pos is not None and pos.size and not reduce_only:  # reducing cannot bring the liquidation closer
            _check_liquidation_price(ex, st, account, pos, price)
    else:
        price = max_buy if cmd.side == BUY else min_sell  # market protection: an IOC limit at the band edge
    if account.active_count.get(key, 0) >= MAX_ACTIVE_ORDERS:
        raise _reject(Code.TOO_MANY_ACTIVE_ORDERS)

    # what the order reserves
    if spot:
        hold_coin, hold = _spot_hold(st, cmd, price, qty)
        if hold > account.balance(hold_coin):
            raise _reject(Code.WALLET_INSUFFICIENT, f"{hold_coin} wallet balance cannot cover the order",
                          f"wallet balance {_amount(account.balance(hold_coin), hold_coin)} < order cost "
                          f"{_amount(hold, hold_coin)}")
        spot_free = margin.available(ex.symbols, account, hold_coin)
        if hold > spot_free:  # UTA: derivatives margin counts too
            raise _reject(Code.INSUFFICIENT_AVAILABLE, f"{hold_coin} held by open orders or positions",
                          f"available balance {_amount(spot_free, hold_coin)} < order cost "
                          f"{_amount(hold, hold_coin)} (the rest is held by open orders or positions)")
    else:
        hold_coin = st.inst.settle_coin
        leverage = pos.leverage if pos else DEFAULT_LEVERAGE
        if not reduce_only:
            _check_risk_tier(st, account, pos, cmd.side, qty, price, leverage)
        taker = account.fee_rates[cmd.category][0]
        closable = margin.closable_lots(account, pos, cmd.category, cmd.symbol, cmd.side)
        if not reduce_only:
            rules.check_open_interest(st, max(0, qty - closable))
        hold = 0 if reduce_only else margin.derivatives_hold(st, closable, leverage, taker, price, qty)
        free = margin.available(ex.symbols, account, hold_coin)
        if hold and free < 0:  # the positions already need more margin than the account has
            raise _reject(Code.CANNOT_COVER_POSITION_MARGIN, f"{hold_coin} available balance is negative")
        if hold and hold > free:  # closing a position never needs margin
            raise _margin_error(st, closable, leverage, taker, cmd, price, qty, free)

    # accepted: from here on nothing raises
    events: list[Event] = []
    if conditional is not None:  # keeps its id, link id and creation time
        order = conditional
        order.price, order.qty, order.leaves, order.status = price, qty, qty, NEW
        order.tif = "IOC" if cmd.order_type == "Market" else cmd.tif
        order.reduce_only = reduce_only
        order.updated_ts = ts
    else:
        ex.order_seq += 1
        order = Order(order_id=ex.order_seq, uid=cmd.uid, category=cmd.category, symbol=cmd.symbol, side=cmd.side,
                      order_type=cmd.order_type, tif="IOC" if cmd.order_type == "Market" else cmd.tif, price=price,
                      qty=qty, order_link_id=cmd.order_link_id, reduce_only=reduce_only,
                      close_on_trigger=cmd.close_on_trigger, smp_type=cmd.smp_type, position_idx=cmd.position_idx,
                      ts=ts, last_price_on_created=st.last if st.last is not None else st.mark,
                      market_unit=cmd.market_unit if spot and cmd.order_type == "Market" else "",
                      quote_qty=qty if spot and cmd.order_type == "Market" and cmd.market_unit == "quoteCoin" else 0)
        triggers.attach_tpsl(order, cmd, tpsl_mode)
        ex.orders[order.order_id] = order
        account.order_ids.append(order.order_id)
        if order.order_link_id:
            ex.link_ids[(order.uid, order.order_link_id)] = order.order_id
        events.append(OrderAccepted(uid=order.uid, order_id=order.order_id))
    if order.quote_qty:
        order.qty = order.leaves = 0  # filled by quote amount: base qty is known only as it fills
    order.hold, order.hold_coin = hold, hold_coin
    account.hold(hold_coin, hold)
    _execute(ex, st, account, order, ts, events)
    return events


def _check_liquidation_price(ex: Exchange, st: SymbolState, account: Account, pos: Position, price: int) -> None:
    """Bybit: "if you have a position, the price should be better than the liquidation price" (110040): an
    order that adds to it may not sit at or beyond the price where the position is liquidated."""
    point = margin.liq_point(ex.symbols, account, st, pos)
    if point is None:
        return
    liq, below = point  # as listed in the position (rounded towards the mark); a long (net long): below it
    if (below and price <= liq) or (not below and price >= liq):
        raise _reject(Code.ORDER_TRIGGERS_LIQUIDATION,
                      f"the position's liquidation price is {format(st.grid.price(liq).normalize(), 'f')}")


def _check_risk_tier(st: SymbolState, account: Account, pos: Position | None, side: int, qty: int, price: int,
                     leverage: int) -> None:
    """The position the order could make (with the account's other resting orders on that side) must fit the
    risk tiers: not beyond the last tier's limit (110016), and within the leverage its tier allows (30150)."""
    tiers = st.inst.risk_tiers
    if not tiers:
        return
    size = pos.size if pos else 0
    if pos is not None and pos.idx:  # hedge mode: only the side's own opening orders add to it
        pending = sum(o.leaves for o in account.open_orders.values()
                      if o.position_idx == pos.idx and o.side == side and not o.reduce_only
                      and (o.category, o.symbol) == st.inst.key)
    else:
        pending = account.resting.get((st.inst.category, st.inst.symbol, side), 0)
    worst = abs(size + side * (qty + pending))
    if worst <= abs(size):
        return  # it only reduces
    value = st.grid.value(max(price, st.mark) if not st.grid.inverse else min(price, st.mark), worst)
    if value > tiers[-1].risk_limit_value * MONEY_SCALE:
        raise _reject(Code.QTY_EXCEEDS_RISK_LIMIT,
                      f"the position could reach {st.grid.qty(worst)}, beyond the last tier's limit "
                      f"{tiers[-1].risk_limit_value}")
    tier = margin.tier_of(st, value)
    if tier is not None and leverage > tier.max_leverage * 100:
        raise _reject(Code.LEVERAGE_ABOVE_TIER, f"the position's tier allows at most {tier.max_leverage}x")


def _spot_hold(st: SymbolState, cmd: PlaceOrder, price: int, qty: int) -> tuple[str, int]:
    inst = st.inst
    if cmd.side == SELL:
        return inst.base_coin, qty * st.grid.base_mult
    if cmd.order_type == "Market" and cmd.market_unit == "quoteCoin":
        return inst.quote_coin, qty
    return inst.quote_coin, st.grid.value(price, qty)


def _margin_error(st: SymbolState, closable: int, leverage: int, taker: int, cmd: PlaceOrder, price: int,
                  qty: int, free: int) -> ApiError:
    """Which of Bybit's insufficient-balance codes fits: market orders are costed at the protection price,
    a limit order that would cross at a worse price than the best one gets 'cannot set the price'."""
    book = st.book
    best = book.best_ask() if cmd.side == BUY else book.best_bid()
    at_best = margin.derivatives_hold(st, closable, leverage, taker, best, qty) if best else None
    coin = st.inst.settle_coin
    opening = max(0, qty - closable)
    value = st.grid.value(price, opening)
    im = -(-value * 100 // leverage)
    fees = margin.derivatives_hold(st, closable, leverage, taker, price, qty) - im
    reason = (f"available balance {_amount(free, coin)} < order cost {_amount(im + fees, coin)} "
              f"(IM {_amount(im, coin)} at {leverage / 100:g}x + fees {_amount(fees, coin)}) "
              f"at price {_plain(st.grid.price(price))}")
    if cmd.order_type == "Market":
        if at_best is None or at_best > free:
            return _reject(Code.CANNOT_COVER_LOWEST_PRICE, None, reason + " (the market order's protection price)")
        return _reject(Code.CANNOT_COVER_MARKET_PRICE, None, reason)
    crosses = book.crosses(cmd.side, price)
    if crosses and at_best is not None and at_best <= free:
        return _reject(Code.CANNOT_SET_PRICE, None,
                       reason + f"; at the best price {_plain(st.grid.price(best))} it fits")
    return _reject(Code.AVAILABLE_INSUFFICIENT, None, reason)


# -- matching -----------------------------------------------------------------------------------------
def _execute(ex: Exchange, st: SymbolState, account: Account, order: Order, ts: int, events: list[Event]) -> None:
    """Match a new (or re-priced) order as taker, then rest it or cancel what is left, per its time in force."""
    book = st.book
    key = (order.category, order.symbol)
    limit = order.price
    if order.tif == "PostOnly" and book.crosses(order.side, limit):
        finish(ex, account, order, CANCELLED, ts, events, reason="EC_PostOnlyWillTakeLiquidity")
        return
    smp = order.smp_type != "None"
    if order.tif == "FOK" and book.fillable(order.side, limit, order.leaves,
                                            order.uid if smp else None) < order.leaves:
        finish(ex, account, order, CANCELLED, ts, events, reason="EC_NoEnoughQtyToFill")
        return
    taker_cancelled = reduce_only_done = False
    derivative = order.category != "spot"
    for maker in book.makers(order.side, limit):
        if order.quote_qty:
            if order.quote_qty - order.quote_spent <= 0:
                break
        elif order.leaves == 0:
            break
        if smp and maker.uid == order.uid:
            mode = order.smp_type
            if mode in ("CancelMaker", "CancelBoth"):
                maker.smp_order_id = order.order_id  # type: ignore[attr-defined]
                finish(ex, ex.accounts[maker.uid], maker, CANCELLED, ts, events,  # type: ignore[arg-type]
                        cancel_type="CancelBySmp", reason="EC_BySelfMatch")
            if mode in ("CancelTaker", "CancelBoth"):
                order.smp_order_id = maker.order_id
                taker_cancelled = True
                break
            continue
        qty = min(order.leaves, maker.leaves) if not order.quote_qty else min(
            maker.leaves, st.grid.lots_for_quote(maker.price, order.quote_qty - order.quote_spent))
        if order.reduce_only and derivative:  # a reduce-only taker never takes more than the position
            pos = account.positions.get((order.category, order.symbol, order.position_idx))
            room = abs(pos.size) if pos and pos.size and (pos.size > 0) != (order.side > 0) else 0
            if room == 0:
                reduce_only_done = True
                break
            qty = min(qty, room)
        if qty <= 0:
            break
        _fill(ex, st, order, maker, maker.price, qty, ts, events)  # type: ignore[arg-type]
    if order.quote_qty:  # a spot market buy by quote amount: Bybit ends it Filled only when all was spent
        order.leaves = 0
        if order.cum_qty == 0:
            finish(ex, account, order, CANCELLED, ts, events, reason="EC_NoImmediateQtyToFill")
        elif order.quote_spent >= order.quote_qty:
            finish(ex, account, order, FILLED, ts, events)
        else:
            finish(ex, account, order, CANCELLED, ts, events, reason="EC_CancelForNoFullFill")
        return
    if order.leaves == 0:
        return  # fully filled inside _fill
    if taker_cancelled:
        finish(ex, account, order, CANCELLED, ts, events, cancel_type="CancelBySmp", reason="EC_BySelfMatch")
        return
    if reduce_only_done:
        finish(ex, account, order, CANCELLED, ts, events, cancel_type="CancelByReduceOnly")
        return
    if order.tif in ("IOC", "FOK") or order.order_type == "Market":
        reason = "EC_NoImmediateQtyToFill" if order.cum_qty == 0 else "EC_CancelForNoFullFill"
        finish(ex, account, order, CANCELLED, ts, events, reason=reason)
        return
    # rest on the book
    book.add(order)
    st.cts = ts
    account.open_orders[order.order_id] = order
    account.active_count[key] = account.active_count.get(key, 0) + 1
    account.rest(order, order.leaves)
    order.updated_ts = ts
    order.seq = ex.next_seq()
    events.append(OrderChanged(uid=order.uid, order_id=order.order_id, status=order.status))
    events.append(BookChanged(category=order.category, symbol=order.symbol, update_id=book.update_id))
    if order.reduce_only and derivative:
        account.reduce_only_ids.add(order.order_id)
        enforce_reduce_only(ex, account, order.category, order.symbol, ts, events)


def enforce_reduce_only(ex: Exchange, account: Account, category: str, symbol: str, ts: int,
                        events: list[Event]) -> None:
    """Resting reduce-only orders never add up to more than the position they reduce: oldest first, the
    excess is shrunk and what cannot reduce anything is cancelled (``CancelByReduceOnly``)."""
    mine = sorted(oid for oid in account.reduce_only_ids
                  if ex.orders[oid].category == category and ex.orders[oid].symbol == symbol)
    if not mine:
        return
    rooms: dict[int, int] = {}  # positionIdx -> what its reduce-only orders may still close
    st = ex.symbols[(category, symbol)]
    for oid in mine:
        o = ex.orders[oid]
        pos = account.positions.get((category, symbol, o.position_idx))
        size = pos.size if pos else 0
        room = rooms.setdefault(o.position_idx, abs(size))
        allowed = room if size and (size > 0) != (o.side > 0) else 0
        if o.leaves <= allowed:
            rooms[o.position_idx] = room - o.leaves
            continue
        if allowed == 0:
            finish(ex, account, o, CANCELLED, ts, events, cancel_type="CancelByReduceOnly")
            continue
        excess = o.leaves - allowed
        _release(account, o, excess)
        account.rest(o, -excess)
        st.book.reduce(o, allowed)
        o.qty -= excess
        o.updated_ts = ts
        o.seq = ex.next_seq()
        rooms[o.position_idx] = 0
        events.append(OrderChanged(uid=o.uid, order_id=o.order_id, status=o.status))
        events.append(BookChanged(category=category, symbol=symbol, update_id=st.book.update_id))


def _release(account: Account, order: Order, lots: int) -> None:
    """Release the hold of ``lots`` of the order's leaves (everything when the order ends)."""
    if order.hold == 0:
        return
    before = order.leaves
    part = order.hold if lots >= before or before == 0 else order.hold * lots // before
    order.hold -= part
    account.held[order.hold_coin] -= part


def finish(ex: Exchange, account: Account, order: Order, status: str, ts: int, events: list[Event], *,
            cancel_type: str = "UNKNOWN", reason: str = "EC_NoError") -> None:
    """End an order: take it off the book if it rests, release its hold, record why."""
    st = ex.symbols[(order.category, order.symbol)]
    key = (order.category, order.symbol)
    if order.order_id in account.open_orders:
        if st.book.contains(order):  # a maker that just filled completely has left the book already
            st.book.remove(order)
            st.cts = ts
            events.append(BookChanged(category=order.category, symbol=order.symbol, update_id=st.book.update_id))
        del account.open_orders[order.order_id]
        account.active_count[key] -= 1
        account.rest(order, -order.leaves)
        account.reduce_only_ids.discard(order.order_id)
    _release(account, order, order.leaves)
    order.hold = 0
    if status == CANCELLED and order.category == "spot" and order.cum_qty:
        status = PARTIALLY_FILLED_CANCELED
    order.status = status
    if status != FILLED:
        order.cancel_type = cancel_type
        order.reject_reason = reason
        order.leaves = 0
    order.updated_ts = ts
    order.seq = ex.next_seq()
    events.append(OrderChanged(uid=order.uid, order_id=order.order_id, status=status))


def _fill(ex: Exchange, st: SymbolState, taker: Order, maker: Order, price: int, qty: int, ts: int,
          events: list[Event]) -> None:
    value = st.grid.value(price, qty)
    seq = ex.next_seq()
    ex.exec_seq += 1
    trade_id = ex.exec_seq  # one id for the fill: both parties' executions and the public trade
    for order, is_maker in ((maker, True), (taker, False)):
        account = ex.accounts[order.uid]
        rate = account.fee_rates[order.category][1 if is_maker else 0]
        if order.category == "spot":
            fee, fee_coin = _settle_spot(st, account, order, qty, value, rate)
            closed = pnl = open_fee = 0
            entry_closed = (0, 0)
        else:
            fee, fee_coin, closed, pnl, open_fee, entry_closed = settle_derivative(
                ex, st, account, order, price, qty, value, rate, ts, seq, events)
        ex.fees_collected[fee_coin] = ex.fees_collected.get(fee_coin, 0) + fee
        # the order
        if order is maker:
            _release(account, order, qty)
            account.rest(order, -qty)
            st.book.fill(order, qty)  # sets leaves
        else:
            _release(account, order, qty if not order.quote_qty else 0)
            if order.quote_qty:
                order.quote_spent += value
            else:
                order.leaves -= qty
        if order.quote_qty:
            order.qty += qty
        order.cum_qty += qty
        order.cum_value += value
        order.cum_fee += fee
        order.cum_inv += qty * 10**20 // price
        order.fee_coin = fee_coin
        order.updated_ts = ts
        order.seq = seq
        execution = Execution(trade_id, order, price, qty, value, fee, fee_coin, rate, is_maker, ts, seq,
                              st.mark, closed, pnl, open_fee)
        execution.entry_closed, execution.entry_inv_closed = entry_closed
        account.executions.append(execution)
        events.append(Executed(uid=order.uid, order_id=order.order_id, exec_id=execution.exec_id))
        _log_trade(ex, st, account, order, execution, ts)
        if order.take_profit or order.stop_loss:  # the order's TP/SL now guard the position it opened
            triggers.set_position_tpsl(ex, account, order, qty, ts, events)
        if order.leaves == 0 and not order.quote_qty:
            if order is maker:
                finish(ex, account, order, FILLED, ts, events)
            else:
                order.status = FILLED
                order.hold = 0
                order.seq = ex.next_seq()
                events.append(OrderChanged(uid=order.uid, order_id=order.order_id, status=FILLED))
        else:
            order.status = PARTIALLY_FILLED
            events.append(OrderChanged(uid=order.uid, order_id=order.order_id, status=PARTIALLY_FILLED))
    # the public tape
    if st.last is not None and price != st.last:
        st.tick_direction = "PlusTick" if price > st.last else "MinusTick"
    elif st.last is not None:
        st.tick_direction = "ZeroPlusTick" if st.tick_direction in ("PlusTick", "ZeroPlusTick") else "ZeroMinusTick"
    st.prev_last, st.last = st.last, price
    st.tape.append(PublicTrade(trade_id, price, qty, taker.side, ts, seq, st.tick_direction))
    st.candles.add(ts, price, qty, value)
    st.seq = seq
    st.cts = ts
    events.append(BookChanged(category=taker.category, symbol=taker.symbol, update_id=st.book.update_id))
    if taker.category != "spot":  # the positions moved: resting reduce-only orders may now be too large
        for uid in {maker.uid, taker.uid}:
            account = ex.accounts[uid]
            if account.reduce_only_ids:
                enforce_reduce_only(ex, account, taker.category, taker.symbol, ts, events)


def _settle_spot(st: SymbolState, account: Account, order: Order, qty: int, value: int,
                 rate: int) -> tuple[int, str]:
    base, quote = st.inst.base_coin, st.inst.quote_coin
    base_units = qty * st.grid.base_mult
    if order.side == BUY:
        fee = fee_of(base_units, rate)
        account.credit(quote, -value)
        account.credit(base, base_units - fee)
        return fee, base
    fee = fee_of(value, rate)
    account.credit(base, -base_units)
    account.credit(quote, value - fee)
    return fee, quote


def _log_trade(ex: Exchange, st: SymbolState, account: Account, order: Order, e: Execution, ts: int,
               kind: str = "TRADE") -> None:
    """The fill in the transaction log: one entry (derivatives, settle coin) or one per coin (spot)."""
    # entries built in place (this runs twice per fill): the layout is core.ledger's
    cat, sym, side, link = order.category, order.symbol, order.side, order.order_link_id
    log, balances = account.ledger, account.balances
    if cat != "spot":
        coin = st.inst.settle_coin
        ex.ledger_seq += 1
        size = account.positions[(cat, sym, order.position_idx)].size
        log.append((ex.ledger_seq, ts, kind, coin, cat, sym, side, e.qty, size, e.price, e.pnl, 0, e.fee,
                    e.fee_rate, balances.get(coin, 0), e.exec_id, order.order_id, link))
        return
    base, quote = st.inst.base_coin, st.inst.quote_coin
    base_units = e.qty * st.grid.base_mult
    base_fee, quote_fee = (e.fee, 0) if e.fee_coin == base else (0, e.fee)
    sign = 1 if side == BUY else -1
    ex.ledger_seq += 2
    log.append((ex.ledger_seq - 1, ts, kind, base, cat, sym, side, sign * base_units - base_fee, 0, e.price,
                sign * base_units, 0, base_fee, e.fee_rate, balances.get(base, 0), e.exec_id, order.order_id, link))
    log.append((ex.ledger_seq, ts, kind, quote, cat, sym, side, -sign * e.value - quote_fee, 0, e.price,
                -sign * e.value, 0, quote_fee, e.fee_rate, balances.get(quote, 0), e.exec_id, order.order_id, link))


def settle_derivative(ex: Exchange, st: SymbolState, account: Account, order: Order, price: int, qty: int,
                      value: int, rate: int, ts: int, seq: int,
                      events: list[Event]) -> tuple[int, str, int, int, int, tuple[int, int]]:
    """Position, realised PnL and fee of one side of a derivatives fill: (fee, fee coin, lots closed,
    realised PnL of the closed part before the fee, the fees paid to open the lots it closed, and their
    entry value and exact inverse entry record)."""
    coin = st.inst.settle_coin
    key = (order.category, order.symbol, order.position_idx)
    pos = account.positions.get(key)
    if pos is None:
        pos = account.positions[key] = Position(order.uid, order.category, order.symbol, ts, idx=order.position_idx)
    before, value_before, inv_before = pos.size, pos.entry_value, pos.entry_inv
    realised, closed = pos.apply_fill(order.side, qty, value, margin.direction(st), price)
    if pos.size == 0:
        pos.open_ts = 0
    elif before == 0 or (pos.size > 0) != (before > 0):  # opened from flat, or reversed: a new position
        pos.open_ts = ts
    if before and (pos.size == 0 or (pos.size > 0) != (before > 0)):  # closed or reversed: its stops go
        if pos.take_profit or pos.stop_loss or pos.trailing_stop:
            pos.take_profit = pos.stop_loss = pos.trailing_stop = pos.trail_active = 0
            triggers.sync_position_stops(ex, account, pos, ts, events)
        if account.conditionals:
            triggers.drop_partial_legs(ex, account, pos, ts, events)
    entry_closed = (0, 0)
    if closed:  # what the closed lots had cost: all of it, or what the partial close removed
        whole = closed >= abs(before)
        entry_closed = (value_before if whole else value_before - pos.entry_value,
                        inv_before if whole else inv_before - pos.entry_inv)
    st.open_interest += max(pos.size, 0) - max(before, 0)  # open interest = the sum of long positions
    fee = fee_of(value, rate)
    open_fee = 0
    if closed:  # the closed lots take their share of what opening them cost
        open_fee = pos.open_fees if closed >= abs(before) else pos.open_fees * closed // abs(before)
        pos.open_fees -= open_fee
    if account.margin_mode == margin.ISOLATED:  # the position's margin follows its size
        if closed:
            pos.margin -= pos.margin if closed >= abs(before) else pos.margin * closed // abs(before)
        if closed < qty:
            pos.margin += -(-value * (qty - closed) * 100 // (qty * pos.leverage))
    if closed < qty:  # the opening part of this fill: its share of the fee
        pos.open_fees += fee * (qty - closed) // qty
    account.credit(coin, realised - fee)
    pos.cum_realised -= fee
    pos.cur_realised -= fee
    pos.updated_ts = ts
    pos.seq = seq  # the fill's cross sequence: executions and position updates share it (Bybit)
    events.append(PositionChanged(uid=order.uid, category=order.category, symbol=order.symbol,
                                  idx=order.position_idx))
    return fee, coin, closed, realised, open_fee, entry_closed


# -- amend and cancel ----------------------------------------------------------------------------------
def find_order(ex: Exchange, uid: int, category: str, symbol: str, order_id: int | None,
               order_link_id: str | None) -> Order:
    if order_id is None and not order_link_id:
        raise _reject(Code.PARAM_ERROR, "orderId or orderLinkId is required")
    if order_id is None:
        order_id = ex.link_ids.get((uid, order_link_id or ""))
    order = ex.orders.get(order_id) if order_id is not None else None
    if order is None or order.uid != uid or order.category != category or order.symbol != symbol:
        raise _reject(Code.ORDER_NOT_EXISTS)
    return order


def _closed_error(order: Order) -> ApiError:
    if order.status == FILLED:
        return _reject(Code.ORDER_FINISHED)
    return _reject(Code.ORDER_CANCELLED)


def amend(ex: Exchange, cmd: AmendOrder, ts: int) -> list[Event]:
    account = ex.account(cmd.uid)
    st = symbol_open(ex, cmd.category, cmd.symbol)
    order = find_order(ex, cmd.uid, cmd.category, cmd.symbol, cmd.order_id, cmd.order_link_id)
    if order.order_id in account.conditionals:
        if order.stop_order_type in triggers.POSITION_STOPS:  # a position's TP/SL: trading-stop changes it
            raise _reject(Code.ILLEGAL_ORDER, "a position's TP/SL/trailing stop is set with /v5/position/trading-stop")
        if cmd.qty is None and cmd.price is None and cmd.trigger_price is None and not cmd.changes_tpsl():
            raise _reject(Code.PARAM_ERROR, "nothing to amend: give qty, price, triggerPrice or TP/SL")
        check_amend_rules(account, st, order, order.qty if cmd.qty is None else cmd.qty)
        triggers.check_amend_tpsl(st, order, cmd)
        if cmd.qty is None and cmd.price is None and cmd.trigger_price is None:
            return _amend_tpsl_only(ex, order, cmd, ts)
        return triggers.amend_conditional(ex, account, order, cmd, ts)
    if not order.is_open or order.order_id not in account.open_orders:
        raise _closed_error(order)
    if cmd.qty is None and cmd.price is None and not cmd.changes_tpsl():
        raise _reject(Code.PARAM_ERROR, "nothing to amend: give qty, price or TP/SL")
    if cmd.price is not None and account.clamps(st.inst.category):  # checked at the price it will rest at
        max_buy, min_sell = band(st)
        cmd = msgspec.structs.replace(cmd, price=_within_band(account, st, order.side, cmd.price, max_buy, min_sell))
    triggers.check_amend_tpsl(st, order, cmd)
    if cmd.qty is None and cmd.price is None:
        check_amend_rules(account, st, order, order.qty)
        return _amend_tpsl_only(ex, order, cmd, ts)
    new_qty = order.qty if cmd.qty is None else cmd.qty
    new_price = order.price if cmd.price is None else cmd.price
    check_amend_rules(account, st, order, new_qty)
    if new_qty <= order.cum_qty:
        raise _reject(Code.AMEND_QTY_LE_FILLED)
    check = PlaceOrder(uid=cmd.uid, category=cmd.category, symbol=cmd.symbol, side=order.side, order_type="Limit",
                       qty=new_qty, price=new_price)
    _check_qty_price(st, check, new_qty)
    if cmd.price is not None:  # a new price meets the band as a new order's does: clamped or refused
        max_buy, min_sell = band(st)
        new_price = _within_band(account, st, order.side, new_price, max_buy, min_sell)
    new_leaves = new_qty - order.cum_qty
    key = (order.category, order.symbol)
    pos = account.positions.get((order.category, order.symbol, order.position_idx))
    if cmd.price is not None and pos is not None and pos.size and not order.reduce_only:
        _check_liquidation_price(ex, st, account, pos, new_price)
    if order.category == "spot":
        hold_coin, new_hold = _spot_hold(st, check, new_price, new_leaves)
    else:
        hold_coin = order.hold_coin
        leverage = pos.leverage if pos else DEFAULT_LEVERAGE
        if not order.reduce_only:  # the resting leaves are counted already: only the change is new
            _check_risk_tier(st, account, pos, order.side, new_leaves - order.leaves, new_price, leverage)
        closable = margin.closable_lots(account, pos, order.category, order.symbol, order.side,
                                        pending_own=order.leaves)
        new_hold = 0 if order.reduce_only else margin.derivatives_hold(
            st, closable, leverage, account.fee_rates[order.category][0], new_price, new_leaves)
    extra = new_hold - order.hold
    amend_free = margin.available(ex.symbols, account, hold_coin)
    if extra > 0 and extra > amend_free:
        raise _reject(Code.INSUFFICIENT_AVAILABLE if order.category == "spot" else Code.AVAILABLE_MARGIN_INSUFFICIENT,
                      None, f"available balance {_amount(amend_free, hold_coin)} < the amended order's extra cost "
                      f"{_amount(extra, hold_coin)}")

    events: list[Event] = []
    triggers.apply_amend_tpsl(order, cmd)
    account.held[hold_coin] += extra
    order.hold = new_hold
    order.qty = new_qty
    if new_price == order.price and new_leaves <= order.leaves:
        account.rest(order, new_leaves - order.leaves)
        st.book.reduce(order, new_leaves)  # keeps its place in the queue
        st.cts = ts
        order.updated_ts = ts
        order.seq = ex.next_seq()
        events.append(OrderChanged(uid=order.uid, order_id=order.order_id, status=order.status))
        events.append(BookChanged(category=order.category, symbol=order.symbol, update_id=st.book.update_id))
        return events
    # a new price or a larger size loses time priority: out of the book, matched again, rested again
    st.book.remove(order)
    del account.open_orders[order.order_id]
    account.active_count[key] -= 1
    account.rest(order, -order.leaves)
    account.reduce_only_ids.discard(order.order_id)
    order.price = new_price
    order.leaves = new_leaves
    _execute(ex, st, account, order, ts, events)
    return events


def check_amend_rules(account: Account, st: SymbolState, order: Order, new_qty: int) -> None:
    """The rules an amend meets: those of any order, and for a larger opening order those of a new one (reduce-only,
    leverage, the open-interest cap, a quantity-restricted symbol)."""
    growing = new_qty > order.qty
    opening = growing and not order.reduce_only and order.category != "spot"
    pos = account.positions.get((order.category, order.symbol, order.position_idx))
    rules.check_trading(account, st, opening, pos.leverage if pos else DEFAULT_LEVERAGE)
    if growing and st.rules.get("qty_restricted"):
        raise _reject(Code.QTY_RESTRICTED)
    if opening:
        rules.check_open_interest(st, new_qty - order.qty)


def _amend_tpsl_only(ex: Exchange, order: Order, cmd: AmendOrder, ts: int) -> list[Event]:
    triggers.apply_amend_tpsl(order, cmd)
    order.updated_ts, order.seq = ts, ex.next_seq()
    return [OrderChanged(uid=order.uid, order_id=order.order_id, status=order.status)]


def cancel(ex: Exchange, cmd: CancelOrder, ts: int) -> list[Event]:
    account = ex.account(cmd.uid)
    symbol_open(ex, cmd.category, cmd.symbol)
    order = find_order(ex, cmd.uid, cmd.category, cmd.symbol, cmd.order_id, cmd.order_link_id)
    events: list[Event] = []
    if order.order_id in account.conditionals:
        triggers.cancel_conditional(ex, account, order, ts, events)
        return events
    if order.order_id not in account.open_orders:
        raise _closed_error(order)
    finish(ex, account, order, CANCELLED, ts, events, cancel_type="CancelByUser", reason="EC_PerCancelRequest")
    return events


def cancel_all(ex: Exchange, cmd: CancelAll, ts: int) -> list[Event]:
    account = ex.account(cmd.uid)
    chosen = []
    pools = {"": (account.open_orders, account.conditionals), "Order": (account.open_orders,),
             "StopOrder": (account.conditionals,)}[cmd.order_filter]
    for order in (o for pool in pools for o in pool.values()):
        inst = ex.symbols[(order.category, order.symbol)].inst
        if order.category != cmd.category:
            continue
        if cmd.symbol is not None and order.symbol != cmd.symbol:
            continue
        if cmd.base_coin is not None and inst.base_coin != cmd.base_coin:
            continue
        if cmd.settle_coin is not None and inst.settle_coin != cmd.settle_coin:
            continue
        chosen.append(order)
    chosen.sort(key=lambda o: o.order_id)
    events: list[Event] = []
    for order in chosen[:CANCEL_ALL_LIMIT]:
        if order.order_id in account.conditionals:
            triggers.cancel_conditional(ex, account, order, ts, events)
        else:
            finish(ex, account, order, CANCELLED, ts, events, cancel_type="CancelByUser",
                   reason="EC_PerCancelRequest")
    return events


__all__ = ["NEW", "amend", "band", "cancel", "cancel_all", "find_order", "place"]
