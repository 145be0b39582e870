"""``/v5/asset/*``: coin information, the FUND wallet, transfers, deposit and withdrawal records, withdrawals.

Asset endpoints need a key with one of the Wallet permissions (Account Transfer, Subaccount Transfer, Withdrawal),
as on Bybit. Bybit answers asset errors with its 131xxx codes, which paperex's error table does not hold: the
nearest code of the table stands in (see docs/compatibility.md).
"""

from __future__ import annotations

import re
from typing import Any

from paperex.core import funds
from paperex.core.accounts import Account
from paperex.core.commands import InterTransfer, UniversalTransfer, Withdraw
from paperex.core.events import Withdrawn
from paperex.core.numbers import format_units, to_units
from paperex.errors import ApiError, Code
from paperex.gateway import asset_serializers as ser
from paperex.gateway import serializers
from paperex.gateway.auth import Permission, in_window, virtual_now
from paperex.gateway.endpoints import V5, Call, Reply
from paperex.gateway.handlers.market import page
from paperex.gateway.params import Params, param_error

WALLET = Permission(group="Wallet", any_of=("AccountTransfer", "SubMemberTransfer", "SubMemberTransferList",
                                            "Withdraw"))
TRANSFER = Permission(write=True, group="Wallet", any_of=("AccountTransfer",))
UNIVERSAL = Permission(write=True, group="Wallet", any_of=("SubMemberTransfer", "SubMemberTransferList"))
UNIVERSAL_READ = Permission(group="Wallet", any_of=("SubMemberTransfer", "SubMemberTransferList"))
WITHDRAW = Permission(write=True, group="Wallet", any_of=("Withdraw",))
ACCOUNT_TYPES = ("UNIFIED", "FUND", "CONTRACT", "SPOT", "OPTION", "INVESTMENT")
DAY_MS = 86_400_000
WITHDRAW_TS_WINDOW_MS = 60_000  # the withdrawal's anti-replay ``timestamp``: at most a minute old
_REQUEST_ID = re.compile(r"[A-Za-z0-9]{1,32}", re.ASCII)


@V5.get("/v5/asset/coin/query-info", permission=WALLET)
async def coin_query_info(call: Call) -> Reply:
    coin = call.params.str("coin", max_len=20)
    coins = call.core.market.coins
    if coin is not None:
        coins = tuple(c for c in coins if c.coin == coin.upper())
        if not coins:
            raise ApiError(Code.INVALID_COIN, coin)
    return Reply({"rows": [serializers.coin_info(c) for c in coins]}, msg="success")  # Bybit's retMsg here


# -- parameters -------------------------------------------------------------------------------------------


def _coin(call: Call, name: str = "coin", *, required: bool = True) -> str | None:
    coin = call.params.str(name, required=required, max_len=20)
    if coin is None:
        return None
    if coin != coin.upper():
        raise param_error(f"{name} must be uppercase")
    if coin not in call.core.coins:
        raise ApiError(Code.INVALID_COIN, coin)
    return coin


def _amount(call: Call) -> int:
    value = call.params.decimal("amount", required=True)
    assert value is not None
    if value <= 0:
        raise param_error("amount must be positive")
    try:
        return to_units(value)
    except ValueError:
        raise param_error("amount has more than 8 decimals") from None


def _account_type(call: Call, name: str) -> str:
    value = call.params.enum(name, ACCOUNT_TYPES, required=True)
    assert value is not None
    return value


def _member(call: Call, name: str = "memberId") -> Account:
    """The caller, or (a master's key) one of its sub-accounts named by ``memberId``; 110018 otherwise."""
    caller = call.account
    raw = call.params.raw(name)
    if raw is None or raw == "":
        return caller
    uid = call.params.int(name, lo=1, hi=10**15)
    assert uid is not None
    return funds.family(call.core, caller, uid)


def _window(p: Params, now: int, span_ms: int, what: str) -> tuple[int, int]:
    """startTime/endTime: the last ``span`` by default; one of them: ``span`` from it; both: at most ``span``."""
    start = p.int("startTime", lo=0, hi=10**15)
    end = p.int("endTime", lo=0, hi=10**15)
    if start is None and end is None:
        return now - span_ms, now
    if start is None:
        assert end is not None
        return end - span_ms, end
    if end is None:
        return start, start + span_ms
    if end < start:
        raise param_error("endTime must not be before startTime")
    if end - start > span_ms:
        raise param_error(f"the time range must not exceed {what}")
    return start, end


