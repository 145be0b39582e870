"""Positions -> the V5 position object (``/v5/position/list`` and the private ``position`` stream)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from paperex.core import margin, position_mode, risk
from paperex.core.accounts import Account
from paperex.core.engine import Exchange
from paperex.core.numbers import MONEY_SCALE, RATE_DP
from paperex.core.positions import Position
from paperex.core.symbol import SymbolState
from paperex.gateway.trade_serializers import _num, money, price, qty

BREAK_EVEN_FEE_FLOOR = Decimal("0.00055")  # Bybit's documented floor on the taker rate in breakEvenPrice


def _entry_price(st: SymbolState, pos: Position) -> Decimal:
    """Average entry price: value / size (linear); for inverse the harmonic mean of the fill prices, from
    the exact per-fill record (the coin value is rounded to 1e-8)."""
    if st.grid.inverse and pos.entry_inv:
        return Decimal(abs(pos.size) * 10**20) / Decimal(pos.entry_inv) * st.grid.tick
    contracts = st.grid.qty(abs(pos.size))
    value = Decimal(pos.entry_value) / MONEY_SCALE
    return contracts / value if st.grid.inverse else value / contracts


def _break_even(st: SymbolState, account: Account, pos: Position, entry: Decimal) -> str:
    """(entry x qty - realised) / (qty - |qty| x max(taker rate, 0.00055)), qty signed (Bybit's formula)."""
    taker = Decimal(account.fee_rates[pos.category][0]).scaleb(-RATE_DP)
    q = st.grid.qty(abs(pos.size)) * (1 if pos.size > 0 else -1)
    realised = Decimal(pos.cur_realised) / MONEY_SCALE
    if st.grid.inverse:  # realised PnL is in coin: the price where closing returns it
        realised *= entry
    denominator = q - abs(q) * max(taker, BREAK_EVEN_FEE_FLOOR)
    return _num((entry * q - realised) / denominator) if denominator else ""


def _liq_price(symbols: dict[tuple[str, str], SymbolState], st: SymbolState, account: Account, pos: Position) -> str:
    """Cross margin's estimated liquidation price at the tick, "" outside the instrument's price range."""
    ticks = margin.liq_ticks(symbols, account, st, pos)  # rounded towards the mark
    if ticks is None:
        return ""
    if not st.grid.min_price_ticks <= ticks <= st.grid.max_price_ticks:
        return ""
    return price(st, ticks)


def symbol_positions(st: SymbolState, account: Account, core: Exchange, stream: bool = False) -> list[dict[str, Any]]:
    """A symbol's positions, flat ones included: one in one-way mode, the long and the short side in hedge."""
    key = st.inst.key
    return [position(st, account, account.positions.get((*key, idx)), core, stream, idx)
            for idx in position_mode.position_idxs(account, st.inst)]


def position(st: SymbolState, account: Account, pos: Position | None, core: Exchange,
             stream: bool = False, idx: int = 0) -> dict[str, Any]:
    """One position (``pos`` None: the flat position ``idx`` of a symbol never traded). ``stream``: the
    WebSocket variant (``entryPrice`` for ``avgPrice``, plus ``category``)."""
    if pos is None:
        pos = Position(account.uid, st.inst.category, st.inst.symbol, 0, idx=idx)
    value = margin.position_value(st, pos)
    tier = margin.tier_of(st, value)
    isolated = account.margin_mode == margin.ISOLATED
    im = pos.margin if isolated else margin.position_im(st, pos)
    mm = margin.position_mm(st, pos)
    if pos.size:
        entry = _entry_price(st, pos)
        avg, break_even = _num(entry), _break_even(st, account, pos, entry)
    else:
        avg, break_even = "0", "0"
    row: dict[str, Any] = {
        "positionIdx": pos.idx,
        "riskId": tier.id if tier else 0,
        "riskLimitValue": _num(tier.risk_limit_value) if tier else "0",
        "symbol": pos.symbol,
        "side": "" if pos.size == 0 else ("Buy" if pos.size > 0 else "Sell"),
        "size": qty(st, abs(pos.size)),
        "avgPrice": avg,
        "positionValue": money(pos.entry_value),
        "autoAddMargin": int(pos.auto_add),
        "positionStatus": "Liq" if account.rules.get("liquidating") and pos.size else "Normal",
        "leverage": _num(Decimal(pos.leverage) / 100),
        "breakEvenPrice": break_even,
        "markPrice": price(st, st.mark),
        "liqPrice": _liq_price(core.symbols, st, account, pos),
        "positionIM": money(im),
        "positionIMByMp": money(im),
        "positionMM": money(mm),
        "positionMMByMp": money(mm),
        "takeProfit": price(st, pos.take_profit) if pos.take_profit else "",
        "stopLoss": price(st, pos.stop_loss) if pos.stop_loss else "",
        "trailingStop": price(st, pos.trailing_stop) if pos.trailing_stop else "0",
        "sessionAvgPrice": "",
        "delta": "",
        "gamma": "",
        "vega": "",
        "theta": "",
        "unrealisedPnl": money(margin.unrealised(st, pos)),
        "curRealisedPnl": money(pos.cur_realised),
        "cumRealisedPnl": money(pos.cum_realised),
        "adlRankIndicator": risk.adl_rank(core, st, pos),
        "createdTime": str(pos.created_ts),
        "updatedTime": str(pos.updated_ts),
        "openTime": pos.open_ts,  # an integer (position.mdx): when the position held was opened, 0 when flat
        "seq": pos.seq or -1,  # -1: never traded
        "isReduceOnly": False,
        "mmrSysUpdatedTime": "",
        "leverageSysUpdatedTime": "",
        "tpslMode": "Full",  # Bybit: deprecated, always Full (set-tpsl-mode sets the default of new TP/SL)
        "bustPrice": "",
        "positionBalance": money(im),
        "tradeMode": 0,
    }
    if stream:
        row["entryPrice"] = row.pop("avgPrice")
        row["category"] = pos.category
    return row
