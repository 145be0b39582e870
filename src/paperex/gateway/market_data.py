"""Tickers and price candles computed from the core's market state at the moment of the request."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from paperex.core import delivery, risk
from paperex.core.candles import bar_starts, interval_start
from paperex.core.symbol import SymbolState
from paperex.gateway import trade_serializers as ser

DAY = 86_400_000
HOUR = 3_600_000


def last_price(st: SymbolState) -> int:
    """The last traded price: the engine's, or the past's last close, or (never traded) the mark."""
    if st.last is not None:
        return st.last
    close = st.candles.last_close()
    return close if close is not None else st.mark


def _stats(st: SymbolState, now: int, span: int) -> tuple[int, int, int, int, int]:
    """(previous price, high, low, volume lots, turnover units) over the last ``span`` ms: the minutes from
    the one ``span`` ago (exclusive) to the current one, aggregated in one pass (the past included)."""
    last = last_price(st)
    start = now - span + 60_000
    bar = st.candles.aggregate(start - start % 60_000, now - now % 60_000 + 60_000)
    prev = st.candles.close_at(now - span)
    if bar is None:
        return (prev if prev is not None else last), last, last, 0, 0
    if prev is None:
        prev = bar[0]  # the open of the oldest minute in the window
    return prev, bar[1], bar[2], bar[4], bar[5]


def _pcnt(last: int, prev: int) -> str:
    if prev == 0:
        return "0"
    return ser.trim((Decimal(last - prev) / Decimal(prev)).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP))


def ticker(st: SymbolState, now: int) -> dict[str, Any]:
    inst, book = st.inst, st.book
    last = last_price(st)
    prev24, high, low, volume, turnover = _stats(st, now, DAY)
    bid, ask = book.best_bid(), book.best_ask()
    top = {
        "bid1Price": ser.price(st, bid) if bid else "",
        "bid1Size": ser.qty(st, book.bids.levels[bid].qty) if bid else "",
        "ask1Price": ser.price(st, ask) if ask else "",
        "ask1Size": ser.qty(st, book.asks.levels[ask].qty) if ask else "",
    }
    if inst.category == "spot":
        return {"symbol": inst.symbol, **top, "lastPrice": ser.price(st, last),
                "prevPrice24h": ser.price(st, prev24), "price24hPcnt": _pcnt(last, prev24),
                "highPrice24h": ser.price(st, high), "lowPrice24h": ser.price(st, low),
                "turnover24h": ser.money(turnover), "volume24h": ser.qty(st, volume),
                "usdIndexPrice": ser.price(st, st.index)}
    prev1h = _stats(st, now, HOUR)[0]
    oi_value = st.grid.value(st.mark, st.open_interest)
    dated = _dated_fields(st, last, now) if inst.delivery_time else None
    row = {
        "symbol": inst.symbol,
        "lastPrice": ser.price(st, last),
        "indexPrice": ser.price(st, st.index),
        "markPrice": ser.price(st, st.mark),
        "prevPrice24h": ser.price(st, prev24),
        "price24hPcnt": _pcnt(last, prev24),
        "highPrice24h": ser.price(st, high),
        "lowPrice24h": ser.price(st, low),
        "prevPrice1h": ser.price(st, prev1h),
        "openInterest": ser.qty(st, st.open_interest),
        "openInterestValue": ser.money(oi_value),
        "singleOpenInterest": ser.qty(st, st.open_interest),  # paperex's open interest is one side already
        "singleOpenInterestValue": ser.money(oi_value),
        "turnover24h": ser.money(turnover),
        "volume24h": ser.qty(st, volume),
        "fundingRate": "" if dated else ser.money(risk.predicted_rate(st, now)),
        "nextFundingTime": "" if dated else str(risk.next_funding_time(st, now)),
        "predictedDeliveryPrice": "",
        "basisRate": "",
        "deliveryFeeRate": "",
        "deliveryTime": "0",
        **top,
        "basis": "",
        "preOpenPrice": "",
        "preQty": "",
        "curPreListingPhase": "",
        "fundingIntervalHour": str(inst.funding_interval_min // 60),
        "fundingCap": ser.trim(inst.upper_funding_rate),
        "basisRateYear": "",
    }
    if dated is not None:
        row.update(dated)
    return row


def _dated_fields(st: SymbolState, last: int, now: int) -> dict[str, str]:
    """A dated future's ticker: no funding; delivery time and fee, the basis to the index (and its rate, a
    year's worth by the time to delivery), the running delivery price in the last 30 minutes."""
    inst = st.inst
    basis = Decimal(last - st.index) * st.grid.tick
    rate = Decimal(last - st.index) / Decimal(st.index) if st.index else Decimal(0)
    to_delivery = max(inst.delivery_time - now, 1)
    predicted = delivery.average_index(st, now) if st.status == "Trading" else None
    q = Decimal("0.00000001")
    return {
        "fundingIntervalHour": "", "fundingCap": "",
        "deliveryTime": str(inst.delivery_time),
        "deliveryFeeRate": ser.trim(inst.delivery_fee_rate),
        "predictedDeliveryPrice": ser.price(st, predicted) if predicted else "",
        "basis": ser.trim(basis),
        "basisRate": ser.trim(rate.quantize(q, rounding=ROUND_HALF_UP)),
        "basisRateYear": ser.trim((rate * Decimal(365 * DAY) / Decimal(to_delivery)).quantize(
            q, rounding=ROUND_HALF_UP)),
    }


def flat_bars(price: int, interval: str, start: int | None, end: int, limit: int,
              listed: int) -> list[tuple[int, list[int]]]:
    """Candles of a price that has not moved (a reference price no feed has changed yet), newest first,
    never before the instrument's listing."""
    lo = interval_start(max(start or 0, listed), interval)
    starts = bar_starts(interval, lo, interval_start(end, interval), start is not None, limit)
    return [(s, [price, price, price, price, 0, 0]) for s in reversed(starts)]

