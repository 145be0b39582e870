"""Position mode: one-way (``positionIdx`` 0) or hedge (1 long, 2 short), per symbol (``/v5/position/switch-mode``).

Bybit (UTA 2.0) supports hedge mode on USDT perpetuals only; every other contract is one-way. A symbol's mode
is its own setting, else its settle coin's, else one-way. A coin-level switch changes every symbol of the coin
that has no position and no open order, and the default of those never set. In hedge mode an order on a
side's ``positionIdx`` that trades against that side (a sell on the long side, a buy on the short side)
closes it: it is reduce-only, so a side never flips.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paperex.core.events import Event, PositionChanged
from paperex.core.positions import Position
from paperex.errors import ApiError, Code

if TYPE_CHECKING:
    from paperex.core.accounts import Account
    from paperex.core.commands import SwitchPositionMode
    from paperex.core.engine import Exchange
    from paperex.core.instruments import Instrument

ONE_WAY, HEDGE = 0, 3  # Bybit's ``mode`` values: 0 "merged single", 3 "both sides"


def hedge_capable(inst: Instrument) -> bool:
    return inst.category == "linear" and inst.settle_coin == "USDT"


def mode_of(account: Account, inst: Instrument) -> int:
    if not hedge_capable(inst):
        return ONE_WAY
    return account.symbol_modes.get(inst.symbol, account.coin_modes.get(inst.settle_coin, ONE_WAY))


def position_idxs(account: Account, inst: Instrument) -> tuple[int, ...]:
    """The ``positionIdx`` values the symbol's positions have in the account's mode."""
    return (1, 2) if mode_of(account, inst) == HEDGE else (0,)


def closes(account: Account, inst: Instrument, side: int, idx: int) -> bool:
    """Check an order's ``positionIdx`` against the mode; True for a hedge-mode order that closes its side."""
    if mode_of(account, inst) == ONE_WAY:
        if idx != 0:
            raise ApiError(Code.PARAM_ERROR, "position idx not match position mode")
        return False
    if idx not in (1, 2):
        raise ApiError(Code.PARAM_ERROR, "position idx not match position mode")
    return (idx == 1) != (side > 0)


def check_idx(account: Account, inst: Instrument, idx: int) -> int:
    """A position endpoint's ``positionIdx`` (default 0): it must name a position of the symbol's mode."""
    if idx not in position_idxs(account, inst):
        raise ApiError(Code.PARAM_ERROR, "position idx not match position mode")
    return idx


def busy(account: Account, category: str, symbol: str) -> int:
    """110024 when the symbol has a position, 110028 when it has open or waiting orders, else 0."""
    if any(p.size for p in account.held_positions(category, symbol)):
        return Code.SWITCH_MODE_HAS_POSITION
    for pool in (account.open_orders, account.conditionals):
        if any(o.category == category and o.symbol == symbol for o in pool.values()):
            return Code.SWITCH_MODE_HAS_ORDERS
    return 0


def _switch(account: Account, inst: Instrument, mode: int, ts: int) -> None:
    """Set the symbol's mode. The new mode's positions take the leverage of the old mode's (flat) ones, which
    stay, flat, with their realised PnL."""
    old = [p for p in (account.positions.get((*inst.key, idx)) for idx in position_idxs(account, inst)) if p]
    account.symbol_modes[inst.symbol] = mode
    if old:
        for idx in ((1, 2) if mode == HEDGE else (0,)):
            pos = account.positions.get((*inst.key, idx))
            if pos is None:
                pos = account.positions[(*inst.key, idx)] = Position(account.uid, inst.category, inst.symbol, ts,
                                                                      idx=idx)
            pos.leverage, pos.auto_add = old[0].leverage, any(p.auto_add for p in old)


def switch_mode(ex: Exchange, cmd: SwitchPositionMode, ts: int) -> list[Event]:
    account = ex.account(cmd.uid)
    if cmd.category not in ("linear", "inverse"):
        raise ApiError(Code.PARAM_ERROR, "category must be linear or inverse")
    if cmd.mode not in (ONE_WAY, HEDGE):
        raise ApiError(Code.PARAM_ERROR, "mode must be 0 (one-way) or 3 (hedge)")
    if cmd.symbol:
        st = ex.symbols.get((cmd.category, cmd.symbol))
        if st is None:
            raise ApiError(Code.PARAM_ERROR, f"symbol {cmd.symbol} does not exist in {cmd.category}")
        inst = st.inst
        if cmd.mode == HEDGE and not hedge_capable(inst):
            raise ApiError(Code.HEDGE_MODE_UNSUPPORTED)
        if mode_of(account, inst) == cmd.mode:
            raise ApiError(Code.POSITION_MODE_NOT_MODIFIED)
        code = busy(account, inst.category, inst.symbol)
        if code:
            raise ApiError(code)
        _switch(account, inst, cmd.mode, ts)
        return [PositionChanged(uid=account.uid, category=inst.category, symbol=inst.symbol)]
    coin = cmd.coin or ""
    mine = [st.inst for st in ex.symbols.values() if st.inst.category == cmd.category and st.inst.settle_coin == coin]
    if not mine:
        raise ApiError(Code.PARAM_ERROR, f"coin {coin} settles no {cmd.category} symbol")
    if cmd.mode == HEDGE and not any(hedge_capable(i) for i in mine):
        raise ApiError(Code.HEDGE_MODE_UNSUPPORTED)
    events: list[Event] = []
    for inst in sorted(mine, key=lambda i: i.symbol):
        if not hedge_capable(inst):
            continue
        current = mode_of(account, inst)
        if busy(account, inst.category, inst.symbol):
            account.symbol_modes[inst.symbol] = current  # keeps its mode when the coin's default changes
        elif current != cmd.mode:
            _switch(account, inst, cmd.mode, ts)
            events.append(PositionChanged(uid=account.uid, category=inst.category, symbol=inst.symbol))
        else:
            account.symbol_modes.pop(inst.symbol, None)  # follows the coin from now on
    account.coin_modes[coin] = cmd.mode
    return events
