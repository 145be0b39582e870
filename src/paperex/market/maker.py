"""The built-in market maker: an ordinary account (labelled ``market-maker``) that keeps ``levels``
quotes on each side of every configured symbol around its index price.

It holds no privileges in the core: its quotes are plain limit orders sent as commands. When the index
moves, each quote is amended to its new price; an amended quote that crosses a resting user order
trades with it, which is how user limit orders fill as the price walks through them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from paperex.core.book import BUY, SELL
from paperex.core.commands import AmendOrder, Command, PlaceOrder
from paperex.core.engine import Exchange

LABEL = "market-maker"
DEFAULT_LEVEL_USD = Decimal(50_000)
Slot = tuple[str, str, int, int]  # (category, symbol, side, level)


@dataclass(frozen=True)
class QuoteConfig:
    levels: int = 5
    spread_bps: Decimal = Decimal(2)  # between the best bid and the best ask
    step_bps: Decimal = Decimal(1)  # between levels
    size: Decimal | None = None  # per level, in the instrument's qty unit; None: ~50,000 USD worth


# The maker's starting inventory: enough to quote every default symbol for a long time.
BALANCES = {"USDT": Decimal(1_000_000_000), "USDC": Decimal(1_000_000_000), "BTC": Decimal(10_000),
            "ETH": Decimal(100_000), "SOL": Decimal(1_000_000), "XRP": Decimal(100_000_000),
            "DOGE": Decimal(1_000_000_000)}


class MarketMaker:
    def __init__(self, uid: int, quotes: dict[tuple[str, str], QuoteConfig]) -> None:
        self.uid = uid
        self.quotes = quotes
        self.slots: dict[Slot, int] = {}  # -> the order id quoting that slot
        self.placements = 0  # numbers the quotes' orderLinkIds, which carry their slot

    def _size_lots(self, core: Exchange, key: tuple[str, str], cfg: QuoteConfig) -> int:
        st = core.symbols[key]
        if cfg.size is not None:
            return max(st.grid.min_lots, st.grid.lots(cfg.size))
        if st.grid.inverse:  # contracts are USD
            lots = int(DEFAULT_LEVEL_USD / st.grid.step)
        else:  # sized at the listed price, so the size does not change (and need requoting) at every tick
            lots = int(DEFAULT_LEVEL_USD / (st.inst.initial_price * st.grid.step))
        return max(st.grid.min_lots, lots)

    def requote(self, core: Exchange, key: tuple[str, str]) -> list[tuple[Slot, Command]]:
        """The commands that bring this symbol's quotes to where they should be now, with their slots."""
        cfg = self.quotes.get(key)
        if cfg is None:
            return []
        st = core.symbols[key]
        lots = self._size_lots(core, key, cfg)
        index = st.grid.price(st.index)
        half = cfg.spread_bps / 2 / 10_000
        step = cfg.step_bps / 10_000
        # a quote is moved only when its target drifted a whole level step: fewer amends, a smaller journal
        slack = max(1, int(index * step / st.grid.tick))
        commands: list[tuple[Slot, Command]] = []
        for level in range(cfg.levels):
            for side in (BUY, SELL):
                offset = half + level * step
                target = index * (1 - offset) if side == BUY else index * (1 + offset)
                ticks = st.grid.round_ticks(target, up=side == SELL)
                if side == BUY and ticks >= st.index:
                    ticks = st.index - 1 - level
                if side == SELL and ticks <= st.index:
                    ticks = st.index + 1 + level
                slot = (key[0], key[1], side, level)
                order = core.orders.get(self.slots.get(slot, 0))
                if order is not None and order.is_open and order.uid == self.uid:
                    crossed = (order.price >= st.index) if side == BUY else (order.price <= st.index)
                    if abs(order.price - ticks) >= slack or crossed or order.leaves != lots:
                        commands.append((slot, AmendOrder(uid=self.uid, category=key[0], symbol=key[1],
                                                          order_id=order.order_id, qty=order.cum_qty + lots,
                                                          price=ticks)))
                    continue
                self.placements += 1
                link = f"mm-{key[0][0]}-{key[1]}-{'B' if side == BUY else 'S'}{level}-{self.placements}"
                commands.append((slot, PlaceOrder(uid=self.uid, category=key[0], symbol=key[1], side=side,
                                                  order_type="Limit", qty=lots, price=ticks, tif="GTC",
                                                  order_link_id=link[:36], smp_type="CancelTaker")))
        # Move the side that moves away first, so a new quote never meets the maker's own old one (and if
        # it did, self-match prevention cancels the new one instead of trading).
        bid0 = core.orders.get(self.slots.get((key[0], key[1], BUY, 0), 0))
        going_up = bid0 is not None and bid0.is_open and any(
            c.price > bid0.price for s, c in commands if s[2] == BUY and s[3] == 0 and c.price is not None)
        first = SELL if going_up else BUY
        commands.sort(key=lambda sc: sc[0][2] != first)
        return commands

    def placed(self, slot: Slot, order_id: int) -> None:
        self.slots[slot] = order_id

    def adopt(self, core: Exchange) -> None:
        """After a restart: every resting quote gets its slot back from its orderLinkId
        (``mm-<category initial>-<symbol>-<B|S><level>-<n>``), and numbering continues after the last one."""
        account = core.accounts.get(self.uid)
        if account is None:
            return
        categories = {c[0]: c for c, _ in self.quotes}
        for order_id in account.order_ids:
            link = core.orders[order_id].order_link_id
            parts = link.split("-")
            if len(parts) == 5 and parts[0] == "mm" and parts[4].isdigit():
                self.placements = max(self.placements, int(parts[4]))
        for order in account.open_orders.values():
            parts = order.order_link_id.split("-")
            if len(parts) != 5 or parts[0] != "mm" or parts[1] not in categories:
                continue
            side = BUY if parts[3][0] == "B" else SELL
            self.slots[(categories[parts[1]], parts[2], side, int(parts[3][1:]))] = order.order_id


__all__ = ["BUY", "LABEL", "SELL", "MarketMaker", "QuoteConfig"]
