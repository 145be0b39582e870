"""The market driver: the clock of the living market.

Each tick it plays what the data-file feeds recorded up to now (``SetPrices``, and trades re-printed by the
replay accounts), then journals one ``MarketStep``: the core moves every simulated symbol (core.background).
In real time it ticks on a timer; in virtual time only ``advance`` moves it, tick by tick, stamping every
command with the tick's virtual time. Commands are applied at once and their durable writes awaited at
the end of a tick, so a long virtual advance shares group commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from decimal import Decimal

from paperex.core.book import BUY, SELL
from paperex.core.commands import CancelOrder, MarketStep, PlaceOrder, SetPrices, Tick
from paperex.core.events import OrderAccepted
from paperex.core.grid import OffGrid
from paperex.errors import ApiError
from paperex.market.clock import VirtualClock
from paperex.market.feeds import KlinePath, TradeFeed
from paperex.sequencer import Sequencer

log = logging.getLogger("paperex.market")


class MarketDriver:
    def __init__(self, sequencer: Sequencer, feeds: dict[tuple[str, str], TradeFeed | KlinePath],
                 tick_ms: int = 1000, origin_ms: int = 0, replay_uids: tuple[int, int] | None = None) -> None:
        self.sequencer = sequencer
        self.feeds = feeds
        self.replay_uids = replay_uids  # (maker, taker) accounts that re-print historical trades
        self.replayed = 0
        self._advancing = asyncio.Lock()
        self.tick_ms = tick_ms
        self.origin_ms = origin_ms  # feed step k happens at origin + k * tick
        self._task: asyncio.Task[None] | None = None

    @property
    def core(self):
        return self.sequencer.core

    def step_at(self, ts: int) -> list[asyncio.Future[None]]:
        """One tick at time ``ts``: the file feeds, then the living market. Returns the durable-write futures."""
        pending: list[asyncio.Future[None]] = []
        for key, feed in self.feeds.items():
            if isinstance(feed, TradeFeed):
                for trade in feed.due(ts):
                    self._replay(key, trade, feed.replay, pending)
                continue
            st = self.core.symbols[key]
            price = feed.price_at(ts)
            if price is None:
                continue
            ticks = max(1, st.grid.round_ticks(Decimal(price), up=False))
            minutes = st.index_candles.minutes
            if ticks != st.index or not minutes or minutes[-1] != ts - ts % 60_000:  # every minute gets its open
                self._apply(SetPrices(category=key[0], symbol=key[1], index=ticks), ts, pending)
        if self.core.sim is not None:
            self._apply(MarketStep(), ts, pending)
        return pending

    def _play_recorded(self, until: int, pending: list) -> None:
        """Virtual time: the recorded trades up to ``until``, in time order across files, the clock moving to
        each one's time, so each prints at its own time and the exchange clock never runs behind a print."""
        clock = self.sequencer.clock
        due = sorted(((trade.ts, i, key, trade, feed.replay)
                      for i, (key, feed) in enumerate(self.feeds.items()) if isinstance(feed, TradeFeed)
                      for trade in feed.due(until)), key=lambda d: (d[0], d[1]))
        for ts, _, key, trade, replay in due:
            if ts > clock.now_ms():
                clock.set(ts)
            self._replay(key, trade, replay, pending)

    def _replay(self, key: tuple[str, str], trade, print_it: bool, pending: list) -> None:
        """One historical trade at its own time: the index moves to its price, and two replay accounts
        cross at that price and size, so the tape prints it (after any user order at a better price)."""
        st = self.core.symbols[key]
        # never before what the exchange clock has shown (real time: a trade due since the last tick prints now)
        trade = dataclasses.replace(trade, ts=max(trade.ts, self.sequencer.now_ms()))
        try:
            ticks = st.grid.ticks(trade.price)
        except OffGrid:
            ticks = st.grid.round_ticks(trade.price, up=False)
        if ticks != st.index:
            self._apply(SetPrices(category=key[0], symbol=key[1], index=ticks), trade.ts, pending)
            state = self.core.sim.symbols.get(key) if self.core.sim is not None else None
            if state is not None and state.spec.levels:  # quotes straddle the trade: it prints at its own price
                self._apply(MarketStep(category=key[0], symbol=key[1]), trade.ts, pending)
        if not print_it or self.replay_uids is None:
            return
        lots = int(trade.size / st.grid.step)
        if lots < st.grid.min_lots:
            return
        taker_side = BUY if trade.side == "Buy" else SELL
        maker_uid, taker_uid = self.replay_uids
        events = self._apply(PlaceOrder(uid=maker_uid, category=key[0], symbol=key[1], side=-taker_side,
                                        order_type="Limit", qty=lots, price=ticks, tif="GTC"), trade.ts, pending)
        self._apply(PlaceOrder(uid=taker_uid, category=key[0], symbol=key[1], side=taker_side, order_type="Limit",
                               qty=lots, price=ticks, tif="IOC"), trade.ts, pending)
        accepted = next((e for e in events or () if isinstance(e, OrderAccepted)), None)
        if accepted is not None and self.core.orders[accepted.order_id].is_open:  # better-priced users filled first
            self._apply(CancelOrder(uid=maker_uid, category=key[0], symbol=key[1], order_id=accepted.order_id),
                        trade.ts, pending)
        self.replayed += 1

    def _apply(self, command, ts: int, pending: list) -> list | None:
        try:
            events, durable = self.sequencer.apply_now(command, ts)
        except ApiError as err:  # e.g. a replayed trade below the minimum size
            log.debug("market command %s refused: %s", type(command).__name__, err.msg)
            return None
        pending.append(durable)
        return events

    async def tick_now(self) -> None:
        pending = self.step_at(self.sequencer.now_ms())
        if pending:
            await asyncio.gather(*pending)

    MAX_TICKS_PER_ADVANCE = 10_000_000

    async def advance(self, ms: int) -> int:
        """Virtual time: move the clock ``ms`` forward, one tick at a time. Returns the new time.
        One advance at a time; the event loop is served in between; the end time is journaled."""
        clock = self.sequencer.clock
        if not isinstance(clock, VirtualClock):
            raise ApiError(10001, "the exchange runs in real time; start it with a virtual clock")
        if ms // self.tick_ms > self.MAX_TICKS_PER_ADVANCE:
            raise ApiError(10001, f"at most {self.MAX_TICKS_PER_ADVANCE:,} ticks per advance: advance in steps")
        async with self._advancing:
            target = clock.ms + ms
            pending: list[asyncio.Future[None]] = []
            t = clock.ms - (clock.ms - self.origin_ms) % self.tick_ms + self.tick_ms
            n = 0
            while t <= target:
                self._play_recorded(t - 1, pending)  # recorded trades before the tick, each at its own time
                clock.set(t)
                pending += self.step_at(t)
                n += 1
                if len(pending) > 10_000 or n % 1000 == 0:  # bounded queue; let requests in
                    await asyncio.gather(*pending)
                    pending = []
                    await asyncio.sleep(0)
                t += self.tick_ms
            self._play_recorded(target, pending)
            clock.set(target)
            self._apply(Tick(), target, pending)  # a restart resumes at this time, not at the last trade
            if pending:
                await asyncio.gather(*pending)
            return target

    def start(self) -> None:
        """Real time: tick on a timer."""
        if self._task is None and not isinstance(self.sequencer.clock, VirtualClock):
            self._task = asyncio.get_running_loop().create_task(self._run(), name="market-driver")

    async def _run(self) -> None:
        while True:
            try:
                await self.tick_now()
            except Exception:  # a market tick must never take the exchange down
                log.exception("market tick failed")
            await asyncio.sleep(self.tick_ms / 1000)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
