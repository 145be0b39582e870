"""Margin arithmetic (cross margin, one settle coin at a time) on integer money units.

Available balance of a coin = wallet - order holds + unrealised PnL - position initial margin. An opening
derivatives order holds its initial margin (value / leverage) plus the taker fee to open and to close;
a spot order holds the coin it will pay. Cross-collateral between coins and tiered maintenance margin
come with the derivatives-risk work.
"""

from __future__ import annotations

import math
from fractions import Fraction
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


ISOLATED = "ISOLATED_MARGIN"
PORTFOLIO = "PORTFOLIO_MARGIN"  # margined as cross margin here: Bybit's scenario-based PM margin is not modelled


def available(symbols: dict[tuple[str, str], SymbolState], account: Account, coin: str) -> int:
    """Wallet - order holds - position margins (cross: IM at the mark less unrealised PnL; isolated: the
    margin the position holds, its PnL staying with it)."""
    total = account.balance(coin) - account.held.get(coin, 0)
    isolated = account.margin_mode == ISOLATED
    for key, pos in account.positions.items():
        st = symbols[key[:2]]
        if pos.size and st.inst.settle_coin == coin:
            total -= pos.margin if isolated else position_im(st, pos) - unrealised(st, pos)
    return total


def isolated_im(pos: Position, leverage: int | None = None) -> int:
    """Isolated margin's initial margin: the entry value / leverage."""
    return -(-pos.entry_value * 100 // (leverage or pos.leverage))


def closable_lots(account: Account, pos: Position | None, category: str, symbol: str, side: int,
                  pending_own: int = 0) -> int:
    """How much of the position a new ``side`` order can still close: the position less what the
    account's other resting orders on that side would already close (``pending_own``: the order's own
    resting leaves, when re-costing it). A hedge-mode side is closed only by its reduce-only orders."""
    if pos is None or pos.size == 0 or pos.idx or (pos.size > 0) == (side > 0):
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


def liq_ticks(symbols: dict[tuple[str, str], SymbolState], account: Account, st: SymbolState,
              pos: Position) -> int | None:
    """``estimated_liq_price`` on the tick grid, rounded towards the mark (as positions show it)."""
    point = liq_point(symbols, account, st, pos)
    return None if point is None else point[0]


def liq_point(symbols: dict[tuple[str, str], SymbolState], account: Account, st: SymbolState,
              pos: Position) -> tuple[int, bool] | None:
    """(the liquidation price in ticks rounded towards the mark, whether it lies below the mark exactly), solved
    in integers (the order path checks it for every order that adds to a position: Fractions cost a third of
    the core's time there); ``estimated_liq_price`` is the exact rational solution it equals."""
    if st.grid.inverse:
        return _inverse_liq_point(symbols, account, st, pos)
    if pos.size == 0 or account.margin_mode == PORTFOLIO:
        return None
    moving, rest = _moving_and_rest(symbols, account, st, pos)
    # p x sum lots_i vm (s_i - mmr_i) = sum(s_i E_i - ded_i) - rest, all in 1e-8 units, mmr_i = n_i / d_i
    terms = [(s, lots, e, n, d, int(tier.mm_deduction * MONEY_SCALE) if tier and tier.mm_deduction else 0)
             for s, lots, e, n, d, tier in _liq_terms(st, moving)]
    common = math.lcm(*(t[4] for t in terms))
    a = sum(lots * st.grid.value_mult * (s * common - n * (common // d)) for s, lots, _, n, d, _ in terms)
    b = common * (sum(s * e - ded for s, _, e, _, _, ded in terms) - rest)
    return _towards_mark(b, a, st.mark)


def _towards_mark(num: int, den: int, mark: int) -> tuple[int, bool] | None:
    """The price num / den ticks, rounded towards the mark, and whether it lies below the mark exactly; None when
    no positive price gets there."""
    if den == 0:
        return None
    if den < 0:
        num, den = -num, -den
    if num <= 0:
        return None
    below = num < mark * den
    return (-(-num // den) if below else num // den), below


def _moving_and_rest(symbols: dict[tuple[str, str], SymbolState], account: Account, st: SymbolState,
                     pos: Position) -> tuple[list[Position], int]:
    """The positions that move with ``st``'s mark, and what the rest of the coin's margin adds (1e-8 units)."""
    coin = st.inst.settle_coin
    if account.margin_mode == ISOLATED:
        return [pos], pos.margin
    rest, moving = account.balance(coin), []
    for key, other in account.positions.items():
        if not other.size:
            continue
        other_st = symbols[key[:2]]
        if other_st is st:
            moving.append(other)
        elif other_st.inst.settle_coin == coin:
            rest += unrealised(other_st, other) - position_mm(other_st, other)
    return moving, rest


def _liq_terms(st: SymbolState, moving: list[Position]) -> list[tuple]:
    """Per position moving with the mark: (side sign, lots, entry value, the tier's maintenance rate as
    numerator and denominator, the tier)."""
    out = []
    for p in moving:
        tier = tier_of(st, position_value(st, p))
        n, d = tier.maintenance_margin_rate.as_integer_ratio() if tier else (0, 1)
        out.append((1 if p.size > 0 else -1, abs(p.size), p.entry_value, n, d, tier))
    return out


def _inverse_liq_point(symbols: dict[tuple[str, str], SymbolState], account: Account, st: SymbolState,
                       pos: Position) -> tuple[int, bool] | None:
    """The inverse solution p = sum q_i(s_i + mmr_i) / (rest + sum(s_i E_i + ded_i)) in integers, in ticks."""
    if pos.size == 0 or account.margin_mode == PORTFOLIO:
        return None
    moving, rest = _moving_and_rest(symbols, account, st, pos)
    terms = [(s, lots, e, n, d, *(tier.mm_deduction.as_integer_ratio() if tier and tier.mm_deduction else (0, 1)))
             for s, lots, e, n, d, tier in _liq_terms(st, moving)]
    c = math.lcm(*(t[4] for t in terms))  # numerator: step x sum lots_i (s_i c + n_i c / d_i) / c
    a = sum(lots * (s * c + n * (c // d)) for s, lots, _, n, d, _, _ in terms)
    g = math.lcm(MONEY_SCALE, *(t[6] for t in terms))  # denominator: (rest + sum s_i E_i) / 1e8 + sum ded_i
    b = (rest + sum(s * e for s, _, e, *_ in terms)) * (g // MONEY_SCALE) + sum(dn * (g // dd) for *_, dn, dd in terms)
    # ticks = (step / tick) x (a / c) / (b / g); step / tick = inv_num / (inv_den x 1e8)
    return _towards_mark(st.grid.inv_num * a * g, st.grid.inv_den * MONEY_SCALE * c * b, st.mark)


def estimated_liq_price(symbols: dict[tuple[str, str], SymbolState], account: Account, st: SymbolState,
                        pos: Position) -> Fraction | None:
    """Cross margin's estimate: the mark price of this symbol at which the coin's equity (wallet + every
    position's unrealised PnL) equals the maintenance margin; every position of the symbol (both sides in hedge
    mode) moves with it, the other symbols' stay at their marks, each at the tier and rate of its current
    value. Isolated margin: the position on its own margin. None when no price gets there (and under portfolio
    margin, whose liquidation Bybit does not express as a price)."""
    if pos.size == 0 or account.margin_mode == PORTFOLIO:
        return None
    coin = st.inst.settle_coin
    if account.margin_mode == ISOLATED:  # the position's own margin is all it has
        rest, moving = Fraction(pos.margin), [pos]
    else:
        rest, moving = Fraction(account.balance(coin)), []  # wallet + the other symbols' (UPL - MM), 1e-8 units
        for key, other in account.positions.items():
            other_st = symbols[key[:2]]
            if not other.size or other_st.inst.settle_coin != coin:
                continue
            if other_st is st:
                moving.append(other)
            else:
                rest += unrealised(other_st, other) - position_mm(other_st, other)
    rest /= MONEY_SCALE
    # per moving position i: s_i = ±1, q_i its quantity, E_i its entry value, mmr_i and ded_i of its tier
    #   linear:  rest + sum s_i(p q_i - E_i) = sum(mmr_i p q_i - ded_i)
    #   inverse: rest + sum s_i(E_i - q_i/p) = sum(mmr_i q_i/p - ded_i)   (q_i contracts, coin value q_i/p)
    a = b = Fraction(0)
    for p in moving:
        tier = tier_of(st, position_value(st, p))
        mmr = Fraction(tier.maintenance_margin_rate) if tier else Fraction(0)
        ded = Fraction(tier.mm_deduction) if tier and tier.mm_deduction else Fraction(0)
        q, e, s = Fraction(st.grid.qty(abs(p.size))), Fraction(p.entry_value, MONEY_SCALE), 1 if p.size > 0 else -1
        if st.grid.inverse:
            a, b = a + q * (s + mmr), b + s * e + ded
        else:
            a, b = a + q * (s - mmr), b + s * e - ded
    if st.grid.inverse:  # p = sum q_i(s_i + mmr_i) / (rest + sum(s_i E_i + ded_i))
        denominator = rest + b
        price = a / denominator if denominator else Fraction(0)
    else:  # p = (sum(s_i E_i - ded_i) - rest) / sum q_i(s_i - mmr_i)
        price = (b - rest) / a if a else Fraction(0)
    return price if price > 0 else None
