"""``/v5/position/*``: the account's positions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from paperex.core.accounts import Account
from paperex.core.commands import (
    AddMargin,
    SetAutoAddMargin,
    SetLeverage,
    SetMarginMode,
    SetRiskLimit,
    SetTpslMode,
    SetTradingStop,
    SwitchPositionMode,
)
from paperex.core.numbers import MONEY_SCALE, to_units
from paperex.core.orders import SIDE_NAMES, Execution, Order
from paperex.core.positions import DEFAULT_LEVERAGE
from paperex.core.symbol import SymbolState
from paperex.errors import ApiError, Code
from paperex.gateway import ids
from paperex.gateway.auth import Permission
from paperex.gateway.endpoints import V5, Call
from paperex.gateway.handlers.market import derivative_symbol, page
from paperex.gateway.handlers.trade import TRIGGER_BY, time_window
from paperex.gateway.handlers.trade import _lots as lots_of
from paperex.gateway.handlers.trade import _ticks as tick_of
from paperex.gateway.params import param_error
from paperex.gateway.position_serializers import position, symbol_positions
from paperex.gateway.trade_serializers import _num, money, price, qty, trim

POSITION_CATEGORIES = ("linear", "inverse", "option")
WRITE_POSITION = Permission(write=True, group="ContractTrade", any_of=("Position",))


@V5.get("/v5/position/list")
async def position_list(call: Call) -> dict[str, Any]:
    p = call.params
    category = p.category(POSITION_CATEGORIES)
    symbol = p.symbol()
    settle_coin = p.str("settleCoin", max_len=20)
    p.str("baseCoin", max_len=20)  # options only; paperex lists no options
    core, account = call.core, call.account
    if category == "option":
        return {"category": category, "list": [], "nextPageCursor": ""}
    if symbol is not None:  # a symbol answers even when flat
        st = core.symbols.get((category, symbol))
        if st is None:
            raise param_error(f"symbol {symbol} does not exist")
        rows = symbol_positions(st, account, core)
        chunk, cursor = page(rows, p, default_limit=20, max_limit=200)
        return {"category": category, "list": chunk, "nextPageCursor": cursor}
    if category == "linear" and settle_coin is None:
        raise param_error("symbol or settleCoin is required")
    held = sorted((key, pos) for key, pos in account.positions.items()
                  if key[0] == category and pos.size
                  and (settle_coin is None or core.symbols[key[:2]].inst.settle_coin == settle_coin))
    rows = [position(core.symbols[key[:2]], account, pos, core) for key, pos in held]
    chunk, cursor = page(rows, p, default_limit=20, max_limit=200)
    return {"category": category, "list": chunk, "nextPageCursor": cursor}


def _leverage(call: Call, name: str) -> int:
    value = call.params.decimal(name, required=True)
    assert value is not None
    hundredths = value * 100
    if hundredths != hundredths.to_integral_value() or hundredths <= 0:
        raise param_error(f"{name} must be a positive number with at most 2 decimals")
    return int(hundredths)


@V5.post("/v5/position/set-leverage", permission=WRITE_POSITION)
async def set_leverage(call: Call) -> dict[str, Any]:
    category, symbol = derivative_symbol(call).inst.key
    await call.sequencer.submit(SetLeverage(uid=call.account.uid, category=category, symbol=symbol,
                                            buy_leverage=_leverage(call, "buyLeverage"),
                                            sell_leverage=_leverage(call, "sellLeverage")))
    return {}


@V5.post("/v5/position/set-risk-limit", permission=WRITE_POSITION)
async def set_risk_limit(call: Call) -> dict[str, Any]:
    p = call.params
    st = derivative_symbol(call)
    category = st.inst.category
    risk_id = p.int("riskId", lo=1, hi=10**6)
    if risk_id is None:
        raise param_error("riskId is required")
    await call.sequencer.submit(SetRiskLimit(uid=call.account.uid, category=category, symbol=st.inst.symbol,
                                             risk_id=risk_id, position_idx=_position_idx(call)))
    tier = next(t for t in st.inst.risk_tiers if t.id == risk_id)
    return {"category": category, "riskId": risk_id, "riskLimitValue": trim(tier.risk_limit_value)}


def _position_idx(call: Call) -> int:
    """``positionIdx``: 0 one-way, 1/2 the sides in hedge mode (the core checks it against the mode)."""
    idx = call.params.int("positionIdx", default=0, lo=0, hi=2)
    assert idx is not None
    return idx


@V5.post("/v5/position/add-margin", permission=WRITE_POSITION)
async def add_margin(call: Call) -> dict[str, Any]:
    """Isolated margin: add (or, negative, reduce) the margin a position holds."""
    category, symbol = derivative_symbol(call).inst.key
    idx = _position_idx(call)
    amount = call.params.decimal("margin", required=True)
    assert amount is not None
    try:
        units = to_units(amount)
    except ValueError:
        raise param_error("margin has too many decimals") from None
    await call.sequencer.submit(AddMargin(uid=call.account.uid, category=category, symbol=symbol, amount=units,
                                          position_idx=idx))
    st = call.core.symbols[(category, symbol)]
    row = position(st, call.account, call.account.positions.get((category, symbol, idx)), call.core, idx=idx)
    return {"category": category, **{k: row[k] for k in (
        "symbol", "positionIdx", "riskId", "riskLimitValue", "size", "avgPrice", "liqPrice", "bustPrice",
        "markPrice", "positionValue", "leverage", "autoAddMargin", "positionStatus", "positionIM", "positionMM",
        "takeProfit", "stopLoss", "trailingStop", "unrealisedPnl", "cumRealisedPnl", "createdTime",
        "updatedTime")}}


@V5.post("/v5/position/set-auto-add-margin", permission=WRITE_POSITION)
async def set_auto_add_margin(call: Call) -> dict[str, Any]:
    category, symbol = derivative_symbol(call).inst.key
    idx = _position_idx(call)
    flag = call.params.raw("autoAddMargin")
    if flag not in (0, 1, "0", "1"):
        raise param_error("autoAddMargin must be 0 or 1")
    await call.sequencer.submit(SetAutoAddMargin(uid=call.account.uid, category=category, symbol=symbol,
                                                 enabled=int(flag) == 1, position_idx=idx))
    return {}


@V5.get("/v5/position/closed-pnl")
async def closed_pnl(call: Call) -> dict[str, Any]:
    """One record per order that closed some position, from its fills: closedPnl = the realised PnL less the
    fees paid to open the closed lots and to close them."""
    p = call.params
    category = p.category(("linear", "inverse"))
    symbol = p.symbol()
    start, end = time_window(p, call.now_ms)
    core, account = call.core, call.account
    groups: dict[int, list[Execution]] = {}
    fills: dict[int, int] = {}
    for e in account.executions:
        if e.category != category or (symbol is not None and e.symbol != symbol) or not e.order_id:
            continue
        fills[e.order_id] = fills.get(e.order_id, 0) + 1
        if e.closed_qty:
            groups.setdefault(e.order_id, []).append(e)
    rows = []
    for order_id, closing in groups.items():
        updated = closing[-1].ts
        if start <= updated <= end:
            rows.append((updated, order_id, closing))
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    out = [_closed_pnl_row(core.symbols[(category, core.orders[oid].symbol)], account, core.orders[oid], closing,
                           fills[oid]) for _, oid, closing in rows]
    chunk, cursor = page(out, p, default_limit=50, max_limit=100)
    return {"category": category, "list": chunk, "nextPageCursor": cursor}


def _closed_pnl_row(st: SymbolState, account: Account, order: Order, closing: list[Execution],
                    fill_count: int) -> dict[str, Any]:
    lots = sum(e.closed_qty for e in closing)
    exit_value = sum(e.value * e.closed_qty // e.qty for e in closing)
    close_fee = sum(e.fee * e.closed_qty // e.qty for e in closing)
    open_fee = sum(e.open_fee for e in closing)
    pnl = sum(e.pnl for e in closing)
    entry_value = sum(e.entry_closed for e in closing)
    entry_inv = sum(e.entry_inv_closed for e in closing)
    exit_inv = sum(e.closed_qty * 10**20 // e.price for e in closing)

    def avg(value: int, inv: int) -> str:
        if st.grid.inverse:  # the harmonic mean of the prices, from the exact per-fill record
            return _num(Decimal(lots * 10**20) / Decimal(inv) * st.grid.tick) if inv else "0"
        return _num(Decimal(value) / MONEY_SCALE / st.grid.qty(lots)) if value else "0"

    pos = account.positions.get((order.category, order.symbol, order.position_idx))
    return {
        "symbol": order.symbol,
        "orderId": ids.order_id(order.order_id, order.category),
        "side": SIDE_NAMES[order.side],
        "qty": qty(st, order.qty),
        "orderPrice": price(st, order.price),
        "orderType": order.order_type,
        "execType": closing[-1].exec_type,
        "closedSize": qty(st, lots),
        "cumEntryValue": money(entry_value),
        "avgEntryPrice": avg(entry_value, entry_inv),
        "cumExitValue": money(exit_value),
        "avgExitPrice": avg(exit_value, exit_inv),
        "closedPnl": money(pnl - open_fee - close_fee),
        "fillCount": str(fill_count),
        "leverage": _num(Decimal(pos.leverage if pos else DEFAULT_LEVERAGE) / 100),
        "openFee": money(open_fee),
        "closeFee": money(close_fee),
        "createdTime": str(order.created_ts),
        "updatedTime": str(closing[-1].ts),
    }


@V5.post("/v5/position/trading-stop", permission=WRITE_POSITION)
async def trading_stop(call: Call) -> dict[str, Any]:
    """Full-mode take profit and stop loss of a position ("0" removes one)."""
    p = call.params
    st = derivative_symbol(call)
    idx = _position_idx(call)
    category = st.inst.category
    mode = p.enum("tpslMode", ("Full", "Partial"))  # None: the symbol's mode (set-tpsl-mode)
    if mode is None:
        mode = call.account.tpsl_modes.get(st.inst.key, "Full")  # only to check the parameters; the core decides
    partial = mode == "Partial"
    if not partial:
        for name in ("tpSize", "slSize", "tpLimitPrice", "slLimitPrice"):
            if p.raw(name) not in (None, "", "0"):
                raise param_error(f"{name} works in Partial mode only")

    def price_of(name: str) -> int | None:
        value = p.decimal(name)
        if value is None:
            return None
        if value < 0:
            raise param_error(f"{name} must not be negative")
        return 0 if value == 0 else tick_of(st, value)

    legs: dict[str, Any] = {}
    if partial:
        for leg, price_name in (("tp", "takeProfit"), ("sl", "stopLoss")):
            if not price_of(price_name):
                continue
            size = p.decimal(f"{leg}Size", required=True)
            assert size is not None
            legs[f"{leg}_size"] = lots_of(st, size)
            kind = p.enum(f"{leg}OrderType", ("Market", "Limit"), default="Market")
            if kind == "Limit":
                limit = price_of(f"{leg}LimitPrice")
                if not limit:
                    raise param_error(f"{leg}LimitPrice is required for a Limit {leg.upper()} order")
                legs[f"{leg}_limit"] = limit
    await call.sequencer.submit(SetTradingStop(partial=None if p.raw("tpslMode") is None else partial, **legs,
        uid=call.account.uid, category=category, symbol=st.inst.symbol, take_profit=price_of("takeProfit"),
        stop_loss=price_of("stopLoss"),
        tp_trigger_by=p.enum("tpTriggerBy", TRIGGER_BY, default="LastPrice") or "LastPrice",
        sl_trigger_by=p.enum("slTriggerBy", TRIGGER_BY, default="LastPrice") or "LastPrice",
        trailing_stop=price_of("trailingStop"), active_price=price_of("activePrice") or 0, position_idx=idx))
    return {}


@V5.post("/v5/position/switch-mode", permission=WRITE_POSITION)
async def switch_mode(call: Call) -> dict[str, Any]:
    """One-way (``mode`` 0) or hedge mode (3), for a symbol or for every symbol of a settle coin."""
    p = call.params
    category = p.category(("linear", "inverse"))
    symbol = p.symbol()
    coin = p.str("coin", max_len=20)
    if symbol is None and coin is None:
        raise param_error("symbol or coin is required")
    mode = p.raw("mode")
    if mode not in (0, 3, "0", "3"):
        raise param_error("mode must be 0 (one-way) or 3 (hedge)")
    await call.sequencer.submit(SwitchPositionMode(uid=call.account.uid, category=category, mode=int(mode),
                                                   symbol=symbol or "", coin=(coin or "") if symbol is None else ""))
    return {}


@V5.post("/v5/position/set-tpsl-mode", permission=WRITE_POSITION)
async def set_tpsl_mode(call: Call) -> dict[str, Any]:
    """The symbol's TP/SL mode (the default of ``trading-stop``): refused while TP/SL orders wait on it."""
    st = derivative_symbol(call)
    mode = call.params.enum("tpSlMode", ("Full", "Partial"), required=True)
    assert mode is not None
    await call.sequencer.submit(SetTpslMode(uid=call.account.uid, category=st.inst.category, symbol=st.inst.symbol,
                                            mode=mode))
    return {"tpSlMode": mode}


