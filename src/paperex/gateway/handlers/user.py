"""``/v5/user/*``: API key information, sub-accounts and their API keys."""

from __future__ import annotations

import secrets
import string
from typing import Any

from paperex.core import funds
from paperex.core.accounts import MASTER_ONLY_PERMISSIONS, PERMISSION_GROUPS
from paperex.core.commands import CreateApiKey, CreateSubMember
from paperex.core.events import AccountCreated
from paperex.errors import ApiError, Code
from paperex.gateway import asset_serializers as ser
from paperex.gateway import serializers
from paperex.gateway.auth import Permission
from paperex.gateway.endpoints import V5, Call, Reply
from paperex.gateway.params import param_error

# Bybit: a master key with Account Transfer, Subaccount Transfer or Withdrawal permission
SUB_ADMIN = Permission(group="Wallet", any_of=("AccountTransfer", "SubMemberTransfer", "Withdraw"))
SUB_ADMIN_WRITE = Permission(write=True, group="Wallet", any_of=("AccountTransfer", "SubMemberTransfer", "Withdraw"))
SUB_KEY_PERMISSION_GROUPS = ("ContractTrade", "Spot", "Options", "Wallet", "Exchange", "Earn", "Derivatives")
_ALPHABET = string.ascii_letters + string.digits


def _token(length: int) -> str:
    """Randomness is drawn at the edge and travels inside the command (a replay recreates the same key)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


@V5.get("/v5/user/query-api")  # any permission can read its own key
async def query_api(call: Call) -> Reply:
    assert call.principal is not None
    info: dict[str, Any] = serializers.api_key_info(call.principal.key, call.account, call.now_ms)
    return Reply(info, msg="")  # Bybit answers this endpoint with an empty retMsg


def _master(call: Call) -> None:
    if call.account.parent_uid:
        raise ApiError(Code.PERMISSION_DENIED, "sub-accounts are managed with the master account's key only")


@V5.post("/v5/user/create-sub-member", permission=SUB_ADMIN_WRITE)
async def create_sub_member(call: Call) -> Reply:
    p = call.params
    _master(call)
    username = p.str("username", required=True, max_len=64)
    member_type = p.int("memberType", required=True)
    password = p.str("password", max_len=64)
    p.int("switch", lo=0, hi=1)
    note = p.str("note", default="", max_len=64)
    assert username is not None and member_type is not None and note is not None
    if password is not None and not (8 <= len(password) <= 30 and any(c.isdigit() for c in password)
                                     and any(c.islower() for c in password) and any(c.isupper() for c in password)):
        raise param_error("password must be 8-30 characters with digits, upper and lower case letters")
    events = await call.sequencer.submit(CreateSubMember(uid=call.account.uid, username=username,
                                                         member_type=member_type, note=note))
    uid = next(e.uid for e in events if isinstance(e, AccountCreated))
    sub = ser.sub_member(call.core.account(uid))
    del sub["accountMode"]  # create-sub-member does not answer it
    return Reply(sub, msg="")


@V5.get("/v5/user/query-sub-members", permission=SUB_ADMIN)
async def query_sub_members(call: Call) -> Reply:
    _master(call)
    uid = call.account.uid
    subs = [ser.sub_member(a) for _, a in sorted(call.core.accounts.items()) if a.parent_uid == uid]
    return Reply({"subMembers": subs}, msg="")


def _sub_permissions(raw: Any) -> dict[str, list[str]]:
    if not isinstance(raw, dict) or not raw:
        raise param_error("permissions must be an object naming at least one permission")
    out: dict[str, list[str]] = {}
    for group, perms in raw.items():
        if group not in SUB_KEY_PERMISSION_GROUPS:
            raise param_error(f"permission group {group} cannot be given to a sub-account key")
        if not isinstance(perms, list) or not all(isinstance(x, str) for x in perms):
            raise param_error(f"permissions.{group} must be a list of strings")
        for perm in perms:
            if perm not in PERMISSION_GROUPS[group] or perm in MASTER_ONLY_PERMISSIONS.get(group, ()):
                raise param_error(f"{perm} is not a {group} permission of a sub-account key")
        out[group] = list(dict.fromkeys(perms))
    return out


@V5.post("/v5/user/create-sub-api", permission=SUB_ADMIN_WRITE)
async def create_sub_api(call: Call) -> Reply:
    """A working HMAC key of one of the caller's sub-accounts (110018 for any other uid; Bybit: 500010)."""
    p = call.params
    _master(call)
    uid = p.int("subuid", required=True, lo=1, hi=10**15)
    read_only = p.int("readOnly", required=True, lo=0, hi=1)
    note = p.str("note", default="", max_len=64)
    ips_text = p.str("ips", default="*", max_len=1000)
    assert uid is not None and read_only is not None and note is not None and ips_text is not None
    sub = funds.family(call.core, call.account, uid)
    if sub.uid == call.account.uid:
        raise ApiError(Code.ILLEGAL_USER_ID, f"{uid} is not a sub-account of {call.account.uid}")
    permissions = _sub_permissions(p.raw("permissions"))
    ips = [ip.strip() for ip in ips_text.split(",") if ip.strip()] or ["*"]
    api_key = _token(18)
    await call.sequencer.submit(CreateApiKey(uid=sub.uid, api_key=api_key, secret=_token(36),
                                             read_only=bool(read_only), permissions=permissions, ips=ips, note=note))
    return Reply(ser.sub_api_key(call.core.api_keys[api_key]), msg="")
