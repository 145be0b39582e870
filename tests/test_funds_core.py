"""core.funds without a server: FUND wallets, transfers, withdrawals and sub-accounts keep the money check, leave a
rejected command without a trace, and survive a snapshot."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from paperex.core import funds, snapshot
from paperex.core.commands import (
    CreateAccount,
    CreateSubMember,
    Deposit,
    InterTransfer,
    PlaceOrder,
    UniversalTransfer,
    Withdraw,
)
from paperex.core.engine import Exchange
from paperex.core.numbers import to_units
from paperex.data import load_market
from paperex.errors import ApiError, Code

MARKET = load_market()


def u(text: str) -> int:
    return to_units(text)


def refused(ex: Exchange, cmd, ts: int) -> int:
    before = ex.digest()
    with pytest.raises(ApiError) as info:
        ex.apply(cmd, ts)
    assert ex.digest() == before  # validate, then mutate
    return info.value.code


def conserved(ex: Exchange) -> bool:
    return all(row["conserved"] for row in ex.money_check().values())


def setup() -> tuple[Exchange, int, int]:
    ex = Exchange(MARKET)
    ex.apply(CreateAccount(balances={"USDT": u("1000")}), 1)
    master = ex.next_uid - 1
    ex.apply(CreateSubMember(uid=master, username="sub0001", note="bot"), 2)
    return ex, master, ex.next_uid - 1


def test_transfers_withdrawals_and_the_money_check() -> None:
    ex, master, sub = setup()
    ex.apply(Deposit(uid=master, coin="USDT", amount=u("50"), account_type="FUND", chain="TRX"), 3)
    ex.apply(InterTransfer(uid=master, transfer_id="t1", coin="USDT", amount=u("300"), from_type="UNIFIED",
                           to_type="FUND"), 4)
    acc = ex.accounts[master]
    assert (acc.balance("USDT"), acc.funding["USDT"]) == (u("700"), u("350"))
    assert refused(ex, InterTransfer(uid=master, transfer_id="t1", coin="USDT", amount=u("1"), from_type="FUND",
                                     to_type="UNIFIED"), 5) == Code.DUPLICATE_REQUEST
    assert refused(ex, InterTransfer(uid=master, transfer_id="t2", coin="USDT", amount=u("351"), from_type="FUND",
                                     to_type="UNIFIED"), 5) == Code.WALLET_INSUFFICIENT
    assert refused(ex, InterTransfer(uid=master, transfer_id="t2", coin="USDT", amount=u("1"), from_type="FUND",
                                     to_type="FUND"), 5) == Code.PARAM_ERROR
    ex.apply(UniversalTransfer(uid=master, transfer_id="u1", coin="USDT", amount=u("100"), from_uid=master,
                               to_uid=sub, from_type="FUND", to_type="UNIFIED"), 6)
    assert ex.accounts[sub].balance("USDT") == u("100")
    # the sub sends only to its master; a stranger is no member of the family
    ex.apply(CreateAccount(balances={"USDT": u("5")}), 7)
    stranger = ex.next_uid - 1
    assert refused(ex, UniversalTransfer(uid=sub, transfer_id="u2", coin="USDT", amount=u("1"), from_uid=sub,
                                         to_uid=stranger, from_type="UNIFIED", to_type="FUND"), 8) \
        == Code.ILLEGAL_USER_ID
    assert refused(ex, UniversalTransfer(uid=master, transfer_id="u2", coin="USDT", amount=u("1"), from_uid=master,
                                         to_uid=stranger, from_type="FUND", to_type="FUND"), 8) == Code.ILLEGAL_USER_ID
    ex.apply(UniversalTransfer(uid=sub, transfer_id="u2", coin="USDT", amount=u("40"), from_uid=sub,
                               to_uid=master, from_type="UNIFIED", to_type="UNIFIED"), 9)
    # feeType 0: 20 arrive, the chain's 8 USDT fee comes on top; feeType 1: out of the 30
    ex.apply(Withdraw(uid=master, coin="USDT", chain="ETH", address="0xabc", amount=u("20"), account_type="FUND"), 10)
    ex.apply(Withdraw(uid=master, coin="USDT", chain="TRX", address="T1", amount=u("30"), account_type="FUND",
                      fee_type=1, request_id="r1"), 11)
    assert [(w[4], w[5]) for w in acc.withdrawals] == [(u("20"), u("8")), (u("28.4"), u("1.6"))]
    assert acc.funding["USDT"] == u("350") - u("100") - u("28") - u("30")
    assert ex.withdrawn["USDT"] == u("48.4")
    assert refused(ex, Withdraw(uid=master, coin="USDT", chain="SOL", address="S", amount=u("10"),
                                account_type="FUND", request_id="r1"), 12) == Code.DUPLICATE_REQUEST
    assert refused(ex, Withdraw(uid=master, coin="USDT", chain="ETH", address="0xabc", amount=u("20"),
                                account_type="FUND"), 12) == Code.RATE_LIMITED  # within 10 s on that chain
    assert refused(ex, Withdraw(uid=master, coin="USDT", chain="SOL", address="S", amount=u("9"),
                                account_type="FUND"), 12) == Code.PARAM_ERROR  # below withdrawMin 10
    assert refused(ex, Withdraw(uid=sub, coin="USDT", chain="SOL", address="S", amount=u("10"),
                                account_type="UTA"), 12) == Code.PERMISSION_DENIED
    # combo: the funding wallet first, the rest from the unified one
    fund_left = acc.funding["USDT"]
    ex.apply(Withdraw(uid=master, coin="USDT", chain="SOL", address="S", amount=fund_left, account_type="FUND,UTA"),
             13)
    assert acc.funding.get("USDT", 0) == 0 and acc.balance("USDT") == u("740") - u("1")
    assert conserved(ex)
    kinds = [(e[2], e[10]) for e in acc.ledger]
    assert ("TRANSFER_OUT", -u("300")) in kinds and ("TRANSFER_IN", u("40")) in kinds and (
        "TRANSFER_OUT", -u("1")) in kinds
    restored = snapshot.load(MARKET, msgspec.msgpack.decode(msgspec.msgpack.encode(snapshot.dump(ex))))
    assert restored.digest() == ex.digest()
    assert refused(restored, UniversalTransfer(uid=master, transfer_id="u1", coin="USDT", amount=u("1"),
                                               from_uid=master, to_uid=sub, from_type="UNIFIED",
                                               to_type="UNIFIED"), 20) == Code.DUPLICATE_REQUEST


def test_unified_transfers_stop_at_what_orders_use() -> None:
    ex, master, _ = setup()
    ex.apply(PlaceOrder(uid=master, category="spot", symbol="BTCUSDT", side=1, order_type="Limit",
                        qty=ex.symbols[("spot", "BTCUSDT")].grid.lots(Decimal("0.01")),
                        price=ex.symbols[("spot", "BTCUSDT")].grid.ticks(Decimal(50000))), 3)
    free = funds.transferable(ex, ex.accounts[master], "USDT", "UNIFIED")
    assert 0 < free < u("1000")
    assert refused(ex, InterTransfer(uid=master, transfer_id="x", coin="USDT", amount=free + 1, from_type="UNIFIED",
                                     to_type="FUND"), 4) == Code.AVAILABLE_INSUFFICIENT
    ex.apply(InterTransfer(uid=master, transfer_id="x", coin="USDT", amount=free, from_type="UNIFIED",
                           to_type="FUND"), 4)
    assert funds.transferable(ex, ex.accounts[master], "USDT", "UNIFIED") == 0
    assert conserved(ex)


def test_sub_members() -> None:
    ex, master, sub = setup()
    assert ex.accounts[sub].parent_uid == master and ex.accounts[sub].remark == "bot"
    for name in ("sub0001", "short", "lettersonly", "1234567", "has space1"):
        assert refused(ex, CreateSubMember(uid=master, username=name), 5) == Code.PARAM_ERROR
    assert refused(ex, CreateSubMember(uid=sub, username="subsub01"), 5) == Code.PERMISSION_DENIED
    assert refused(ex, CreateSubMember(uid=master, username="other001", member_type=3), 5) == Code.PARAM_ERROR


def test_withdraw_fee_formula() -> None:
    chain = {"withdrawFee": "1", "withdrawPercentageFee": "0.01"}
    assert funds.withdraw_fee(chain, u("99"), 0) == u("2")  # 99 / 0.99 x 0.01 + 1
    assert funds.withdraw_fee(chain, u("101"), 1) == u("2")  # 1 + (101 - 1) x 0.01
    assert funds.withdraw_fee({"withdrawFee": "0.5", "withdrawPercentageFee": "0"}, u("7"), 0) == u("0.5")
