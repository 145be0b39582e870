"""WebSocket order entry ``/v5/trade``: ``auth``, then ``order.create``, ``order.amend``,
``order.cancel`` and the three batch ops, answered by the very handlers of the REST endpoints (one
handler, two transports): same parameters, same checks, same errors, same results.

A ``reqId`` used twice on one connection is answered 10014 (Invalid duplicate request); an unknown op
10001; the header timestamp follows the REST recv-window rule (10002).
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from typing import Any

import orjson
from aiohttp import web

from paperex.errors import ApiError, Code, message
from paperex.gateway import faults
from paperex.gateway.auth import DEFAULT_RECV_WINDOW, Principal, check_account_status, in_window, virtual_now
from paperex.gateway.endpoints import V5, Call, Reply
from paperex.gateway.envelope import HttpFailure
from paperex.gateway.faults import FAULTS
from paperex.gateway.maintenance import schedule_of
from paperex.gateway.params import Params, ascii_int, param_error
from paperex.gateway.rate_limits import RATE_LIMITER, RateLimited
from paperex.gateway.request_log import REQUEST_LOG
from paperex.gateway.rest import LIMIT_HEADERS, SEQUENCER, check_account_state, created_order_ids, take_quota
from paperex.gateway.ws_client import accept
from paperex.gateway.ws_private import PRIVATE, verify_auth

OPS = {"order.create": "/v5/order/create", "order.amend": "/v5/order/amend", "order.cancel": "/v5/order/cancel",
       "order.create-batch": "/v5/order/create-batch", "order.amend-batch": "/v5/order/amend-batch",
       "order.cancel-batch": "/v5/order/cancel-batch"}
_conn_ids = itertools.count(1)


def _check_header(header: Any, now_ms: int, also_ms: int | None = None) -> None:
    if not isinstance(header, dict) or "X-BAPI-TIMESTAMP" not in header:
        raise param_error("header.X-BAPI-TIMESTAMP is required")
    ts_text, recv_text = str(header["X-BAPI-TIMESTAMP"]), str(header.get("X-BAPI-RECV-WINDOW", DEFAULT_RECV_WINDOW))
    recv = ascii_int(recv_text, max_len=12)
    if not recv:
        raise param_error("invalid X-BAPI-RECV-WINDOW")
    ts = ascii_int(ts_text, max_len=16)
    if ts is None or not in_window(ts, recv, now_ms, also_ms):
        raise ApiError(Code.TIMESTAMP_OUT_OF_WINDOW,
                       f"req_timestamp[{ts_text}],server_timestamp[{now_ms}],recv_window[{recv}]")


async def handle(app: web.Application, principal: Principal, frame: dict[str, Any], wall_ms: int,
                 headers: dict[str, str]) -> tuple[Any, Any, str]:
    """Run one request through the REST endpoint's handler: (result, retExtInfo, retMsg). The rate limit is
    the REST endpoint's, and its headers go into ``headers``."""
    path = OPS[frame["op"]]
    endpoint = V5.find("POST", path)
    assert endpoint is not None
    endpoint.permission.check(principal.key)
    check_account_status(principal.account)  # an account frozen or banned since it authenticated
    args = frame.get("args")
    if not isinstance(args, list) or len(args) != 1 or not isinstance(args[0], dict):
        raise param_error("args must hold exactly one object")
    sequencer = app[SEQUENCER]
    now_ns = sequencer.clock.now_ns()
    call = Call(params=Params(args[0]), principal=principal, now_ms=max(now_ns // 1_000_000, sequencer.core.last_ts),
                now_ns=now_ns, sequencer=sequencer)
    check_account_state(principal.account, call.params, call.now_ms)  # upgrading; classic: no spot or option
    schedule_of(sequencer).check_ws_trade(call.now_ms, call.params.raw("category"), principal.account.uid)
    try:
        quota = take_quota(app, call, path, wall_ms)
    except RateLimited as err:
        headers.update(err.quota.headers())
        raise
    if quota is not None:
        headers.update(quota.headers())
    result = await faults.run_with(app[FAULTS].take(path, wall_ms), lambda: endpoint.handler(call))
    if isinstance(result, Reply):
        return result.result, result.ext or {}, result.msg
    return result, {}, "OK"


async def trade_socket(request: web.Request) -> web.StreamResponse:
    streams = request.app[PRIVATE]
    client = await accept(request, f"paperex-t{next(_conn_ids)}", alive=True)
    conn_id, send = client.conn_id, client.send
    principal: Principal | None = None
    seen: set[str] = set()
    pending: set[asyncio.Future[None]] = set()

    async for frame in client.frames():
        op = frame.get("op")
        wall = time.time_ns() // 1_000_000
        if op == "ping":
            send({"retCode": 0, "retMsg": "OK", "op": "pong", "data": [str(wall)], "connId": conn_id})
            continue
        if op == "auth":
            uid, error, code = verify_auth(streams, frame.get("args"), wall, request.remote or "",
                                           request.app[RATE_LIMITER].settings.banned_ips)
            if uid is not None:
                key = streams.sequencer.core.api_keys[frame["args"][0]]
                principal = Principal(key=key, account=streams.sequencer.core.accounts[uid])
                send({"retCode": 0, "retMsg": "OK", "op": "auth", "connId": conn_id})
            else:  # malformed: 10001; a wrong key, signature or expiry: 10004; then IP and account states
                text = error if code in (Code.USER_AUTH_FAILED, Code.ACCOUNT_BANNED) else message(code, error)
                send({"retCode": code, "retMsg": text, "op": "auth", "connId": conn_id})
            continue
        # each op is answered on its own: a slow one (an injected latency, a slow disk) holds up no other, and
        # Bybit's clients match replies by reqId
        task = asyncio.ensure_future(answer(request, principal, seen, frame, wall, send, conn_id))
        pending.add(task)
        task.add_done_callback(pending.discard)
    for task in list(pending):  # the connection is gone: nobody to answer
        task.cancel()
    return client.ws


def note(app: web.Application, frame: dict[str, Any], principal: Principal | None, reply: dict[str, Any],
         started: float | None = None, limit_headers: dict[str, str] | None = None, reason: str = "") -> None:
    """The op and its answer in the request log (gateway.request_log)."""
    op, args = frame.get("op"), frame.get("args")
    try:
        sent = orjson.dumps(args[0]) if isinstance(args, list) and args and isinstance(args[0], dict) else b""
    except TypeError:  # what JSON allows and orjson does not write (integers beyond 64 bits)
        sent = b"(not representable)"
    path = OPS.get(op, "") if isinstance(op, str) else ""
    app[REQUEST_LOG].add(app[SEQUENCER].now_ms(), "ws-trade", "POST", path or str(op)[:40],
                         principal.account.uid if principal is not None else None, sent, 200, reply["retCode"],
                         reply["retMsg"],
                         latency_ms=0.0 if started is None else (time.perf_counter() - started) * 1000,
                         api_key=principal.key.api_key if principal is not None else "",
                         limit=tuple(limit_headers.get(h, "") for h in LIMIT_HEADERS)  # type: ignore[arg-type]
                         if limit_headers and LIMIT_HEADERS[0] in limit_headers else None,
                         order_ids=created_order_ids(reply.get("data")) if path.startswith("/v5/order/create")
                         else (), reason=reason)


async def answer(request: web.Request, principal: Principal | None, seen: set[str], frame: dict[str, Any], wall: int,
                 send: Any, conn_id: str) -> None:
    """One order-entry op of a connection, answered when it is done."""
    op, req_id = frame.get("op"), frame.get("reqId")
    reply: dict[str, Any] = {"op": op, "connId": conn_id}
    limit_headers: dict[str, str] = {}
    started, reason = time.perf_counter(), ""
    if req_id is not None:  # Bybit echoes the reqId only when one was sent
        reply["reqId"] = req_id
    try:
        request.app[RATE_LIMITER].check_ws_trade_ip(request.remote or "", wall)
        if not isinstance(op, str) or op not in OPS:
            raise param_error(f"unknown op {str(op)[:40]}")
        if principal is None:
            raise ApiError(Code.USER_AUTH_FAILED, "authenticate first")
        if req_id is not None:
            if not isinstance(req_id, str) or len(req_id) > 36:
                raise param_error("reqId must be a string of at most 36 characters")
            if req_id in seen:
                raise ApiError(Code.DUPLICATE_REQUEST, f"reqId {req_id} was used on this connection")
            seen.add(req_id)
        _check_header(frame.get("header"), wall, virtual_now(request.app[PRIVATE].sequencer))
        result, ext, msg_text = await handle(request.app, principal, frame, wall, limit_headers)
        reply.update({"retCode": 0, "retMsg": msg_text, "data": result, "retExtInfo": ext})
    except ApiError as err:
        reply.update({"retCode": err.code, "retMsg": err.msg, "data": {}, "retExtInfo": {}})
        reason = err.reason or ""
    except HttpFailure:
        reply.update({"retCode": Code.PARAM_ERROR, "retMsg": message(Code.PARAM_ERROR, "category"), "data": {},
                      "retExtInfo": {}})
    except Exception:
        request.app.logger.exception("ws trade op failed")
        reply.update({"retCode": Code.SERVER_ERROR, "retMsg": message(Code.SERVER_ERROR), "data": {},
                      "retExtInfo": {}})
    note(request.app, frame, principal, reply, started, limit_headers, reason)
    reply["header"] = {**limit_headers, "Traceid": uuid.uuid4().hex, "Timenow": str(wall)}
    send(reply)
