"""Account and symbol restrictions set with the admin API, met by real clients: frozen and banned accounts,
trading bans, compliance rules, symbol whitelists, leverage bans and institutional-loan caps, halted, settling,
reduce-only, quantity-restricted and ETP symbols, an open-interest cap."""

from __future__ import annotations

import pytest

from tests.conftest import make_trader
from tests.test_risk_wire import BTC, set_prices
from tests.test_trading_wire import client, ex, rejected  # noqa: F401  (ex is the fixture)

ETH = {"category": "linear", "symbol": "ETHUSDT"}
ORDER = {**BTC, "side": "Buy", "orderType": "Limit", "qty": "0.001", "price": "60000"}
ETH_ORDER = {**ORDER, "symbol": "ETHUSDT", "qty": "0.01", "price": "3000"}


def account_rules(server, uid: str, **rules) -> dict:
    reply = server.admin("POST", f"/admin/v1/accounts/{uid}/rules", rules)
    assert reply["retCode"] == 0, reply
    return reply["result"]["rules"]


def symbol_rules(server, pair: dict, **rules) -> dict:
    reply = server.admin("POST", f"/admin/v1/symbols/{pair['category']}/{pair['symbol']}/rules", rules)
    assert reply["retCode"] == 0, reply
    return reply["result"]["rules"]


def test_account_states(ex) -> None:  # noqa: F811
    me = make_trader(ex)
    session = client(ex, me)
    account_rules(ex, me.uid, status="frozen")
    assert rejected(lambda: session.get_wallet_balance(accountType="UNIFIED")) == (
        10007, "User authentication failed.: the account is frozen")
    account_rules(ex, me.uid, status="banned")
    assert rejected(lambda: session.get_wallet_balance(accountType="UNIFIED")) == (
        10008, "Common banned, please check your account mode")
    assert account_rules(ex, me.uid, status=None) == {}
    assert session.get_wallet_balance(accountType="UNIFIED")["retCode"] == 0

    account_rules(ex, me.uid, trading_banned=True)
    assert rejected(lambda: session.place_order(**ORDER)) == (10027, "Transactions are banned.")
    account_rules(ex, me.uid, trading_banned=None, compliance=["inverse", "ETHUSDT"])
    assert rejected(lambda: session.place_order(**ETH_ORDER))[0] == 10024
    assert session.place_order(**ORDER)["retCode"] == 0
    account_rules(ex, me.uid, compliance=None, symbol_whitelist=["BTCUSDT"])
    assert rejected(lambda: session.place_order(**ETH_ORDER)) == (
        10029, "The requested symbol is invalid, please check symbol whitelist")
    account_rules(ex, me.uid, symbol_whitelist=None, ins_loan_no_trade=True)
    assert rejected(lambda: session.place_order(**ORDER)) == (110069, "Ins lending customer is not allowed to trade.")
    account_rules(ex, me.uid, ins_loan_no_trade=None)
    assert ex.admin("POST", f"/admin/v1/accounts/{me.uid}/rules", {"status": "asleep"})["retCode"] == 10001
    assert ex.admin("POST", f"/admin/v1/accounts/{me.uid}/rules", {"wings": True})["retCode"] == 10001


def test_leverage_restrictions(ex) -> None:  # noqa: F811
    me = make_trader(ex)
    session = client(ex, me)
    account_rules(ex, me.uid, leverage_banned=True)
    assert rejected(lambda: session.set_leverage(**BTC, buyLeverage="2", sellLeverage="2"))[0] == 110068
    assert rejected(lambda: session.place_order(**ORDER)) == (  # the position's leverage is 10x
        110068, "Leveraged trading is not allowed.: the account may trade at 1x only")
    session.set_leverage(**BTC, buyLeverage="1", sellLeverage="1")
    assert session.place_order(**ORDER)["retCode"] == 0
    account_rules(ex, me.uid, leverage_banned=None, ins_loan_max_leverage=5)
    code, msg = rejected(lambda: session.set_leverage(**BTC, buyLeverage="6", sellLeverage="6"))
    assert code == 30151 and msg.endswith("cannot exceed the maximum allowed for your Institutional Loan.: at most 5x")
    assert session.set_leverage(**BTC, buyLeverage="5", sellLeverage="5")["retCode"] == 0


