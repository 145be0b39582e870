"""Exact numbers for the core: scaled integers, with Decimal only to parse and format at the edge.

Money (balances, fees, PnL) is held in integer units of 1e-8 of a coin, the precision Bybit reports.
Fee rates are held in integer units of 1e-8 as well (0.00055 -> 55_000).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

MONEY_DP = 8
MONEY_SCALE = 10**MONEY_DP
RATE_DP = 8
MAX_AMOUNT = 10**18  # largest amount of one coin, in units (10 billion coins): stays far inside int64


def to_units(value: str | int | Decimal, dp: int = MONEY_DP) -> int:
    """Exact conversion of a decimal value to integer units of 10**-dp.

    Raises ValueError when the value is not a finite number or has more decimals than ``dp``.
    """
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not d.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    scaled = d.scaleb(dp)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"more than {dp} decimals: {value!r}")
    return int(scaled)


def from_units(units: int, dp: int = MONEY_DP) -> Decimal:
    return Decimal(units).scaleb(-dp)


def format_units(units: int, dp: int = MONEY_DP) -> str:
    """Plain decimal string without trailing zeros or exponent: 1234500000 (dp 8) -> '12.345'."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**dp)
    if frac == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:0{dp}d}".rstrip("0")


def format_decimal(value: Decimal) -> str:
    """Plain decimal string of a Decimal, never in exponent notation, keeping its own scale."""
    return format(value, "f")
