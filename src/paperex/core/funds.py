"""Money between wallets, between accounts and out of the exchange: the FUND wallet, internal and universal
transfers, deposit records, withdrawals, sub-accounts.

Every account has two wallets: ``balances`` (UNIFIED, the trading wallet) and ``funding`` (FUND). Deposits land
in one of them; transfers move money between them and between a master and its sub-accounts; a withdrawal takes
it out of the exchange (``Exchange.withdrawn``, its fee to ``fees_collected``), so the money check still holds.

Records are tuples, carried as they are by snapshots and digests:

- transfer: ``(seq, transfer_id, caller_uid, ts, coin, amount, from_uid, to_uid, from_type, to_type, universal)``
- deposit: ``(id, ts, coin, chain, amount, account_type)``
- withdrawal: ``(id, ts, coin, chain, amount, fee, address, tag, account_type, request_id)``; ``amount`` is
  what arrives at the address, ``fee`` what the exchange kept on top of it.
"""

from __future__ import annotations

from decimal import ROUND_UP, Decimal
from typing import TYPE_CHECKING

from paperex.core import ledger, margin
from paperex.core.accounts import Account
from paperex.core.commands import CreateSubMember, Deposit, InterTransfer, UniversalTransfer, Withdraw
from paperex.core.events import AccountCreated, BalanceChanged, Event, Withdrawn
from paperex.core.numbers import MAX_AMOUNT, MONEY_DP, to_units
from paperex.errors import ApiError, Code

if TYPE_CHECKING:
    from paperex.core.engine import Exchange

WALLETS = ("UNIFIED", "FUND")
WITHDRAW_ACCOUNTS = ("FUND", "UTA", "FUND,UTA")
WITHDRAW_GAP_MS = 10_000  # Bybit: at most one withdrawal per coin and chain every 10 seconds
MAX_SUBS = 1000  # /v5/user/query-sub-members lists at most 1,000
USERNAME_LEN = (6, 16)


def transferable(ex: Exchange, account: Account, coin: str, wallet: str) -> int:
    """What can leave a wallet: all of FUND; of UNIFIED what orders and positions do not use."""
    if wallet == "FUND":
        return account.funding.get(coin, 0)
    wallet_balance = account.balance(coin)
    if wallet_balance <= 0:
        return 0
    return max(0, min(wallet_balance, margin.available(ex.symbols, account, coin)))


def _check_amount(ex: Exchange, coin: str, amount: int) -> None:
    if coin not in ex.coins:
        raise ApiError(Code.INVALID_COIN, coin)
    if not 0 < amount <= MAX_AMOUNT:
        raise ApiError(Code.PARAM_ERROR, "amount must be positive")


def _check_wallet(name: str, which: str, account: Account | None = None) -> None:
    if name not in WALLETS:
        raise ApiError(Code.PARAM_ERROR, f"{which} {name} is not available: a unified account has UNIFIED and FUND")
    if name == "UNIFIED" and account is not None and account.classic:
        raise ApiError(Code.PARAM_ERROR, f"{which} UNIFIED: a classic account has no unified wallet (upgrade first)")


def _take(ex: Exchange, account: Account, coin: str, amount: int, wallet: str) -> None:
    """Refuse (nothing changed yet) unless ``amount`` can leave the wallet."""
    free = transferable(ex, account, coin, wallet)
    if amount > free:
        code = Code.WALLET_INSUFFICIENT if wallet == "FUND" else Code.AVAILABLE_INSUFFICIENT
        raise ApiError(code, f"the {wallet} wallet can transfer {_fmt(free)} {coin}")


def _room(account: Account, coin: str, amount: int, wallet: str) -> None:
    held = account.funding.get(coin, 0) if wallet == "FUND" else account.balance(coin)
    if held + amount > MAX_AMOUNT:
        raise ApiError(Code.PARAM_ERROR, "the balance would exceed the maximum")


def _fmt(units: int) -> str:
    whole, frac = divmod(units, 10**MONEY_DP)
    return f"{whole}.{frac:08d}".rstrip("0").rstrip(".") if frac else str(whole)


def _move(ex: Exchange, account: Account, coin: str, change: int, wallet: str, ts: int, kind: str,
          events: list[Event]) -> None:
    """Change one wallet; a UNIFIED change is logged (transaction log) and streamed (wallet topic)."""
    if wallet == "FUND":
        left = account.funding.get(coin, 0) + change
        if left:
            account.funding[coin] = left
        else:
            account.funding.pop(coin, None)
        return
    account.credit(coin, change)
    account.updated_at = ts
    ledger.record(ex, account, ts, kind, coin, cash_flow=change)
    events.append(BalanceChanged(uid=account.uid, coin=coin, change=change, balance=account.balance(coin),
                                 reason="transfer"))


