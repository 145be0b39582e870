"""The funding wallet, transfers, deposit and withdrawal records, withdrawals and sub-accounts, driven by real pybit and
ccxt clients: money moves both ways and stays conserved, every move shows in every history, errors are Bybit's."""

from __future__ import annotations

import time
import uuid

import pytest
from ccxt.test.exchange.base.test_deposit_withdrawal import test_deposit_withdrawal as ccxt_test_transaction
from ccxt.test.exchange.base.test_transfer import test_transfer as ccxt_test_transfer

from tests.conftest import ccxt_sync, make_trader, pybit_http
from tests.signing import signed_request
from tests.test_trading_wire import rejected


def tid() -> str:
    return str(uuid.uuid4())


def session_of(server, trader):
    return pybit_http(server, trader.api_key, trader.api_secret)


def coin_balance(session, account_type: str, coin: str = "USDT", **extra) -> tuple[str, str]:
    row = session.get_coins_balance(accountType=account_type, coin=coin, **extra)["result"]["balance"][0]
    return row["walletBalance"], row["transferBalance"]


def money_conserved(server) -> bool:
    health = server.admin("GET", "/admin/v1/health")["result"]
    return health["moneyConserved"]


def deposit(server, uid: str, amount: str, account_type: str = "FUND", coin: str = "USDT", chain: str = "") -> dict:
    reply = server.admin("POST", "/admin/v1/deposit", {"uid": uid, "coin": coin, "amount": amount,
                                                       "accountType": account_type, "chain": chain})
    assert reply["retCode"] == 0, reply
    return reply["result"]


def test_inter_transfers_both_ways(server) -> None:
    me = make_trader(server, {"USDT": "1000"})
    s = session_of(server, me)
    first = tid()
    reply = s.create_internal_transfer(transferId=first, coin="USDT", amount="300", fromAccountType="UNIFIED",
                                       toAccountType="FUND")
    assert reply["result"] == {"transferId": first, "status": "SUCCESS"} and reply["retMsg"] == "success"
    assert coin_balance(s, "FUND") == ("300", "300")
    assert coin_balance(s, "UNIFIED") == ("700", "700")
    s.create_internal_transfer(transferId=tid(), coin="USDT", amount="100.5", fromAccountType="FUND",
                               toAccountType="UNIFIED")
    assert coin_balance(s, "FUND") == ("199.5", "199.5")
    wallet = s.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]
    assert wallet["totalWalletBalance"] == "800.5"
    # error paths (Bybit: 131214, 131211, 131212, 131002; see docs/compatibility.md)
    same = {"coin": "USDT", "amount": "1", "fromAccountType": "FUND", "toAccountType": "UNIFIED"}
    assert rejected(lambda: s.create_internal_transfer(transferId=first, **same))[0] == 10014
    assert rejected(lambda: s.create_internal_transfer(transferId=tid(), **{**same, "toAccountType": "FUND"}))[0] \
        == 10001
    assert rejected(lambda: s.create_internal_transfer(transferId=tid(), **{**same, "amount": "500"}))[0] == 110004
    assert rejected(lambda: s.create_internal_transfer(transferId=tid(), **{**same, "amount": "0"}))[0] == 10001
    assert rejected(lambda: s.create_internal_transfer(transferId=tid(), **{**same, "amount": "1e-9"}))[0] == 10001
    assert rejected(lambda: s.create_internal_transfer(transferId=tid(), **{**same, "coin": "NOPE"}))[0] == 110050
    assert rejected(lambda: s.create_internal_transfer(transferId=tid(), **{**same, "toAccountType": "CONTRACT"}))[
        0] == 10001
    assert rejected(lambda: s.create_internal_transfer(**same))[0] == 10001  # transferId is required
    # the records
    rows = s.get_internal_transfer_records(coin="USDT")["result"]["list"]
    assert [(r["amount"], r["fromAccountType"], r["toAccountType"], r["status"]) for r in rows] == [
        ("100.5", "FUND", "UNIFIED", "SUCCESS"), ("300", "UNIFIED", "FUND", "SUCCESS")]
    assert [r["transferId"] for r in s.get_internal_transfer_records(transferId=first)["result"]["list"]] == [first]
    assert s.get_internal_transfer_records(status="FAILED")["result"]["list"] == []
    assert s.get_internal_transfer_records(coin="BTC")["result"]["list"] == []
    page = s.get_internal_transfer_records(limit=1)["result"]
    assert len(page["list"]) == 1 and page["nextPageCursor"]
    assert s.get_internal_transfer_records(cursor=page["nextPageCursor"])["result"]["list"][0]["transferId"] == first
    # the unified wallet's transaction log has both moves, as Bybit records them
    log = s.get_transaction_log(currency="USDT")["result"]["list"]
    moves = [(e["type"], e["cashFlow"], e["change"], e["cashBalance"]) for e in log if e["type"].startswith("TRANSFER")]
    assert moves[:2] == [("TRANSFER_IN", "100.5", "100.5", "800.5"), ("TRANSFER_OUT", "-300", "-300", "700")]
    assert s.get_transferable_coin(fromAccountType="UNIFIED", toAccountType="FUND")["result"]["list"] == sorted(
        ["USDT", "USDC", "BTC", "ETH", "SOL", "XRP", "DOGE"])
    assert rejected(lambda: s.get_transferable_coin(fromAccountType="FUND", toAccountType="FUND"))[0] == 10001
    single = s.get_coin_balance(accountType="FUND", coin="USDT")["result"]
    assert single["balance"]["walletBalance"] == "199.5" and single["memberId"] == me.uid
    assert money_conserved(server)


