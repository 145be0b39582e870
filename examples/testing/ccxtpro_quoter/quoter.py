"""An asyncio quoting bot on ccxt.pro: it keeps one post-only bid ``offset`` under the mark price, cancels and
requotes when the mark moves more than ``tolerance`` away from where it quoted, and stops once the bid fills.

Two streams drive it: ``watch_ticker`` (the mark) and ``watch_orders`` (its own orders: the fill); when a
connection drops, watching again reconnects. Orders go through ccxt's REST calls (``create_order``,
``cancel_order``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import ccxt

log = logging.getLogger("quoter")


class Quoter:
    def __init__(self, exchange: Any, symbol: str = "BTC/USDT:USDT", amount: float = 0.01,
                 offset: float = 0.01, tolerance: float = 0.005) -> None:
        self.exchange = exchange  # a ccxt.pro.bybit with a key
        self.symbol, self.amount, self.offset, self.tolerance = symbol, amount, offset, tolerance
        self.order: dict[str, Any] | None = None  # the resting bid: {"id", "price", "quoted_at"}
        self.canceled: list[str] = []  # ids of the bids it replaced
        self.filled: dict[str, Any] | None = None  # the order as watch_orders reported it filled
        self._done = asyncio.Event()

    async def run(self) -> dict[str, Any]:
        """Quote until the bid fills; returns the filled order (or raises what broke a stream)."""
        await self.exchange.load_markets()
        done = asyncio.create_task(self._done.wait())
        tasks = [asyncio.create_task(self._follow_the_mark()), asyncio.create_task(self._follow_my_orders()), done]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        for failure in outcomes:
            if isinstance(failure, Exception):
                raise failure  # a stream or an order call failed: the caller sees why
        assert self.filled is not None
        return self.filled

    async def _follow_the_mark(self) -> None:
        while True:
            try:
                ticker = await self.exchange.watch_ticker(self.symbol)
            except ccxt.NetworkError as err:  # the connection dropped: the next watch reconnects
                log.warning("ticker stream: %r", err)
                await asyncio.sleep(0.1)
                continue
            mark = float(ticker["markPrice"])
            if self.order is None or abs(mark - self.order["quoted_at"]) > self.tolerance * self.order["quoted_at"]:
                await self._quote(mark)

    async def _follow_my_orders(self) -> None:
        while True:
            try:
                orders = await self.exchange.watch_orders(self.symbol)
            except ccxt.NetworkError as err:
                log.warning("order stream: %r", err)
                await asyncio.sleep(0.1)
                continue
            for order in orders:
                if self.order and order["id"] == self.order["id"] and order["status"] == "closed":
                    log.info("filled %s at %s", order["filled"], order["average"])
                    self.filled = order
                    self._done.set()

    async def _quote(self, mark: float) -> None:
        if self.order is not None:
            await self.exchange.cancel_order(self.order["id"], self.symbol)
            self.canceled.append(self.order["id"])
        price = float(self.exchange.price_to_precision(self.symbol, mark * (1 - self.offset)))
        created = await self.exchange.create_order(self.symbol, "limit", "buy", self.amount, price,
                                                   {"postOnly": True})
        self.order = {"id": created["id"], "price": price, "quoted_at": mark}
        log.info("bid %s at %s (mark %s)", self.amount, price, mark)
