"""Account, user and asset endpoints through real pybit and ccxt clients, with ccxt's shape validators."""

from __future__ import annotations

import json

import pytest
from ccxt.test.exchange.base.test_currency import test_currency as ccxt_test_currency
from ccxt.test.exchange.sync.test_fetch_balance import test_fetch_balance as ccxt_test_fetch_balance
from ccxt.test.exchange.sync.test_fetch_trading_fee import test_fetch_trading_fee as ccxt_test_fetch_trading_fee

from tests.conftest import SHARED_REFERENCE, ccxt_sync, dated, make_trader, pybit_http

# Field sets of Bybit's real /v5/account/wallet-balance reply (shared/reference/bybit-real-responses.json,
# fetchBalance), so the check also runs on a fresh clone without ../shared.
REAL_ACCOUNT_FIELDS = {
    "totalEquity", "accountIMRate", "totalMarginBalance", "totalInitialMargin", "accountType",
    "totalAvailableBalance", "accountMMRate", "totalPerpUPL", "totalWalletBalance", "accountLTV",
    "totalMaintenanceMargin", "coin",
}
REAL_COIN_FIELDS = {
    "availableToBorrow", "bonus", "accruedInterest", "availableToWithdraw", "totalOrderIM", "equity",
    "totalPositionMM", "usdValue", "unrealisedPnl", "collateralSwitch", "spotHedgingQty", "borrowAmount",
    "totalPositionIM", "walletBalance", "cumRealisedPnl", "locked", "marginCollateral", "coin",
}


def test_real_field_sets_match_shared_reference() -> None:
    path = SHARED_REFERENCE / "bybit-real-responses.json"
    if not path.exists():
        pytest.skip("../shared is not present")
    real = json.loads(path.read_text())["methods"]["fetchBalance"][0]["httpResponse"]["result"]["list"][0]
    assert set(real) == REAL_ACCOUNT_FIELDS
    assert set(real["coin"][0]) == REAL_COIN_FIELDS


def test_wallet_balance_shape_and_values(server) -> None:
    trader = make_trader(server, {"USDT": "100000"})
    session = pybit_http(server, trader.api_key, trader.api_secret)
    reply = session.get_wallet_balance(accountType="UNIFIED")
    account = reply["result"]["list"][0]
    assert set(account) >= REAL_ACCOUNT_FIELDS
    assert account["accountType"] == "UNIFIED"
    assert account["totalEquity"] == "100000" and account["totalAvailableBalance"] == "100000"
    usdt = account["coin"][0]
    assert set(usdt) >= REAL_COIN_FIELDS
    assert (usdt["coin"], usdt["walletBalance"], usdt["equity"], usdt["usdValue"]) == ("USDT", "100000", "100000",
                                                                                      "100000")
    assert usdt["collateralSwitch"] is True and usdt["marginCollateral"] is True

    deposit = server.admin("POST", "/admin/v1/deposit", {"uid": trader.uid, "coin": "BTC", "amount": "0.5"})
    assert deposit["retCode"] == 0 and deposit["result"]["balance"] == "0.5"
    account = session.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]
    assert {c["coin"] for c in account["coin"]} == {"USDT", "BTC"}
    # BTC counts at its USD price in equity, and at its collateral value ratio (0.95) in the wallet balance.
    assert account["totalEquity"] == "132500" and account["totalWalletBalance"] == "130875"
    only_btc = session.get_wallet_balance(accountType="UNIFIED", coin="BTC")["result"]["list"][0]["coin"]
    assert [c["coin"] for c in only_btc] == ["BTC"] and only_btc[0]["usdValue"] == "32500"
    both = session.get_wallet_balance(accountType="UNIFIED", coin="USDT,BTC")["result"]["list"][0]["coin"]
    assert [c["coin"] for c in both] == ["USDT", "BTC"]


def test_wallet_balance_parameter_errors(server, pybit_session) -> None:
    from pybit.exceptions import InvalidRequestError

    for account_type in ("CONTRACT", "SPOT"):
        with pytest.raises(InvalidRequestError) as info:
            pybit_session.get_wallet_balance(accountType=account_type)
        assert info.value.status_code == 10001
        assert info.value.message == "Request parameter error: accountType only support UNIFIED"
    with pytest.raises(InvalidRequestError) as info:
        pybit_session.get_wallet_balance()
    assert info.value.message == "Request parameter error: accountType is required"


def test_ccxt_fetch_balance_validator(exchange) -> None:
    ccxt_test_fetch_balance(exchange, {})
    balance = exchange.fetch_balance()
    assert balance["USDT"] == {"free": 100000.0, "used": 0.0, "total": 100000.0, "debt": 0.0}
    assert exchange.options["enableUnifiedAccount"] is True


