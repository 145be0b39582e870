"""The gateway's request log: the last requests the exchange answered (REST and WebSocket order entry), with
what it answered — which requests a bot made, which were refused and why. For tests and debugging
(``GET /admin/v1/requests``, ``paperex.testing``); in memory only, bounded, never journaled: it is the wire's
record, not the exchange's state.

Parameters are kept as the client sent them, without signatures or keys (those travel in headers, which are not
kept), truncated to ``PARAMS_KEPT`` characters.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

KEPT = 5000
PARAMS_KEPT = 600


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    ts: int  # exchange time (ms)
    transport: str  # "rest" or "ws-trade"
    method: str
    path: str
    uid: int | None  # the authenticated account, if any
    params: str  # the query string or body as sent (truncated)
    status: int  # HTTP status (200 for every retCode reply)
    ret_code: int | None  # None: an HTTP-level failure without a JSON body
    ret_msg: str

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "ts": self.ts, "transport": self.transport, "method": self.method, "path": self.path,
                "uid": self.uid, "params": self.params, "status": self.status, "retCode": self.ret_code,
                "retMsg": self.ret_msg}


class RequestLog:
    def __init__(self, kept: int = KEPT) -> None:
        self.entries: deque[Entry] = deque(maxlen=kept)
        self.next_id = 1

    def add(self, ts: int, transport: str, method: str, path: str, uid: int | None, params: str | bytes,
            status: int, ret_code: int | None, ret_msg: str) -> None:
        text = params.decode("utf-8", "replace") if isinstance(params, bytes) else params
        if len(text) > PARAMS_KEPT:
            text = text[:PARAMS_KEPT] + "…"
        self.entries.append(Entry(self.next_id, ts, transport, method, path[:200], uid, text, status, ret_code,
                                  ret_msg[:500]))
        self.next_id += 1

    def since(self, after: int = 0, uid: int | None = None, limit: int = KEPT) -> list[Entry]:
        """Entries with an id above ``after`` (oldest first), of one account when ``uid`` is given."""
        out = [e for e in self.entries if e.id > after and (uid is None or e.uid == uid)]
        return out[-limit:] if limit < len(out) else out

    @property
    def last_id(self) -> int:
        return self.next_id - 1


REQUEST_LOG: web.AppKey[RequestLog] = web.AppKey("request_log", RequestLog)
