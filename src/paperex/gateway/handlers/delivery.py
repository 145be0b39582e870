"""Dated futures' deliveries: the public delivery prices (``/v5/market/delivery-price``) and an account's
delivery records (``/v5/asset/delivery-record``)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from paperex.core.book import BUY
from paperex.core.delivery import TRADING
from paperex.core.numbers import MONEY_SCALE
from paperex.core.orders import Execution
from paperex.core.symbol import SymbolState
from paperex.gateway import trade_serializers as tser
from paperex.gateway.endpoints import V5, Call
from paperex.gateway.handlers.asset import WALLET
from paperex.gateway.handlers.market import page
from paperex.gateway.params import param_error

DAY = 86_400_000
RECORD_WINDOW = 30 * DAY


@V5.get("/v5/market/delivery-price", auth=False)
async def delivery_price(call: Call) -> dict[str, Any]:
    """Delivered contracts, newest delivery first. Bybit's ``settleCoin`` defaults to USDC for linear (pass
    USDT for USDT futures); inverse contracts settle in their base coin, so it does not filter them."""
    p = call.params
    category = p.category(("linear", "inverse"))
    symbol = p.symbol()
    p.str("baseCoin", max_len=20)  # options only
    settle = p.str("settleCoin", max_len=20) or "USDC"
    rows = []
    for st in call.core.symbols.values():
        inst = st.inst
        if inst.category != category or not inst.delivery_time or st.status == TRADING:
            continue
        if symbol is not None and inst.symbol != symbol:
            continue
        if symbol is None and category == "linear" and inst.settle_coin != settle:
            continue
        rows.append((inst.delivery_time, inst.symbol, st))
    rows.sort(key=lambda r: (-r[0], r[1]))
    chunk, cursor = page(rows, p, default_limit=50, max_limit=200)
    return {"category": category, "nextPageCursor": cursor,
            "list": [{"symbol": sym, "deliveryPrice": tser.price(st, st.delivery_price), "deliveryTime": str(at)}
                     for at, sym, st in chunk]}


@V5.get("/v5/asset/delivery-record", permission=WALLET)
async def delivery_record(call: Call) -> dict[str, Any]:
    """The account's positions closed by a delivery (executions ``Delivery`` / ``Settle``), newest first: the
    last 30 days unless ``startTime``/``endTime`` say otherwise (at most 30 days apart)."""
    p = call.params
    category = p.category(("linear", "inverse", "option"))
    symbol = p.symbol()
    exp_date = p.str("expDate", max_len=10)
    start, end = p.int("startTime"), p.int("endTime")
    if start is not None and end is not None and not 0 <= end - start <= RECORD_WINDOW:
        raise param_error("startTime and endTime must be at most 30 days apart, the end after the start")
    if end is None:
        end = start + RECORD_WINDOW if start is not None else call.now_ms
    if start is None:
        start = end - RECORD_WINDOW
    limit = p.limit(20, 50)
    rows = []
    for e in reversed(call.account.executions):
        if e.exec_type not in ("Delivery", "Settle") or e.category != category:
            continue
        if (symbol is not None and e.symbol != symbol) or not start <= e.ts <= end:
            continue
        st = call.core.symbols[(e.category, e.symbol)]
        if exp_date is not None and exp_date.upper() != _exp_date(st.inst.delivery_time):
            continue
        rows.append((e, st))
    chunk, cursor = page(rows, p, default_limit=limit, max_limit=50, limit=limit)
    out = []
    for e, st in chunk:
        out.append({
            "deliveryTime": e.ts,  # a number, as Bybit sends it
            "symbol": e.symbol,
            "side": "Buy" if e.side != BUY else "Sell",  # the side of the position delivered
            "position": tser.qty(st, e.qty),
            "entryPrice": _entry_price(st, e),
            "deliveryPrice": tser.price(st, e.price),
            "strike": "",
            "fee": tser.money(e.fee),
            "deliveryRpl": tser.money(e.pnl - e.fee),
        })
    return {"category": category, "list": out, "nextPageCursor": cursor}


def _entry_price(st: SymbolState, e: Execution) -> str:
    """The average entry of the lots delivered (inverse: the harmonic mean, from the exact record)."""
    if st.grid.inverse:
        return tser.trim(Decimal(e.qty * 10**20) / Decimal(e.entry_inv_closed) * st.grid.tick) \
            if e.entry_inv_closed else ""
    return tser.trim(Decimal(e.entry_closed) / MONEY_SCALE / st.grid.qty(e.qty)) if e.entry_closed else ""


def _exp_date(ms: int) -> str:
    """Bybit's ``expDate`` form: 25MAR22."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%d%b%y").upper()