def test_unified_transfers_leave_what_orders_use(server) -> None:
    me = make_trader(server, {"USDT": "1000"})
    s = session_of(server, me)
    s.place_order(category="spot", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.01", price="50000")
    wallet, free = coin_balance(s, "UNIFIED")
    assert wallet == "1000" and float(free) < 1000
    assert rejected(lambda: s.create_internal_transfer(transferId=tid(), coin="USDT", amount="1000",
                                                        fromAccountType="UNIFIED", toAccountType="FUND"))[0] == 110007
    s.create_internal_transfer(transferId=tid(), coin="USDT", amount=free, fromAccountType="UNIFIED",
                               toAccountType="FUND")
    assert coin_balance(s, "UNIFIED")[1] == "0" and coin_balance(s, "FUND")[0] == free


def test_deposits_land_where_the_admin_says_and_are_recorded(server) -> None:
    me = make_trader(server, {})
    s = session_of(server, me)
    assert deposit(server, me.uid, "50", "FUND", chain="TRX")["balance"] == "50"
    assert deposit(server, me.uid, "0.5", "UNIFIED", coin="BTC")["balance"] == "0.5"
    assert server.admin("POST", "/admin/v1/deposit", {"uid": me.uid, "coin": "USDT", "amount": "1",
                                                      "accountType": "SPOT"})["retCode"] == 10001
    assert server.admin("POST", "/admin/v1/deposit", {"uid": me.uid, "coin": "USDT", "amount": "1",
                                                      "chain": "DOGE"})["retCode"] == 10001
    assert coin_balance(s, "FUND") == ("50", "50") and coin_balance(s, "UNIFIED", "BTC")[0] == "0.5"
    rows = s.get_deposit_records()["result"]["rows"]
    assert [(r["coin"], r["chain"], r["amount"], r["status"]) for r in rows] == [
        ("BTC", "BTC", "0.5", 3), ("USDT", "TRX", "50", 3)]
    assert all(r["txID"] and r["toAddress"] and r["successAt"] for r in rows)
    assert [r["id"] for r in s.get_deposit_records(coin="USDT")["result"]["rows"]] == [rows[1]["id"]]
    assert s.get_deposit_records(id=rows[0]["id"])["result"]["rows"] == [rows[0]]
    old = int(time.time() * 1000) - 40 * 86_400_000
    assert s.get_deposit_records(startTime=old, endTime=old + 86_400_000)["result"]["rows"] == []
    assert rejected(lambda: s.get_deposit_records(startTime=old, endTime=old + 31 * 86_400_000))[0] == 10001
    log = s.get_transaction_log(currency="BTC")["result"]["list"]
    assert [(e["type"], e["cashFlow"]) for e in log] == [("TRANSFER_IN", "0.5")]  # FUND deposits are not in it
    assert money_conserved(server)


def test_withdrawals(server) -> None:
    me = make_trader(server, {"USDT": "100"})
    s = session_of(server, me)
    deposit(server, me.uid, "200", "FUND")
    now = lambda: int(time.time() * 1000)  # noqa: E731
    base = {"coin": "USDT", "address": "0x99ced129603abc771c0dabe935c326ff6c86645d", "accountType": "FUND"}
    reply = s.withdraw(**base, chain="ETH", amount="20", timestamp=now(), requestId="a1")
    assert reply["retMsg"] == "success" and reply["result"]["id"]
    assert coin_balance(s, "FUND")[0] == "172"  # 20 + the chain's fee of 8 (feeType 0)
    s.withdraw(**base, chain="TRX", amount="30", timestamp=now(), feeType=1)
    assert coin_balance(s, "FUND")[0] == "142"  # the 1.6 fee came out of the 30
    # combo: the funding wallet first, then the unified one
    s.withdraw(**{**base, "accountType": "FUND,UTA"}, chain="SOL", amount="150", timestamp=now())
    assert coin_balance(s, "FUND")[0] == "0" and coin_balance(s, "UNIFIED")[0] == "91"
    rows = s.get_withdrawal_records(coin="USDT")["result"]["rows"]
    assert [(r["chain"], r["amount"], r["withdrawFee"], r["status"], r["withdrawType"]) for r in rows] == [
        ("SOL", "150", "1", "success", 0), ("TRX", "28.4", "1.6", "success", 0), ("ETH", "20", "8", "success", 0)]
    assert rows[2]["withdrawId"] == reply["result"]["id"] and rows[2]["toAddress"] == base["address"]
    assert s.get_withdrawal_records(withdrawType=1)["result"]["rows"] == []
    assert len(s.get_withdrawal_records(withdrawType=2)["result"]["rows"]) == 3
    assert s.get_withdrawal_records(withdrawID=reply["result"]["id"])["result"]["rows"] == [rows[2]]
    amounts = s.get_withdrawable_amount(coin="USDT")["result"]
    assert amounts["withdrawableAmount"]["FUND"]["withdrawableAmount"] == "0"
    assert amounts["withdrawableAmount"]["UTA"]["withdrawableAmount"] == "91"
    log = s.get_transaction_log(currency="USDT", type="TRANSFER_OUT")["result"]["list"]
    assert [e["cashFlow"] for e in log] == ["-9"]  # 151 - the 142 the funding wallet held
    # error paths (Bybit: 131082, 131096, 131002, 131085/131212; see docs/compatibility.md)
    uta = {**base, "accountType": "UTA"}
    assert rejected(lambda: s.withdraw(**uta, chain="ETH", amount="10", timestamp=now(), requestId="a1"))[0] == 10014
    # one withdrawal per coin and chain every 10 s (pybit would sleep and retry a 10006: ask without it)
    again = signed_request(server.base_url, "POST", "/v5/asset/withdraw/create", me.api_key, me.api_secret,
                           body={**uta, "chain": "ETH", "amount": "10", "timestamp": now()}).json()
    assert again["retCode"] == 10006 and "10 seconds" in again["retMsg"]
    assert rejected(lambda: s.withdraw(**uta, chain="TRX", amount="1", timestamp=now()))[0] == 10001  # min 2.6
    assert rejected(lambda: s.withdraw(**uta, chain="BTC", amount="10", timestamp=now()))[0] == 10001  # no such chain
    assert rejected(lambda: s.withdraw(**{**uta, "coin": "NOPE"}, chain="ETH", amount="10", timestamp=now()))[
        0] == 110050
    assert rejected(lambda: s.withdraw(**uta, chain="SOL", amount="10", timestamp=now() - 3_600_000))[0] == 10001
    assert rejected(lambda: s.withdraw(**uta, chain="SOL", amount="1000", timestamp=now()))[0] == 110007
    assert rejected(lambda: s.withdraw(**base, chain="SOL", amount="10", timestamp=now()))[0] == 110004
    assert rejected(lambda: s.withdraw(**{**uta, "accountType": "SAVINGS"}, chain="SOL", amount="10",
                                       timestamp=now()))[0] == 10001
    assert rejected(lambda: s.withdraw(coin="USDT", chain="SOL", address="x", amount="10", timestamp=now()))[
        0] == 10001  # accountType is required
    assert rejected(lambda: s.withdraw(**uta, chain="SOL", amount="10", timestamp=now(), requestId="no-dash"))[
        0] == 10001
    health = server.admin("GET", "/admin/v1/health")["result"]
    assert health["moneyConserved"] and float(health["money"]["USDT"]["withdrawn"]) >= 198.4
    # without the Withdraw permission
    reader = make_trader(server, {"USDT": "10"}, permissions={"Wallet": ["AccountTransfer"]})
    assert rejected(lambda: session_of(server, reader).withdraw(**uta, chain="SOL", amount="10",
                                                                timestamp=now()))[0] == 10005


def test_sub_accounts_and_universal_transfers(server) -> None:
    master = make_trader(server, {"USDT": "1000"})
    m = session_of(server, master)
    name = "bot" + uuid.uuid4().hex[:8] + "1"
    created = m.create_sub_uid(username=name, memberType=1, note="grid bot")["result"]
    assert created["username"] == name and created["memberType"] == 1 and created["status"] == 1
    assert created["remark"] == "grid bot"
    sub_uid = created["uid"]
    assert rejected(lambda: m.create_sub_uid(username=name, memberType=1))[0] == 10001  # never reused
    assert rejected(lambda: m.create_sub_uid(username="abc", memberType=1))[0] == 10001
    subs = m.get_sub_uid_list()["result"]["subMembers"]
    assert subs == [{"uid": sub_uid, "username": name, "memberType": 1, "status": 1, "remark": "grid bot",
                     "accountMode": 5}]
    key = m.create_sub_api_key(subuid=int(sub_uid), readOnly=0, note="k",
                               permissions={"ContractTrade": ["Order", "Position"], "Spot": ["SpotTrade"],
                                            "Wallet": ["AccountTransfer", "SubMemberTransferList"]})["result"]
    assert key["apiKey"] and key["secret"] and key["readOnly"] == 0
    assert key["permissions"]["Wallet"] == ["AccountTransfer", "SubMemberTransferList"]
    sub = pybit_http(server, key["apiKey"], key["secret"])
    info = sub.get_api_key_information()["result"]
    assert info["userID"] == int(sub_uid) and info["isMaster"] is False and info["parentUid"] == master.uid
    # master -> sub, then the sub's key sends some back
    m.create_universal_transfer(transferId=tid(), coin="USDT", amount="400", fromMemberId=int(master.uid),
                                toMemberId=int(sub_uid), fromAccountType="UNIFIED", toAccountType="UNIFIED")
    assert coin_balance(sub, "UNIFIED")[0] == "400"
    assert coin_balance(m, "UNIFIED", memberId=sub_uid)[0] == "400"  # a master reads its sub's wallets
    sub.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.001",
                    price="50000")  # the sub account trades like any other
    back = tid()
    sub.create_universal_transfer(transferId=back, coin="USDT", amount="150", fromMemberId=int(sub_uid),
                                  toMemberId=int(master.uid), fromAccountType="UNIFIED", toAccountType="FUND")
    assert coin_balance(m, "FUND")[0] == "150" and coin_balance(m, "UNIFIED")[0] == "600"
    mine = m.get_universal_transfer_records()["result"]["list"]
    assert [(r["fromMemberId"], r["toMemberId"], r["amount"]) for r in mine] == [
        (sub_uid, master.uid, "150"), (master.uid, sub_uid, "400")]
    assert sub.get_universal_transfer_records(transferId=back)["result"]["list"][0]["toAccountType"] == "FUND"
    assert m.get_internal_transfer_records()["result"]["list"] == []  # universal transfers have their own list
    log = sub.get_transaction_log(currency="USDT")["result"]["list"]
    assert [(e["type"], e["cashFlow"]) for e in log] == [("TRANSFER_OUT", "-150"), ("TRANSFER_IN", "400")]
    # 110018: a uid that is neither the caller nor one of its subs; a sub's key sends only to its master
    stranger = make_trader(server, {"USDT": "10"})
    move = {"coin": "USDT", "amount": "1", "fromAccountType": "UNIFIED", "toAccountType": "UNIFIED"}
    assert rejected(lambda: m.create_universal_transfer(transferId=tid(), fromMemberId=int(master.uid),
                                                        toMemberId=int(stranger.uid), **move))[0] == 110018
    assert rejected(lambda: sub.create_universal_transfer(transferId=tid(), fromMemberId=int(sub_uid),
                                                          toMemberId=int(stranger.uid), **move))[0] == 110018
    assert rejected(lambda: sub.create_universal_transfer(transferId=tid(), fromMemberId=int(master.uid),
                                                          toMemberId=int(sub_uid), **move))[0] == 110018
    assert rejected(lambda: m.create_universal_transfer(transferId=tid(), fromMemberId=int(master.uid),
                                                        toMemberId=int(master.uid), **move))[0] == 10001
    assert rejected(lambda: m.create_universal_transfer(transferId=back, fromMemberId=int(master.uid),
                                                        toMemberId=int(sub_uid), **move))[0] == 10014
    assert rejected(lambda: m.create_universal_transfer(transferId=tid(), fromMemberId=int(sub_uid),
                                                        toMemberId=int(master.uid),
                                                        **{**move, "amount": "1000"}))[0] == 110007
    assert rejected(lambda: coin_balance(sub, "UNIFIED", memberId=master.uid))[0] == 110018
    assert rejected(lambda: coin_balance(m, "UNIFIED", memberId=stranger.uid))[0] == 110018
    assert rejected(lambda: m.create_sub_api_key(subuid=int(stranger.uid), readOnly=0,
                                                 permissions={"Spot": ["SpotTrade"]}))[0] == 110018
    assert rejected(lambda: m.create_sub_api_key(subuid=int(sub_uid), readOnly=0,
                                                 permissions={"Wallet": ["Withdraw"]}))[0] == 10001
    assert rejected(lambda: m.create_sub_api_key(subuid=int(sub_uid), readOnly=0, permissions={}))[0] == 10001
    # what only a master's key may do
    assert rejected(lambda: sub.get_sub_uid_list())[0] == 10005
    assert rejected(lambda: sub.create_sub_uid(username="nested01", memberType=1))[0] == 10005
    assert rejected(lambda: sub.get_withdrawal_records())[0] == 10005
    plain = m.create_sub_api_key(subuid=int(sub_uid), readOnly=0, permissions={"Wallet": ["AccountTransfer"]})
    no_universal = pybit_http(server, plain["result"]["apiKey"], plain["result"]["secret"])
    assert rejected(lambda: no_universal.create_universal_transfer(  # Bybit: 131227
        transferId=tid(), fromMemberId=int(sub_uid), toMemberId=int(master.uid), **move))[0] == 10005
    assert money_conserved(server)