def _status(p: Params) -> None:
    p.enum("status", ("SUCCESS", "PENDING", "FAILED", "STATUS_UNKNOWN"))


def _wanted_status(p: Params) -> bool:
    """Every paperex transfer succeeds at once: only a SUCCESS (or no) status filter finds any."""
    return p.str("status") in (None, "SUCCESS")


# -- balances ---------------------------------------------------------------------------------------------


def _wallet_units(call: Call, account: Account, coin: str, account_type: str) -> tuple[int, int]:
    wallet = account.funding.get(coin, 0) if account_type == "FUND" else account.balance(coin)
    return wallet, funds.transferable(call.core, account, coin, account_type)


def _balance_type(call: Call, account: Account) -> str:
    account_type = _account_type(call, "accountType")
    if account_type not in funds.WALLETS:
        raise param_error(f"accountType {account_type} is for classic accounts; this one is unified"
                          if not account.classic else f"accountType {account_type} is not simulated")
    if account_type == "UNIFIED" and account.classic:
        raise param_error("accountType UNIFIED: a classic account has no unified wallet")
    return account_type


@V5.get("/v5/asset/transfer/query-account-coins-balance", permission=WALLET)
async def account_coins_balance(call: Call) -> Reply:
    """The coins of one wallet: UNIFIED (``transferBalance`` what orders and positions do not use; ``coin``
    required) or FUND. ``memberId``: the caller or, with a master's key, one of its sub-accounts."""
    p = call.params
    account = _member(call)
    account_type = _balance_type(call, account)
    raw = p.str("coin", max_len=120)
    coins = [c for c in (raw or "").split(",") if c]
    if account_type == "UNIFIED" and not coins:
        raise param_error("coin is required for accountType UNIFIED")
    if len(coins) > 10:
        raise param_error("at most 10 coins")
    for coin in coins:
        if coin not in call.core.coins:
            raise ApiError(Code.INVALID_COIN, coin)
    rows = []
    for coin in coins or sorted(call.core.coins):
        wallet, free = _wallet_units(call, account, coin, account_type)
        rows.append({"coin": coin, "walletBalance": format_units(wallet), "transferBalance": format_units(free),
                     "bonus": ""})
    return Reply({"memberId": str(account.uid), "accountType": account_type, "balance": rows}, msg="success")


@V5.get("/v5/asset/transfer/query-account-coin-balance", permission=WALLET)
async def account_coin_balance(call: Call) -> Reply:
    """One coin of one wallet. ``toMemberId`` / ``toAccountType`` only have to be valid: what can leave the wallet
    is the same wherever it goes (paperex has no institutional loans)."""
    p = call.params
    account = _member(call)
    account_type = _balance_type(call, account)
    coin = _coin(call)
    assert coin is not None
    if p.raw("toMemberId") not in (None, ""):
        _member(call, "toMemberId")
    if p.raw("toAccountType") not in (None, ""):
        _account_type(call, "toAccountType")
    p.int("withBonus", lo=0, hi=1)
    safe = p.int("withTransferSafeAmount", default=0, lo=0, hi=1)
    ltv = p.int("withLtvTransferSafeAmount", default=0, lo=0, hi=1)
    wallet, free = _wallet_units(call, account, coin, account_type)
    return Reply({"accountType": account_type, "bizType": 1, "accountId": str(account.uid),
                  "memberId": str(account.uid),
                  "balance": {"coin": coin, "walletBalance": format_units(wallet),
                              "transferBalance": format_units(free), "bonus": "0",
                              "transferSafeAmount": format_units(free) if safe else "",
                              "ltvTransferSafeAmount": format_units(free) if ltv else ""}}, msg="success")


@V5.get("/v5/asset/withdraw/withdrawable-amount", permission=WALLET)
async def withdrawable_amount(call: Call) -> Reply:
    coin = _coin(call)
    assert coin is not None
    account = call.account
    out: dict[str, Any] = {}
    for name, wallet in (("FUND", "FUND"), ("UTA", "UNIFIED")):
        if wallet == "UNIFIED" and account.classic:
            continue
        free = funds.transferable(call.core, account, coin, wallet)
        out[name] = {"coin": coin, "withdrawableAmount": format_units(free), "availableBalance": format_units(free)}
    return Reply({"limitAmountUsd": "0", "withdrawableAmount": out}, msg="success")


