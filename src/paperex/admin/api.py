"""``/admin/v1``: the scenario API. Loopback clients only (and ``X-Admin-Token`` when configured), or any
client with the token under ``--admin-remote``.

Replies use the V5 envelope so the same client code can read them.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from paperex.admin.service import (
    AdminService,
    parse_amount,
    parse_balances,
    parse_permissions,
    symbol_rule_changes,
)
from paperex.admin.views import add_view_routes
from paperex.core.commands import SetAccountRules, SetSymbolRules, Tick
from paperex.core.numbers import format_decimal, from_units
from paperex.core.risk import INSURANCE_LABEL
from paperex.errors import ApiError, Code, HttpError, message
from paperex.gateway import ids, serializers
from paperex.gateway.envelope import error_response, http_failure_response, ok_response
from paperex.gateway.faults import FAULTS, Fault
from paperex.gateway.maintenance import MAINTAIN_TYPES, PRODUCTS, SERVICE_TYPES, Maintenance, new_id, schedule_of
from paperex.gateway.position_serializers import position
from paperex.gateway.rate_limits import DEFAULT_LIMITS, LEVELS, RATE_LIMITER, RateLimiter
from paperex.gateway.request_log import REQUEST_LOG
from paperex.gateway.rest import ClientGone, read_body
from paperex.gateway.ws_client import WS_CLIENTS

ADMIN: web.AppKey[AdminService] = web.AppKey("admin", AdminService)
ADMIN_TOKEN: web.AppKey[str | None] = web.AppKey("admin_token", str)
# --admin-remote: clients on other hosts too (a container's published port, a compose network), token required
ADMIN_REMOTE: web.AppKey[bool] = web.AppKey("admin_remote", bool)
DRIVER: web.AppKey[Any] = web.AppKey("market_driver", object)  # the MarketDriver, or None

# An admin operation: the JSON body (merged with path parameters) in, the ``result`` out.
AdminHandler = Callable[[dict[str, Any], AdminService], Awaitable[Any]]


def is_loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await read_body(request)
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError(Code.PARAM_ERROR, "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(Code.PARAM_ERROR, "the body must be a JSON object")
    return data


def _uid(value: Any) -> int:
    try:
        uid = int(str(value))
    except ValueError:
        raise ApiError(Code.ILLEGAL_USER_ID, f"uid {value!r}") from None
    return uid


LOOPBACK_NAMES = ("localhost", "localhost.")


def _loopback_name(host: str) -> bool:
    """A Host or Origin host naming this machine: localhost or a loopback address (a DNS-rebound name does not)."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") else host
    name = name.strip("[]").lower()
    return name in LOOPBACK_NAMES or is_loopback(name)


def cross_site(request: web.Request, remote: bool = False) -> bool:
    """A browser request a web page made (CSRF) or one that reached us under a foreign name (DNS rebinding):
    the admin API answers neither, token or not. With ``remote`` (--admin-remote, which requires the token)
    the server is meant to be reached under other names (``http://paperex:8080`` on a compose network), so
    the Host is not checked: a page rebound to us cannot know the token."""
    if request.headers.get("Sec-Fetch-Site", "none") not in ("none", "same-origin"):
        return True
    origin = request.headers.get("Origin")
    if origin is not None and not _loopback_name(origin.split("://", 1)[-1]):
        return True
    return not remote and not _loopback_name(request.headers.get("Host", "localhost"))