def test_fee_rates(server, pybit_session, exchange) -> None:
    linear = pybit_session.get_fee_rates(category="linear", symbol="BTCUSDT")["result"]
    assert linear == {"list": [{"symbol": "BTCUSDT", "takerFeeRate": "0.00055", "makerFeeRate": "0.0002"}]}
    spot = pybit_session.get_fee_rates(category="spot")["result"]
    assert spot["category"] == "spot" and {r["symbol"] for r in spot["list"]} == {"BTCUSDT", "ETHUSDT"}
    assert all((r["takerFeeRate"], r["makerFeeRate"]) == ("0.001", "0.001") for r in spot["list"])
    option = pybit_session.get_fee_rates(category="option", baseCoin="BTC")["result"]
    assert option["list"][0]["symbol"] == "" and option["list"][0]["baseCoin"] == "BTC"
    assert len(pybit_session.get_fee_rates(category="inverse")["result"]["list"]) == 2 + dated("inverse")
    ccxt_test_fetch_trading_fee(exchange, {}, "BTC/USDT:USDT")
    fee = exchange.fetch_trading_fee("BTC/USDT:USDT")
    assert (fee["maker"], fee["taker"]) == (0.0002, 0.00055)


def test_query_api_and_account_info(server) -> None:
    trader = make_trader(server, ips=["127.0.0.1"], readOnly=1, note="ignored-no-note-param")
    session = pybit_http(server, trader.api_key, trader.api_secret)
    info = session.get_api_key_information()["result"]
    assert info["apiKey"] == trader.api_key and info["readOnly"] == 1 and info["secret"] == ""
    assert info["userID"] == int(trader.uid) and info["uta"] == 1 and info["unified"] == 0
    assert info["ips"] == ["127.0.0.1"] and info["type"] == 1
    assert set(info["permissions"]) >= {"ContractTrade", "Spot", "Wallet", "Options", "Derivatives", "Exchange"}
    assert info["permissions"]["ContractTrade"] == ["Order", "Position"]
    assert info["createdAt"].endswith("Z") and info["rsaPublicKey"] == ""
    acct = session.get_account_info()["result"]
    assert acct["unifiedMarginStatus"] == 5 and acct["marginMode"] == "REGULAR_MARGIN"
    assert acct["updatedTime"].isdigit()


def test_coin_info_and_ccxt_currencies(server, trader) -> None:
    session = pybit_http(server, trader.api_key, trader.api_secret)
    rows = session.get_coin_info()["result"]["rows"]
    assert {r["coin"] for r in rows} >= {"USDT", "USDC", "BTC", "ETH"}
    usdt = session.get_coin_info(coin="USDT")["result"]["rows"]
    assert len(usdt) == 1 and usdt[0]["chains"] and {"chain", "withdrawFee", "minAccuracy"} <= set(usdt[0]["chains"][0])
    ex = ccxt_sync(server, trader.api_key, trader.api_secret)
    ex.has["fetchCurrencies"] = True
    ex.load_markets()  # with keys, ccxt first calls /v5/asset/coin/query-info (signed)
    currencies = ex.currencies
    assert "USDT" in currencies and "BTC" in currencies
    for code, currency in currencies.items():
        ccxt_test_currency(ex, {}, "fetchCurrencies", currency)
        assert currency["code"] == code
    from pybit.exceptions import InvalidRequestError

    with pytest.raises(InvalidRequestError) as info:
        session.get_coin_info(coin="NOPE")
    assert (info.value.status_code, info.value.message) == (110050, "Invalid coin: NOPE")


def test_wallet_coin_filter_is_deduplicated_and_known_coins_only(server, pybit_session) -> None:
    account = pybit_session.get_wallet_balance(accountType="UNIFIED", coin="USDT,USDT,FOO")["result"]["list"][0]
    assert [c["coin"] for c in account["coin"]] == ["USDT"]
    assert account["totalEquity"] == "100000"
    assert "colRes" in account["coin"][0] and "free" not in account["coin"][0]


def test_coin_info_and_ip_bound_key_details(server) -> None:
    trader = make_trader(server, ips=["127.0.0.1"])
    session = pybit_http(server, trader.api_key, trader.api_secret)
    assert session.get_coin_info(coin="BTC")["retMsg"] == "success"  # as Bybit answers this endpoint
    info = session.get_api_key_information()["result"]
    assert (info["deadlineDay"], info["expiredAt"]) == (-2, "1970-01-01T00:00:00Z")
    assert info["userIDInt64"] == trader.uid
