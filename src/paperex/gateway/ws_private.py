"""The private WebSocket stream ``/v5/private``: ``auth``, then ``order``, ``execution``,
``execution.fast``, ``position`` and ``wallet`` (and the ``.{category}`` variants of the first four).

``position`` is pushed whenever a fill changes a position and, as on Bybit, on every derivatives order
create/amend/cancel even when the position did not change: one row per symbol per command.

Frames are built when the core reports the change (a sequencer listener), so every order state reaches
the client, in order, with the fields it had at that moment; they are sent as soon as the event loop is
free (no timer: ``execution`` arrives one loop iteration after the fill).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import defaultdict, deque
from typing import Any

from aiohttp import web

from paperex.core.events import BalanceChanged, Event, Executed, OrderChanged, PositionChanged
from paperex.errors import ApiError, Code
from paperex.gateway import serializers
from paperex.gateway import trade_serializers as ser
from paperex.gateway.auth import check_account_status, signature_matches, virtual_now
from paperex.gateway.maintenance import schedule_of
from paperex.gateway.position_serializers import symbol_positions
from paperex.gateway.rate_limits import RATE_LIMITER
from paperex.gateway.ws_client import Client, accept, after_a_round_trip
from paperex.sequencer import Sequencer

log = logging.getLogger("paperex.ws")

CATEGORIES = ("linear", "inverse", "spot", "option")
ROW_TOPICS = ("order", "execution", "execution.fast", "position")
TOPICS = {"wallet", *ROW_TOPICS,
          *(f"{t}.{c}" for t in ROW_TOPICS for c in CATEGORIES if (t, c) != ("position", "spot"))}
_conn_ids = itertools.count(1)
_msg_ids = itertools.count(1)


def _categorised(topic: str) -> bool:
    """``order.linear`` and ``execution.fast.spot`` are categorised; ``order``, ``execution.fast`` are not."""
    return topic.count(".") > (1 if topic.startswith("execution.fast") else 0)


class Connection:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.uid: int | None = None
        self.topics: set[str] = set()


class PrivateStreams:
    def __init__(self, sequencer: Sequencer) -> None:
        self.sequencer = sequencer
        self.by_uid: dict[int, set[Connection]] = defaultdict(set)
        # each command's frames, built at event time, held until its journal write is durable: (durable,
        # [(uid, (topic, category, row))], uids whose wallet changed), in command order
        self.pending: deque[tuple[asyncio.Future[None], list[tuple[int, tuple[str, str, Any]]], set[int]]] = deque()
        self.wallet_dirty: set[int] = set()  # wallets to send once every command applied is durable
        self._scheduled = False
        sequencer.listeners.append(self.on_events)

    # -- building frames at event time ---------------------------------------------------------------
    def on_events(self, events: list[Event], ts: int, durable: asyncio.Future[None]) -> None:
        rows: list[tuple[int, tuple[str, str, Any]]] = []
        wallets: set[int] = set()
        self._build(events, rows, wallets)
        if rows or wallets or self.wallet_dirty or self.pending:  # (a wallet waits for everything to be durable)
            self.pending.append((durable, rows, wallets))
            durable.add_done_callback(lambda _: self._schedule())

    def _build(self, events: list[Event], outbox: list[tuple[int, tuple[str, str, Any]]], wallets: set[int]) -> None:
        core = self.sequencer.core
        # touched this command, in order: the positionIdx values that changed (-1: every side of the symbol)
        positions: dict[tuple[int, str, str], set[int]] = {}
        for e in events:
            uid = getattr(e, "uid", None)
            if uid is None or uid not in self.by_uid:
                continue
            if isinstance(e, OrderChanged):
                o = core.orders[e.order_id]
                row = {"category": o.category, **ser.order(core.symbols[(o.category, o.symbol)], o),
                       "closedPnl": "0", "feeCurrency": ""}
                outbox.append((uid, ("order", o.category, row)))
                if o.category != "spot":
                    positions.setdefault((uid, o.category, o.symbol), set()).add(o.position_idx)
            elif isinstance(e, PositionChanged):
                positions.setdefault((uid, e.category, e.symbol), set()).add(e.idx)
            elif isinstance(e, Executed):
                acc = core.accounts[uid]
                ex = next((x for x in reversed(acc.executions) if x.exec_id == e.exec_id and x.order_id == e.order_id),
                          None)
                if ex is None:
                    continue
                st = core.symbols[(ex.category, ex.symbol)]
                order = core.orders.get(ex.order_id)
                row = {"category": ex.category, **ser.execution(st, ex, order),
                       "execPnl": ser.money(ex.pnl), "isLeverage": "0",
                       "marketUnit": order.market_unit if order is not None else ""}  # websocket/private/execution
                outbox.append((uid, ("execution", ex.category, row)))
                wallets.add(uid)
                if ex.exec_type != "Trade":  # execution.fast carries trades only
                    continue
                fast = {k: row[k] for k in ("category", "symbol", "orderId", "isMaker", "orderLinkId", "execId",
                                            "execPrice", "execQty", "side", "execTime", "seq")}
                if ex.is_maker:
                    fast["orderLinkId"] = ""  # Bybit leaves it empty for maker fills
                outbox.append((uid, ("execution.fast", ex.category, fast)))
            elif isinstance(e, BalanceChanged):
                wallets.add(uid)
        for (uid, category, symbol), idxs in positions.items():
            # a position row values the account and ranks it against every other: only for a subscriber
            if not any(t.startswith("position") for conn in self.by_uid[uid] for t in conn.topics):
                continue
            for row in symbol_positions(core.symbols[(category, symbol)], core.accounts[uid], core, stream=True):
                if -1 in idxs or row["positionIdx"] in idxs:  # the sides that changed (Bybit)
                    outbox.append((uid, ("position", category, row)))

    def forget(self, conn: Connection) -> None:
        """The connection no longer receives its account's frames (re-authenticated or gone)."""
        if conn.uid is not None:
            conns = self.by_uid.get(conn.uid)
            if conns is not None:
                conns.discard(conn)
                if not conns:
                    del self.by_uid[conn.uid]

    # -- sending -------------------------------------------------------------------------------------
    def _schedule(self) -> None:
        """Send what the durable commands produced as soon as the event loop is free (after the REST reply of the
        command that made them, which the same durable write released): frames of commands made durable
        together go out together, without a timer's delay."""
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # applied outside the server (recovery, tools): nobody is subscribed
            return
        self._scheduled = True
        loop.call_soon(self._flush_now)

    def _flush_now(self) -> None:
        self._scheduled = False
        try:
            self.flush()
        except Exception:
            log.exception("private stream flush failed")

    def flush(self) -> None:
        core = self.sequencer.core
        now = self.sequencer.now_ms()
        outbox: dict[int, list[tuple[str, str, Any]]] = defaultdict(list)
        while self.pending and self.pending[0][0].done():  # the durable prefix, in command order
            durable, rows, wallets = self.pending.popleft()
            if durable.cancelled() or durable.exception() is not None:
                continue  # never written: never shown
            for uid, item in rows:
                outbox[uid].append(item)
            self.wallet_dirty |= wallets
        dirty: set[int] = set()
        if self.sequencer.settled():  # a wallet is built from the state now: only when all of it is durable
            dirty, self.wallet_dirty = self.wallet_dirty, set()
        for uid, items in outbox.items():
            for conn in list(self.by_uid.get(uid, ())):
                for topic in ROW_TOPICS:
                    for name in (topic, *(f"{topic}.{c}" for c in CATEGORIES)):
                        if name not in conn.topics:
                            continue
                        rows = [row for t, cat, row in items if t == topic and (name == topic or name.endswith(cat))]
                        if rows:
                            conn.client.send({"id": f"{next(_msg_ids)}", "topic": name, "creationTime": now,
                                               "data": rows})
        for uid in dirty:
            account = core.accounts.get(uid)
            if account is None:
                continue
            for conn in list(self.by_uid.get(uid, ())):
                if "wallet" in conn.topics:
                    wallet = serializers.wallet_balance(core, account, [])["list"]
                    conn.client.send({"id": f"{next(_msg_ids)}", "topic": "wallet", "creationTime": now,
                                      "data": wallet})


