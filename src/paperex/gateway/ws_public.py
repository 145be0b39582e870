"""Public WebSocket streams: ``/v5/public/{linear,inverse,spot}``.

Topics: ``orderbook.{1,50,200,1000}.{symbol}``, ``publicTrade.{symbol}``, ``tickers.{symbol}``,
``kline.{interval}.{symbol}``, ``allLiquidation.{symbol}``, the deprecated ``liquidation.{symbol}`` (at most
one liquidation a second, an object per frame), ``priceLimit.{symbol}`` (the order price band every 300 ms).
Each topic has one state shared by all its subscribers: the book levels, last trade, ticker fields or candle
last sent. Every flush (20 ms) compares it with the core and sends the same delta to every subscriber; a new
subscriber first gets a snapshot of exactly that state, so snapshot + deltas always rebuild the book the REST
endpoint shows at the same ``u``. A level is only ever deleted after it was sent (pybit cannot delete an
unknown level).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from paperex.core import trading
from paperex.core.candles import INTERVALS, next_start
from paperex.core.symbol import SymbolState
from paperex.gateway import market_data
from paperex.gateway import trade_serializers as ser
from paperex.gateway.maintenance import schedule_of
from paperex.gateway.params import ascii_int
from paperex.gateway.ws_client import Client, accept, after_a_round_trip
from paperex.sequencer import Sequencer

log = logging.getLogger("paperex.ws")

DEPTHS = (1, 50, 200, 1000)
FLUSH_S = 0.02
DEPTH1_RESEND_MS = 3000
PRICE_LIMIT_MS = 300  # Bybit pushes priceLimit every 300 ms
LEGACY_LIQUIDATION_MS = 1000  # the deprecated liquidation topic: at most one liquidation a second
SPOT_ARGS_PER_REQUEST = 10  # Bybit: spot takes at most 10 args per subscribe request
ARGS_CHARS_PER_CONNECTION = 21_000  # Bybit re-sends an unchanged depth-1 snapshot every 3 s
_conn_ids = itertools.count(1)


class Topic:
    """One public topic and what its subscribers were last told."""

    def __init__(self, name: str, kind: str, st: SymbolState, arg: Any) -> None:
        self.name, self.kind, self.st, self.arg = name, kind, st, arg
        self.subscribers: set[Client] = set()
        self.sent_ms = 0  # when the last book frame went out
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.u = -1
        self.last_trade = st.tape[-1].exec_id if st.tape else 0
        self.last_liquidation = st.liquidations[-1][0] if st.liquidations else 0
        self.ticker: dict[str, Any] = {}
        self.bar: tuple[int, list[int]] | None = None
        self.seen: tuple[int, int] | None = None  # (symbol seq, minute) of the last ticker/kline computation
        self.started = False

    def publish(self, frame: str) -> None:
        for client in list(self.subscribers):
            if client.closed_because is None:
                client.send(frame)
            else:
                self.subscribers.discard(client)

    # -- frames ------------------------------------------------------------------------------------
    def _book_levels(self) -> tuple[dict[int, int], dict[int, int]]:
        book = self.st.book
        return dict(book.bids.depth(self.arg)), dict(book.asks.depth(self.arg))

    def _book_frame(self, kind: str, bids: dict[int, int], asks: dict[int, int], now: int) -> str:
        st = self.st

        def rows(levels: dict[int, int], reverse: bool) -> list[list[str]]:
            return [[ser.price(st, p), ser.qty(st, q)] for p, q in sorted(levels.items(), reverse=reverse)]

        return orjson.dumps({"topic": self.name, "type": kind, "ts": now,
                             "data": {"s": st.inst.symbol, "b": rows(bids, True), "a": rows(asks, False),
                                      "u": st.book.update_id, "seq": st.seq},
                             "cts": st.cts or now}).decode()

    def snapshot(self, now: int) -> str | None:
        """The state subscribers hold now (initialised from the core on first use)."""
        if self.kind == "orderbook":
            if not self.started:
                self.bids, self.asks = self._book_levels()
                self.u, self.started, self.sent_ms = self.st.book.update_id, True, now
            return self._book_frame("snapshot", self.bids, self.asks, now)
        if self.kind == "tickers":
            if not self.started:
                self.ticker, self.started = self._ticker_fields(now), True
            return orjson.dumps({"topic": self.name, "type": "snapshot", "data": self.ticker, "cs": self.st.seq,
                                 "ts": now}).decode()
        if self.kind == "kline":
            self.started = True
            return None  # candles come with the next flush
        if self.kind == "priceLimit":
            self.started = True
            return self._price_limit_frame(now)
        self.started = True
        return None  # publicTrade has no snapshot

    def update(self, now: int) -> list[str]:
        """Frames that bring subscribers from what they hold to the core's state now."""
        if self.kind == "orderbook":
            return self._book_update(now)
        if self.kind == "publicTrade":
            return self._trades_update(now)
        if self.kind == "allLiquidation":
            return self._liquidations_update(now)
        if self.kind == "liquidation":
            return self._legacy_liquidation_update(now)
        if self.kind == "priceLimit":
            return self._price_limit_update(now)
        # tickers and candles only change with the symbol (its seq) or the clock's minute: skip the
        # 24-hour statistics and bar aggregation on the flushes where neither moved
        seen = (self.st.seq, now // 60_000)
        if seen == self.seen:
            return []
        self.seen = seen
        if self.kind == "tickers":
            return self._ticker_update(now)
        return self._kline_update(now)

    def _book_update(self, now: int) -> list[str]:
        if self.st.book.update_id == self.u:
            if self.arg == 1 and now - self.sent_ms >= DEPTH1_RESEND_MS:
                self.sent_ms = now
                return [self._book_frame("snapshot", self.bids, self.asks, now)]
            return []
        self.sent_ms = now
        bids, asks = self._book_levels()
        self.u = self.st.book.update_id
        if self.arg == 1:  # depth 1 is snapshot-only on Bybit
            self.bids, self.asks = bids, asks
            return [self._book_frame("snapshot", bids, asks, now)]
        db = {p: q for p, q in bids.items() if self.bids.get(p) != q}
        db.update({p: 0 for p in self.bids if p not in bids})
        da = {p: q for p, q in asks.items() if self.asks.get(p) != q}
        da.update({p: 0 for p in self.asks if p not in asks})
        self.bids, self.asks = bids, asks
        if not db and not da:
            return []
        return [self._book_frame("delta", db, da, now)]

    def _trades_update(self, now: int) -> list[str]:
        tape = self.st.tape
        if not tape or tape[-1].exec_id <= self.last_trade:
            return []
        new = [t for t in tape if t.exec_id > self.last_trade]
        self.last_trade = new[-1].exec_id
        st = self.st
        data = [{"T": t.ts, "s": st.inst.symbol, "S": "Buy" if t.side > 0 else "Sell", "v": ser.qty(st, t.qty),
                 "p": ser.price(st, t.price), "L": t.tick_direction,
                 "i": ser.ids.exec_id(t.exec_id, st.inst.category), "BT": False, "RPI": False, "seq": t.seq}
                for t in new]
        return [orjson.dumps({"topic": self.name, "type": "snapshot", "ts": now, "data": data}).decode()]

    def _liquidations_update(self, now: int) -> list[str]:
        st = self.st
        new = [x for x in st.liquidations if x[0] > self.last_liquidation]
        if not new:
            return []
        self.last_liquidation = new[-1][0]
        data = [{"T": ts, "s": st.inst.symbol, "S": "Buy" if side > 0 else "Sell", "v": ser.qty(st, lots),
                 "p": ser.price(st, ticks)} for _, ts, side, lots, ticks in new]
        return [orjson.dumps({"topic": self.name, "type": "snapshot", "ts": now, "data": data}).decode()]

    def _legacy_liquidation_update(self, now: int) -> list[str]:
        """The deprecated ``liquidation.{symbol}``: the newest liquidation not yet told, at most one a second
        (pybit: "does not push all liquidations"); ``side`` Buy: a long was liquidated, at the bankruptcy price."""
        st = self.st
        wall = time.monotonic() * 1000  # the cadence is the wall clock's (virtual time may stand still)
        if not st.liquidations or st.liquidations[-1][0] <= self.last_liquidation or wall - self.sent_ms < \
                LEGACY_LIQUIDATION_MS:
            return []
        self.sent_ms = wall
        _, ts, side, lots, ticks = st.liquidations[-1]
        self.last_liquidation = st.liquidations[-1][0]
        data = {"price": ser.price(st, ticks), "side": "Buy" if side > 0 else "Sell", "size": ser.qty(st, lots),
                "symbol": st.inst.symbol, "updatedTime": ts}
        return [orjson.dumps({"data": data, "topic": self.name, "ts": now, "type": "snapshot"}).decode()]

    def _price_limit_update(self, now: int) -> list[str]:
        if time.monotonic() * 1000 - self.sent_ms < PRICE_LIMIT_MS:  # wall clock: virtual time may stand still
            return []
        return [self._price_limit_frame(now)]

    def _price_limit_frame(self, now: int) -> str:
        self.sent_ms = time.monotonic() * 1000
        max_buy, min_sell = trading.band(self.st)
        data = {"symbol": self.st.inst.symbol, "buyLmt": ser.price(self.st, max_buy),
                "sellLmt": ser.price(self.st, min_sell)}
        return orjson.dumps({"topic": self.name, "data": data, "ts": now}).decode()

    def _ticker_fields(self, now: int) -> dict[str, Any]:
        fields = market_data.ticker(self.st, now)
        if self.st.inst.category != "spot":
            fields["tickDirection"] = self.st.tick_direction
        if self.st.inst.delivery_time:  # Bybit's stream sends a future's delivery time as ISO text, REST as ms
            fields["deliveryTime"] = datetime.fromtimestamp(self.st.inst.delivery_time / 1000, UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ")
        return fields

    def _ticker_update(self, now: int) -> list[str]:
        fields = self._ticker_fields(now)
        if self.st.inst.category == "spot":  # spot tickers are snapshots only
            if fields == self.ticker:
                return []
            self.ticker = fields
            return [orjson.dumps({"topic": self.name, "type": "snapshot", "cs": self.st.seq, "ts": now,
                                  "data": fields}).decode()]
        changed = {k: v for k, v in fields.items() if self.ticker.get(k) != v}
        if not changed:
            return []
        self.ticker = fields
        return [orjson.dumps({"topic": self.name, "type": "delta", "cs": self.st.seq, "ts": now,
                              "data": {"symbol": self.st.inst.symbol, **changed}}).decode()]

    def _kline_row(self, start: int, bar: list[int], confirm: bool, now: int) -> dict[str, Any]:
        st = self.st
        return {"start": start, "end": next_start(start, self.arg) - 1, "interval": self.arg,
                "open": ser.price(st, bar[0]), "close": ser.price(st, bar[3]), "high": ser.price(st, bar[1]),
                "low": ser.price(st, bar[2]), "volume": ser.qty(st, bar[4]), "turnover": ser.money(bar[5]),
                "confirm": confirm, "timestamp": now}

    def _kline_update(self, now: int) -> list[str]:
        bars = self.st.candles.query(self.arg, None, now, 1)
        if not bars:
            return []
        start, bar = bars[0]
        rows = []
        if self.bar is not None and self.bar[0] != start:  # the previous candle closed
            prev = self.st.candles.query(self.arg, self.bar[0], self.bar[0], 1)
            if prev:
                rows.append(self._kline_row(prev[0][0], prev[0][1], True, now))
        if self.bar != (start, bar):
            rows.append(self._kline_row(start, bar, False, now))
        self.bar = (start, list(bar))
        if not rows:
            return []
        return [orjson.dumps({"topic": self.name, "data": rows, "ts": now, "type": "snapshot"}).decode()]


class PublicStreams:
    def __init__(self, sequencer: Sequencer) -> None:
        self.sequencer = sequencer
        self.topics: dict[tuple[str, str], Topic] = {}  # (category, topic name) -> state
        self._task: asyncio.Task[None] | None = None

    def parse(self, category: str, name: str) -> Topic | None:
        parts = name.split(".")
        core = self.sequencer.core
        if len(parts) == 3 and parts[0] == "orderbook" and ascii_int(parts[1], max_len=4) in DEPTHS:
            kind, arg, symbol = "orderbook", int(parts[1]), parts[2]
        elif len(parts) == 3 and parts[0] == "kline" and parts[1] in INTERVALS:
            kind, arg, symbol = "kline", parts[1], parts[2]
        elif len(parts) == 2 and parts[0] in ("publicTrade", "tickers", "allLiquidation", "liquidation", "priceLimit"):
            kind, arg, symbol = parts[0], None, parts[1]
        else:
            return None
        st = core.symbols.get((category, symbol))
        if st is None or (kind in ("allLiquidation", "liquidation") and category == "spot"):
            return None
        key = (category, name)
        if key not in self.topics:
            self.topics[key] = Topic(name, kind, st, arg)
        return self.topics[key]

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._flush_forever(), name="ws-public")

    async def _flush_forever(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:  # a fixed cadence: the time a flush takes does not stretch the period
            due = max(due + FLUSH_S, loop.time())
            await asyncio.sleep(due - loop.time())
            try:
                await self.flush()
            except Exception:
                log.exception("public stream flush failed")

    async def flush(self) -> None:
        if not self.sequencer.settled():  # a command is not durable yet: show nothing of it (next flush)
            return
        now = self.sequencer.now_ms()
        schedule = schedule_of(self.sequencer)
        for topic in list(self.topics.values()):
            if not topic.subscribers:
                continue
            if schedule.items and schedule.ongoing(now, (5,), topic.st.inst.category) is not None:
                for client in list(topic.subscribers):  # market data under maintenance: the streams drop
                    client.abort()
                topic.subscribers.clear()
                continue
            for frame in topic.update(now):
                topic.publish(frame)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


STREAMS: web.AppKey[PublicStreams] = web.AppKey("public_streams", PublicStreams)


async def public_socket(request: web.Request) -> web.StreamResponse:
    category = request.match_info["category"]
    if category not in ("linear", "inverse", "spot"):
        raise web.HTTPNotFound()
    streams = request.app[STREAMS]
    if schedule_of(streams.sequencer).ongoing(streams.sequencer.now_ms(), (5,), category) is not None:
        raise web.HTTPServiceUnavailable()  # market data under maintenance
    client = await accept(request, f"paperex-{next(_conn_ids)}")
    mine: set[Topic] = set()  # this connection's subscriptions (a set: resubscribing never grows it)
    try:
        async for frame in client.frames():
            op, req_id = frame.get("op"), frame.get("req_id")
            if op == "ping":
                reply = {"success": True, "ret_msg": "pong", "conn_id": client.conn_id, "op": "ping"}
                if req_id is not None and category != "spot":
                    reply["req_id"] = req_id
                client.send(reply)
                continue
            if op not in ("subscribe", "unsubscribe"):
                client.send({"success": False, "ret_msg": f"error:unknown op {op}", "conn_id": client.conn_id,
                             "req_id": req_id, "op": op})
                continue
            args = frame.get("args") if isinstance(frame.get("args"), list) else []
            topics = [streams.parse(category, a) if isinstance(a, str) else None for a in args]
            bad = [a for a, t in zip(args, topics, strict=True) if t is None]
            error = f"Invalid topic: {', '.join(map(str, bad))}" if bad else ""
            if not error and op == "subscribe":
                already = [t.name for t in topics if t is not None and client in t.subscribers]
                if already:
                    error = f"error:already subscribed,topic:{already[0]}"
                elif category == "spot" and len(args) > SPOT_ARGS_PER_REQUEST:
                    error = f"error:args count exceeds {SPOT_ARGS_PER_REQUEST} per request"
                elif sum(len(t.name) for t in mine) + sum(map(len, args)) > ARGS_CHARS_PER_CONNECTION:
                    error = f"error:args exceed {ARGS_CHARS_PER_CONNECTION} characters per connection"
            await after_a_round_trip()
            ok_msg = "subscribe" if category == "spot" and op == "subscribe" else ""
            client.send({"success": not error, "ret_msg": error or ok_msg, "conn_id": client.conn_id,
                         "req_id": req_id, "op": op})
            if error:
                continue
            now = streams.sequencer.now_ms()
            for topic in topics:
                assert topic is not None
                if op == "subscribe" and client not in topic.subscribers:
                    # bring the topic up to date first, so the snapshot is what the next delta applies to
                    for pending in topic.update(now) if topic.started else ():
                        topic.publish(pending)
                    snap = topic.snapshot(now)
                    topic.subscribers.add(client)
                    mine.add(topic)
                    if snap is not None:
                        client.send(snap)
                elif op == "unsubscribe":
                    topic.subscribers.discard(client)
                    mine.discard(topic)
    finally:
        for topic in mine:
            topic.subscribers.discard(client)
    return client.ws