@V5.post("/v5/position/switch-isolated", permission=WRITE_POSITION)
async def switch_isolated(call: Call) -> dict[str, Any]:
    """Classic accounts: cross (``tradeMode`` 0) or isolated (1) margin, with the leverage to use. paperex keeps
    one margin mode per account, so the switch applies to every symbol (Bybit: to this one); 110026 when it is
    already so, 110073 while derivatives positions or orders exist. Unified accounts use set-margin-mode."""
    p = call.params
    st = derivative_symbol(call)
    mode = p.raw("tradeMode")
    if mode not in (0, 1, "0", "1"):
        raise param_error("tradeMode must be 0 (cross) or 1 (isolated)")
    buy, sell = _leverage(call, "buyLeverage"), _leverage(call, "sellLeverage")
    if not call.account.classic:
        raise param_error("switch-isolated is for classic accounts; a unified account uses "
                          "/v5/account/set-margin-mode")
    await call.sequencer.submit(SetMarginMode(uid=call.account.uid,
                                              mode="ISOLATED_MARGIN" if int(mode) == 1 else "REGULAR_MARGIN"))
    try:
        await call.sequencer.submit(SetLeverage(uid=call.account.uid, category=st.inst.category,
                                                symbol=st.inst.symbol, buy_leverage=buy, sell_leverage=sell))
    except ApiError as err:
        if err.code != Code.LEVERAGE_NOT_MODIFIED:
            raise
    return {}