def deposit(ex: Exchange, cmd: Deposit, ts: int) -> list[Event]:
    account = ex.account(cmd.uid)
    if cmd.coin not in ex.coins:
        raise ApiError(Code.INVALID_COIN, cmd.coin)
    if not 0 < cmd.amount <= MAX_AMOUNT:
        raise ApiError(Code.PARAM_ERROR, "amount must be positive and not above the maximum")
    _check_wallet(cmd.account_type, "accountType")
    chains = [c["chain"] for c in ex.coins[cmd.coin].chains]
    chain = cmd.chain or (chains[0] if chains else "")
    if chains and chain not in chains:
        raise ApiError(Code.PARAM_ERROR, f"chain {chain} is not a chain of {cmd.coin}: {', '.join(chains)}")
    _room(account, cmd.coin, cmd.amount, cmd.account_type)
    ex.deposits[cmd.coin] = ex.deposits.get(cmd.coin, 0) + cmd.amount
    ex.deposit_seq += 1
    account.deposit_log.append((ex.deposit_seq, ts, cmd.coin, chain, cmd.amount, cmd.account_type))
    if cmd.account_type == "FUND":
        account.funding[cmd.coin] = account.funding.get(cmd.coin, 0) + cmd.amount
        return []
    events: list[Event] = []
    account.balances[cmd.coin] = account.balance(cmd.coin) + cmd.amount
    account.updated_at = ts
    ledger.record(ex, account, ts, "TRANSFER_IN", cmd.coin, cash_flow=cmd.amount)
    events.append(BalanceChanged(uid=cmd.uid, coin=cmd.coin, change=cmd.amount, balance=account.balance(cmd.coin),
                                 reason="deposit"))
    return events


def _new_transfer_id(ex: Exchange, transfer_id: str) -> None:
    if not transfer_id or len(transfer_id) > 64:
        raise ApiError(Code.PARAM_ERROR, "transferId must be 1 to 64 characters")
    if transfer_id in ex.transfer_ids:  # unique across the platform (Bybit)
        raise ApiError(Code.DUPLICATE_REQUEST, f"transferId {transfer_id} exists")


def inter_transfer(ex: Exchange, cmd: InterTransfer, ts: int) -> list[Event]:
    account = ex.account(cmd.uid)
    _new_transfer_id(ex, cmd.transfer_id)
    _check_amount(ex, cmd.coin, cmd.amount)
    _check_wallet(cmd.from_type, "fromAccountType", account)
    _check_wallet(cmd.to_type, "toAccountType", account)
    if cmd.from_type == cmd.to_type:
        raise ApiError(Code.PARAM_ERROR, "fromAccountType can't be the same as toAccountType")
    _take(ex, account, cmd.coin, cmd.amount, cmd.from_type)
    _room(account, cmd.coin, cmd.amount, cmd.to_type)
    events: list[Event] = []
    _move(ex, account, cmd.coin, -cmd.amount, cmd.from_type, ts, "TRANSFER_OUT", events)
    _move(ex, account, cmd.coin, cmd.amount, cmd.to_type, ts, "TRANSFER_IN", events)
    _record_transfer(ex, [account], (cmd.transfer_id, cmd.uid, ts, cmd.coin, cmd.amount, cmd.uid, cmd.uid,
                                     cmd.from_type, cmd.to_type, 0))
    return events


def _record_transfer(ex: Exchange, accounts: list[Account], row: tuple) -> None:
    ex.transfer_seq += 1
    entry = (ex.transfer_seq, *row)
    for account in accounts:
        account.transfers.append(entry)
    ex.transfer_ids.add(row[0])


def family(ex: Exchange, caller: Account, uid: int) -> Account:
    """The account ``uid`` names, if the caller may act for it: itself, or (a master) one of its subs; 110018
    otherwise (Bybit: 131202 / 500010)."""
    target = ex.accounts.get(uid)
    if target is None or (target.uid != caller.uid and target.parent_uid != caller.uid):
        raise ApiError(Code.ILLEGAL_USER_ID, f"{uid} is neither this account nor one of its sub-accounts")
    return target


