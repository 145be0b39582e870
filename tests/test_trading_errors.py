"""Every order-path error code, produced by a real situation through a real client, with its exact message."""

from __future__ import annotations

from collections.abc import Iterator

import ccxt
import pytest

from paperex.errors import MESSAGES
from tests.conftest import ccxt_sync, make_trader
from tests.serverproc import ServerProcess
from tests.test_trading_wire import S, client, rejected


@pytest.fixture(scope="module")
def ex(tmp_path_factory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("errors"), ["--no-demo"]).start()
    yield server
    server.stop()


def limit(session, side="Buy", qty="0.01", price="60000", symbol=S, category="linear", **kw):
    return lambda: session.place_order(category=category, symbol=symbol, side=side, orderType="Limit", qty=qty,
                                       price=price, **kw)


@pytest.mark.parametrize(
    ("kwargs", "detail"),
    [({"price": "60000.05"}, "price must be a multiple of 0.10"),
     ({"qty": "0.0015"}, "qty must be a multiple of 0.001"),
     ({"qty": "0"}, "qty must be positive"),
     ({"qty": "2000"}, "qty must not exceed 1190.000"),
     ({"qty": "0.001", "price": "4000"}, "order value must be at least 5"),
     ({"positionIdx": 1}, "position idx not match position mode"),
     ({"timeInForce": "GTX"}, "timeInForce must be one of GTC, IOC, FOK, PostOnly"),
     ({"orderLinkId": "x" * 37}, "orderLinkId must be 1-36 characters of [A-Za-z0-9_-]"),
     ({"triggerPrice": "61000"}, "triggerDirection must be 1 (rise) or 2 (fall)"),
     ({"triggerPrice": "66000", "triggerDirection": 2}, "expect Falling, but trigger_price[66000] >= current[65000]"),
     ({"takeProfit": "59000"}, "TakeProfit:59000 set for Buy should be higher than base_price:60000"),
     ({"trailingStop": "100"}, "trailingStop is not supported yet by paperex (conditional and TP/SL orders)"),
     ({"reduceOnly": "yes"}, "reduceOnly must be a boolean")],
)
def test_parameter_errors(ex, kwargs, detail) -> None:
    session = client(ex, make_trader(ex))
    params = {"qty": "0.01", "price": "60000", **kwargs}
    assert rejected(limit(session, **params)) == (10001, f"Request parameter error: {detail}")


def test_missing_and_unknown(ex) -> None:
    session = client(ex, make_trader(ex))
    assert rejected(lambda: session.place_order(category="linear", symbol=S, side="Buy", orderType="Limit",
                                                qty="0.01")) == (10001, "Request parameter error: price is required")
    assert rejected(limit(session, symbol="NOPEUSDT"))[1] == (
        "Request parameter error: symbol NOPEUSDT does not exist in linear")
    assert rejected(lambda: session.cancel_order(category="linear", symbol=S, orderId="not-a-uuid")) == (
        110019, "Order ID is illegal.")
    assert rejected(lambda: session.cancel_order(category="linear", symbol=S,
                                                 orderId="3606515b-e4d7-4ea4-b096-bb247d0661ae")) == (
        110001, "Order does not exist")
    assert rejected(lambda: session.amend_order(category="linear", symbol=S, orderLinkId="ghost", qty="1")) == (
        110001, "Order does not exist")


def test_price_band_110003(ex) -> None:
    session = client(ex, make_trader(ex))
    # futures clamp an out-of-band price by default (tests/test_semantics_wire.py): this account refuses it instead
    assert session.set_limit_price_action(category="linear", modifyEnable=False)["retCode"] == 0
    # mark = index = 65000, X = 1 %, Y = 2 %: max buy 65650, min sell 64350
    assert rejected(limit(session, price="65650.1"))[0] == 110003
    code, msg = rejected(limit(session, side="Sell", price="64349.9"))
    assert code == 110003 and msg.startswith(MESSAGES[110003])
    assert session.place_order(category="linear", symbol=S, side="Buy", orderType="Limit", qty="0.01",
                               price="65650")["retCode"] == 0
    ex.admin("POST", "/admin/v1/prices", {"symbol": S, "indexPrice": "70000"})  # the band moves with the mark
    assert session.place_order(category="linear", symbol=S, side="Buy", orderType="Limit", qty="0.01",
                               price="70700")["retCode"] == 0
    ex.admin("POST", "/admin/v1/prices", {"symbol": S, "indexPrice": "65000"})
    session.cancel_all_orders(category="linear", symbol=S)