def test_symbol_states(ex) -> None:  # noqa: F811
    set_prices(ex, "65000")
    me, mm = make_trader(ex), make_trader(ex)
    session, maker = client(ex, me), client(ex, mm)
    resting = session.place_order(**ORDER)["result"]
    try:
        symbol_rules(ex, BTC, halted=True)
        assert rejected(lambda: session.place_order(**ORDER)) == (
            110066, "Trading is currently not allowed.: BTCUSDT is halted")
        assert rejected(lambda: session.amend_order(**BTC, orderId=resting["orderId"], price="60001"))[0] == 110066
        symbol_rules(ex, BTC, halted=None, settling=True)
        assert rejected(lambda: session.place_order(**ORDER)) == (
            110063, "Settlement in progress! BTCUSDT not available for trading.")
        symbol_rules(ex, BTC, settling=None, qty_restricted=True)
        assert rejected(lambda: session.amend_order(**BTC, orderId=resting["orderId"], qty="0.002")) == (
            110022, "Quantity has been restricted and orders cannot be modified to increase the quantity.")
        symbol_rules(ex, BTC, qty_restricted=None, etp=True)
        assert rejected(lambda: session.place_order(**ORDER)) == (110070, "ETP symbols cannot be traded.")
        symbol_rules(ex, BTC, etp=None)

        # reduce-only: for the symbol, or for one account; closing still works
        maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.01", price="65000")
        session.place_order(**BTC, side="Buy", orderType="Market", qty="0.01")
        maker.place_order(**BTC, side="Buy", orderType="Limit", qty="0.005", price="64990")
        symbol_rules(ex, BTC, reduce_only=True)
        assert rejected(lambda: session.place_order(**ORDER))[0] == 110023
        assert session.place_order(**BTC, side="Sell", orderType="Market", qty="0.005",
                                   reduceOnly=True)["retCode"] == 0
        symbol_rules(ex, BTC, reduce_only=None)
        account_rules(ex, me.uid, reduce_only_symbols=["BTCUSDT"])
        assert rejected(lambda: session.place_order(**ORDER)) == (
            110023, "Currently you can only reduce your position on this contract. please check our announcement or "
                    "contact customer service for details.")
        account_rules(ex, me.uid, reduce_only_symbols=None)

        # an open-interest cap: an order that would take the symbol past it is refused
        held = float(session.get_tickers(**BTC)["result"]["list"][0]["openInterest"])
        symbol_rules(ex, BTC, max_open_interest=f"{held + 0.002:.3f}")
        assert rejected(lambda: session.place_order(**{**ORDER, "qty": "0.003"}))[0] == 110021
        assert session.place_order(**{**ORDER, "qty": "0.002"})["retCode"] == 0
        assert ex.admin("POST", "/admin/v1/symbols/linear/BTCUSDT/rules",
                        {"max_open_interest": "0.0001"})["retCode"] == 10001  # off the qty step
    finally:
        symbol_rules(ex, BTC, halted=None, settling=None, qty_restricted=None, etp=None, reduce_only=None,
                     max_open_interest=None)


@pytest.mark.parametrize("rule", ["halted", "reduce_only"])
def test_rules_survive_a_restart(tmp_path, rule) -> None:
    from tests.serverproc import ServerProcess

    server = ServerProcess(tmp_path).start()
    try:
        symbol_rules(server, BTC, **{rule: True})
    finally:
        server.stop()
    server = ServerProcess(tmp_path).start()
    try:
        me = make_trader(server)
        assert rejected(lambda: client(server, me).place_order(**ORDER))[0] in (110066, 110023)
    finally:
        server.stop()


def test_mmp_needs_an_institution_profile(ex) -> None:  # noqa: F811
    me = make_trader(ex)
    session = client(ex, me)
    assert rejected(lambda: session.get_mmp_state(baseCoin="BTC")) == (
        110062, "There is no MMP information of the institution found.")
    account_rules(ex, me.uid, mmp_institution=True)
    assert session.get_mmp_state(baseCoin="BTC")["result"] == {"result": []}
    session.set_mmp(baseCoin="BTC", window="5000", frozenPeriod="100000", qtyLimit="0.01", deltaLimit="0.01")
    (state,) = session.get_mmp_state(baseCoin="BTC")["result"]["result"]
    assert state == {"baseCoin": "BTC", "mmpEnabled": True, "window": "5000", "frozenPeriod": "100000",
                     "qtyLimit": "0.01", "deltaLimit": "0.01", "vegaLimit": "500000", "mmpFrozenUntil": "0",
                     "mmpFrozen": False}
    assert session.reset_mmp(baseCoin="BTC")["retCode"] == 0
    assert rejected(lambda: session.reset_mmp(baseCoin="ETH"))[0] == 110062  # nothing set for ETH