def universal_transfer(ex: Exchange, cmd: UniversalTransfer, ts: int) -> list[Event]:
    caller = ex.account(cmd.uid)
    _new_transfer_id(ex, cmd.transfer_id)
    _check_amount(ex, cmd.coin, cmd.amount)
    _check_wallet(cmd.from_type, "fromAccountType")
    _check_wallet(cmd.to_type, "toAccountType")
    if cmd.from_uid == cmd.to_uid:
        raise ApiError(Code.PARAM_ERROR, "cannot transfer between the same UID: use inter-transfer")
    if caller.parent_uid:  # a sub-account's key sends only its own money, only to its master (Bybit)
        if cmd.from_uid != caller.uid or cmd.to_uid != caller.parent_uid:
            raise ApiError(Code.ILLEGAL_USER_ID, "a sub-account can only transfer from itself to its master account")
        source, target = caller, ex.account(caller.parent_uid)
    else:
        source, target = family(ex, caller, cmd.from_uid), family(ex, caller, cmd.to_uid)
    _check_wallet(cmd.from_type, "fromAccountType", source)
    _check_wallet(cmd.to_type, "toAccountType", target)
    _take(ex, source, cmd.coin, cmd.amount, cmd.from_type)
    _room(target, cmd.coin, cmd.amount, cmd.to_type)
    events: list[Event] = []
    _move(ex, source, cmd.coin, -cmd.amount, cmd.from_type, ts, "TRANSFER_OUT", events)
    _move(ex, target, cmd.coin, cmd.amount, cmd.to_type, ts, "TRANSFER_IN", events)
    master = ex.account(caller.parent_uid) if caller.parent_uid else caller
    involved = {a.uid: a for a in (master, source, target)}
    _record_transfer(ex, list(involved.values()), (cmd.transfer_id, cmd.uid, ts, cmd.coin, cmd.amount,
                                                    source.uid, target.uid, cmd.from_type, cmd.to_type, 1))
    return events


def chain_of(ex: Exchange, coin: str, chain: str) -> dict:
    if coin not in ex.coins:
        raise ApiError(Code.INVALID_COIN, coin)
    for c in ex.coins[coin].chains:
        if c["chain"] == chain:
            return c
    names = ", ".join(c["chain"] for c in ex.coins[coin].chains)
    raise ApiError(Code.PARAM_ERROR, f"chain {chain} is not a chain of {coin}: {names}")


def _units(text: str) -> int:
    return to_units(Decimal(text).quantize(Decimal(1).scaleb(-MONEY_DP), rounding=ROUND_UP))


def withdraw_fee(chain: dict, amount: int, fee_type: int) -> int:
    """Bybit's handling fee (asset/withdraw): feeType 0 -> amount / (1 - pct) x pct + withdrawFee; feeType 1 ->
    withdrawFee + (amount - withdrawFee) x pct; withdrawFee alone when pct is 0. Rounded up to 1e-8."""
    fixed = _units(chain.get("withdrawFee") or "0")
    pct = Decimal(chain.get("withdrawPercentageFee") or "0")
    if not pct:
        return fixed
    value = Decimal(amount).scaleb(-MONEY_DP)
    flat = Decimal(fixed).scaleb(-MONEY_DP)
    fee = value / (1 - pct) * pct + flat if fee_type == 0 else flat + (value - flat) * pct
    return _units(str(fee))


