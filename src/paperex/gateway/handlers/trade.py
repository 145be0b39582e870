"""``/v5/order/*`` and ``/v5/execution/list``: order entry and the account's order and trade history.

Each operation is one function from parameters to a core command; the batch endpoints run the same
function per item, so single and batch requests (and, later, the WebSocket order entry) cannot drift.
"""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from typing import Any

from paperex.core.commands import AmendOrder, CancelAll, CancelOrder, PlaceOrder
from paperex.core.events import OrderAccepted, OrderChanged
from paperex.core.grid import OffGrid
from paperex.core.numbers import to_units
from paperex.core.orders import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    ORDER_TYPES,
    SIDES,
    SMP_TYPES,
    TIME_IN_FORCE,
    Execution,
    Order,
)
from paperex.core.symbol import SymbolState
from paperex.errors import ApiError, Code, message
from paperex.gateway import ids
from paperex.gateway import trade_serializers as ser
from paperex.gateway.auth import Permission
from paperex.gateway.endpoints import V5, Call, Reply
from paperex.gateway.params import Params, param_error

ORDER_CATEGORIES = ("linear", "inverse", "spot", "option")
WRITE = Permission(write=True)
BATCH_LIMIT = {"spot": 10}
BATCH_DEFAULT_LIMIT = 20
DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
UNSUPPORTED = frozenset({"trailingStop", "orderIv", "slippageToleranceType", "bboSideType"})
TRIGGER_BY = ("LastPrice", "IndexPrice", "MarkPrice")
PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)


def require_trading_permission(call: Call, category: str) -> None:
    key = call.principal.key if call.principal else None
    assert key is not None
    if category == "spot":
        allowed = key.allows("Spot", "SpotTrade")
    else:
        allowed = key.allows("ContractTrade", "Order") or key.allows("Derivatives", "DerivativesTrade")
    if not allowed:
        raise ApiError(Code.PERMISSION_DENIED, f"the api key has no {category} trading permission")


def _symbol_state(call: Call, category: str, symbol: str) -> SymbolState:
    st = call.core.symbols.get((category, symbol))
    if st is None:
        raise param_error(f"symbol {symbol} does not exist in {category}")
    return st


