"""``/v5/market/*``: public market data."""

from __future__ import annotations

from typing import Any

from paperex.core import risk
from paperex.core.candles import INTERVALS
from paperex.core.instruments import Instrument
from paperex.core.numbers import from_units
from paperex.core.symbol import SymbolState
from paperex.data import load_listings
from paperex.errors import ApiError, Code
from paperex.gateway import market_data, serializers
from paperex.gateway import trade_serializers as tser
from paperex.gateway.endpoints import V5, Call
from paperex.gateway.params import ALL_CATEGORIES, Params, param_error

INSTRUMENT_STATUSES = ("PreLaunch", "Trading", "Delivering", "Closed")
RISK_LIMIT_PAGE = 15  # Bybit pages linear risk limits 15 symbols at a time


def page(items: list[Any], params: Params, default_limit: int, max_limit: int,
         limit: int | None = None) -> tuple[list[Any], str]:
    """Offset pagination with an opaque-looking cursor made only of URL-safe characters."""
    if limit is None:
        limit = params.limit(default_limit, max_limit)
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
    found = [i for i in call.core.instruments_of(category)
             if (symbol is None or i.symbol == symbol) and (base_coin is None or i.base_coin == base_coin)]
    return sorted(found, key=lambda i: i.symbol)


@V5.get("/v5/market/instruments-info", auth=False)
async def instruments_info(call: Call) -> dict[str, Any]:
    p = call.params
    category = p.category(ALL_CATEGORIES)
    status = p.enum("status", INSTRUMENT_STATUSES, default="Trading")  # Bybit lists Trading by default
    symbols = call.core.symbols
    selected = [i for i in _select(call, category) if symbols[i.key].status == status]
    if category == "spot":  # spot is not paged
        p.limit(500, 1000)
        chunk, cursor = selected, ""
    else:
        chunk, cursor = page(selected, p, default_limit=500, max_limit=1000)
    return {"category": category,
            "list": [serializers.instrument(i, listing(i), symbols[i.key].status) for i in chunk],
            "nextPageCursor": cursor}


def listing(inst: Instrument) -> dict[str, Any]:
    """Bybit's descriptive listing fields: the data file's, or for a dated future its perpetual's with the
    contract's own symbol, type, dates and fees (a future has no funding)."""
    listings = load_listings()
    if not inst.delivery_time:
        return listings[inst.key]
    out = dict(listings[(inst.category, inst.source)])
    out.update({
        "symbol": inst.symbol,
        "contractType": inst.contract_type,
        "quoteCoin": inst.quote_coin,
        "settleCoin": inst.settle_coin,
        "launchTime": str(inst.launch_time),
        "deliveryTime": str(inst.delivery_time),
        "deliveryFeeRate": serializers.format_decimal(inst.delivery_fee_rate),
        "fundingInterval": 0,
        "upperFundingRate": "",
        "lowerFundingRate": "",
        "copyTrading": "none",
        "displayName": (f"{inst.base_coin}{inst.quote_coin}{delivery_tag(inst.delivery_time)}"
                        if inst.category == "inverse" else inst.symbol),
    })
    return out


