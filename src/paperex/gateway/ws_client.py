"""One WebSocket client connection, whatever the endpoint: a bounded outbound queue written by its own task,
the idle timeout, and the frames the client sends.

Nothing that produces frames (the stream flushes, the sequencer listener) ever awaits a client: ``send``
only appends to the queue. A client that lets ``max_queued_frames`` pile up (it stopped reading, or reads
slower than its topics change) is disconnected; it can reconnect and resubscribe, and gets a fresh
snapshot. It is never silently skipped, so a book it holds is never wrong.

Idle rule (Bybit): a connection with neither a frame from the client nor data sent to it for the alive time
is closed. The alive time is 10 minutes; ``/v5/private`` and ``/v5/trade`` accept ``?max_active_time=`` from
``30s`` to ``600s`` (or ``1m`` to ``10m``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import WSCloseCode, WSMsgType, web

log = logging.getLogger("paperex.ws")


@dataclass(frozen=True)
class WsSettings:
    idle_timeout_s: float = 600.0  # Bybit: 10 minutes without ping/pong or data
    max_queued_frames: int = 4096  # per connection; beyond it the client is disconnected


WS_SETTINGS: web.AppKey[WsSettings] = web.AppKey("ws_settings", WsSettings)
WS_CLIENTS: web.AppKey[set[Client]] = web.AppKey("ws_clients", set)

_ALIVE = re.compile(r"^(\d{1,4})([sm])$")
MIN_ALIVE_S, MAX_ALIVE_S = 30, 600


def alive_time(request: web.Request, settings: WsSettings) -> float:
    """The connection's alive time: ``max_active_time`` (private and trade endpoints) clamped to Bybit's
    30 s .. 600 s, else the server's idle timeout. An unreadable value is ignored."""
    raw = request.query.get("max_active_time")
    m = _ALIVE.match(raw or "")
    if not m:
        return settings.idle_timeout_s
    seconds = int(m.group(1)) * (60 if m.group(2) == "m" else 1)
    return float(min(max(seconds, MIN_ALIVE_S), MAX_ALIVE_S))


class Client:
    """A prepared ``WebSocketResponse`` with its writer task, queue and idle watchdog."""

    def __init__(self, request: web.Request, ws: web.WebSocketResponse, conn_id: str, settings: WsSettings,
                 alive_s: float) -> None:
        self.stalled_until = 0.0  # loop time: /admin/v1/faults/ws-stall holds the outbound frames until then
        self.ws = ws
        self.conn_id = conn_id
        self.alive_s = alive_s
        self.closed_because: str | None = None
        self._transport = request.transport
        self._limit = settings.max_queued_frames
        self._queue: deque[str] = deque()
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self.last_active = self._loop.time()
        self._tasks: list[asyncio.Task[None]] = []
        self.closing: asyncio.Task[None] | None = None
        self.registry: set[Client] = set()  # the server's open connections (left when the client goes)

    # -- sending -------------------------------------------------------------------------------------
    def send(self, frame: dict[str, Any] | str) -> None:
        """Queue a frame (never waits). Overflowing the queue disconnects the client."""
        if self.closed_because is not None:
            return
        if len(self._queue) >= self._limit:
            self.disconnect(f"slow consumer: {len(self._queue)} frames queued", WSCloseCode.TRY_AGAIN_LATER)
            return
        self._queue.append(frame if isinstance(frame, str) else orjson.dumps(frame).decode())
        self._wake.set()

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def _write(self) -> None:
        ws = self.ws
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.stalled_until > self._loop.time():  # an injected stall: the frames wait in the queue
                await asyncio.sleep(self.stalled_until - self._loop.time())
            while self._queue:
                try:
                    await ws.send_str(self._queue.popleft())
                except (ConnectionError, RuntimeError):
                    self.disconnect("gone")
                    return
                self.last_active = self._loop.time()

    async def _watch(self) -> None:
        while True:
            left = self.last_active + self.alive_s - self._loop.time()
            if left <= 0:
                self.disconnect("idle", WSCloseCode.GOING_AWAY)
                return
            await asyncio.sleep(left)

    def disconnect(self, reason: str, code: int = WSCloseCode.GOING_AWAY) -> None:
        if self.closed_because is not None:
            return
        self.closed_because = reason
        self._queue.clear()
        log.info("closing WebSocket %s: %s", self.conn_id, reason)
        self.closing = self._loop.create_task(self._close(code, reason))

    def stall(self, seconds: float) -> None:
        """Hold every outbound frame for ``seconds`` (a stalled stream); they go out afterwards, unless the
        queue overflows first (then the client is disconnected, as any slow client is)."""
        self.stalled_until = self._loop.time() + seconds

    def abort(self) -> None:
        """Cut the connection without a close frame (a dropped network connection)."""
        if self.closed_because is not None:
            return
        self.closed_because = "dropped"
        self._queue.clear()
        for task in self._tasks:
            task.cancel()
        if self._transport is not None and not self._transport.is_closing():
            self._transport.abort()

    async def _close(self, code: int, reason: str) -> None:
        for task in self._tasks:
            task.cancel()
        # a close frame if the client still reads; a client that stopped reading is cut off
        with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
            await asyncio.wait_for(self.ws.close(code=code, message=reason.encode()[:120], drain=False), 2.0)
        if self._transport is not None and not self._transport.is_closing():
            self._transport.abort()

    # -- receiving -----------------------------------------------------------------------------------
    async def frames(self) -> AsyncIterator[dict[str, Any]]:
        """The JSON objects the client sends as text frames (anything else is ignored), until it goes."""
        self._tasks = [self._loop.create_task(self._write(), name=f"ws-write-{self.conn_id}"),
                       self._loop.create_task(self._watch(), name=f"ws-idle-{self.conn_id}")]
        try:
            async for msg in self.ws:
                self.last_active = self._loop.time()
                if msg.type != WSMsgType.TEXT or self.closed_because is not None:
                    continue
                try:
                    frame = orjson.loads(msg.data)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(frame, dict):
                    yield frame
        finally:
            self.registry.discard(self)
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError, ConnectionError, RuntimeError):
                    await task


# pybit sends a subscribe frame and only then records its req_id; its reader thread looks the req_id up
# when the reply arrives, so a reply faster than that (a local server answers in microseconds) makes
# pybit raise and drop the connection. Bybit is a network away; answer subscriptions a round trip later.
SUBSCRIBE_REPLY_DELAY_S = 0.02


async def after_a_round_trip() -> None:
    await asyncio.sleep(SUBSCRIBE_REPLY_DELAY_S)


async def accept(request: web.Request, conn_id: str, alive: bool = False) -> Client:
    """Upgrade the request. ``alive``: the endpoint honours ``max_active_time``."""
    settings = request.app[WS_SETTINGS]
    ws = web.WebSocketResponse(heartbeat=None, autoping=True, max_msg_size=1 << 20)
    await ws.prepare(request)
    client = Client(request, ws, conn_id, settings, alive_time(request, settings) if alive else settings.idle_timeout_s)
    client.registry = request.app[WS_CLIENTS]
    client.registry.add(client)
    return client


async def close_all(app: web.Application) -> None:
    """On shutdown: every client gets a close frame (1001 going away) instead of waiting for a timeout."""
    clients = list(app[WS_CLIENTS])
    for client in clients:
        client.disconnect("server shutting down", WSCloseCode.GOING_AWAY)
    closing = [c.closing for c in clients if c.closing is not None]
    if closing:
        await asyncio.wait(closing, timeout=3)