PRIVATE: web.AppKey[PrivateStreams] = web.AppKey("private_streams", PrivateStreams)


def verify_auth(streams: PrivateStreams, args: Any, now_ms: int, client_ip: str = "",
                banned_ips: list[str] | None = None) -> tuple[int | None, str, int]:
    """The WebSocket ``auth`` op: (uid, "", 0), or (None, Bybit's message, the code /v5/trade answers with)."""
    uid, error = _verify_signature(streams, args, now_ms)
    if uid is None:
        return None, error, Code.PARAM_ERROR if error == "Params Error" else Code.BAD_SIGNATURE
    key = streams.sequencer.core.api_keys[args[0]]
    if client_ip in (banned_ips or ()):
        return None, "IP has been banned", Code.IP_BANNED
    if not key.ip_allowed(client_ip):
        return None, "Unmatched IP, please check your API key's bound IP addresses.", Code.IP_MISMATCH
    try:
        check_account_status(streams.sequencer.core.accounts[uid])
    except ApiError as err:
        return None, err.msg, err.code
    return uid, "", 0


def _verify_signature(streams: PrivateStreams, args: Any, now_ms: int) -> tuple[int | None, str]:
    if not isinstance(args, list) or len(args) != 3:
        return None, "Params Error"
    api_key, expires, signature = args
    if not isinstance(api_key, str) or not isinstance(signature, str):
        return None, "Params Error"
    try:
        expires_ms = int(expires)
    except (TypeError, ValueError):
        return None, "Params Error"
    key = streams.sequencer.core.api_keys.get(api_key)
    if key is None:
        return None, "Request not authorized"
    virtual = virtual_now(streams.sequencer)  # in virtual time a client may follow the exchange clock
    if expires_ms <= (now_ms if virtual is None else min(now_ms, virtual)):
        return None, "Params Error: auth expired"
    payload = f"GET/realtime{expires}".encode()
    if not signature_matches(key, payload, signature):
        return None, "Request not authorized"
    return key.uid, ""


