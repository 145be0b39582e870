"""The REST transport: Bybit's HTTP rules around the endpoint table.

Order of checks, as Bybit answers them: method not literally GET/POST -> HTTP 400; unknown path ->
HTTP 404 (known path, other method -> 10017); GET with a body -> HTTP 403; authentication (HTTP 401,
10003, 10002, 10004, 10010); permissions (10005); parameters (10001); then the handler. No exception
reaches the client as HTTP 500: anything unexpected is logged and answered with 10016.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from paperex.core.accounts import Account
from paperex.errors import ApiError, Code, HttpError, message
from paperex.gateway import faults
from paperex.gateway.auth import authenticate, virtual_now
from paperex.gateway.endpoints import V5, Call, EndpointTable, Reply
from paperex.gateway.envelope import HttpFailure, error_response, http_failure_response, ok_response
from paperex.gateway.faults import FAULTS
from paperex.gateway.maintenance import schedule_of
from paperex.gateway.params import Params, param_error
from paperex.gateway.rate_limits import BATCH_PATHS, RATE_LIMITER, Quota, RateLimited
from paperex.gateway.request_log import REQUEST_LOG
from paperex.sequencer import Sequencer

log = logging.getLogger("paperex.rest")

MAX_BODY = 1 << 20

SEQUENCER: web.AppKey[Sequencer] = web.AppKey("sequencer", Sequencer)
RETURNED: web.ResponseKey[tuple[int, str]] = web.ResponseKey("returned", tuple)  # retCode, retMsg of a reply
# for the request log: a refusal's reason in plain words (ApiError.reason), the order ids a create returned
REASON: web.ResponseKey[str] = web.ResponseKey("reason", str)
CREATED: web.ResponseKey[tuple] = web.ResponseKey("created", tuple)
LIMIT_HEADERS = ("X-Bapi-Limit", "X-Bapi-Limit-Status", "X-Bapi-Limit-Reset-Timestamp")


class ClientGone(Exception):
    """The client hung up before its body arrived: nobody to answer, nothing to log."""


async def read_body(request: web.BaseRequest) -> bytes:
    """The raw body, or 10001 when it is larger than ``MAX_BODY`` (declared or streamed)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise param_error("the body is too large")
    try:
        return await request.read() if request.can_read_body else b""
    except web.HTTPRequestEntityTooLarge:
        raise param_error("the body is too large") from None
    except ConnectionError:  # a disconnect mid-body (aiohttp: "Connection lost")
        raise ClientGone from None


def parse_query(raw_query: str) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for k, v in parse_qsl(raw_query, keep_blank_values=True):
        data.setdefault(k, v)
    return data