def _bool(p: Params, name: str) -> bool:
    value = p.raw(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise param_error(f"{name} must be a boolean")
    return value


def _lots(st: SymbolState, value: Decimal, name: str = "qty") -> int:
    try:
        return st.grid.lots(value)
    except OffGrid:
        raise param_error(f"{name} must be a multiple of {st.grid.step}") from None


def _ticks(st: SymbolState, value: Decimal) -> int:
    try:
        return st.grid.ticks(value)
    except OffGrid:
        raise param_error(f"price must be a multiple of {st.grid.tick}") from None


def _tick_text(p: Params, name: str) -> None:
    """A price given as text that is not a plain decimal number (``5_9000``, full-width digits, ``NaN``, ``inf``,
    words): Bybit's 110049 ("Tick notes can only be numbers")."""
    raw = p.raw(name)
    if isinstance(raw, str) and raw.strip() and not PLAIN_NUMBER.fullmatch(raw):
        raise ApiError(Code.TICK_NOTES_NUMBERS, f"{name} {raw[:20]!r}")


def _reject_unsupported(p: Params) -> None:
    if UNSUPPORTED.isdisjoint(p.data):
        return
    for name in sorted(UNSUPPORTED):
        if p.raw(name) not in (None, "", "0"):
            raise param_error(f"{name} is not supported yet by paperex (conditional and TP/SL orders)")


def place_command(call: Call, p: Params, category: str) -> PlaceOrder:
    require_trading_permission(call, category)
    symbol = p.symbol(required=True)
    assert symbol is not None
    st = _symbol_state(call, category, symbol)
    side = p.enum("side", SIDES, required=True)
    order_type = p.enum("orderType", ORDER_TYPES, required=True)
    assert side is not None and order_type is not None
    _reject_unsupported(p)
    qty = p.decimal("qty", required=True)
    assert qty is not None
    close_all = qty == 0 and _bool(p, "reduceOnly") and _bool(p, "closeOnTrigger") and category != "spot"
    if qty <= 0 and not close_all:  # qty 0 + reduceOnly + closeOnTrigger closes the whole position
        raise param_error("qty must be positive")
    tif = p.enum("timeInForce", TIME_IN_FORCE, default="GTC")
    assert tif is not None
    market_unit = ""
    if category == "spot" and order_type == "Market":
        default_unit = "quoteCoin" if side == "Buy" else "baseCoin"
        market_unit = p.enum("marketUnit", ("baseCoin", "quoteCoin"), default=default_unit) or default_unit
    if market_unit == "quoteCoin":
        try:
            lots = to_units(qty)
        except ValueError:
            raise param_error("qty has too many decimals") from None
    else:
        lots = _lots(st, qty)
    price = None
    if order_type == "Limit":
        _tick_text(p, "price")
        value = p.decimal("price", required=True)
        assert value is not None
        if value <= 0:
            raise param_error("price must be positive")
        price = _ticks(st, value)
    if lots > 10**15 or (price or 0) > 10**15:
        raise param_error("qty or price out of range")
    position_idx = p.int("positionIdx", default=0, lo=0, hi=2)
    assert position_idx is not None
    conditional = _conditional_params(p, st)
    return PlaceOrder(**conditional,
        uid=call.account.uid, category=category, symbol=symbol, side=SIDES[side], order_type=order_type, qty=lots,
        price=price, tif=tif, order_link_id=p.str("orderLinkId", max_len=64) or "",
        reduce_only=_bool(p, "reduceOnly"), close_on_trigger=_bool(p, "closeOnTrigger"),
        smp_type=p.enum("smpType", SMP_TYPES, default="None") or "None", position_idx=position_idx,
        market_unit=market_unit, is_leverage=category == "spot" and p.int("isLeverage", default=0, lo=0, hi=1) == 1,
    )


def _optional_ticks(p: Params, st: SymbolState, name: str) -> int:
    value = p.decimal(name)
    if value is None or value == 0:
        return 0
    if value < 0:
        raise param_error(f"{name} must be positive")
    ticks = _ticks(st, value)
    if ticks > 10**15:
        raise param_error(f"{name} out of range")
    return ticks


def _conditional_params(p: Params, st: SymbolState) -> dict[str, Any]:
    """triggerPrice/triggerDirection/triggerBy and the Full-mode takeProfit/stopLoss of an order."""
    out: dict[str, Any] = {"trigger_price": _optional_ticks(p, st, "triggerPrice"),
                           "take_profit": _optional_ticks(p, st, "takeProfit"),
                           "stop_loss": _optional_ticks(p, st, "stopLoss")}
    if out["trigger_price"]:
        direction = p.raw("triggerDirection")
        if st.inst.category == "spot":  # spot has no triggerDirection: the side of the last price decides
            last = st.last if st.last is not None else st.mark
            direction = 1 if out["trigger_price"] > last else 2
        elif direction not in (1, 2, "1", "2"):
            raise param_error("triggerDirection must be 1 (rise) or 2 (fall)")
        out["trigger_direction"] = int(direction)
        out["trigger_by"] = "LastPrice" if st.inst.category == "spot" else p.enum("triggerBy", TRIGGER_BY,
                                                                                   default="LastPrice")
    if out["take_profit"] or out["stop_loss"]:
        mode = p.enum("tpslMode", ("Full", "Partial"))  # None: the symbol's mode, decided by the core
        out["tpsl_mode"] = mode or ""
        for leg, name in (("tp", "takeProfit"), ("sl", "stopLoss")):
            if p.enum(f"{leg}OrderType", ("Market", "Limit"), default="Market") != "Limit":
                continue  # a market leg; tpLimitPrice/slLimitPrice only work for limit legs (Bybit)
            if mode == "Full":
                raise param_error(f"{leg}OrderType Limit needs tpslMode Partial (Full supports Market only)")
            if out[{"tp": "take_profit", "sl": "stop_loss"}[leg]]:
                out[f"{leg}_limit"] = _optional_ticks(p, st, f"{leg}LimitPrice")
                if not out[f"{leg}_limit"]:
                    raise param_error(f"{leg}LimitPrice is required for a Limit {name}")
        out["tp_trigger_by"] = p.enum("tpTriggerBy", TRIGGER_BY, default="LastPrice")
        out["sl_trigger_by"] = p.enum("slTriggerBy", TRIGGER_BY, default="LastPrice")
    return out


def _amend_tpsl(p: Params, st: SymbolState) -> dict[str, Any]:
    """An amend's takeProfit/stopLoss ("0" removes one), their trigger types and limit prices: None unchanged."""
    out: dict[str, Any] = {}
    for name, field in (("takeProfit", "take_profit"), ("stopLoss", "stop_loss"), ("tpLimitPrice", "tp_limit"),
                        ("slLimitPrice", "sl_limit")):
        if p.raw(name) not in (None, ""):
            out[field] = _optional_ticks(p, st, name)
    for name, field in (("tpTriggerBy", "tp_trigger_by"), ("slTriggerBy", "sl_trigger_by")):
        value = p.enum(name, TRIGGER_BY)
        if value is not None:
            out[field] = value
    return out


def _target(call: Call, p: Params, category: str) -> tuple[str, int | None, str | None]:
    symbol = p.symbol(required=True)
    assert symbol is not None
    _symbol_state(call, category, symbol)
    raw_id = p.str("orderId", max_len=64)
    link = p.str("orderLinkId", max_len=64)
    if raw_id is None and link is None:
        raise param_error("orderId or orderLinkId is required")
    order_id = ids.parse_order_id(raw_id, category) if raw_id is not None else None  # orderId wins
    return symbol, order_id, None if order_id is not None else link


def _resolve(call: Call, symbol: str, category: str, order_id: int | None, link: str | None) -> Order | None:
    uid = call.account.uid
    if order_id is None:
        order_id = call.core.link_ids.get((uid, link or ""))
    o = call.core.orders.get(order_id or 0)
    return o if o is not None and o.uid == uid and o.symbol == symbol and o.category == category else None


async def _guarded(call: Call, order: Order | None, command: AmendOrder | CancelOrder) -> None:
    """Submit an amend/cancel. While another request on the same order is in flight: an amend meeting an amend
    -> 40004 (the order is being replaced), anything else -> 110079 (being processed)."""
    if order is None:
        await call.sequencer.submit(command)  # the core answers 110001
        return
    key = (order.uid, order.order_id)
    inflight = call.sequencer.inflight_orders
    kind = "amend" if isinstance(command, AmendOrder) else "cancel"
    if key in inflight:
        raise ApiError(Code.REPLACE_IN_PROGRESS if (inflight[key], kind) == ("amend", "amend")
                       else Code.ORDER_PROCESSING)
    inflight[key] = kind
    try:
        await call.sequencer.submit(command)
    finally:
        inflight.pop(key, None)


def _ack(order: Order) -> dict[str, str]:
    return {"orderId": ids.order_id(order.order_id, order.category), "orderLinkId": order.order_link_id}


# -- single-order operations -------------------------------------------------------------------------
async def create_one(call: Call, p: Params, category: str) -> Order:
    events = await call.sequencer.submit(place_command(call, p, category))
    accepted = next(e for e in events if isinstance(e, OrderAccepted))
    return call.core.orders[accepted.order_id]


async def amend_one(call: Call, p: Params, category: str) -> Order:
    require_trading_permission(call, category)
    symbol, order_id, link = _target(call, p, category)
    _reject_unsupported(p)
    order = _resolve(call, symbol, category, order_id, link)
    st = call.core.symbols[(category, symbol)]
    qty = p.decimal("qty")
    _tick_text(p, "price")
    price = p.decimal("price")
    if qty is not None and qty <= 0:
        raise param_error("qty must be positive")
    if price is not None and price <= 0:
        raise param_error("price must be positive")
    trigger = _optional_ticks(p, st, "triggerPrice")
    command = AmendOrder(uid=call.account.uid, category=category, symbol=symbol, order_id=order_id,
                         order_link_id=link, qty=None if qty is None else _lots(st, qty),
                         price=None if price is None else _ticks(st, price), trigger_price=trigger or None,
                         **_amend_tpsl(p, st))
    await _guarded(call, order, command)
    assert order is not None
    return order


async def cancel_one(call: Call, p: Params, category: str) -> Order:
    require_trading_permission(call, category)
    symbol, order_id, link = _target(call, p, category)
    order = _resolve(call, symbol, category, order_id, link)
    await _guarded(call, order, CancelOrder(uid=call.account.uid, category=category, symbol=symbol,
                                            order_id=order_id, order_link_id=link))
    assert order is not None
    return order


@V5.post("/v5/order/create", permission=WRITE)
async def create(call: Call) -> dict[str, str]:
    return _ack(await create_one(call, call.params, call.params.category(ORDER_CATEGORIES)))


@V5.post("/v5/order/amend", permission=WRITE)
async def amend(call: Call) -> dict[str, str]:
    return _ack(await amend_one(call, call.params, call.params.category(ORDER_CATEGORIES)))


@V5.post("/v5/order/cancel", permission=WRITE)
async def cancel(call: Call) -> dict[str, str]:
    return _ack(await cancel_one(call, call.params, call.params.category(ORDER_CATEGORIES)))


@V5.post("/v5/order/cancel-all", permission=WRITE)
async def cancel_all(call: Call) -> dict[str, Any]:
    p = call.params
    category = p.category(ORDER_CATEGORIES)
    require_trading_permission(call, category)
    symbol = p.symbol()
    base_coin = p.str("baseCoin", max_len=20)
    settle_coin = p.str("settleCoin", max_len=20)
    if category != "spot" and symbol is None and base_coin is None and settle_coin is None:
        raise param_error("symbol, baseCoin or settleCoin is required")
    if category == "spot":
        settle_coin = None  # Bybit: settleCoin does not apply to spot
    # Bybit uses one of them, by priority symbol > baseCoin > settleCoin (order/cancel-all.mdx)
    if symbol is not None:
        _symbol_state(call, category, symbol)
        base_coin = settle_coin = None
    elif base_coin is not None:
        settle_coin = None
        if not any(i.base_coin == base_coin for i in call.core.instruments_of(category)):
            raise ApiError(Code.INVALID_COIN)  # no symbol of the category has that base coin
    elif settle_coin is not None and not any(i.settle_coin == settle_coin
                                             for i in call.core.instruments_of(category)):
        raise ApiError(Code.INVALID_COIN)  # not a settle coin of the category
    order_filter = p.enum("orderFilter", ("Order", "StopOrder", "OpenOrder", "tpslOrder"))
    if order_filter == "tpslOrder":
        return {"list": [], "success": "1"}  # spot TP/SL orders do not exist in paperex
    events = await call.sequencer.submit(CancelAll(uid=call.account.uid, category=category, symbol=symbol,
                                                   base_coin=base_coin, settle_coin=settle_coin,
                                                   order_filter={"OpenOrder": "Order"}.get(order_filter or "",
                                                                                            order_filter or "")))
    cancelled = [call.core.orders[e.order_id] for e in events
                 if isinstance(e, OrderChanged) and e.uid == call.account.uid]
    return {"list": [_ack(o) for o in cancelled], "success": "1"}


# -- batch operations ----------------------------------------------------------------------------------
async def _batch(call: Call, one: Any, ack: Any) -> Reply:
    p = call.params
    category = p.category(ORDER_CATEGORIES)
    items = p.raw("request")
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise param_error("request must be a non-empty list of orders")
    limit = BATCH_LIMIT.get(category, BATCH_DEFAULT_LIMIT)
    if len(items) > limit:
        raise param_error(f"at most {limit} orders per batch")

    async def run(item: dict[str, Any]) -> Order:
        return await one(call, Params(item), category)

    # started in order, so the orders are sequenced in request order and share group commits; those beyond
    # the rate limit's allowance are answered 10006 without running
    allowed = len(items) if call.allowance is None else call.allowance
    seen: set[tuple[str, object]] = set()
    duplicate = []  # an amend/cancel batch naming one order twice: the later ones are refused (110030)
    for item in items:  # the order each names, by id or by link id (one order named both ways is a duplicate)
        named = None
        if ack != "create":
            link = item.get("orderLinkId") if isinstance(item.get("orderLinkId"), str) else None
            raw_id = item.get("orderId") if isinstance(item.get("orderId"), str) and item.get("orderId") else None
            try:
                order_id = ids.parse_order_id(raw_id, category) if raw_id else None
            except ApiError:
                order_id = None
            if order_id is None and link:
                order_id = call.core.link_ids.get((call.account.uid, link))
            named = ("order", order_id) if order_id is not None else ("raw", raw_id or link)
        duplicate.append(named is not None and named[1] is not None and repr(named) in seen)
        seen.add(repr(named))

    async def run_or_refuse(i: int, item: dict[str, Any]) -> Order:
        if duplicate[i]:
            raise ApiError(Code.DUPLICATE_ORDER_ID, "the batch names this order more than once")
        return await run(item)

    outcomes: list[Any] = list(await asyncio.gather(*(run_or_refuse(i, item) for i, item in enumerate(items[:allowed])),
                                                    return_exceptions=True))
    outcomes += [ApiError(Code.RATE_LIMITED)] * (len(items) - allowed)
    results, ext = [], []
    for item, outcome in zip(items, outcomes, strict=True):
        symbol = item.get("symbol") if isinstance(item.get("symbol"), str) else ""
        if isinstance(outcome, ApiError):
            results.append({"category": category, "symbol": symbol, "orderId": "",
                            "orderLinkId": item.get("orderLinkId") if isinstance(item.get("orderLinkId"), str)
                            else "", **({"createAt": ""} if ack == "create" else {})})
            ext.append({"code": outcome.code, "msg": outcome.msg})
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            row = {"category": category, "symbol": outcome.symbol, **_ack(outcome)}
            if ack == "create":
                row["createAt"] = str(outcome.created_ts)
            results.append(row)
            ext.append({"code": 0, "msg": message(Code.OK)})
    return Reply({"list": results}, ext={"list": ext}, msg="OK")


@V5.post("/v5/order/create-batch", permission=WRITE)
async def create_batch(call: Call) -> Reply:
    return await _batch(call, create_one, "create")


@V5.post("/v5/order/amend-batch", permission=WRITE)
async def amend_batch(call: Call) -> Reply:
    return await _batch(call, amend_one, "amend")


@V5.post("/v5/order/cancel-batch", permission=WRITE)
async def cancel_batch(call: Call) -> Reply:
    return await _batch(call, cancel_one, "cancel")


# -- queries ------------------------------------------------------------------------------------------
def time_window(p: Params, now: int) -> tuple[int, int]:
    start = p.int("startTime", lo=0, hi=10**15)
    end = p.int("endTime", lo=0, hi=10**15)
    if start is None and end is None:
        return now - WEEK_MS, now
    if start is None:
        assert end is not None
        return end - WEEK_MS, end
    if end is None:
        return start, start + WEEK_MS
    if end < start:
        raise param_error("endTime must not be before startTime")
    if end - start > WEEK_MS:
        raise param_error("the time range must not exceed 7 days")
    return start, end


def _cursor(p: Params, prefix: str) -> int | None:
    cursor = p.str("cursor", max_len=64)
    if cursor is None:
        return None
    if not (cursor.startswith(prefix) and cursor[1:].isascii() and cursor[1:].isdigit()):
        raise param_error("cursor is invalid")
    return int(cursor[1:])


def _scope(call: Call, p: Params, category: str, need_scope: bool) -> tuple[str | None, str | None, str | None]:
    symbol = p.symbol()
    base_coin = p.str("baseCoin", max_len=20)
    settle_coin = p.str("settleCoin", max_len=20)
    if need_scope and category in ("linear", "inverse") and not (symbol or base_coin or settle_coin):
        raise param_error("symbol, baseCoin or settleCoin is required")
    return symbol, base_coin, settle_coin


def _order_matches(call: Call, o: Order, category: str, symbol: str | None, base: str | None,
                   settle: str | None) -> bool:
    if o.category != category or (symbol is not None and o.symbol != symbol):
        return False
    inst = call.core.symbols[(o.category, o.symbol)].inst
    return (base is None or inst.base_coin == base) and (settle is None or inst.settle_coin == settle)


def _order_page(call: Call, p: Params, category: str, orders: list[Order], default_limit: int) -> dict[str, Any]:
    limit = p.limit(default_limit, 50)
    before = _cursor(p, "o")
    if before is not None:
        orders = [o for o in orders if o.order_id < before]
    chunk = orders[:limit]
    more = len(orders) > limit
    return {"category": category,
            "list": [ser.order(call.core.symbols[(o.category, o.symbol)], o) for o in chunk],
            "nextPageCursor": f"o{chunk[-1].order_id}" if more else ""}


def _by_id(call: Call, p: Params, category: str) -> tuple[bool, list[Order]]:
    raw_id = p.str("orderId", max_len=64)
    link = p.str("orderLinkId", max_len=64)
    if raw_id is None and link is None:
        return False, []
    uid = call.account.uid
    order_id = ids.parse_order_id(raw_id, category) if raw_id is not None else call.core.link_ids.get(
        (uid, link or ""), 0)
    o = call.core.orders.get(order_id)
    return True, [o] if o is not None and o.uid == uid and o.category == category else []


@V5.get("/v5/order/realtime")
async def realtime(call: Call) -> dict[str, Any]:
    p = call.params
    category = p.category(ORDER_CATEGORIES)
    open_only = p.int("openOnly", default=0, lo=0, hi=2)
    order_filter = p.enum("orderFilter", ("Order", "StopOrder", "tpslOrder", "OcoOrder", "BidirectionalTpslOrder"))
    if order_filter not in (None, "Order", "StopOrder"):
        return {"category": category, "list": [], "nextPageCursor": ""}
    by_id, found = _by_id(call, p, category)
    symbol, base, settle = _scope(call, p, category, need_scope=not by_id)
    account = call.account
    if by_id:  # ccxt's fetch_order: an order of any status, found by its id
        orders = [o for o in found if _order_matches(call, o, category, symbol, base, settle)]
    elif open_only:
        closed = [call.core.orders[i] for i in reversed(account.order_ids)]
        orders = [o for o in closed if o.status not in OPEN_STATUSES
                  and _order_matches(call, o, category, symbol, base, settle)][:500]
    else:
        pools = {None: (account.open_orders, account.conditionals), "Order": (account.open_orders,),
                 "StopOrder": (account.conditionals,)}[order_filter]
        orders = sorted((o for pool in pools for o in pool.values()
                         if _order_matches(call, o, category, symbol, base, settle)),
                        key=lambda o: o.order_id, reverse=True)
    return _order_page(call, p, category, orders, default_limit=20)


@V5.get("/v5/order/history")
async def history(call: Call) -> dict[str, Any]:
    p = call.params
    category = p.category(ORDER_CATEGORIES)
    status = p.enum("orderStatus", ("New", "PartiallyFilled", "Untriggered", "Rejected", "PartiallyFilledCanceled",
                                    "Filled", "Cancelled", "Triggered", "Deactivated"))
    order_filter = p.enum("orderFilter", ("Order", "StopOrder", "tpslOrder", "OcoOrder", "BidirectionalTpslOrder"))
    if order_filter not in (None, "Order", "StopOrder"):
        return {"category": category, "list": [], "nextPageCursor": ""}
    by_id, found = _by_id(call, p, category)
    symbol, base, settle = _scope(call, p, category, need_scope=False)
    start, end = time_window(p, call.now_ms)
    if by_id:
        orders = found
    else:
        orders = [call.core.orders[i] for i in reversed(call.account.order_ids)]
        orders = [o for o in orders if start <= o.created_ts <= end]
    now = call.now_ms
    orders = [o for o in orders if _order_matches(call, o, category, symbol, base, settle)
              and _in_history(o, now) and (status is None or o.status == status)
              and (order_filter is None or (o.stop_order_type == "Stop") == (order_filter == "StopOrder"))]
    return _order_page(call, p, category, orders, default_limit=20)


def _in_history(o: Order, now: int) -> bool:
    """Bybit's order history of a unified account (order/order-list.mdx): closed orders only (open ones are in
    /v5/order/realtime); an order that ended without a fill (Cancelled, Rejected, Deactivated) for 24 hours after
    it ended (so beyond 7 days only orders with fills)."""
    if o.status not in CLOSED_STATUSES:
        return False
    if o.cum_qty == 0 and not o.quote_spent:
        return o.updated_ts >= now - DAY_MS
    return True


@V5.get("/v5/execution/list")
async def executions(call: Call) -> dict[str, Any]:
    p = call.params
    category = p.category(ORDER_CATEGORIES)
    symbol, base, settle = _scope(call, p, category, need_scope=False)
    exec_type = p.enum("execType", ("Trade", "AdlTrade", "Funding", "BustTrade", "Delivery", "Settle",
                                    "BlockTrade", "MovePosition", "FutureSpread"))
    start, end = time_window(p, call.now_ms)
    limit = p.limit(50, 100)
    before = _cursor(p, "e")
    by_id, found = _by_id(call, p, category)
    order_ids = {o.order_id for o in found}
    rows: list[tuple[int, Execution]] = []  # (position in the account's execution list, execution)
    more = False
    history = call.account.executions
    # the cursor is a position in the account's append-only list: both sides of a self-trade share an execId
    top = len(history) if before is None else min(before, len(history))
    for index in range(top - 1, -1, -1):
        e = history[index]
        if e.category != category or not (start <= e.ts <= end):
            continue
        if exec_type is not None and e.exec_type != exec_type:
            continue
        if by_id and e.order_id not in order_ids:
            continue
        if symbol is not None and e.symbol != symbol:
            continue
        inst = call.core.symbols[(e.category, e.symbol)].inst
        if (base is not None and inst.base_coin != base) or (settle is not None and inst.settle_coin != settle):
            continue
        if len(rows) == limit:
            more = True
            break
        rows.append((index, e))
    # execFeeV2: the spot leg's fee of a FutureSpread execution (order/execution.mdx), which paperex has none of
    out = [{**ser.execution(call.core.symbols[(e.category, e.symbol)], e, call.core.orders.get(e.order_id)),
            "execFeeV2": ""} for _, e in rows]
    return {"category": category, "list": out, "nextPageCursor": f"e{rows[-1][0]}" if more else ""}