def test_insufficient_balance_codes(ex) -> None:
    # derivatives: order cost = IM at 10x + taker fee to open and to close
    poor = client(ex, make_trader(ex, {"USDT": "100"}))
    assert rejected(limit(poor, qty="0.1", price="60000")) == (110007, "Available balance is insufficient")
    maker = client(ex, make_trader(ex))
    maker.place_order(category="linear", symbol="ETHUSDT", side="Sell", orderType="Limit", qty="1", price="3150")
    tight = client(ex, make_trader(ex, {"USDT": "318"}))
    # 1 ETH at 3150 costs 315 + 2 x 1.7325 = 318.465 > 318: the market price cannot be covered
    assert rejected(lambda: tight.place_order(category="linear", symbol="ETHUSDT", side="Buy", orderType="Market",
                                              qty="1")) == (110051, MESSAGES[110051])
    ok = client(ex, make_trader(ex, {"USDT": "320"}))
    # at the best ask it fits (318.47), at the protection price 3232 it does not (326.76)
    assert rejected(lambda: ok.place_order(category="linear", symbol="ETHUSDT", side="Buy", orderType="Market",
                                           qty="1")) == (110053, MESSAGES[110053])
    # a crossing limit at 3200 costs 323.52: more than at the best price, which would fit
    assert rejected(limit(ok, symbol="ETHUSDT", qty="1", price="3200")) == (110052, MESSAGES[110052])
    assert ok.place_order(category="linear", symbol="ETHUSDT", side="Buy", orderType="Limit", qty="1",
                          price="3150")["retCode"] == 0
    # amending an order to cost more than is available
    amender = client(ex, make_trader(ex, {"USDT": "700"}))
    oid = amender.place_order(category="linear", symbol=S, side="Buy", orderType="Limit", qty="0.1",
                              price="60000")["result"]["orderId"]
    assert rejected(lambda: amender.amend_order(category="linear", symbol=S, orderId=oid, qty="0.2")) == (
        110044, "Available margin is insufficient.")
    # spot holds
    spot = client(ex, make_trader(ex, {"USDT": "100"}))
    assert rejected(limit(spot, category="spot", qty="0.002", price="60000")) == (
        110004, "Wallet balance is insufficient: USDT wallet balance cannot cover the order")
    assert spot.place_order(category="spot", symbol=S, side="Buy", orderType="Limit", qty="0.001",
                            price="60000")["retCode"] == 0
    assert rejected(limit(spot, category="spot", qty="0.001", price="59000")) == (
        110012, "Insufficient available balance.: USDT held by open orders or positions")
    with pytest.raises(ccxt.InsufficientFunds):
        trader = make_trader(ex, {"USDT": "100"})
        ccxt_sync(ex, trader.api_key, trader.api_secret).create_order("BTC/USDT:USDT", "limit", "buy", 0.1, 60000)


