"""Reply rows of the asset endpoints: transfers, deposits, withdrawals, sub-accounts (records of core.funds).

paperex has no blockchain: transaction hashes and deposit addresses are derived from the record (stable across
restarts and replays), so a client sees Bybit's fields filled as a real deposit or withdrawal fills them.
"""

from __future__ import annotations

import hashlib
from typing import Any

from paperex.core.accounts import Account, ApiKey
from paperex.core.engine import Exchange
from paperex.core.numbers import format_units

# the groups /v5/user/create-sub-api answers with (Bybit's example order)
SUB_KEY_GROUPS = ("ContractTrade", "Spot", "Wallet", "Options", "Derivatives", "CopyTrading", "BlockTrade",
                  "Exchange", "NFT", "Earn")


def _hash(*parts: object) -> str:
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()


def deposit_address(uid: int, coin: str, chain: str) -> str:
    """The account's (simulated) deposit address on a chain."""
    return "0x" + _hash("address", uid, coin, chain)[:40]


def transfer(row: tuple, universal: bool = False) -> dict[str, Any]:
    _seq, transfer_id, _caller, ts, coin, amount, from_uid, to_uid, from_type, to_type, _u = row
    out: dict[str, Any] = {"transferId": transfer_id, "coin": coin, "amount": format_units(amount),
                           "fromAccountType": from_type, "toAccountType": to_type, "timestamp": str(ts),
                           "status": "SUCCESS"}
    if universal:
        out["fromMemberId"] = str(from_uid)
        out["toMemberId"] = str(to_uid)
    return out


def deposit(ex: Exchange, account: Account, row: tuple) -> dict[str, Any]:
    deposit_id, ts, coin, chain, amount, _wallet = row
    spec = next((c for c in ex.coins[coin].chains if c["chain"] == chain), {})
    return {
        "id": str(deposit_id), "coin": coin, "chain": chain, "amount": format_units(amount),
        "txID": _hash("deposit", account.uid, deposit_id), "status": 3,
        "toAddress": deposit_address(account.uid, coin, chain), "tag": "", "depositFee": "",
        "successAt": str(ts), "confirmations": str(spec.get("confirmation", "1")), "txIndex": "0",
        "blockHash": _hash("block", account.uid, deposit_id), "batchReleaseLimit": "-1", "depositType": "0",
        "fromAddress": "",
    }


def withdrawal(account: Account, row: tuple) -> dict[str, Any]:
    withdraw_id, ts, coin, chain, amount, fee, address, tag, _wallets, _request_id = row
    return {
        "withdrawId": str(withdraw_id), "txID": _hash("withdraw", account.uid, withdraw_id), "withdrawType": 0,
        "coin": coin, "chain": chain, "amount": format_units(amount), "withdrawFee": format_units(fee),
        "status": "success", "toAddress": address, "tag": tag, "createTime": str(ts), "updateTime": str(ts),
    }


def member_status(account: Account) -> int:
    """1 normal, 2 login banned, 4 frozen (the admin API's account status)."""
    return {"frozen": 4, "banned": 2}.get(account.rules.get("status") or "", 1)


def sub_member(account: Account) -> dict[str, Any]:
    return {"uid": str(account.uid), "username": account.username, "memberType": account.member_type,
            "status": member_status(account), "remark": account.remark,
            "accountMode": account.unified_margin_status}


def sub_api_key(key: ApiKey) -> dict[str, Any]:
    return {"id": str(key.id), "note": key.note, "apiKey": key.api_key, "readOnly": 1 if key.read_only else 0,
            "secret": key.secret or "", "permissions": {g: list(key.permissions.get(g, ())) for g in SUB_KEY_GROUPS}}