def delivery_tag(ms: int) -> str:
    """MMDD of the delivery date: inverse futures' display name (BTCUSD1225 for BTCUSDZ26)."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%m%d")


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


# -- order book, tape, tickers, candles -----------------------------------------------------------------
TRADED = ("linear", "inverse", "spot")


def _state(call: Call, category: str, symbol: str | None) -> SymbolState:
    if symbol is None:
        raise param_error("symbol is required")
    st = call.core.symbols.get((category, symbol))
    if st is None:
        raise param_error(f"symbol {symbol} does not exist in {category}")
    return st


@V5.get("/v5/market/orderbook", auth=False)
async def orderbook(call: Call) -> dict[str, Any]:
    p = call.params
    category = p.category(TRADED)
    st = _state(call, category, p.symbol(required=True))
    limit = p.limit(1 if category == "spot" else 25, 1000)  # Bybit: 1-1000 for spot too since 2025-08
    book = st.book
    return {
        "s": st.inst.symbol,
        "b": [[tser.price(st, px), tser.qty(st, q)] for px, q in book.bids.depth(limit)],
        "a": [[tser.price(st, px), tser.qty(st, q)] for px, q in book.asks.depth(limit)],
        "ts": call.now_ms,
        "u": book.update_id,
        "seq": st.seq,
        "cts": st.cts or call.now_ms,
    }


@V5.get("/v5/market/recent-trade", auth=False)
async def recent_trade(call: Call) -> dict[str, Any]:
    p = call.params
    category = p.category(TRADED)
    st = _state(call, category, p.symbol(required=True))
    limit = p.limit(60 if category == "spot" else 500, 60 if category == "spot" else 1000)
    trades = list(st.tape)[-limit:]
    if len(trades) < limit and st.past is not None:  # the first start: the past's last trades
        trades = st.past.tape[max(0, len(st.past.tape) - (limit - len(trades))):] + trades
    trades.reverse()
    return {"category": category, "list": [tser.public_trade(st, t) for t in trades]}


@V5.get("/v5/market/tickers", auth=False)
async def tickers(call: Call) -> dict[str, Any]:
    p = call.params
    category = p.category(TRADED)
    symbol = p.symbol()
    if symbol is not None:
        states = [_state(call, category, symbol)]
    else:
        states = [st for (c, _), st in sorted(call.core.symbols.items()) if c == category]
    return {"category": category, "list": [market_data.ticker(st, call.now_ms) for st in states]}


def _kline_params(call: Call, categories: tuple[str, ...]) -> tuple[SymbolState, str, int | None, int, int]:
    p = call.params
    category = p.category(categories, required=False, default="linear")
    st = _state(call, category, p.symbol(required=True))
    interval = p.enum("interval", INTERVALS, required=True)
    assert interval is not None
    start = p.int("start", lo=0, hi=10**15)
    end = p.int("end", lo=0, hi=10**15)
    limit = p.limit(200, 1000)
    return st, interval, start, min(end, call.now_ms) if end is not None else call.now_ms, limit  # no future bars


@V5.get("/v5/market/kline", auth=False)
async def kline(call: Call) -> dict[str, Any]:
    st, interval, start, end, limit = _kline_params(call, TRADED)
    bars = st.candles.query(interval, start, end, limit)
    return {"symbol": st.inst.symbol, "category": st.inst.category,
            "list": [tser.kline_row(st, s, bar) for s, bar in bars]}


async def _price_kline(call: Call, which: str) -> dict[str, Any]:
    st, interval, start, end, limit = _kline_params(call, ("linear", "inverse"))
    candles = st.mark_candles if which == "mark" else st.index_candles
    fallback = st.mark if which == "mark" else st.index
    bars = candles.query(interval, start, end, limit) if candles.first_minute() is not None else \
        market_data.flat_bars(fallback, interval, start, end, limit, st.inst.launch_time)
    return {"symbol": st.inst.symbol, "category": st.inst.category,
            "list": [tser.kline_row(st, s, bar, with_volume=False) for s, bar in bars]}


@V5.get("/v5/market/premium-index-price-kline", auth=False)
async def premium_index_price_kline(call: Call) -> dict[str, Any]:
    """The funding premium of the mark over the index, per bar (Bybit: USDT and USDC perpetuals)."""
    st, interval, start, end, limit = _kline_params(call, ("linear",))
    bars = st.premium_candles.query(interval, start, end, limit)
    return {"symbol": st.inst.symbol, "category": st.inst.category,
            "list": [[str(s), *(tser.money(v) for v in bar[:4])] for s, bar in bars]}


@V5.get("/v5/market/mark-price-kline", auth=False)
async def mark_price_kline(call: Call) -> dict[str, Any]:
    return await _price_kline(call, "mark")


@V5.get("/v5/market/index-price-kline", auth=False)
async def index_price_kline(call: Call) -> dict[str, Any]:
    return await _price_kline(call, "index")


def derivative_symbol(call: Call) -> SymbolState:
    """The linear or inverse ``category`` + ``symbol`` of a request (both required)."""
    p = call.params
    category = p.category(("linear", "inverse"))
    symbol = p.symbol(required=True)
    st = call.core.symbols.get((category, symbol or ""))
    if st is None:
        raise param_error(f"symbol {symbol} does not exist")
    return st


@V5.get("/v5/market/funding/history", auth=False)
async def funding_history(call: Call) -> dict[str, Any]:
    p = call.params
    st = derivative_symbol(call)
    category, symbol = st.inst.key
    start, end = p.int("startTime", lo=0, hi=10**15), p.int("endTime", lo=0, hi=10**15)
    if start is not None and end is None:
        raise param_error("endTime is required with startTime")
    limit = p.limit(200, 200)
    settled = (st.past.funding if st.past is not None else []) + st.funding.history
    rows = [(ts, rate) for ts, rate in reversed(settled)
            if (start is None or ts >= start) and (end is None or ts <= end)][:limit]
    return {"category": category, "list": [{"symbol": symbol, "fundingRate": tser.money(rate),
                                            "fundingRateTimestamp": str(ts)} for ts, rate in rows]}


@V5.get("/v5/market/insurance", auth=False)
async def insurance(call: Call) -> dict[str, Any]:
    """The insurance fund's balance per coin (one shared pool for every symbol of the coin)."""
    p = call.params
    coin = p.str("coin", max_len=20)
    core = call.core
    fund = core.account_labelled(risk.INSURANCE_LABEL)
    coins = sorted({st.inst.settle_coin for st in core.symbols.values() if st.inst.is_derivative})
    rows = []
    for c in coins:
        if coin is not None and c != coin.upper():
            continue
        balance = fund.balance(c) if fund else 0
        symbols = ",".join(sorted(st.inst.symbol for st in core.symbols.values()
                                  if st.inst.is_derivative and st.inst.settle_coin == c))
        rows.append({"coin": c, "symbols": symbols, "balance": tser.money(balance),
                     "value": tser.trim(from_units(balance) * core.coin_usd_price(c))})
    return {"updatedTime": str(core.last_ts), "list": rows}
