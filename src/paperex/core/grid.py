"""The integer grid of an instrument: prices in ticks, quantities in lots, money in 1e-8 units."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from paperex.core.instruments import Instrument
from paperex.core.numbers import MONEY_SCALE


class OffGrid(ValueError):
    """A price or quantity that is not a whole number of ticks or lots."""


def _div_exact(value: Decimal, step: Decimal, what: str) -> int:
    q = value / step
    if q != q.to_integral_value():
        raise OffGrid(f"{what} must be a multiple of {step}")
    return int(q)


@dataclass(frozen=True, slots=True)
class Grid:
    tick: Decimal
    step: Decimal
    inverse: bool
    value_mult: int  # linear/spot: quote units per (tick x lot)
    base_mult: int  # base-coin units per lot (spot holds and fees)
    tick_fraction: Fraction
    # the instrument's limits on the grid
    min_lots: int
    max_lots: int
    max_mkt_lots: int
    min_price_ticks: int
    max_price_ticks: int
    min_notional: int  # 1e-8 units of the quote coin (0: none)
    # inverse: a value of ``lots`` at ``ticks`` is lots x inv_num / (ticks x inv_den) in 1e-8 coin units
    inv_num: int = 0
    inv_den: int = 1

    @classmethod
    def of(cls, inst: Instrument) -> Grid:
        vm = inst.tick_size * inst.qty_step * MONEY_SCALE
        bm = inst.qty_step * MONEY_SCALE
        if inst.category != "inverse" and vm != vm.to_integral_value():
            raise ValueError(f"{inst.symbol}: tick x step is finer than 1e-8")

        def up(value: Decimal, unit: Decimal) -> int:
            q = value / unit
            return int(q.to_integral_value(rounding="ROUND_CEILING"))

        def down(value: Decimal, unit: Decimal) -> int:
            return int((value / unit).to_integral_value(rounding="ROUND_FLOOR"))

        step, tick = Fraction(inst.qty_step), Fraction(inst.tick_size)
        return cls(
            tick=inst.tick_size, step=inst.qty_step, inverse=inst.category == "inverse",
            value_mult=int(vm) if vm == vm.to_integral_value() else 0,
            base_mult=int(bm) if bm == bm.to_integral_value() else 0,
            tick_fraction=Fraction(inst.tick_size),
            min_lots=max(1, up(inst.min_order_qty, inst.qty_step)),
            max_lots=down(inst.max_order_qty, inst.qty_step),
            max_mkt_lots=down(inst.max_mkt_order_qty, inst.qty_step),
            min_price_ticks=max(1, up(inst.min_price, inst.tick_size)),
            max_price_ticks=down(inst.max_price, inst.tick_size),
            min_notional=int(inst.min_notional * MONEY_SCALE),
            inv_num=step.numerator * tick.denominator * MONEY_SCALE,
            inv_den=step.denominator * tick.numerator,
        )

    # -- edge conversions (the gateway parses strings to Decimal first) --------------------------
    def ticks(self, price: Decimal) -> int:
        return _div_exact(price, self.tick, "price")

    def lots(self, qty: Decimal) -> int:
        return _div_exact(qty, self.step, "qty")

    def price(self, ticks: int) -> Decimal:
        return ticks * self.tick

    def qty(self, lots: int) -> Decimal:
        return lots * self.step

    def round_ticks(self, price: Fraction | Decimal, up: bool) -> int:
        q = Fraction(price) / self.tick_fraction
        return -(-q.numerator // q.denominator) if up else q.numerator // q.denominator

    # -- money -----------------------------------------------------------------------------------
    def value(self, ticks: int, lots: int) -> int:
        """Value of ``lots`` at ``ticks`` in 1e-8 units of the settle (linear, inverse) or quote (spot) coin."""
        if not self.inverse:
            return ticks * lots * self.value_mult
        # contracts x 1e8 / price, rounded half up, in integers (the same as the exact fraction + 1/2, floored)
        den = ticks * self.inv_den
        return (2 * lots * self.inv_num + den) // (2 * den)

    def lots_for_quote(self, ticks: int, quote_units: int) -> int:
        """How many whole lots ``quote_units`` buy at ``ticks`` (spot market buys by quote amount)."""
        per_lot = ticks * self.value_mult
        return quote_units // per_lot if per_lot else 0


def fee_of(value: int, rate: int) -> int:
    """Fee on ``value`` (1e-8 units) at ``rate`` (1e-8 units), rounded up to 1e-8."""
    return -(-value * rate // MONEY_SCALE)
