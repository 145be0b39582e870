"""Margin arithmetic (cross margin, one settle coin at a time) on integer money units.

Available balance of a coin = wallet - order holds + unrealised PnL - position initial margin. An opening
derivatives order holds its initial margin (value / leverage) plus the taker fee to open and to close;
a spot order holds the coin it will pay. Cross-collateral between coins and tiered maintenance margin
come with the derivatives-risk work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paperex.core.grid import fee_of
from paperex.core.instruments import RiskTier
from paperex.core.numbers import MONEY_SCALE
from paperex.core.positions import Position

if TYPE_CHECKING:
    from paperex.core.accounts import Account
    from paperex.core.symbol import SymbolState


def direction(st: SymbolState) -> int:
    return -1 if st.grid.inverse else 1


def unrealised(st: SymbolState, pos: Position) -> int:
    if pos.size == 0:
        return 0
    mark_value = st.grid.value(st.mark, abs(pos.size))
    sign = 1 if pos.size > 0 else -1
    return direction(st) * sign * (mark_value - pos.entry_value)


def position_im(st: SymbolState, pos: Position, leverage: int | None = None) -> int:
    """Initial margin: the position's value at the mark price / leverage (Bybit's IM "by mark price")."""
    return -(-position_value(st, pos) * 100 // (leverage or pos.leverage))


def tier_of(st: SymbolState, value: int) -> RiskTier | None:
    """The risk tier a position of ``value`` (1e-8 settle units) falls in: the first whose limit holds it."""
    tiers = st.inst.risk_tiers
    for tier in tiers:
        if value <= tier.risk_limit_value * MONEY_SCALE:
            return tier
    return tiers[-1] if tiers else None


def position_value(st: SymbolState, pos: Position) -> int:
    """The position valued at the mark price (what margins and risk tiers are measured on)."""
    return st.grid.value(st.mark, abs(pos.size)) if pos.size else 0


def position_mm(st: SymbolState, pos: Position) -> int:
    """Maintenance margin: value x the tier's MMR - its deduction, never below zero."""
    if pos.size == 0:
        return 0
    value = position_value(st, pos)
    tier = tier_of(st, value)
    if tier is None:
        return 0
    deduction = int(tier.mm_deduction * MONEY_SCALE) if tier.mm_deduction else 0
    return max(0, int(value * tier.maintenance_margin_rate) - deduction)


def available(symbols: dict[tuple[str, str], SymbolState], account: Account, coin: str) -> int:
    total = account.balance(coin) - account.held.get(coin, 0)
    for key, pos in account.positions.items():
        st = symbols[key]
        if pos.size and st.inst.settle_coin == coin:
            total += unrealised(st, pos) - position_im(st, pos)
    return total


def closable_lots(account: Account, pos: Position | None, category: str, symbol: str, side: int,
                  pending_own: int = 0) -> int:
    """How much of the position a new ``side`` order can still close: the position less what the
    account's other resting orders on that side would already close (``pending_own``: the order's own
    resting leaves, when re-costing it)."""
    if pos is None or pos.size == 0 or (pos.size > 0) == (side > 0):
        return 0
    pending = account.resting.get((category, symbol, side), 0) - pending_own
    return max(0, abs(pos.size) - pending)


def derivatives_hold(st: SymbolState, closable: int, leverage: int, taker_rate: int, ticks: int, lots: int) -> int:
    """Order cost of the part that opens a position: initial margin at the order's leverage plus the
    taker fee to open and to close. The part that closes the position costs nothing."""
    opening = max(0, lots - closable)
    if opening == 0:
        return 0
    value = st.grid.value(ticks, opening)
    return -(-value * 100 // leverage) + 2 * fee_of(value, taker_rate)