def test_all_coins_balance(ex) -> None:  # noqa: F811
    me = make_trader(ex, {"USDT": "1000", "BTC": "0.5"})
    session = client(ex, me)
    reply = session.get_coins_balance(accountType="UNIFIED", coin="USDT,BTC")["result"]
    assert reply["memberId"] == me.uid and reply["accountType"] == "UNIFIED"
    assert [(b["coin"], b["walletBalance"], b["transferBalance"]) for b in reply["balance"]] == [
        ("USDT", "1000", "1000"), ("BTC", "0.5", "0.5")]
    assert all(b["walletBalance"] == "0" for b in session.get_coins_balance(accountType="FUND")["result"]["balance"])
    assert rejected(lambda: session.get_coins_balance(accountType="UNIFIED"))[0] == 10001  # coin is required
    assert rejected(lambda: session.get_coins_balance(accountType="UNIFIED", coin="USDT", memberId="1"))[0] == 110018


def test_review_regressions(ex) -> None:  # noqa: F811
    """What a review found getting past the rules: badly typed rules (they once stopped the exchange), amends of
    conditional and opening orders, WebSocket order entry, one order named twice in a batch, odd number text."""
    import hashlib
    import hmac
    import time

    me = make_trader(ex)
    session = client(ex, me)
    for bad in ({"reduce_only_symbols": [1]}, {"reduce_only_symbols": 5}, {"rate_level": ["PRO1"]}):
        assert ex.admin("POST", f"/admin/v1/accounts/{me.uid}/rules", bad)["retCode"] == 10001
    assert ex.admin("GET", "/admin/v1/health")["result"]["accepting"] is True
    assert ex.admin("GET", f"/admin/v1/accounts/{me.uid}")["result"]["rules"] == {}

    waiting = session.place_order(**ORDER, triggerPrice="70000", triggerDirection=1)["result"]
    resting = session.place_order(**ORDER)["result"]
    try:
        symbol_rules(ex, BTC, halted=True)
        assert rejected(lambda: session.amend_order(**BTC, orderId=waiting["orderId"], qty="0.5"))[0] == 110066
        symbol_rules(ex, BTC, halted=None, reduce_only=True)
        assert rejected(lambda: session.amend_order(**BTC, orderId=resting["orderId"], qty="0.5"))[0] == 110023
        assert session.amend_order(**BTC, orderId=resting["orderId"], price="59000")["retCode"] == 0  # no growth
    finally:
        symbol_rules(ex, BTC, halted=None, reduce_only=None)

    linked = session.place_order(**ORDER, orderLinkId="twice-named")["result"]
    batch = session.amend_batch_order(category="linear", request=[
        {**BTC, "orderId": linked["orderId"], "price": "60001"}, {**BTC, "orderLinkId": "twice-named", "qty": "0.002"}])
    assert [x["code"] for x in batch["retExtInfo"]["list"]] == [0, 110030]
    assert rejected(lambda: session.place_order(**{**ORDER, "price": "5_9000"}))[0] == 110049
    assert rejected(lambda: session.place_order(**{**ORDER, "qty": "NaN"}))[0] == 10001

    # /v5/trade: a banned account cannot authenticate, nor trade on a connection opened before the ban
    import asyncio

    import aiohttp
    import orjson

    async def run() -> tuple[dict, dict]:
        expires = int(time.time() * 1000) + 10_000
        sign = hmac.new(me.api_secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
        header = {"X-BAPI-TIMESTAMP": str(int(time.time() * 1000))}
        async with aiohttp.ClientSession() as s, s.ws_connect(ex.base_url + "/v5/trade") as ws:
            await ws.send_str(orjson.dumps({"op": "auth", "args": [me.api_key, expires, sign]}).decode())
            assert orjson.loads((await ws.receive(timeout=5)).data)["retCode"] == 0
            await asyncio.to_thread(account_rules, ex, me.uid, status="banned")
            await ws.send_str(orjson.dumps({"op": "order.create", "header": header, "args": [ORDER]}).decode())
            after = orjson.loads((await ws.receive(timeout=5)).data)
        async with aiohttp.ClientSession() as s, s.ws_connect(ex.base_url + "/v5/trade") as ws:
            await ws.send_str(orjson.dumps({"op": "auth", "args": [me.api_key, expires, sign]}).decode())
            again = orjson.loads((await ws.receive(timeout=5)).data)
        return after, again

    try:
        after, again = asyncio.run(run())
    finally:
        account_rules(ex, me.uid, status=None)
    assert after["retCode"] == 10008 and again["retCode"] == 10008
