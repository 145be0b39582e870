"""``/v5/market/*``: public market data."""

from __future__ import annotations

from typing import Any

from paperex.core.instruments import Instrument
from paperex.data import load_listings
from paperex.errors import ApiError, Code
from paperex.gateway import serializers
from paperex.gateway.endpoints import V5, Call
from paperex.gateway.params import ALL_CATEGORIES, Params, param_error

INSTRUMENT_STATUSES = ("PreLaunch", "Trading", "Delivering", "Closed")
RISK_LIMIT_PAGE = 15  # Bybit pages linear risk limits 15 symbols at a time


def page(items: list[Any], params: Params, default_limit: int, max_limit: int,
         limit: int | None = None) -> tuple[list[Any], str]:
    """Offset pagination with an opaque-looking cursor made only of URL-safe characters."""
    if limit is None:
        limit = params.int("limit", default=default_limit, lo=1, hi=max_limit)
    cursor = params.str("cursor", max_len=64)
    start = 0
    if cursor is not None:
        if not (cursor.startswith("p") and cursor[1:].isascii() and cursor[1:].isdigit()):
            raise param_error("cursor is invalid")
        start = int(cursor[1:])
    assert limit is not None
    chunk = items[start:start + limit]
    more = start + limit < len(items)
    return chunk, f"p{start + limit}" if more else ""


@V5.get("/v5/market/time", auth=False)
async def server_time(call: Call) -> dict[str, str]:
    return {"timeSecond": str(call.now_ns // 1_000_000_000), "timeNano": str(call.now_ns)}


def _select(call: Call, category: str) -> list[Instrument]:
    p = call.params
    symbol = p.symbol()
    base_coin = p.str("baseCoin", max_len=20)
    found = [i for i in call.core.market.by_category(category)
             if (symbol is None or i.symbol == symbol) and (base_coin is None or i.base_coin == base_coin)]
    return sorted(found, key=lambda i: i.symbol)


@V5.get("/v5/market/instruments-info", auth=False)
async def instruments_info(call: Call) -> dict[str, Any]:
    p = call.params
    category = p.category(ALL_CATEGORIES)
    status = p.enum("status", INSTRUMENT_STATUSES, default="Trading")  # Bybit lists Trading by default
    selected = [i for i in _select(call, category) if i.status == status]
    if category == "spot":  # spot is not paged
        p.int("limit", lo=1, hi=1000)
        chunk, cursor = selected, ""
    else:
        chunk, cursor = page(selected, p, default_limit=500, max_limit=1000)
    listings = load_listings()
    return {"category": category, "list": [serializers.instrument(i, listings[i.key]) for i in chunk],
            "nextPageCursor": cursor}


@V5.get("/v5/market/risk-limit", auth=False)
async def risk_limit(call: Call) -> dict[str, Any]:
    p = call.params
    category = p.category(("linear", "inverse"))
    symbol = p.symbol()
    selected = _select(call, category)
    if symbol is not None and not selected:
        raise ApiError(Code.PARAM_ERROR, f"symbol {symbol} does not exist")
    chunk, cursor = page(selected, p, default_limit=RISK_LIMIT_PAGE, max_limit=RISK_LIMIT_PAGE,
                         limit=RISK_LIMIT_PAGE)
    rows = [serializers.risk_tier(i.symbol, t) for i in chunk for t in i.risk_tiers]
    return {"category": category, "list": rows, "nextPageCursor": cursor}