def test_ccxt_transfer_withdraw_and_histories(server) -> None:
    me = make_trader(server, {"USDT": "500"})
    deposit(server, me.uid, "100", "FUND", chain="ETH")
    ex = ccxt_sync(server, me.api_key, me.api_secret)
    ex.load_markets()
    done = ex.transfer("USDT", 50, "unified", "funding")
    ccxt_test_transfer(ex, {}, "transfer", done, "USDT")
    assert done["status"] == "ok" and done["fromAccount"] == "unified" and done["toAccount"] == "funding"
    funding = ex.fetch_balance({"type": "funding"})
    assert funding["USDT"]["total"] == 150
    transfers = ex.fetch_transfers("USDT")
    assert [(t["amount"], t["fromAccount"], t["toAccount"]) for t in transfers] == [(50, "unified", "fund")]
    for t in transfers:
        ccxt_test_transfer(ex, {}, "fetchTransfers", t, "USDT")
    sent = ex.withdraw("USDT", 20, "TQdmFKUoe1Lk2iwZuwRJEHJreTUBoN3BAw", params={"network": "TRC20",
                                                                                 "accountType": "FUND"})
    assert sent["id"]
    now = ex.milliseconds()
    withdrawals = ex.fetch_withdrawals("USDT")
    assert [(w["id"], w["amount"], w["network"], w["status"], w["type"]) for w in withdrawals] == [
        (sent["id"], 20, "TRC20", "ok", "withdrawal")]
    assert withdrawals[0]["fee"] == {"cost": 1.6, "currency": "USDT"}
    for w in withdrawals:
        ccxt_test_transaction(ex, {}, "fetchWithdrawals", w, "USDT", now)
    deposits = ex.fetch_deposits("USDT")
    assert [(d["amount"], d["network"], d["status"], d["type"]) for d in deposits] == [(100, "ERC20", "ok", "deposit")]
    for d in deposits:
        # Bybit's deposit row has no update time and an empty depositFee: ccxt parses both as None
        ccxt_test_transaction(ex, {"updated": True, "fee": True}, "fetchDeposits", d, "USDT", now)
    assert ex.fetch_balance({"type": "funding"})["USDT"]["total"] == pytest.approx(150 - 21.6)
    assert money_conserved(server)