def parse_body(raw_body: bytes) -> dict[str, Any]:
    if not raw_body.strip():
        return {}
    try:
        data = orjson.loads(raw_body)
    except orjson.JSONDecodeError:
        raise param_error("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise param_error("the body must be a JSON object")
    return data


async def dispatch(request: web.Request, table: EndpointTable = V5) -> web.StreamResponse:
    """Answer one REST request, and note it in the request log (gateway.request_log) with what it got."""
    started = time.perf_counter()
    seen: list[Any] = [None, b"", ""]  # the authenticated uid, the parameters as sent, the API key
    response = await _answer(request, table, seen)
    code, msg = response.get(RETURNED, (None, ""))
    if code is None and response.status != 200:
        msg = response.reason or ""
    limit = tuple(response.headers.get(h, "") for h in LIMIT_HEADERS) if LIMIT_HEADERS[0] in response.headers \
        else None
    request.app[REQUEST_LOG].add(request.app[SEQUENCER].now_ms(), "rest", request.method, request.path, seen[0],
                                 seen[1], response.status, code, msg,
                                 latency_ms=(time.perf_counter() - started) * 1000, api_key=seen[2],
                                 limit=limit,  # type: ignore[arg-type]
                                 order_ids=response.get(CREATED, ()), reason=response.get(REASON, ""))
    return response


def created_order_ids(result: Any) -> tuple[str, ...]:
    """The order ids a create (``orderId``) or a batch create (``list[].orderId``) returned."""
    if not isinstance(result, dict):
        return ()
    if isinstance(result.get("orderId"), str) and result["orderId"]:
        return (result["orderId"],)
    rows = result.get("list")
    if isinstance(rows, list):
        return tuple(r["orderId"] for r in rows if isinstance(r, dict) and isinstance(r.get("orderId"), str)
                     and r["orderId"])
    return ()


async def _answer(request: web.Request, table: EndpointTable, seen: list[Any]) -> web.StreamResponse:
    sequencer = request.app[SEQUENCER]
    limiter = request.app[RATE_LIMITER]
    now_ns = sequencer.clock.now_ns()
    now_ms = max(now_ns // 1_000_000, sequencer.core.last_ts)
    wall_ms = time.time_ns() // 1_000_000  # rate limits run on the wall clock, whatever the exchange clock
    method = request.method
    quota: Quota | None = None
    try:
        limiter.check_ip(request.remote or "", wall_ms)
        if method not in ("GET", "POST"):
            raise HttpFailure(HttpError.BAD_METHOD)
        path = request.path
        endpoint = table.find(method, path)
        if endpoint is None:
            if path in table.paths:
                raise ApiError(Code.ROUTE_NOT_FOUND, f"{method} is not served on {path}")
            raise HttpFailure(HttpError.NOT_FOUND)
        if method == "GET" and request.body_exists:
            raise HttpFailure(HttpError.FORBIDDEN)
        raw_body = await read_body(request)
        raw_query = request.rel_url.raw_query_string
        seen[1] = raw_query if method == "GET" else raw_body
        principal = None
        if endpoint.auth:
            # the recv window compares the client's clock with ours: in virtual time, the wall clock or the
            # exchange clock (a client synced to /v5/market/time)
            virtual = virtual_now(sequencer)
            principal = authenticate(sequencer.core, request.headers, method, raw_query, raw_body,
                                     request.remote or "", now_ms if virtual is None else wall_ms, virtual)
            seen[0], seen[2] = principal.account.uid, principal.key.api_key
            endpoint.permission.check(principal.key)
        params = Params(parse_query(raw_query) if method == "GET" else parse_body(raw_body))
        if principal is not None:
            check_account_state(principal.account, params, now_ms)
        call = Call(params=params, principal=principal, now_ms=now_ms, now_ns=now_ns, sequencer=sequencer)
        schedule_of(sequencer).check_rest(now_ms, method, path, params.raw("category"),
                                          principal.account.uid if principal is not None else None)
        if principal is not None:
            quota = take_quota(request.app, call, path, wall_ms)
        fault = request.app[FAULTS].take(path, wall_ms)
        if method == "GET" and not sequencer.settled():  # a read shows only what the journal holds: wait out
            await sequencer.settle()  # a group commit in progress (or refuse, after a failed write)
        result = await faults.run_with(fault, lambda: endpoint.handler(call))
    except HttpFailure as failure:
        return http_failure_response(failure.status)
    except ClientGone:
        log.debug("client gone mid-body on %s %s", method, request.path)
        return web.Response(status=400)  # never delivered: the connection is closed
    except RateLimited as err:
        return _noted(with_quota(error_response(err.code, err.msg, now_ms), err.quota), err.code, err.msg)
    except ApiError as err:
        response = _noted(with_quota(error_response(err.code, err.msg, now_ms), quota), err.code, err.msg)
        if err.reason:
            response[REASON] = err.reason
        return response
    except Exception:
        log.exception("unexpected error on %s %s", method, request.path)
        text = message(Code.SERVER_ERROR)
        return _noted(with_quota(error_response(Code.SERVER_ERROR, text, now_ms), quota), Code.SERVER_ERROR, text)
    if isinstance(result, Reply):
        response = _noted(with_quota(ok_response(result.result, now_ms, result.ext, result.msg), quota), 0,
                          result.msg)
    else:
        response = _noted(with_quota(ok_response(result, now_ms), quota), 0, "OK")
    if path.startswith("/v5/order/create"):
        response[CREATED] = created_order_ids(result.result if isinstance(result, Reply) else result)
    return response


def _noted(response: web.Response, code: int, msg: str) -> web.Response:
    """The reply, carrying its retCode and retMsg for the request log (read back by ``dispatch``)."""
    response[RETURNED] = (int(code), msg)  # a response holds user data like a dict (aiohttp)
    return response


def check_account_state(account: Account, params: Params, now_ms: int) -> None:
    """An account being upgraded answers 3100197; a classic account has no spot or option trading here (its
    V5 endpoints serve its contract account): HTTP 404 for those categories."""
    if account.upgrading_until > now_ms:
        raise ApiError(Code.BANNED_UTA_UPGRADE, "the account is being upgraded to UTA")
    if account.classic and params.raw("category") in ("spot", "option"):
        raise HttpFailure(HttpError.NOT_FOUND)


def take_quota(app: web.Application, call: Call, path: str, wall_ms: int) -> Quota | None:
    """Count the call against its UID's limit for ``path`` (a batch: one unit per order; ``call.allowance``
    says how many may run). Raises 10006 (``RateLimited``) when nothing is left."""
    units = 1
    if path in BATCH_PATHS:
        items = call.params.raw("request")
        units = len(items) if isinstance(items, list) and items else 1
    account = call.account
    quota = app[RATE_LIMITER].take(account.uid, path, call.params.raw("category"), account.rules.get("rate_level", ""),
                                   wall_ms, units)
    if quota is not None and path in BATCH_PATHS:
        call.allowance = quota.granted
    return quota


def with_quota(response: web.Response, quota: Quota | None) -> web.Response:
    if quota is not None:
        response.headers.update(quota.headers())
    return response
