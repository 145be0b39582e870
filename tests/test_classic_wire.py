"""Classic (non-unified) accounts and /v5/account/upgrade-to-uta through pybit, on a virtual clock (the upgrade is
refused within 10 minutes of the hour and takes a minute, during which the account answers 3100197)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import Trader, make_trader, pybit_http
from tests.serverproc import ServerProcess
from tests.test_trading_wire import rejected

BTC = {"category": "linear", "symbol": "BTCUSDT"}
MINUTE = 60_000


@pytest.fixture(scope="module")
def clock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("classic")
    config = Path(tmp) / "virtual.toml"
    config.write_text('[clock]\nmode = "virtual"\nstart = "2026-01-01T00:20:00Z"\n[market]\nenabled = false\n')
    server = ServerProcess(Path(tmp) / "data", ["--no-demo", "--config", str(config)]).start()
    yield server
    server.stop()


def classic(server: ServerProcess, usdt: str = "10000") -> tuple[Trader, object]:
    uid = server.admin("POST", "/admin/v1/accounts", {"balances": {"USDT": usdt}, "classic": True})["result"]["uid"]
    key = server.create_key(uid)
    trader = Trader(uid=uid, api_key=key["apiKey"], api_secret=key["apiSecret"])
    return trader, pybit_http(server, trader.api_key, trader.api_secret)


def advance(server: ServerProcess, ms: int) -> None:
    assert server.admin("POST", "/admin/v1/clock/advance", {"ms": ms})["retCode"] == 0


def minute_of_hour(server: ServerProcess) -> int:
    return server.admin("GET", "/admin/v1/clock")["result"]["time"] // MINUTE % 60


def to_minute(server: ServerProcess, minute: int) -> None:
    advance(server, (minute - minute_of_hour(server)) % 60 * MINUTE)


def test_a_classic_account_answers_as_one(clock) -> None:
    _, session = classic(clock)
    assert session.get_account_info()["result"]["unifiedMarginStatus"] == 1
    wallet = session.get_wallet_balance(accountType="CONTRACT")["result"]["list"][0]
    assert wallet["accountType"] == "CONTRACT" and wallet["coin"][0]["walletBalance"] == "10000"
    assert rejected(lambda: session.get_wallet_balance(accountType="UNIFIED"))[0] == 10001
    with pytest.raises(Exception) as info:  # no spot trading from the contract account: HTTP 404
        session.place_order(category="spot", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.001",
                            price="60000")
    assert "404" in str(info.value)
    assert rejected(lambda: session.set_margin_mode(setMarginMode="ISOLATED_MARGIN"))[0] == 10001
    assert session.switch_margin_mode(**BTC, tradeMode=1, buyLeverage="5", sellLeverage="5")["retCode"] == 0
    row = session.get_positions(**BTC)["result"]["list"][0]
    assert row["leverage"] == "5" and session.get_account_info()["result"]["marginMode"] == "ISOLATED_MARGIN"
    assert rejected(lambda: session.switch_margin_mode(**BTC, tradeMode=1, buyLeverage="5",
                                                       sellLeverage="5"))[0] == 110026
    unified = pybit_http(clock, *(lambda t: (t.api_key, t.api_secret))(make_trader(clock)))
    assert rejected(lambda: unified.switch_margin_mode(**BTC, tradeMode=1, buyLeverage="5",
                                                       sellLeverage="5"))[0] == 10001


def test_upgrade_prerequisites_and_the_upgrade_window(clock) -> None:
    trader, session = classic(clock)
    maker = pybit_http(clock, *(lambda t: (t.api_key, t.api_secret))(make_trader(clock, {"USDT": "1000000"})))
    to_minute(clock, 20)
    order = session.place_order(**BTC, side="Buy", orderType="Limit", qty="0.01", price="60000")["result"]
    assert rejected(lambda: session.upgrade_to_unified_trading_account()) == (
        3400054, "You have uncancelled USDT perpetual orders")
    session.cancel_order(**BTC, orderId=order["orderId"])
    maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.01", price="65000")
    session.place_order(**BTC, side="Buy", orderType="Market", qty="0.01")
    to_minute(clock, 55)
    assert rejected(lambda: session.upgrade_to_unified_trading_account())[0] == 3400209
    to_minute(clock, 5)
    assert rejected(lambda: session.upgrade_to_unified_trading_account())[0] == 3400209
    to_minute(clock, 30)
    clock.admin("POST", f"/admin/v1/accounts/{trader.uid}/rules", {"upgrade_disabled": True})
    assert rejected(lambda: session.upgrade_to_unified_trading_account())[0] == 110071
    clock.admin("POST", f"/admin/v1/accounts/{trader.uid}/rules", {"upgrade_disabled": None})
    clock.admin("POST", "/admin/v1/faults", {"path": "/v5/account/upgrade-to-uta", "code": 3400214, "count": 1})
    assert rejected(lambda: session.upgrade_to_unified_trading_account()) == (
        3400214, "Server error, please try again later")

    reply = session.upgrade_to_unified_trading_account()["result"]
    assert reply == {"unifiedUpdateStatus": "PROCESS", "unifiedUpdateMsg": None}
    assert rejected(lambda: session.get_positions(**BTC)) == (
        3100197, "Temporary banned due to the upgrade to UTA: the account is being upgraded to UTA")
    advance(clock, MINUTE)
    assert session.get_account_info()["result"]["unifiedMarginStatus"] == 5
    assert session.get_wallet_balance(accountType="UNIFIED")["retCode"] == 0
    assert session.get_positions(**BTC)["result"]["list"][0]["size"] == "0.01"  # the position came along
    # UTA 2.0 -> Pro needs a VIP or PRO level
    reply = session.upgrade_to_unified_trading_account()["result"]
    assert reply["unifiedUpdateStatus"] == "FAIL" and "VIP or PRO" in reply["unifiedUpdateMsg"]["msg"][0]


def test_upgrade_refusals_from_the_positions(clock) -> None:
    to_minute(clock, 30)
    maker = pybit_http(clock, *(lambda t: (t.api_key, t.api_secret))(make_trader(clock, {"USDT": "1000000"})))
    # hedge mode
    _, hedged = classic(clock)
    hedged.switch_position_mode(**BTC, mode=3)
    maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.01", price="65000")
    hedged.place_order(**BTC, side="Buy", orderType="Market", qty="0.01", positionIdx=1)
    assert rejected(lambda: hedged.upgrade_to_unified_trading_account()) == (
        3400208, "You have unclosed hedge mode or isolated mode USDT perpetual positions")
    # more initial margin than equity after a loss
    _, losing = classic(clock, "1000")
    maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.1", price="65000")
    losing.place_order(**BTC, side="Buy", orderType="Market", qty="0.1")
    clock.admin("POST", "/admin/v1/prices", {"symbol": "BTCUSDT", "indexPrice": "60000"})
    try:
        assert rejected(lambda: losing.upgrade_to_unified_trading_account())[0] == 3400210
    finally:
        clock.admin("POST", "/admin/v1/prices", {"symbol": "BTCUSDT", "indexPrice": "65000"})
    # valued as a unified account values it (BTC at a collateral ratio of 0.95), the margin is not covered:
    # 6,400 contracts of BTCUSD at 10x need 0.009846 BTC of the 0.009946 BTC left
    uid = clock.admin("POST", "/admin/v1/accounts", {"balances": {"BTC": "0.01"}, "classic": True})["result"]["uid"]
    key = clock.create_key(uid)
    coin_margined = pybit_http(clock, key["apiKey"], key["apiSecret"])
    inverse = {"category": "inverse", "symbol": "BTCUSD"}
    coin_maker = pybit_http(clock, *(lambda t: (t.api_key, t.api_secret))(make_trader(clock, {"BTC": "10"})))
    coin_maker.place_order(**inverse, side="Sell", orderType="Limit", qty="6400", price="65000")
    coin_margined.place_order(**inverse, side="Buy", orderType="Market", qty="6400")
    assert rejected(lambda: coin_margined.upgrade_to_unified_trading_account()) == (
        3400211, "Once upgraded, the estimated risk rate will be too high: valued at collateral ratios, the equity "
                 "would not cover the initial margin")
    # nothing to bring along
    _, empty = classic(clock, "0")
    assert rejected(lambda: empty.upgrade_to_unified_trading_account()) == (3400071, "The net asset is not satisfied")
    assert requests.get(clock.base_url + "/v5/market/time", timeout=5).status_code == 200
