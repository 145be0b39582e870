"""A moving-average trend follower on ccxt (sync), for a Bybit linear perpetual.

Each step reads the last 200 one-minute candles, compares the mean close of the last ``fast`` closed candles
with that of the last ``slow``, and holds ``amount`` long while the fast average is above the slow one, nothing
otherwise (market orders; the exit is reduce-only). ``run()`` steps once a minute against Bybit; a test steps
it after moving the exchange's clock.
"""

from __future__ import annotations

import logging
import time
from statistics import fmean
from typing import Any

log = logging.getLogger("ma_bot")


class MovingAverageBot:
    def __init__(self, exchange: Any, symbol: str = "BTC/USDT:USDT", amount: float = 0.01, fast: int = 10,
                 slow: int = 50, timeframe: str = "1m") -> None:
        self.exchange = exchange  # a ccxt.bybit with a key
        self.symbol, self.amount, self.fast, self.slow, self.timeframe = symbol, amount, fast, slow, timeframe
        self.candles: list[list[float]] = []
        self.fast_ma = self.slow_ma = 0.0
        self.trades: list[dict[str, Any]] = []  # the orders it sent

    def run(self) -> None:
        while True:
            self.step()
            time.sleep(60 - time.time() % 60 + 1)  # just after each minute closes

    def step(self) -> None:
        self.candles = self.exchange.fetch_ohlcv(self.symbol, self.timeframe, limit=200)
        closes = [c[4] for c in self.candles[:-1]]  # the last candle is still forming
        if len(closes) < self.slow:
            return
        self.fast_ma, self.slow_ma = fmean(closes[-self.fast:]), fmean(closes[-self.slow:])
        target = self.amount if self.fast_ma > self.slow_ma else 0.0
        held = self.position()
        if target > held:
            self._trade("buy", target - held, {})
        elif target < held:
            self._trade("sell", held - target, {"reduceOnly": True})

    def position(self) -> float:
        """The long position's size (this bot never goes short)."""
        for p in self.exchange.fetch_positions([self.symbol]):
            if p["side"] == "long":
                return float(p["contracts"] or 0)
        return 0.0

    def _trade(self, side: str, amount: float, params: dict[str, Any]) -> None:
        amount = float(self.exchange.amount_to_precision(self.symbol, amount))
        order = self.exchange.create_order(self.symbol, "market", side, amount, None, params)
        self.trades.append(order)
        log.info("%s %s %s (fast %.1f, slow %.1f)", side, amount, self.symbol, self.fast_ma, self.slow_ma)
