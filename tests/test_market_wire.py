"""Public market endpoints through real pybit and ccxt clients."""

from __future__ import annotations

import time

import pytest
import requests
from ccxt.test.exchange.base.test_market import test_market as ccxt_test_market
from ccxt.test.exchange.sync.test_load_markets import test_load_markets as ccxt_test_load_markets
from pybit.exceptions import FailedRequestError

from tests.conftest import ccxt_sync, dated, pybit_http


def test_server_time_pybit_and_ccxt(server) -> None:
    reply = pybit_http(server).get_server_time()
    assert reply["retCode"] == 0 and reply["retMsg"] == "OK"
    result = reply["result"]
    assert result["timeSecond"].isdigit() and result["timeNano"].isdigit()
    assert int(result["timeNano"]) // 1_000_000_000 == int(result["timeSecond"])
    assert abs(int(result["timeSecond"]) - time.time()) < 5
    assert isinstance(reply["time"], int) and reply["retExtInfo"] == {}
    assert abs(ccxt_sync(server).fetch_time() - time.time() * 1000) < 5000


def test_instruments_info_every_category(server) -> None:
    session = pybit_http(server)
    for category, symbols in {
        "linear": {"BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT"},
        "inverse": {"BTCUSD", "ETHUSD"},
        "spot": {"BTCUSDT", "ETHUSDT"},
    }.items():
        result = session.get_instruments_info(category=category)["result"]
        assert result["category"] == category and result["nextPageCursor"] == ""
        perpetual = {i["symbol"] for i in result["list"] if i.get("contractType", "").endswith("Perpetual")
                     or category == "spot"}
        assert perpetual == symbols
        futures = [i for i in result["list"] if i.get("contractType", "").endswith("Futures")]
        assert len(futures) == dated(category) > 0 or category == "spot"  # the calendar's contracts
        for i in futures:
            assert int(i["deliveryTime"]) > int(i["launchTime"]) > 0 and i["fundingInterval"] == 0
    btc = session.get_instruments_info(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    assert btc["priceFilter"]["tickSize"] == "0.10" and btc["lotSizeFilter"]["qtyStep"] == "0.001"
    assert btc["leverageFilter"] == {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"}
    assert btc["contractType"] == "LinearPerpetual" and btc["fundingInterval"] == 480
    assert set(btc["riskParameters"]) == {"priceLimitRatioX", "priceLimitRatioY"}
    assert "initialPrice" not in btc and "riskTiers" not in btc and "category" not in btc
    option = session.get_instruments_info(category="option", baseCoin="BTC")["result"]
    assert option == {"category": "option", "list": [], "nextPageCursor": ""}


def test_instruments_info_cursor_pagination_and_filters(server) -> None:
    session = pybit_http(server)
    seen, cursor, pages = [], None, 0
    while True:
        kwargs = {"category": "linear", "limit": 2}
        if cursor:
            kwargs["cursor"] = cursor
        result = session.get_instruments_info(**kwargs)["result"]
        seen += [i["symbol"] for i in result["list"]]
        pages += 1
        cursor = result["nextPageCursor"]
        if not cursor:
            break
    total = 5 + dated("linear")  # perpetuals and dated futures
    assert pages == -(-total // 2) and sorted(seen) == seen and len(set(seen)) == total
    assert session.get_instruments_info(category="linear", status="PreLaunch")["result"]["list"] == []
    assert len(session.get_instruments_info(category="linear", status="Trading")["result"]["list"]) == total
    by_coin = session.get_instruments_info(category="inverse", baseCoin="ETH")["result"]["list"]
    assert by_coin[0]["symbol"] == "ETHUSD" and all(i["baseCoin"] == "ETH" for i in by_coin)
    assert len(by_coin) == 1 + dated("inverse") // 2  # the perpetual and ETH's quarterlies


def test_risk_limit_tiers(server) -> None:
    session = pybit_http(server)
    rows = session.get_risk_limit(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert rows[0] == {"id": 1, "symbol": "BTCUSDT", "riskLimitValue": "2000000", "maintenanceMargin": "0.005",
                       "initialMargin": "0.01", "isLowestRisk": 1, "maxLeverage": "100.00", "mmDeduction": ""}
    values = [float(r["riskLimitValue"]) for r in rows]
    assert values == sorted(values) and len(rows) >= 5
    assert all(float(r["initialMargin"]) > float(r["maintenanceMargin"]) for r in rows)
    everything = session.get_risk_limit(category="inverse")["result"]
    assert {"BTCUSD", "ETHUSD"} <= {r["symbol"] for r in everything["list"]}  # and the dated futures'
    with pytest.raises(FailedRequestError) as info:
        session.get_risk_limit(category="spot")
    assert info.value.status_code == 404


def test_ccxt_load_markets_passes_ccxt_validators(server) -> None:
    ex = ccxt_sync(server)
    ccxt_test_load_markets(ex, {})
    assert {"BTC/USDT:USDT", "ETH/USD:ETH", "BTC/USDT", "DOGE/USDT:USDT"} <= set(ex.symbols)
    btc = ex.market("BTC/USDT:USDT")
    assert btc["linear"] and btc["swap"] and btc["precision"]["price"] == 0.1
    assert btc["limits"]["leverage"]["max"] == 100
    assert ex.market("BTC/USD:BTC")["inverse"]
    for market in ex.markets.values():
        ccxt_test_market(ex, {}, "loadMarkets", market)


def test_ccxt_default_load_markets_including_options(server) -> None:
    """ccxt's defaults also query options (one call per base coin); an empty option list must not break it."""
    import ccxt

    ex = ccxt.bybit({"urls": {"api": {k: server.base_url for k in ("spot", "futures", "v2", "public", "private")}}})
    markets = ex.load_markets()
    assert len(markets) == 9 + dated()


def test_raw_reply_is_the_v5_envelope(server) -> None:
    r = requests.get(server.base_url + "/v5/market/time", timeout=5)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert list(body) == ["retCode", "retMsg", "result", "retExtInfo", "time"]
    assert body["retCode"] == 0 and isinstance(body["retCode"], int)