async def private_socket(request: web.Request) -> web.StreamResponse:
    streams = request.app[PRIVATE]
    schedule = schedule_of(streams.sequencer)
    if schedule.ongoing(streams.sequencer.now_ms(), (4,)) is not None:  # private stream under maintenance
        raise web.HTTPServiceUnavailable()
    client = await accept(request, f"paperex-p{next(_conn_ids)}", alive=True)
    conn = Connection(client)
    try:
        async for frame in client.frames():
            op, req_id = frame.get("op"), frame.get("req_id")
            if schedule.items and schedule.ongoing(streams.sequencer.now_ms(), (4,), None, conn.uid) is not None:
                client.abort()  # a maintenance began: the connection drops (the client reconnects after it)
                break
            if op == "ping":
                client.send({"req_id": req_id, "op": "pong", "args": [str(streams.sequencer.now_ms())],
                             "conn_id": client.conn_id})
            elif op == "auth":
                uid, error, _ = verify_auth(streams, frame.get("args"), time.time_ns() // 1_000_000,
                                            request.remote or "", request.app[RATE_LIMITER].settings.banned_ips)
                if uid is not None:
                    streams.forget(conn)
                    conn.uid = uid
                    streams.by_uid[uid].add(conn)
                reply = {"success": uid is not None, "ret_msg": error, "op": "auth", "conn_id": client.conn_id}
                if req_id is not None:
                    reply["req_id"] = req_id
                client.send(reply)
            elif op in ("subscribe", "unsubscribe"):
                args = frame.get("args") if isinstance(frame.get("args"), list) else []
                bad = [a for a in args if not isinstance(a, str) or a not in TOPICS]
                mixed = len({_categorised(a) for a in args if isinstance(a, str) and a in TOPICS and a != "wallet"}) > 1
                error = "Request not authorized" if conn.uid is None else (
                    f"Invalid topic: {', '.join(map(str, bad))}" if bad else
                    "All-In-One topic and Categorised topic cannot be in the same subscription request"
                    if mixed else "")
                if not error:
                    if op == "subscribe":
                        conn.topics.update(args)
                    else:
                        conn.topics.difference_update(args)
                await after_a_round_trip()
                client.send({"success": not error, "ret_msg": error, "conn_id": client.conn_id,
                             "req_id": req_id, "op": op})
            else:
                client.send({"success": False, "ret_msg": f"error:unknown op {op}", "conn_id": client.conn_id,
                             "req_id": req_id, "op": op})
    finally:
        streams.forget(conn)
    return client.ws
