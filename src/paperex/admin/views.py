"""Read-only admin routes for the dashboard's account views: every account at a glance, and one account's
positions, orders, executions, transaction log and API keys, each in the shape the V5 API gives its owner
(the gateway's serializers), so the dashboard shows what a bot sees. API secrets are never part of a reply.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from paperex.admin.service import AdminService
from paperex.core.accounts import Account, ApiKey
from paperex.gateway import serializers
from paperex.gateway import trade_serializers as tser
from paperex.gateway.auth import Principal
from paperex.gateway.endpoints import Call
from paperex.gateway.handlers.account import transaction_log
from paperex.gateway.params import Params
from paperex.gateway.position_serializers import position

ROWS = 100  # executions, ledger entries and closed orders shown per account (the newest)
WEEK_MS = 7 * 86_400_000


def _account(body: dict[str, Any], service: AdminService) -> Account:
    from paperex.admin.api import _uid  # api imports this module to register its routes

    return service.sequencer.core.account(_uid(body["uid"]))


async def accounts_list(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    """Every account: equity, margin rates, unrealised PnL, how many positions and open orders."""
    core = service.sequencer.core
    rows = []
    for uid in sorted(core.accounts):
        account = core.accounts[uid]
        wallet = serializers.wallet_balance(core, account, [])["list"][0]
        rows.append({
            "uid": str(uid), "label": account.label, "parentUid": str(account.parent_uid),
            "marginMode": account.margin_mode, "totalEquity": wallet["totalEquity"],
            "totalWalletBalance": wallet["totalWalletBalance"],
            "totalAvailableBalance": wallet["totalAvailableBalance"], "totalPerpUPL": wallet["totalPerpUPL"],
            "accountIMRate": wallet["accountIMRate"], "accountMMRate": wallet["accountMMRate"],
            "positions": sum(1 for p in account.positions.values() if p.size),
            "openOrders": len(account.open_orders) + len(account.conditionals),
            "rules": account.rules,
        })
    return {"list": rows}


async def account_positions(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    core = service.sequencer.core
    account = _account(body, service)
    return {"uid": str(account.uid),
            "list": [position(core.symbols[key[:2]], account, pos, core)
                     for key, pos in sorted(account.positions.items()) if pos.size]}


async def account_open_orders(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    """Open orders, conditional (untriggered) orders, and the newest closed ones, as /v5/order/realtime rows."""
    core = service.sequencer.core
    account = _account(body, service)

    def rows(orders: Any) -> list[dict[str, Any]]:
        return [tser.order(core.symbols[(o.category, o.symbol)], o)
                for o in sorted(orders, key=lambda o: o.order_id, reverse=True)]

    live = set(account.open_orders) | set(account.conditionals)
    closed = [core.orders[i] for i in reversed(account.order_ids) if i not in live and i in core.orders][:ROWS]
    return {"uid": str(account.uid), "open": rows(account.open_orders.values()),
            "conditional": rows(account.conditionals.values()), "closed": rows(closed)}


async def account_executions(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    core = service.sequencer.core
    account = _account(body, service)
    out = [{**tser.execution(core.symbols[(e.category, e.symbol)], e, core.orders.get(e.order_id)),
            "category": e.category} for e in reversed(account.executions[-ROWS:])]
    return {"uid": str(account.uid), "list": out}


async def account_ledger(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    """The last week's transaction log (the newest ``ROWS``), as /v5/account/transaction-log shows it."""
    account = _account(body, service)
    seq = service.sequencer
    now = seq.now_ms()
    holder = ApiKey(id=0, api_key="", uid=account.uid, secret=None, rsa_public_key=None, read_only=True,
                    permissions={}, ips=[], note="", created_at=0)  # the handler reads the account only
    call = Call(params=Params({"limit": "50", "startTime": str(max(0, now - WEEK_MS + 1)), "endTime": str(now)}),
                principal=Principal(key=holder, account=account), now_ms=now, now_ns=now * 1_000_000, sequencer=seq)
    rows: list[dict[str, Any]] = []
    while len(rows) < ROWS:
        page = await transaction_log(call)
        rows.extend(page["list"])
        if not page["nextPageCursor"]:
            break
        call.params = Params({**call.params.data, "cursor": page["nextPageCursor"]})
    return {"uid": str(account.uid), "list": rows[:ROWS]}


async def account_api_keys(body: dict[str, Any], service: AdminService) -> dict[str, Any]:
    """The account's keys as /v5/user/query-api describes them, without any secret."""
    core = service.sequencer.core
    account = _account(body, service)
    now = service.sequencer.now_ms()
    keys = []
    for key in core.api_keys.values():
        if key.uid == account.uid:
            info = serializers.api_key_info(key, account, now)
            info.pop("secret", None)
            keys.append({**info, "kind": "RSA" if key.rsa_public_key else "HMAC"})
    return {"uid": str(account.uid), "list": keys}


def add_view_routes(app: web.Application, route: Callable[..., Any]) -> None:
    app.router.add_get("/admin/v1/accounts", route(accounts_list))
    app.router.add_get("/admin/v1/accounts/{uid}/positions", route(account_positions))
    app.router.add_get("/admin/v1/accounts/{uid}/open-orders", route(account_open_orders))
    app.router.add_get("/admin/v1/accounts/{uid}/executions", route(account_executions))
    app.router.add_get("/admin/v1/accounts/{uid}/ledger", route(account_ledger))
    app.router.add_get("/admin/v1/accounts/{uid}/api-keys", route(account_api_keys))