# -- transfers --------------------------------------------------------------------------------------------


def _transfer_id(call: Call) -> str:
    transfer_id = call.params.str("transferId", required=True, max_len=64)
    assert transfer_id is not None
    return transfer_id


@V5.get("/v5/asset/transfer/query-transfer-coin-list", permission=WALLET)
async def transfer_coin_list(call: Call) -> Reply:
    from_type, to_type = _account_type(call, "fromAccountType"), _account_type(call, "toAccountType")
    if from_type == to_type:
        raise param_error("fromAccountType can't be the same as toAccountType")
    for name in (from_type, to_type):
        if name not in funds.WALLETS:
            raise param_error(f"accountType {name} is not available: a unified account has UNIFIED and FUND")
    return Reply({"list": sorted(call.core.coins)}, msg="success")


@V5.post("/v5/asset/transfer/inter-transfer", permission=TRANSFER)
async def inter_transfer(call: Call) -> Reply:
    transfer_id = _transfer_id(call)
    coin = _coin(call)
    assert coin is not None
    amount = _amount(call)
    from_type, to_type = _account_type(call, "fromAccountType"), _account_type(call, "toAccountType")
    await call.sequencer.submit(InterTransfer(uid=call.account.uid, transfer_id=transfer_id, coin=coin,
                                              amount=amount, from_type=from_type, to_type=to_type))
    return Reply({"transferId": transfer_id, "status": "SUCCESS"}, msg="success")


def _transfer_rows(call: Call, universal: bool) -> dict[str, Any]:
    p = call.params
    transfer_id = p.str("transferId", max_len=64)
    coin = _coin(call, required=False)
    _status(p)
    start, end = _window(p, call.now_ms, 7 * DAY_MS, "7 days")
    wanted = _wanted_status(p)
    rows = [ser.transfer(t, universal) for t in reversed(call.account.transfers)
            if t[10] == universal and wanted and start <= t[3] <= end
            and (transfer_id is None or t[1] == transfer_id) and (coin is None or t[4] == coin)]
    chunk, cursor = page(rows, p, default_limit=20, max_limit=50)
    return {"list": chunk, "nextPageCursor": cursor}


@V5.get("/v5/asset/transfer/query-inter-transfer-list", permission=WALLET)
async def inter_transfer_list(call: Call) -> Reply:
    return Reply(_transfer_rows(call, universal=False), msg="success")


@V5.post("/v5/asset/transfer/universal-transfer", permission=UNIVERSAL)
async def universal_transfer(call: Call) -> Reply:
    p = call.params
    transfer_id = _transfer_id(call)
    coin = _coin(call)
    assert coin is not None
    amount = _amount(call)
    from_uid = p.int("fromMemberId", required=True, lo=1, hi=10**15)
    to_uid = p.int("toMemberId", required=True, lo=1, hi=10**15)
    from_type, to_type = _account_type(call, "fromAccountType"), _account_type(call, "toAccountType")
    assert from_uid is not None and to_uid is not None
    await call.sequencer.submit(UniversalTransfer(uid=call.account.uid, transfer_id=transfer_id, coin=coin,
                                                  amount=amount, from_uid=from_uid, to_uid=to_uid,
                                                  from_type=from_type, to_type=to_type))
    return Reply({"transferId": transfer_id, "status": "SUCCESS"}, msg="success")


@V5.get("/v5/asset/transfer/query-universal-transfer-list", permission=UNIVERSAL_READ)
async def universal_transfer_list(call: Call) -> Reply:
    return Reply(_transfer_rows(call, universal=True), msg="success")


# -- deposits and withdrawals -----------------------------------------------------------------------------


