"""``/v5/market/open-interest``, ``/v5/market/account-ratio``, ``/v5/market/price-limit``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from paperex.core import trading
from paperex.core.samples import account_counts
from paperex.core.symbol import SymbolState
from paperex.gateway import market_stats
from paperex.gateway import trade_serializers as tser
from paperex.gateway.endpoints import V5, Call
from paperex.gateway.handlers.market import TRADED, _state
from paperex.gateway.handlers.market import derivative_symbol as _derivative


def _window(call: Call, period_name: str, max_limit: int) -> tuple[SymbolState, list[int], str]:
    """The symbol and the period boundaries a history request asks for (newest first), and the next cursor."""
    p = call.params
    st = _derivative(call)
    period = p.enum(period_name, market_stats.PERIODS_MS, required=True)
    assert period is not None
    limit = p.limit(50, max_limit)
    now = call.now_ms
    times, cursor = market_stats.boundaries(p, market_stats.PERIODS_MS[period],
                                            market_stats.earliest(call.core, st, now), now, limit)
    return st, times, cursor


@V5.get("/v5/market/open-interest", auth=False)
async def open_interest(call: Call) -> dict[str, Any]:
    st, times, cursor = _window(call, "intervalTime", 200)
    rows = [{"openInterest": market_stats.oi_text(st, market_stats.open_interest(call.core, st, t)),
             "timestamp": str(t)} for t in times]
    return {"symbol": st.inst.symbol, "category": st.inst.category, "list": rows, "nextPageCursor": cursor}


@V5.get("/v5/market/account-ratio", auth=False)
async def account_ratio(call: Call) -> dict[str, Any]:
    st, times, cursor = _window(call, "period", 500)
    live = account_counts(call.core).get(st.inst.key, (0, 0)) if times else None
    rows = []
    for t in times:
        buy = market_stats.buy_ratio(call.core, st, t, live)
        rows.append({"symbol": st.inst.symbol, "buyRatio": tser.trim(buy), "sellRatio": tser.trim(Decimal(1) - buy),
                     "timestamp": str(t)})
    return {"list": rows, "nextPageCursor": cursor}


def price_limit_row(st, now: int) -> dict[str, str]:
    """The band an order meets now (core.trading.band): the highest buy and the lowest sell price."""
    max_buy, min_sell = trading.band(st)
    return {"symbol": st.inst.symbol, "buyLmt": tser.price(st, max_buy), "sellLmt": tser.price(st, min_sell),
            "ts": str(now)}


@V5.get("/v5/market/price-limit", auth=False)
async def price_limit(call: Call) -> dict[str, Any]:
    p = call.params
    category = p.category(TRADED, required=False, default="linear")
    st = _state(call, category, p.symbol(required=True))
    return price_limit_row(st, call.now_ms)
