"""The dated-futures calendar: which contracts of a series are live at a time, their symbols, launch and
delivery times. Pure functions of time, so every replay lists the same contracts at the same moments.

Bybit delivers dated futures at 08:00 UTC on a Friday: weekly contracts every Friday, monthly ones on the last
Friday of the month, quarterly ones on the last Friday of March, June, September and December. A series keeps
a number of contracts of each tenor live; when one is delivered the next of its tenor is listed, so the
contract N places later in a tenor is listed when the one before it delivers.
"""

from __future__ import annotations

import calendar as _cal
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from paperex.core.instruments import FutureSeries

DELIVERY_HOUR = 8
FRIDAY = 4
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
MONTH_CODES = "FGHJKMNQUVXZ"  # the futures month codes: H March, M June, U September, Z December
TENORS = ("weekly", "monthly", "quarterly")


@dataclass(frozen=True, slots=True)
class Contract:
    symbol: str
    launch: int  # ms
    delivery: int  # ms


def _ms(d: datetime) -> int:
    return int(d.timestamp() * 1000)


def _last_friday(year: int, month: int) -> datetime:
    last = _cal.monthrange(year, month)[1]
    day = datetime(year, month, last, DELIVERY_HOUR, tzinfo=UTC)
    return day - timedelta(days=(day.weekday() - FRIDAY) % 7)


def _month_ends(after: datetime, step: int) -> list[datetime]:
    """Last Fridays of the months (every ``step``-th month, aligned to calendar quarters when 3), from the
    month before ``after`` on: enough for callers to look both ways."""
    year, month = after.year, after.month - 1
    if step == 3:
        month -= month % 3  # March, June, September, December: months 3, 6, 9, 12 (0-based 2, 5, 8, 11)
        month -= 1
    out = []
    for _ in range(40):
        month += step
        while month > 11:
            month -= 12
            year += 1
        while month < 0:
            month += 12
            year -= 1
        out.append(_last_friday(year, month + 1))
    return out


def expiries_around(tenor: str, ts: int, before: int, after: int) -> tuple[list[int], list[int]]:
    """The ``before`` latest expiries of a tenor at or before ``ts`` (newest last) and the ``after`` first
    ones later than ``ts``."""
    now = datetime.fromtimestamp(ts / 1000, UTC)
    if tenor == "weekly":
        friday = datetime(now.year, now.month, now.day, DELIVERY_HOUR, tzinfo=UTC)
        friday -= timedelta(days=(friday.weekday() - FRIDAY) % 7)  # the Friday of this week, or before
        start = friday - timedelta(weeks=before + 1)
        dates = [_ms(start + timedelta(weeks=k)) for k in range(before + after + 4)]
    elif tenor in ("monthly", "quarterly"):
        step = 1 if tenor == "monthly" else 3
        first = now - timedelta(days=31 * step * (before + 1))
        dates = [_ms(d) for d in _month_ends(first, step)]
    else:
        raise ValueError(f"unknown tenor {tenor}")
    past = [d for d in dates if d <= ts]
    future = [d for d in dates if d > ts]
    return past[len(past) - before:] if before else [], future[:after]


def symbol(series: FutureSeries, delivery: int) -> str:
    d = datetime.fromtimestamp(delivery / 1000, UTC)
    if series.style == "inverse":  # BTCUSDZ26
        return f"{series.base_coin}{series.quote_coin}{MONTH_CODES[d.month - 1]}{d.year % 100:02d}"
    if series.style == "usdt":  # BTCUSDT-25DEC26
        return f"{series.base_coin}{series.quote_coin}-{d.day:02d}{MONTHS[d.month - 1]}{d.year % 100:02d}"
    if series.style == "usdc":  # BTC-25DEC26
        return f"{series.base_coin}-{d.day}{MONTHS[d.month - 1]}{d.year % 100:02d}"
    raise ValueError(f"unknown symbol style {series.style}")


def live(series: FutureSeries, ts: int) -> list[Contract]:
    """The series' contracts trading at ``ts`` (delivery later than ``ts``), by delivery time. Each is listed
    when the contract as many places before it in its tenor delivered (the earliest such time over the tenors
    that include its date)."""
    launches: dict[int, int] = {}
    for tenor, count in series.schedule:
        if count <= 0:
            continue
        past, future = expiries_around(tenor, ts, count, count)
        timeline = past + future
        for k, delivery in enumerate(future):
            launch = timeline[k + len(past) - count] if k + len(past) >= count else 0
            launches[delivery] = min(launches.get(delivery, launch), launch)
    return [Contract(symbol(series, d), launches[d], d) for d in sorted(launches)]
