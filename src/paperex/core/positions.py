"""Positions: a signed size in lots and the entry value of that size in settle units.

Realised PnL = direction x (exit value - entry value removed), direction +1 for linear and -1 for inverse
(an inverse long gains coin when the price rises, i.e. when the coin value of its contracts falls).
The entry value removed on a partial close is floored, so sum(wallets) - direction x sum(signed entry
values) + fees stays exactly equal to deposits: money is conserved to the unit.

A position is keyed by (category, symbol, idx): ``idx`` 0 in one-way mode, 1 (long) and 2 (short) in hedge
mode, where the orders that close a side are reduce-only and so never flip it.
"""

from __future__ import annotations

DEFAULT_LEVERAGE = 1000  # 10x, in hundredths


class Position:
    __slots__ = ("auto_add", "category", "created_ts", "cum_realised", "cur_realised", "entry_inv", "entry_value",
                 "idx", "leverage", "margin", "open_fees", "open_ts", "seq", "size", "sl_trigger_by", "stop_loss",
                 "symbol", "take_profit", "tp_trigger_by", "trail_active", "trailing_stop", "uid", "updated_ts")

    def __init__(self, uid: int, category: str, symbol: str, ts: int, leverage: int = DEFAULT_LEVERAGE,
                 idx: int = 0) -> None:
        self.uid = uid
        self.category = category
        self.symbol = symbol
        self.idx = idx  # positionIdx
        self.size = 0  # lots, + long / - short
        self.entry_value = 0  # settle units, >= 0, value of |size| at entry
        self.margin = 0  # isolated margin mode: the margin this position holds (IM at entry + what was added)
        self.auto_add = False  # isolated: top the margin up from the wallet rather than be liquidated
        self.trailing_stop = 0  # trailing stop distance in ticks, 0 none
        self.trail_active = 0  # the price (ticks) that starts the trailing, 0: at once
        self.take_profit = 0  # Full-mode TP/SL: ticks, 0 none
        self.stop_loss = 0
        self.tp_trigger_by = "LastPrice"
        self.sl_trigger_by = "LastPrice"
        self.open_fees = 0  # trading fees paid to open the lots held (closed-PnL records take their share)
        self.entry_inv = 0  # sum of lots * 10**20 // price ticks over the held lots: the exact entry price
        self.cum_realised = 0  # all time, fees included (Bybit's cumRealisedPnl)
        self.cur_realised = 0  # since the position was last opened from flat (curRealisedPnl)
        self.leverage = leverage
        self.created_ts = ts
        self.updated_ts = ts
        self.open_ts = 0  # when the position held now was opened from flat or reversed (Bybit's openTime); 0: flat
        self.seq = 0

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.category, self.symbol, self.idx)

    def signed_entry(self) -> int:
        return self.entry_value if self.size >= 0 else -self.entry_value

    def apply_fill(self, side: int, lots: int, value: int, direction: int, ticks: int = 0) -> tuple[int, int]:
        """Add a fill of ``lots`` (``side`` +1 buy / -1 sell) worth ``value`` at ``ticks``.

        Returns (realised PnL in settle units, lots closed).
        """
        inv = lots * 10**20 // ticks if ticks else 0
        if self.size == 0:
            self.cur_realised = 0
        if self.size == 0 or (self.size > 0) == (side > 0):
            self.size += side * lots
            self.entry_value += value
            self.entry_inv += inv
            return 0, 0
        held = abs(self.size)
        closed = min(held, lots)
        removed = self.entry_value * closed // held if closed < held else self.entry_value
        exit_value = value * closed // lots if closed < lots else value
        sign = 1 if self.size > 0 else -1
        realised = direction * sign * (exit_value - removed)
        self.entry_value -= removed
        self.entry_inv -= self.entry_inv * closed // held if closed < held else self.entry_inv
        self.size += side * closed
        self.cum_realised += realised
        self.cur_realised += realised
        opened = lots - closed
        if opened:  # the fill flips the position: the rest opens the other way
            self.size += side * opened
            self.entry_value = value - exit_value
            self.entry_inv = inv * opened // lots
        return realised, closed

    def state(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)