@V5.get("/v5/asset/deposit/query-record", permission=WALLET)
async def deposit_records(call: Call) -> Reply:
    """On-chain deposits (the admin API's deposits), newest first; the last 30 days by default."""
    p = call.params
    wanted_id = p.str("id", max_len=32)
    tx_id = p.str("txID", max_len=128)
    coin = _coin(call, required=False)
    start, end = _window(p, call.now_ms, 30 * DAY_MS, "30 days")
    account = call.account
    rows = []
    for d in reversed(account.deposit_log):
        if wanted_id is not None:  # the id takes the highest priority (Bybit)
            if str(d[0]) != wanted_id:
                continue
        elif not start <= d[1] <= end or (coin is not None and d[2] != coin):
            continue
        row = ser.deposit(call.core, account, d)
        if tx_id is None or row["txID"] == tx_id:
            rows.append(row)
    chunk, cursor = page(rows, p, default_limit=50, max_limit=50)
    return Reply({"rows": chunk, "nextPageCursor": cursor}, msg="success")


def _master_only(call: Call, what: str) -> None:
    if call.account.parent_uid:
        raise ApiError(Code.PERMISSION_DENIED, f"{what} is for the master account's key only")


@V5.get("/v5/asset/withdraw/query-record", permission=WALLET)
async def withdraw_records(call: Call) -> Reply:
    p = call.params
    _master_only(call, "withdraw/query-record")
    withdraw_id = p.str("withdrawID", max_len=32)
    tx_id = p.str("txID", max_len=128)
    coin = _coin(call, required=False)
    kind = p.int("withdrawType", default=0, lo=0, hi=2)
    start, end = _window(p, call.now_ms, 30 * DAY_MS, "30 days")
    account = call.account
    rows = []
    if kind != 1:  # every paperex withdrawal is on-chain
        for w in reversed(account.withdrawals):
            if withdraw_id is not None:
                if str(w[0]) != withdraw_id:
                    continue
            elif not start <= w[1] <= end or (coin is not None and w[2] != coin):
                continue
            row = ser.withdrawal(account, w)
            if tx_id is None or row["txID"] == tx_id:
                rows.append(row)
    chunk, cursor = page(rows, p, default_limit=50, max_limit=50)
    return Reply({"rows": chunk, "nextPageCursor": cursor}, msg="success")


@V5.post("/v5/asset/withdraw/create", permission=WITHDRAW)
async def withdraw_create(call: Call) -> Reply:
    """A simulated on-chain withdrawal: checked as Bybit checks it, then done at once (status success)."""
    p = call.params
    _master_only(call, "withdraw/create")
    coin = _coin(call)
    assert coin is not None
    force = p.int("forceChain", default=0, lo=0, hi=2)
    if force == 2:
        raise param_error("forceChain 2 (a withdrawal to a Bybit UID) is not simulated; use universal-transfer "
                          "between a master and its sub-accounts")
    chain = p.str("chain", required=True, max_len=32)
    address = p.str("address", required=True, max_len=128)
    tag = p.str("tag", default="", max_len=64)
    amount = _amount(call)
    ts = p.int("timestamp", required=True, lo=0, hi=10**15)
    assert chain is not None and address is not None and tag is not None and ts is not None
    if not in_window(ts, WITHDRAW_TS_WINDOW_MS, call.now_ms, virtual_now(call.sequencer)):
        raise param_error(f"timestamp {ts} is not within a minute of the server time {call.now_ms}")
    account_type = p.enum("accountType", ("FUND", "UTA", "FUND,UTA", "EARN", "FUND,UTA,EARN", "FUND,EARN",
                                          "UTA,EARN", "SPOT"), required=True)
    assert account_type is not None
    if account_type == "SPOT":
        raise param_error("accountType SPOT is for classic accounts")
    account_type = ",".join(w for w in account_type.split(",") if w != "EARN")  # paperex has no Earn wallet
    if not account_type:
        raise param_error("accountType EARN: paperex has no Earn account")
    fee_type = p.int("feeType", default=0, lo=0, hi=1)
    request_id = p.str("requestId", default="", max_len=32)
    assert fee_type is not None and request_id is not None
    if request_id and not _REQUEST_ID.fullmatch(request_id):
        raise param_error("requestId must be 1 to 32 letters and digits")
    events = await call.sequencer.submit(Withdraw(
        uid=call.account.uid, coin=coin, chain=chain.upper(), address=address, tag=tag, amount=amount,
        account_type=account_type, fee_type=fee_type, request_id=request_id))
    withdraw_id = next(e.withdraw_id for e in events if isinstance(e, Withdrawn))
    return Reply({"id": str(withdraw_id)}, msg="success")
