"""The gateway's request log: the last requests the exchange answered (REST and WebSocket order entry), with
what it answered — which requests a bot made, which were refused and why. For tests and debugging
(``GET /admin/v1/requests``, ``paperex.testing``); in memory only, bounded, never journaled: it is the wire's
record, not the exchange's state.

Parameters are kept as the client sent them, without signatures or secrets (those travel in headers, which are not
kept), truncated to ``PARAMS_KEPT`` characters. An entry also says how long the answer took, the API key used
(the key, never its secret), the rate-limit state the reply carried (``X-Bapi-Limit*``), the order ids a create
returned (to link an order to its request), and for a refusal the rule that refused it with its numbers
(``ApiError.reason``: the dashboard's inspector shows it; the wire's retMsg does not carry it).
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
    latency_ms: float = 0.0  # from the request's arrival to its answer
    api_key: str = ""  # the key that signed it (never a secret)
    limit: tuple[str, str, str] | None = None  # X-Bapi-Limit, -Status, -Reset-Timestamp when the path is limited
    order_ids: tuple[str, ...] = ()  # what an order create (or batch create) returned
    reason: str = ""  # a refusal's rule in plain words with its numbers (ApiError.reason), when the core gave one

    def describe(self) -> dict[str, Any]:
        limit = None if self.limit is None else {"limit": self.limit[0], "remaining": self.limit[1],
                                                 "resetTimestamp": self.limit[2]}
        return {"id": self.id, "ts": self.ts, "transport": self.transport, "method": self.method, "path": self.path,
                "uid": self.uid, "params": self.params, "status": self.status, "retCode": self.ret_code,
                "retMsg": self.ret_msg, "latencyMs": round(self.latency_ms, 3), "apiKey": self.api_key,
                "rateLimit": limit, "orderIds": list(self.order_ids), "reason": self.reason}


class RequestLog:
    def __init__(self, kept: int = KEPT) -> None:
        self.entries: deque[Entry] = deque(maxlen=kept)
        self.next_id = 1

    def add(self, ts: int, transport: str, method: str, path: str, uid: int | None, params: str | bytes,
            status: int, ret_code: int | None, ret_msg: str, *, latency_ms: float = 0.0, api_key: str = "",
            limit: tuple[str, str, str] | None = None, order_ids: tuple[str, ...] = (), reason: str = "") -> None:
        cut = len(params) > PARAMS_KEPT  # cut before decoding: a batch body may be a megabyte
        text = params[:PARAMS_KEPT].decode("utf-8", "replace") if isinstance(params, bytes) else params[:PARAMS_KEPT]
        if cut:
            text += "…"
        self.entries.append(Entry(self.next_id, ts, transport, method, path[:200], uid, text, status, ret_code,
                                  ret_msg[:500], latency_ms, api_key[:64], limit, order_ids[:20], reason[:500]))
        self.next_id += 1

    def since(self, after: int = 0, uid: int | None = None, limit: int = KEPT, path: str | None = None,
              code: int | None = None, order_id: str | None = None) -> list[Entry]:
        """Entries with an id above ``after`` (oldest first), of one account when ``uid`` is given, of paths
        containing ``path``, answered with retCode ``code``, or that created ``order_id``."""
        out = [e for e in self.entries if e.id > after and (uid is None or e.uid == uid)
               and (path is None or path in e.path) and (code is None or e.ret_code == code)
               and (order_id is None or order_id in e.order_ids)]
        return out[-limit:] if limit < len(out) else out

    @property
    def last_id(self) -> int:
        return self.next_id - 1


REQUEST_LOG: web.AppKey[RequestLog] = web.AppKey("request_log", RequestLog)