def test_finished_orders_and_amend_below_filled(ex) -> None:
    maker, taker = client(ex, make_trader(ex)), client(ex, make_trader(ex))
    sell = maker.place_order(category="linear", symbol="SOLUSDT", side="Sell", orderType="Limit", qty="10",
                             price="150")["result"]["orderId"]
    taker.place_order(category="linear", symbol="SOLUSDT", side="Buy", orderType="Market", qty="4")
    assert rejected(lambda: maker.amend_order(category="linear", symbol="SOLUSDT", orderId=sell, qty="4")) == (
        110064, MESSAGES[110064])
    taker.place_order(category="linear", symbol="SOLUSDT", side="Buy", orderType="Market", qty="6")
    assert rejected(lambda: maker.amend_order(category="linear", symbol="SOLUSDT", orderId=sell, qty="20")) == (
        110008, "The order has been completed or cancelled.")
    assert rejected(lambda: maker.cancel_order(category="linear", symbol="SOLUSDT", orderId=sell))[0] == 110008
    gone = maker.place_order(category="linear", symbol="SOLUSDT", side="Sell", orderType="Limit", qty="1",
                             price="151")["result"]["orderId"]
    maker.cancel_order(category="linear", symbol="SOLUSDT", orderId=gone)
    assert rejected(lambda: maker.cancel_order(category="linear", symbol="SOLUSDT", orderId=gone)) == (
        110010, "The order has been cancelled")
    assert rejected(lambda: maker.amend_order(category="linear", symbol="SOLUSDT", orderId=gone, qty="2"))[0] == 110010


def test_duplicate_order_link_id_and_reduce_only(ex) -> None:
    trader = make_trader(ex)
    session = client(ex, trader)
    session.place_order(category="linear", symbol=S, side="Buy", orderType="Limit", qty="0.01", price="60000",
                        orderLinkId="same-id")
    assert rejected(limit(session, orderLinkId="same-id")) == (110072, "OrderLinkedID is duplicate")
    exchange = ccxt_sync(ex, trader.api_key, trader.api_secret)
    with pytest.raises(ccxt.InvalidOrder):
        exchange.create_order("BTC/USDT:USDT", "limit", "buy", 0.01, 60000, {"clientOrderId": "same-id"})
    code, msg = rejected(lambda: session.place_order(category="linear", symbol=S, side="Sell", orderType="Market",
                                                     qty="0.01", reduceOnly=True))
    assert code == 110017 and msg.startswith("Unmatch the ReduceOnly rules.")


def test_500_active_orders_110020(ex) -> None:
    session = client(ex, make_trader(ex, {"USDT": "10000000"}))
    for batch in range(25):
        reply = session.place_batch_order(category="linear", request=[
            {"symbol": "XRPUSDT", "side": "Buy", "orderType": "Limit", "qty": "10",
             "price": f"0.{5000 + batch * 20 + i}"} for i in range(20)])
        assert all(e["code"] == 0 for e in reply["retExtInfo"]["list"])
    assert rejected(limit(session, symbol="XRPUSDT", qty="10", price="0.5")) == (
        110020, "Not allowed to have more than 500 active orders.")
    assert session.place_order(category="linear", symbol="DOGEUSDT", side="Buy", orderType="Limit", qty="100",
                               price="0.1")["retCode"] == 0  # the limit is per symbol


def test_permissions_on_trading(ex) -> None:
    read_only = client(ex, make_trader(ex, readOnly=1))
    code, msg = rejected(limit(read_only))
    assert (code, msg) == (10005, MESSAGES[10005] + ": the api key is read-only")
    spot_only = client(ex, make_trader(ex, permissions={"Spot": ["SpotTrade"]}))
    assert rejected(limit(spot_only))[0] == 10005
    assert spot_only.place_order(category="spot", symbol=S, side="Buy", orderType="Limit", qty="0.001",
                                 price="60000")["retCode"] == 0
    derivatives = client(ex, make_trader(ex, permissions={"Derivatives": ["DerivativesTrade"]}))
    assert derivatives.place_order(category="linear", symbol=S, side="Buy", orderType="Limit", qty="0.01",
                                   price="60000")["retCode"] == 0
    assert rejected(limit(derivatives, category="spot", qty="0.001"))[0] == 10005
    trader = make_trader(ex, readOnly=1)
    with pytest.raises(ccxt.PermissionDenied):
        ccxt_sync(ex, trader.api_key, trader.api_secret).create_order("BTC/USDT:USDT", "limit", "buy", 0.01, 60000)