def admin_route(handler: AdminHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        service = request.app[ADMIN]
        now_ms = service.sequencer.now_ms()
        token = request.app[ADMIN_TOKEN]
        remote = bool(token) and request.app.get(ADMIN_REMOTE, False)
        if not (remote or is_loopback(request.remote)) or cross_site(request, remote):
            return http_failure_response(HttpError.FORBIDDEN)
        given = request.headers.get("X-Admin-Token", "").encode("utf-8", "surrogateescape")
        if token and not hmac.compare_digest(given, token.encode()):  # bytes: a non-ASCII header is no 500
            return http_failure_response(HttpError.UNAUTHORIZED)
        try:
            body = await _json_body(request) if request.method == "POST" else {}
            if request.method == "GET" and handler is not health:  # reads show only what the journal holds
                await service.sequencer.settle()  # (health answers always: it says when a restart is needed)
            if request.method == "POST" and request.content_type != "application/json":
                # a form or text/plain POST is what a web page can send without a preflight: not to us
                raise ApiError(Code.PARAM_ERROR, "the admin API takes application/json")
            result = await handler({**body, **request.match_info, "_driver": request.app[DRIVER],
                                    "_limiter": request.app[RATE_LIMITER], "_app": request.app,
                                    "_query": dict(request.query)}, service)
        except ApiError as err:
            return error_response(err.code, err.msg, now_ms)
        except ClientGone:
            return web.Response(status=400)  # the client hung up mid-body: never delivered, nothing to log
        except Exception:
            request.app.logger.exception("admin error")
            return error_response(Code.SERVER_ERROR, message(Code.SERVER_ERROR), now_ms)
        return ok_response(result, now_ms)

    return wrapped


async def create_account(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    classic = body.get("classic", False)
    if not isinstance(classic, bool):
        raise ApiError(Code.PARAM_ERROR, "classic must be true or false")
    uid = await service.create_account(parse_balances(body.get("balances")), classic)
    return {"uid": str(uid)}


async def create_api_key(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    read_only = body.get("readOnly", 0)
    if read_only not in (0, 1, True, False):
        raise ApiError(Code.PARAM_ERROR, "readOnly must be 0 or 1")
    ips = body.get("ips") or ["*"]
    if not isinstance(ips, list) or not all(isinstance(ip, str) for ip in ips):
        raise ApiError(Code.PARAM_ERROR, "ips must be a list of strings")
    rsa = body.get("rsaPublicKey") or None
    if rsa is not None and not isinstance(rsa, str):
        raise ApiError(Code.PARAM_ERROR, "rsaPublicKey must be a PEM string")
    note = body.get("note", "")
    key = await service.create_api_key(
        _uid(body.get("uid")), read_only=bool(read_only), permissions=parse_permissions(body.get("permissions")),
        ips=ips, rsa_public_key=rsa, note=note if isinstance(note, str) else "", api_key=body.get("apiKey"),
        api_secret=body.get("apiSecret"),
    )
    result: dict[str, Any] = {"uid": str(key.uid), "apiKey": key.api_key}
    if key.api_secret is not None:
        result["apiSecret"] = key.api_secret
    return result


async def deposit(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    coin = body.get("coin")
    if not isinstance(coin, str) or not coin:
        raise ApiError(Code.PARAM_ERROR, "coin is required")
    amount = parse_amount(body.get("amount"), "amount")
    account_type = body.get("accountType", "UNIFIED")
    if account_type not in ("UNIFIED", "FUND"):
        raise ApiError(Code.PARAM_ERROR, "accountType must be UNIFIED or FUND")
    chain = body.get("chain", "")
    if not isinstance(chain, str):
        raise ApiError(Code.PARAM_ERROR, "chain must be a string")
    await service.deposit(_uid(body.get("uid")), coin.upper(), amount, account_type, chain.upper())
    account = service.sequencer.core.account(_uid(body.get("uid")))
    held = account.funding.get(coin.upper(), 0) if account_type == "FUND" else account.balance(coin.upper())
    return {"uid": str(account.uid), "coin": coin.upper(), "accountType": account_type,
            "balance": serializers.format_units(held)}


async def set_prices(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    category = body.get("category", "linear")
    symbol = body.get("symbol")
    if not isinstance(category, str) or not isinstance(symbol, str):
        raise ApiError(Code.PARAM_ERROR, "category and symbol must be strings")
    st = await service.set_prices(category, symbol, body.get("indexPrice"), body.get("markPrice"))
    return {"category": category, "symbol": symbol, "indexPrice": format_decimal(st.grid.price(st.index)),
            "markPrice": format_decimal(st.grid.price(st.mark))}


async def get_account(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    core = service.sequencer.core
    account = core.account(_uid(body["uid"]))
    wallet = serializers.wallet_balance(core, account, [])
    return {
        "uid": str(account.uid),
        "label": account.label,
        "createdTime": str(account.created_at),
        "marginMode": account.margin_mode,
        "unifiedMarginStatus": account.unified_margin_status,
        "balances": {c: serializers.format_units(u) for c, u in sorted(account.balances.items())},
        "funding": {c: serializers.format_units(u) for c, u in sorted(account.funding.items())},
        "parentUid": str(account.parent_uid),
        "wallet": wallet["list"][0],
        "positions": [position(core.symbols[key[:2]], account, pos, core)
                      for key, pos in sorted(account.positions.items()) if pos.size],
        "apiKeys": [k.api_key for k in core.api_keys.values() if k.uid == account.uid],
        "rules": account.rules,
    }


async def requests_log(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    """The gateway's request log (gateway.request_log): ``?after=<id>`` (entries after it, oldest first),
    ``?uid=``, ``?limit=`` (the newest that many, at most 5000), ``?path=`` (paths containing it), ``?code=``
    (that retCode), ``?orderId=`` (the create that returned it); ``lastId`` is where the next read starts."""
    log = body["_app"][REQUEST_LOG]
    query = body["_query"]
    numbers = {}
    for name, default in (("after", 0), ("uid", None), ("limit", 5000)):
        raw = query.get(name)
        if raw is None or raw == "":
            numbers[name] = default
            continue
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
            raise ApiError(Code.PARAM_ERROR, f"{name} must be a whole number")
        numbers[name] = int(raw)
    code = query.get("code") or None
    if code is not None and not (code.lstrip("-").isascii() and code.lstrip("-").isdigit() and len(code) <= 12):
        raise ApiError(Code.PARAM_ERROR, "code must be a whole number")
    entries = log.since(numbers["after"], numbers["uid"], max(1, numbers["limit"]), path=query.get("path") or None,
                        code=None if code is None else int(code), order_id=query.get("orderId") or None)
    return {"lastId": log.last_id, "list": [e.describe() for e in entries]}


async def clock(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    seq = service.sequencer
    return {"mode": "virtual" if getattr(seq.clock, "virtual", False) else "real", "time": seq.now_ms()}


async def advance_clock(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    driver = body.get("_driver")
    ms = body.get("ms")
    if not isinstance(ms, int) or isinstance(ms, bool) or not 0 <= ms <= 366 * 86_400_000:
        raise ApiError(Code.PARAM_ERROR, "ms must be a whole number of milliseconds, at most a year")
    if not getattr(service.sequencer.clock, "virtual", False):
        raise ApiError(Code.PARAM_ERROR, "the exchange runs in real time: start it with [clock] mode = virtual")
    if driver is not None:
        await driver.advance(ms)
    else:  # no market: the clock moves, and the time is journaled (funding times that passed settle)
        service.sequencer.clock.set(service.sequencer.clock.now_ms() + ms)
        await service.sequencer.submit(Tick())
    return {"mode": "virtual", "time": service.sequencer.now_ms()}


async def health(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    """Cheap by default; ``?digest=1`` adds the digest of the whole state (it hashes everything, on the event
    loop: seconds for a large exchange, so only on request)."""
    seq = service.sequencer
    money = seq.core.money_check()
    digest = {"stateDigest": seq.core.digest()} if body["_query"].get("digest") in ("1", "true") else {}
    return {
        "journalSeq": seq.seq,
        "snapshotSeq": seq.snapshot_seq,
        **digest,
        "moneyConserved": all(row["conserved"] for row in money.values()),
        "money": {coin: {k: format_decimal(from_units(v)) if k != "conserved" else bool(v) for k, v in row.items()}
                  for coin, row in money.items()},
        "accepting": seq.writer.failed is None and seq.broken is None,
        "recovery": service.recovery,  # what opening the journal had to recover at this start, if anything
        "needsRestart": None if seq.writer.failed is None and seq.broken is None else (
            f"journal write failed: {seq.writer.failed}" if seq.writer.failed is not None else seq.broken),
        # the internal account liquidations pass positions to (created at the first one)
        "insuranceFundUid": str(fund.uid) if (fund := seq.core.account_labelled(INSURANCE_LABEL)) else None,
    }


async def account_orders(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    core = service.sequencer.core
    account = core.account(_uid(body["uid"]))
    rows = []
    for order_id in account.order_ids:
        o = core.orders[order_id]
        rows.append({"orderId": ids.order_id(o.order_id, o.category), "orderLinkId": o.order_link_id,
                     "category": o.category, "symbol": o.symbol, "orderStatus": o.status})
    return {"uid": str(account.uid), "list": rows}


def add_admin_routes(app: web.Application) -> None:
    app.router.add_post("/admin/v1/accounts", admin_route(create_account))
    app.router.add_post("/admin/v1/api-keys", admin_route(create_api_key))
    app.router.add_post("/admin/v1/deposit", admin_route(deposit))
    app.router.add_get("/admin/v1/accounts/{uid}", admin_route(get_account))
    app.router.add_post("/admin/v1/prices", admin_route(set_prices))
    app.router.add_get("/admin/v1/health", admin_route(health))
    app.router.add_get("/admin/v1/clock", admin_route(clock))
    app.router.add_get("/admin/v1/requests", admin_route(requests_log))
    app.router.add_post("/admin/v1/clock/advance", admin_route(advance_clock))
    app.router.add_get("/admin/v1/accounts/{uid}/orders", admin_route(account_orders))
    app.router.add_post("/admin/v1/accounts/{uid}/rules", admin_route(account_rules))
    app.router.add_post("/admin/v1/symbols/{category}/{symbol}/rules", admin_route(symbol_rules))
    app.router.add_get("/admin/v1/rate-limits", admin_route(rate_limits))
    app.router.add_post("/admin/v1/rate-limits", admin_route(rate_limits))
    app.router.add_get("/admin/v1/faults", admin_route(faults))
    app.router.add_post("/admin/v1/faults", admin_route(faults))
    app.router.add_post("/admin/v1/faults/clear", admin_route(clear_faults))
    app.router.add_post("/admin/v1/faults/ws-drop", admin_route(drop_websockets))
    app.router.add_post("/admin/v1/faults/ws-stall", admin_route(stall_websockets))
    app.router.add_get("/admin/v1/maintenance", admin_route(maintenance_list))
    app.router.add_post("/admin/v1/maintenance", admin_route(maintenance_schedule))
    app.router.add_post("/admin/v1/maintenance/{id}/cancel", admin_route(maintenance_cancel))
    add_view_routes(app, admin_route)  # the dashboard's account views (admin.views)


def _public(body: dict[str, Any]) -> dict[str, Any]:
    """The caller's fields of a body (not the path parameters or the injected ``_`` values)."""
    return {k: v for k, v in body.items() if not k.startswith("_")}


async def account_rules(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    """Restrictions and levels of an account (core.rules): ``{"trading_banned": true, "rate_level": "VIP2"}``;
    null removes one."""
    uid = _uid(body.pop("uid"))
    changes = _public(body)
    level = changes.get("rate_level")
    if level is not None and (not isinstance(level, str) or level not in LEVELS):
        raise ApiError(Code.PARAM_ERROR, f"rate_level must be one of {', '.join(sorted(k for k in LEVELS if k))}")
    await service.sequencer.submit(SetAccountRules(uid=uid, rules=changes))
    return {"uid": str(uid), "rules": service.sequencer.core.account(uid).rules}


async def symbol_rules(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    """Restrictions of a symbol (core.rules): ``{"halted": true}``, ``{"max_open_interest": "100"}``..."""
    category, symbol = body.pop("category"), body.pop("symbol")
    changes = _public(body)
    st = service.sequencer.core.symbols.get((category, symbol))
    if st is None:
        raise ApiError(Code.PARAM_ERROR, f"symbol {symbol} does not exist in {category}")
    await service.sequencer.submit(SetSymbolRules(category=category, symbol=symbol,
                                                  rules=symbol_rule_changes(st, changes)))
    return {"category": category, "symbol": symbol, "rules": st.rules}


async def rate_limits(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    """The rate limiter's settings (not journaled: the gateway's, like the config file's [rate_limits])."""
    limiter: RateLimiter = body["_limiter"]
    s = limiter.settings
    changes = _public(body)
    for name in ("enabled", "unban"):
        if name in changes and not isinstance(changes[name], bool):
            raise ApiError(Code.PARAM_ERROR, f"{name} must be true or false")
    numbers = {"ip_limit": int, "ip_window_s": float, "ip_ban_s": float, "ws_trade_ip_limit": int}
    bounds = {"ip_limit": 10**9, "ip_window_s": 3600, "ip_ban_s": 86_400, "ws_trade_ip_limit": 10**9}
    for name, kind in numbers.items():
        value = changes.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
                                  or value > bounds[name] or (kind is int and not isinstance(value, int))):
            raise ApiError(Code.PARAM_ERROR, f"{name} must be a positive number, at most {bounds[name]}")
    endpoints = changes.get("endpoints")
    if endpoints is not None and (not isinstance(endpoints, dict) or any(
            p not in DEFAULT_LIMITS or not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 10**9
            for p, v in endpoints.items())):
        raise ApiError(Code.PARAM_ERROR, "endpoints maps a rate-limited path to a positive limit")
    banned = changes.get("banned_ips")
    if banned is not None and (not isinstance(banned, list) or not all(isinstance(ip, str) for ip in banned)):
        raise ApiError(Code.PARAM_ERROR, "banned_ips must be a list of IP addresses")
    unknown = set(changes) - {"enabled", "unban", "endpoints", "banned_ips", *numbers}
    if unknown:
        raise ApiError(Code.PARAM_ERROR, f"unknown setting {sorted(unknown)[0]}")
    if "enabled" in changes:
        s.enabled = changes["enabled"]
    for name, kind in numbers.items():
        if changes.get(name) is not None:
            setattr(s, name, kind(changes[name]))
    if endpoints is not None:
        s.endpoints = dict(endpoints)
    if banned is not None:
        s.banned_ips = list(banned)
    if changes.get("unban") or "enabled" in changes:
        limiter.reset()
    return {"enabled": s.enabled, "ip_limit": s.ip_limit, "ip_window_s": s.ip_window_s, "ip_ban_s": s.ip_ban_s,
            "ws_trade_ip_limit": s.ws_trade_ip_limit, "endpoints": s.endpoints, "banned_ips": s.banned_ips,
            "banned": sorted(limiter.banned_until)}


async def faults(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    """Add a fault (gateway.faults): ``{"path": "/v5/order/create", "code": 10000, "count": 1}``; GET lists them."""
    injector = body["_app"][FAULTS]
    changes = _public(body)
    if changes:
        unknown = set(changes) - {"path", "code", "latency_ms", "count", "seconds", "applied"}
        if unknown:
            raise ApiError(Code.PARAM_ERROR, f"unknown fault setting {sorted(unknown)[0]}")
        path = changes.get("path", "*")
        ints = {k: changes.get(k, 0) for k in ("code", "latency_ms", "count")}
        seconds = changes.get("seconds", 0)
        applied = changes.get("applied", True)
        if not isinstance(path, str) or not (path == "*" or path.startswith("/v5/")):
            raise ApiError(Code.PARAM_ERROR, "path must be a /v5/ path or *")
        if any(isinstance(v, bool) or not isinstance(v, int) for v in ints.values()) or not isinstance(
                seconds, int | float) or isinstance(seconds, bool) or not 0 <= seconds <= 366 * 86_400 \
                or not isinstance(applied, bool) or not 0 <= ints["count"] <= 10**9:
            raise ApiError(Code.PARAM_ERROR, "code, latency_ms and count are whole numbers, seconds at most a year")
        if not ints["count"] and not seconds:
            raise ApiError(Code.PARAM_ERROR, "give count (requests) or seconds (how long)")
        until = int(time.time() * 1000 + seconds * 1000) if seconds else 0
        injector.add(Fault(path=path, code=ints["code"], latency_ms=ints["latency_ms"], count=ints["count"],
                           until_ms=until, applied=applied))
    return {"faults": [f.describe() for f in injector.faults]}


async def clear_faults(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    body["_app"][FAULTS].faults.clear()
    return {"faults": []}


async def drop_websockets(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    """Every WebSocket connection is cut at once, without a close frame (as a network failure would)."""
    clients = list(body["_app"][WS_CLIENTS])
    for client in clients:
        client.abort()
    return {"dropped": len(clients)}


async def stall_websockets(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    """Every WebSocket connection stops receiving for ``ms`` (the frames wait, then arrive late)."""
    ms = body.get("ms")
    if isinstance(ms, bool) or not isinstance(ms, int) or not 0 < ms <= 600_000:
        raise ApiError(Code.PARAM_ERROR, "ms must be a whole number of milliseconds, at most 10 minutes")
    clients = list(body["_app"][WS_CLIENTS])
    for client in clients:
        client.stall(ms / 1000)
    return {"stalled": len(clients), "ms": ms}


def _int_list(body: dict[str, Any], name: str, allowed: tuple[int, ...], default: list[int]) -> list[int]:
    value = body.get(name, default)
    if not isinstance(value, list) or any(isinstance(v, bool) or v not in allowed for v in value):
        raise ApiError(Code.PARAM_ERROR, f"{name} must be a list of {', '.join(map(str, allowed))}")
    return sorted(set(value))


def _ms(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**15:
        raise ApiError(Code.PARAM_ERROR, f"{name} must be a whole number of milliseconds")
    return value


async def maintenance_list(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    return {"list": schedule_of(service.sequencer).rows(service.sequencer.now_ms())}


async def maintenance_schedule(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    """Schedule a maintenance on the exchange clock: ``begin`` (ms) or ``in_ms`` (from now), ``end`` or
    ``duration_ms``; ``serviceTypes`` (default all), ``product`` (default all), ``uidSuffix``, ``maintainType``,
    ``title``, ``href`` (gateway.maintenance)."""
    changes = _public(body)
    unknown = set(changes) - {"begin", "in_ms", "end", "duration_ms", "serviceTypes", "product", "uidSuffix",
                              "maintainType", "title", "href"}
    if unknown:
        raise ApiError(Code.PARAM_ERROR, f"unknown maintenance setting {sorted(unknown)[0]}")
    now = service.sequencer.now_ms()
    begin, in_ms, end, duration = (_ms(changes, n) for n in ("begin", "in_ms", "end", "duration_ms"))
    if (begin is None) == (in_ms is None) or (end is None) == (duration is None):
        raise ApiError(Code.PARAM_ERROR, "give one of begin / in_ms and one of end / duration_ms")
    begin = begin if begin is not None else now + (in_ms or 0)
    end = end if end is not None else begin + (duration or 0)
    if end <= begin:
        raise ApiError(Code.PARAM_ERROR, "the maintenance must end after it begins")
    title, href = changes.get("title", "System maintenance"), changes.get("href", "")
    maintain_type = changes.get("maintainType", 1)
    if not isinstance(title, str) or not isinstance(href, str) or len(title) > 200 or len(href) > 500:
        raise ApiError(Code.PARAM_ERROR, "title and href are short strings")
    if isinstance(maintain_type, bool) or maintain_type not in MAINTAIN_TYPES:
        raise ApiError(Code.PARAM_ERROR, "maintainType must be 1 (planned), 2 (temporary) or 3 (incident)")
    item = Maintenance(id=new_id(), title=title, begin=begin, end=end,
                       service_types=_int_list(changes, "serviceTypes", SERVICE_TYPES, list(SERVICE_TYPES)),
                       product=_int_list(changes, "product", PRODUCTS, list(PRODUCTS)),
                       uid_suffix=_int_list(changes, "uidSuffix", tuple(range(10)), []),
                       maintain_type=maintain_type, href=href)
    if not item.service_types or not item.product:
        raise ApiError(Code.PARAM_ERROR, "serviceTypes and product cannot be empty")
    return schedule_of(service.sequencer).add(item).row(now)


async def maintenance_cancel(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    """Before it begins: canceled; while it runs: completed now (its end becomes the actual end)."""
    now = service.sequencer.now_ms()
    item = schedule_of(service.sequencer).find(str(body.get("id")))
    if item is None:
        raise ApiError(Code.PARAM_ERROR, "no such maintenance")
    if item.state(now) in ("completed", "canceled"):
        raise ApiError(Code.PARAM_ERROR, f"the maintenance is {item.state(now)} already")
    item.stop(now)
    return item.row(now)
