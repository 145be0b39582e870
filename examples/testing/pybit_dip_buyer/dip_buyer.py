"""A dip buyer with a stop-loss, on pybit (Bybit V5, linear perpetuals).

It rests a limit buy a little under the mark price; when the buy fills it protects the position with a
stop-loss and a take-profit on the position (``/v5/position/trading-stop``); when the position is closed (by
either) it records the round's closed PnL and starts again.

The loop is ``step()``: one look at the exchange and at most one decision. ``run()`` calls it every few
seconds against Bybit; a test calls it after each thing it makes happen.

Every order carries our own id (``orderLinkId``), so that when Bybit answers a create with a timeout (10000:
the order may or may not have been placed) the bot asks by that id instead of sending a second order.
"""

from __future__ import annotations

import logging
import time
from decimal import ROUND_DOWN, Decimal
from typing import Any

from pybit.exceptions import InvalidRequestError

log = logging.getLogger("dip_buyer")

UNCERTAIN = {10000, 10016}  # "Server Timeout", "Server error": the request may have been carried out


class DipBuyer:
    def __init__(self, session: Any, symbol: str = "BTCUSDT", qty: str = "0.01", dip: str = "0.01",
                 stop: str = "0.02", take: str = "0.03", name: str = "dip") -> None:
        self.session = session  # a pybit unified_trading.HTTP with a key
        self.symbol, self.qty, self.name = symbol, qty, name
        self.dip, self.stop, self.take = Decimal(dip), Decimal(stop), Decimal(take)
        self.state = "idle"  # idle -> waiting (the buy rests) -> holding (stop-loss set) -> idle
        self.entry_link_id: str | None = None
        self.attempts = 0  # entries tried (each gets its own orderLinkId)
        self.results: list[Decimal] = []  # closed PnL of each finished round
        self._tick: Decimal | None = None

    # -- the loop --------------------------------------------------------------------------------------
    def run(self, every: float = 5.0) -> None:
        while True:
            self.step()
            time.sleep(every)

    def step(self) -> None:
        if self.state == "idle":
            self._place_entry()
        elif self.state == "waiting":
            self._check_entry()
        elif self.state == "holding":
            self._check_position()

    # -- idle: rest a buy under the mark -----------------------------------------------------------------
    def _place_entry(self) -> None:
        mark = Decimal(self._ticker()["markPrice"])
        price = self._round(mark * (1 - self.dip))
        self.attempts += 1
        link_id = f"{self.name}-{self.attempts}"
        try:
            self._submit(link_id, price)
        except InvalidRequestError as err:
            if err.status_code not in UNCERTAIN:
                raise
            # We do not know whether the order exists. Sending it again could double the position: ask first,
            # by our own id. (Same id on a resend: Bybit refuses a duplicate with 110072.)
            log.warning("create %s answered %s; checking", link_id, err.status_code)
            if self._order(link_id) is None:
                self._submit(link_id, price)
        self.entry_link_id = link_id
        self.state = "waiting"

    def _submit(self, link_id: str, price: Decimal) -> None:
        self.session.place_order(category="linear", symbol=self.symbol, side="Buy", orderType="Limit",
                                 qty=self.qty, price=f"{price:f}", timeInForce="GTC", orderLinkId=link_id)
        log.info("buy %s %s at %s (%s)", self.qty, self.symbol, price, link_id)

    # -- waiting: did the buy fill? ----------------------------------------------------------------------
    def _check_entry(self) -> None:
        assert self.entry_link_id is not None
        order = self._order(self.entry_link_id)
        status = order["orderStatus"] if order else "Missing"
        if status == "Filled":
            fill = Decimal(order["avgPrice"])  # type: ignore[index]
            self.session.set_trading_stop(category="linear", symbol=self.symbol, positionIdx=0, tpslMode="Full",
                                          stopLoss=f"{self._round(fill * (1 - self.stop)):f}",
                                          takeProfit=f"{self._round(fill * (1 + self.take)):f}",
                                          slTriggerBy="MarkPrice", tpTriggerBy="MarkPrice")
            log.info("filled at %s: stop-loss and take-profit set", fill)
            self.state = "holding"
        elif status in ("Cancelled", "Rejected", "Deactivated", "Missing"):
            self.state = "idle"  # try again

    # -- holding: is the position still open? ----------------------------------------------------------
    def _check_position(self) -> None:
        position = self.session.get_positions(category="linear", symbol=self.symbol)["result"]["list"][0]
        if Decimal(position["size"]) == 0:
            last = self.session.get_closed_pnl(category="linear", symbol=self.symbol, limit=1)["result"]["list"]
            self.results.append(Decimal(last[0]["closedPnl"]) if last else Decimal(0))
            log.info("position closed: %s USDT", self.results[-1])
            self.state = "idle"

    # -- helpers -------------------------------------------------------------------------------------
    def _order(self, link_id: str) -> dict[str, Any] | None:
        """The order with this orderLinkId, open or recently closed (Bybit's realtime endpoint shows both when
        asked by id), or None if the exchange has never seen it."""
        found = self.session.get_open_orders(category="linear", symbol=self.symbol,
                                             orderLinkId=link_id)["result"]["list"]
        return found[0] if found else None

    def _ticker(self) -> dict[str, Any]:
        return self.session.get_tickers(category="linear", symbol=self.symbol)["result"]["list"][0]

    def _round(self, price: Decimal) -> Decimal:
        if self._tick is None:
            info = self.session.get_instruments_info(category="linear", symbol=self.symbol)["result"]["list"][0]
            self._tick = Decimal(info["priceFilter"]["tickSize"])
        return ((price / self._tick).to_integral_value(ROUND_DOWN) * self._tick).normalize()
