"""Orders, executions and market data -> V5 JSON."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from paperex.core.book import BUY
from paperex.core.numbers import MONEY_SCALE, format_decimal, format_units
from paperex.core.orders import SIDE_NAMES, Execution, Order, PublicTrade
from paperex.core.symbol import SymbolState
from paperex.gateway import ids

_8DP = Decimal("0.00000001")


def _num(value: Decimal) -> str:
    """A decimal rendered plainly with at most 8 decimals and no trailing zeros."""
    return trim(value.quantize(_8DP, rounding=ROUND_HALF_UP))


def trim(value: Decimal) -> str:
    """Bybit renders prices and quantities without trailing zeros: 102000, 0.2, 160995.3."""
    text = format_decimal(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def price(st: SymbolState, ticks: int) -> str:
    return trim(st.grid.price(ticks))


def qty(st: SymbolState, lots: int) -> str:
    return trim(st.grid.qty(lots))


def money(units: int) -> str:
    return format_units(units)


def avg_price(st: SymbolState, o: Order) -> str:
    if o.cum_qty == 0 or o.cum_value == 0:
        return ""
    if st.grid.inverse:  # contracts / sum(contracts / price), from the exact per-fill record
        return _num(Decimal(o.cum_qty * 10**20) / Decimal(o.cum_inv) * st.grid.tick)
    return _num(Decimal(o.cum_value) / MONEY_SCALE / st.grid.qty(o.cum_qty))


def order(st: SymbolState, o: Order) -> dict[str, Any]:
    fee = money(o.cum_fee)
    spot = o.category == "spot"
    if o.quote_qty:  # a spot market buy by quote amount shows that amount; the unspent part is leavesValue
        shown_qty, leaves_value = money(o.quote_qty), max(0, o.quote_qty - o.quote_spent) if o.status != "Filled" else 0
    else:
        shown_qty, leaves_value = qty(st, o.qty), st.grid.value(o.price, o.leaves) if o.leaves else 0
    row = {
        "orderId": ids.order_id(o.order_id, o.category),
        "orderLinkId": o.order_link_id,
        "blockTradeId": "",
        "symbol": o.symbol,
        "price": price(st, o.price),
        "qty": shown_qty,
        "side": SIDE_NAMES[o.side],
        "isLeverage": "0" if o.category == "spot" else "",
        "positionIdx": o.position_idx,
        "orderStatus": o.status,
        "createType": "" if o.category == "spot" else o.create_type,
        "cancelType": o.cancel_type,
        "rejectReason": o.reject_reason,
        "avgPrice": avg_price(st, o),
        "leavesQty": qty(st, o.leaves),
        "leavesValue": money(leaves_value),
        "cumExecQty": qty(st, o.cum_qty),
        "cumExecValue": money(o.cum_value),
        "cumExecFee": fee,
        "cumFeeDetail": {o.fee_coin: fee} if o.cum_fee else {},
        "timeInForce": o.tif,
        "orderType": o.order_type,
        "stopOrderType": o.stop_order_type,
        "orderIv": "",
        "marketUnit": o.market_unit,
        "slippageToleranceType": "UNKNOWN",
        "slippageTolerance": "0",
        "triggerPrice": price(st, o.trigger_price) if o.trigger_price else "",
        "takeProfit": price(st, o.take_profit) if o.take_profit else "",
        "stopLoss": price(st, o.stop_loss) if o.stop_loss else "",
        "tpslMode": o.tpsl_mode if o.take_profit or o.stop_loss else "",
        "ocoTriggerBy": "",
        "tpLimitPrice": price(st, o.tp_limit) if o.tp_limit else "0",
        "slLimitPrice": price(st, o.sl_limit) if o.sl_limit else "0",
        "tpTriggerBy": o.tp_trigger_by if o.take_profit else "",
        "slTriggerBy": o.sl_trigger_by if o.stop_loss else "",
        "triggerDirection": o.trigger_direction,
        "triggerBy": o.trigger_by,
        "lastPriceOnCreated": price(st, o.last_price_on_created) if o.last_price_on_created else "",
        "basePrice": price(st, o.last_price_on_created) if o.category == "spot" and o.last_price_on_created else "",
        "reduceOnly": o.reduce_only,
        "closeOnTrigger": o.close_on_trigger,
        "placeType": "",
        "smpType": o.smp_type,
        "smpGroup": 0,
        "smpOrderId": ids.order_id(o.smp_order_id, o.category) if o.smp_order_id else "",
        "parentOrderLinkId": "",
        "extraFees": "",
        "createdTime": str(o.created_ts),
        "updatedTime": str(o.updated_ts),
    }
    if spot:  # Bybit: "Spot does not have this field" (ccxt tells spot from contract orders by them)
        del row["tpslMode"], row["createType"]
    return row


def execution(st: SymbolState, e: Execution, o: Order | None) -> dict[str, Any]:
    """``o``: the execution's order (None for funding, which has none)."""
    spot = e.category == "spot"
    row = {
        "symbol": e.symbol,
        "orderId": ids.order_id(e.order_id, e.category) if e.order_id else "",  # funding has no order
        "orderLinkId": e.order_link_id,
        "side": SIDE_NAMES[e.side],
        "orderPrice": price(st, e.order_price),
        "orderQty": qty(st, e.order_qty),
        "leavesQty": qty(st, e.leaves),
        "createType": "" if e.category == "spot" or o is None else o.create_type,
        "orderType": e.order_type,
        "stopOrderType": o.stop_order_type if o is not None else "",
        "execFee": money(e.fee),
        "execId": ids.exec_id(e.exec_id, e.category),
        "execPrice": price(st, e.price),
        "execQty": qty(st, e.qty),
        "execType": e.exec_type,
        "execValue": money(e.value),
        "execTime": str(e.ts),
        "feeCurrency": e.fee_coin,
        "isMaker": e.is_maker,
        "feeRate": money(e.fee_rate),
        "tradeIv": "",
        "markIv": "",
        "markPrice": "" if spot else price(st, e.mark_price),
        "indexPrice": "",
        "underlyingPrice": "",
        "blockTradeId": "",
        "closedSize": "" if spot else qty(st, e.closed_qty),
        "extraFees": "",
        "seq": e.seq,
    }
    if spot:
        del row["createType"]
    return row


def public_trade(st: SymbolState, t: PublicTrade) -> dict[str, Any]:
    return {
        "execId": ids.exec_id(t.exec_id, st.inst.category),
        "symbol": st.inst.symbol,
        "price": price(st, t.price),
        "size": qty(st, t.qty),
        "side": "Buy" if t.side == BUY else "Sell",
        "time": str(t.ts),
        "isBlockTrade": False,
        "isRPITrade": False,
        "seq": str(t.seq),
    }


def kline_row(st: SymbolState, start: int, bar: list[int], with_volume: bool = True) -> list[str]:
    row = [str(start), price(st, bar[0]), price(st, bar[1]), price(st, bar[2]), price(st, bar[3])]
    if with_volume:
        row += [qty(st, bar[4]), money(bar[5])]
    return row