def withdraw(ex: Exchange, cmd: Withdraw, ts: int) -> list[Event]:
    account = ex.account(cmd.uid)
    if account.parent_uid:
        raise ApiError(Code.PERMISSION_DENIED, "withdrawals are for the master account's key only")
    chain = chain_of(ex, cmd.coin, cmd.chain)
    if chain.get("chainWithdraw") == "0":
        raise ApiError(Code.PARAM_ERROR, f"withdrawals of {cmd.coin} on {cmd.chain} are suspended")
    if cmd.account_type not in WITHDRAW_ACCOUNTS:
        raise ApiError(Code.PARAM_ERROR, f"accountType must be one of {', '.join(WITHDRAW_ACCOUNTS)}")
    if cmd.fee_type not in (0, 1):
        raise ApiError(Code.PARAM_ERROR, "feeType must be 0 or 1")
    if cmd.request_id and any(w[9] == cmd.request_id for w in account.withdrawals):
        raise ApiError(Code.DUPLICATE_REQUEST, f"requestId {cmd.request_id} was used")
    if not 0 < cmd.amount <= MAX_AMOUNT:
        raise ApiError(Code.PARAM_ERROR, "amount must be positive")
    accuracy = int(chain.get("minAccuracy") or MONEY_DP)
    if cmd.amount % 10 ** (MONEY_DP - min(accuracy, MONEY_DP)):
        raise ApiError(Code.PARAM_ERROR, f"amount has more than {accuracy} decimals")
    lowest, highest = _units(chain.get("withdrawMin") or "0"), chain.get("withdrawMax") or "-1"
    if cmd.amount < lowest or (highest != "-1" and cmd.amount > _units(highest)):
        raise ApiError(Code.PARAM_ERROR, f"amount must be at least {chain.get('withdrawMin')}"
                       + ("" if highest == "-1" else f" and at most {highest}"))
    fee = withdraw_fee(chain, cmd.amount, cmd.fee_type)
    received, debit = (cmd.amount, cmd.amount + fee) if cmd.fee_type == 0 else (cmd.amount - fee, cmd.amount)
    if received <= 0:
        raise ApiError(Code.PARAM_ERROR, f"amount does not cover the fee of {_fmt(fee)} {cmd.coin}")
    wallets = ("FUND", "UNIFIED") if cmd.account_type == "FUND,UTA" else (
        "FUND" if cmd.account_type == "FUND" else "UNIFIED",)
    if account.classic and "UNIFIED" in wallets:
        raise ApiError(Code.PARAM_ERROR, "accountType UTA: a classic account has no unified wallet")
    parts, left = [], debit
    for wallet in wallets:  # the funding wallet first, then the unified one (Bybit's combo withdrawal)
        part = min(left, transferable(ex, account, cmd.coin, wallet))
        if part:
            parts.append((wallet, part))
        left -= part
    if left:
        free = sum(transferable(ex, account, cmd.coin, w) for w in wallets)
        code = Code.WALLET_INSUFFICIENT if wallets == ("FUND",) else Code.AVAILABLE_INSUFFICIENT
        raise ApiError(code, f"{_fmt(debit)} {cmd.coin} needed (fee {_fmt(fee)}), {_fmt(free)} withdrawable")
    for w in reversed(account.withdrawals):
        if ts - w[1] >= WITHDRAW_GAP_MS:
            break
        if w[2] == cmd.coin and w[3] == cmd.chain:
            raise ApiError(Code.RATE_LIMITED, f"one {cmd.coin} withdrawal on {cmd.chain} every 10 seconds")
    events: list[Event] = []
    for wallet, part in parts:
        _move(ex, account, cmd.coin, -part, wallet, ts, "TRANSFER_OUT", events)
    ex.withdrawn[cmd.coin] = ex.withdrawn.get(cmd.coin, 0) + received
    ex.fees_collected[cmd.coin] = ex.fees_collected.get(cmd.coin, 0) + fee
    ex.withdraw_seq += 1
    account.withdrawals.append((ex.withdraw_seq, ts, cmd.coin, cmd.chain, received, fee, cmd.address, cmd.tag,
                                cmd.account_type, cmd.request_id))
    events.append(Withdrawn(uid=account.uid, withdraw_id=ex.withdraw_seq))
    return events


def create_sub_member(ex: Exchange, cmd: CreateSubMember, ts: int) -> list[Event]:
    master = ex.account(cmd.uid)
    if master.parent_uid:
        raise ApiError(Code.PERMISSION_DENIED, "a sub-account cannot create sub-accounts")
    name = cmd.username
    lo, hi = USERNAME_LEN
    if not (lo <= len(name) <= hi and name.isascii() and name.isalnum()
            and any(ch.isdigit() for ch in name) and any(ch.isalpha() for ch in name)):
        raise ApiError(Code.PARAM_ERROR, "username must be 6-16 characters of letters and numbers, with both")
    if any(a.username == name for a in ex.accounts.values()):
        raise ApiError(Code.PARAM_ERROR, f"username {name} is taken")
    if cmd.member_type not in (1, 6):
        raise ApiError(Code.PARAM_ERROR, "memberType must be 1 (normal) or 6 (custodial)")
    if sum(1 for a in ex.accounts.values() if a.parent_uid == master.uid) >= MAX_SUBS:
        raise ApiError(Code.PARAM_ERROR, f"at most {MAX_SUBS} sub-accounts")
    uid = ex.next_uid
    ex.accounts[uid] = Account(uid=uid, created_at=ts, updated_at=ts, parent_uid=master.uid, username=name,
                               member_type=cmd.member_type, remark=cmd.note)
    ex.next_uid = uid + 1
    return [AccountCreated(uid=uid)]
