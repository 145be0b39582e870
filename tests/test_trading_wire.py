"""Order lifecycle over the wire with real pybit and ccxt clients, on a fresh exchange per test."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from pybit.exceptions import InvalidRequestError

from tests.conftest import Trader, make_trader, pybit_http
from tests.serverproc import ServerProcess

S = "BTCUSDT"


@pytest.fixture()
def ex(tmp_path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path, ["--no-demo"]).start()
    yield server
    server.stop()


def client(server: ServerProcess, trader: Trader):
    return pybit_http(server, trader.api_key, trader.api_secret)


def rejected(call) -> tuple[int, str]:
    with pytest.raises(InvalidRequestError) as info:
        call()
    return info.value.status_code, info.value.message


def order_of(session, order_id: str, category: str = "linear", symbol: str = S) -> dict:
    rows = session.get_open_orders(category=category, symbol=symbol, orderId=order_id)["result"]["list"]
    assert len(rows) == 1
    return rows[0]


def test_place_list_amend_cancel(ex) -> None:
    alice = client(ex, make_trader(ex))
    placed = alice.place_order(category="linear", symbol=S, side="Buy", orderType="Limit", qty="0.01",
                               price="60000", orderLinkId="my-order-1")
    assert placed["retCode"] == 0 and placed["result"]["orderLinkId"] == "my-order-1"
    oid = placed["result"]["orderId"]
    open_orders = alice.get_open_orders(category="linear", symbol=S)["result"]
    assert open_orders["category"] == "linear" and open_orders["nextPageCursor"] == ""
    (row,) = open_orders["list"]
    assert (row["orderId"], row["orderStatus"], row["price"], row["qty"], row["leavesQty"]) == (
        oid, "New", "60000", "0.01", "0.01")
    assert (row["side"], row["orderType"], row["timeInForce"], row["positionIdx"]) == ("Buy", "Limit", "GTC", 0)
    assert row["cumExecQty"] == "0" and row["avgPrice"] == "" and row["leavesValue"] == "600"
    assert row["createdTime"].isdigit() and row["rejectReason"] == "EC_NoError"

    alice.amend_order(category="linear", symbol=S, orderId=oid, qty="0.02", price="60100")
    row = order_of(alice, oid)
    assert (row["price"], row["qty"], row["leavesQty"], row["orderStatus"]) == ("60100", "0.02", "0.02", "New")
    assert int(row["updatedTime"]) >= int(row["createdTime"])
    alice.amend_order(category="linear", symbol=S, orderLinkId="my-order-1", qty="0.015")
    assert order_of(alice, oid)["qty"] == "0.015"

    cancelled = alice.cancel_order(category="linear", symbol=S, orderLinkId="my-order-1")
    assert cancelled["result"] == {"orderId": oid, "orderLinkId": "my-order-1"}
    assert alice.get_open_orders(category="linear", symbol=S)["result"]["list"] == []
    row = order_of(alice, oid)  # realtime still finds it by id (ccxt's fetch_order relies on this)
    assert (row["orderStatus"], row["cancelType"], row["leavesQty"]) == ("Cancelled", "CancelByUser", "0")
    history = alice.get_order_history(category="linear", symbol=S)["result"]["list"]
    assert [h["orderId"] for h in history] == [oid]


def test_two_accounts_trade_with_partial_fills(ex) -> None:
    maker_t, taker_t = make_trader(ex), make_trader(ex)
    maker, taker = client(ex, maker_t), client(ex, taker_t)
    sell = maker.place_order(category="linear", symbol=S, side="Sell", orderType="Limit", qty="0.5",
                             price="65100")["result"]["orderId"]
    buy = taker.place_order(category="linear", symbol=S, side="Buy", orderType="Market", qty="0.2")["result"]["orderId"]
    m = order_of(maker, sell)
    assert (m["orderStatus"], m["cumExecQty"], m["leavesQty"], m["avgPrice"]) == ("PartiallyFilled", "0.2", "0.3",
                                                                                   "65100")
    assert m["cumExecValue"] == "13020" and m["cumExecFee"] == "2.604" and m["cumFeeDetail"] == {"USDT": "2.604"}
    t = order_of(taker, buy)
    assert (t["orderStatus"], t["cumExecQty"], t["avgPrice"], t["timeInForce"]) == ("Filled", "0.2", "65100", "IOC")
    assert t["price"] == "65650"  # a market order shows its protection price (mark 65000 + 1 %)
    (fill,) = taker.get_executions(category="linear", symbol=S)["result"]["list"]
    assert (fill["execPrice"], fill["execQty"], fill["execValue"], fill["execFee"], fill["feeRate"]) == (
        "65100", "0.2", "13020", "7.161", "0.00055")
    assert fill["isMaker"] is False and fill["execType"] == "Trade" and fill["orderId"] == buy
    (mfill,) = maker.get_executions(category="linear", symbol=S)["result"]["list"]
    assert mfill["isMaker"] is True and mfill["feeRate"] == "0.0002" and mfill["leavesQty"] == "0.3"
    assert mfill["seq"] == fill["seq"]
    wallet = taker.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]["coin"][0]
    assert wallet["walletBalance"] == "99992.839" and wallet["cumRealisedPnl"] == "-7.161"
    assert wallet["totalPositionIM"] == "1300"  # valued at the 65000 mark (not the 65100 entry) / 10x
    trades = maker.get_public_trade_history(category="linear", symbol=S)["result"]["list"]
    assert [(x["price"], x["size"], x["side"]) for x in trades] == [("65100", "0.2", "Buy")]
    ticker = maker.get_tickers(category="linear", symbol=S)["result"]["list"][0]
    assert ticker["lastPrice"] == "65100" and ticker["openInterest"] == "0.2" and ticker["ask1Price"] == "65100"
    assert ticker["ask1Size"] == "0.3" and ticker["volume24h"] == "0.2" and ticker["turnover24h"] == "13020"
    book = maker.get_orderbook(category="linear", symbol=S)["result"]
    assert book["a"] == [["65100", "0.3"]] and book["b"] == [] and book["u"] >= 2


def test_market_order_sweeps_levels(ex) -> None:
    maker, taker = client(ex, make_trader(ex)), client(ex, make_trader(ex))
    for price in ("65100", "65200", "65300"):
        maker.place_order(category="linear", symbol=S, side="Sell", orderType="Limit", qty="0.1", price=price)
    oid = taker.place_order(category="linear", symbol=S, side="Buy", orderType="Market", qty="0.25")["result"][
        "orderId"]
    row = order_of(taker, oid)
    assert (row["orderStatus"], row["cumExecQty"], row["avgPrice"], row["cumExecValue"]) == (
        "Filled", "0.25", "65180", "16295")
    fills = taker.get_executions(category="linear", symbol=S, orderId=oid)["result"]["list"]
    assert sorted((f["execPrice"], f["execQty"]) for f in fills) == [("65100", "0.1"), ("65200", "0.1"),
                                                                     ("65300", "0.05")]
    assert maker.get_orderbook(category="linear", symbol=S)["result"]["a"] == [["65300", "0.05"]]
    # the band stops a market order: levels beyond the protection price are not taken
    maker.place_order(category="linear", symbol=S, side="Sell", orderType="Limit", qty="1", price="65650")
    maker.place_order(category="linear", symbol=S, side="Sell", orderType="Limit", qty="1", price="65600")
    oid = taker.place_order(category="linear", symbol=S, side="Buy", orderType="Market", qty="3")["result"]["orderId"]
    row = order_of(taker, oid)
    assert (row["orderStatus"], row["cumExecQty"], row["rejectReason"]) == ("Cancelled", "2.05",
                                                                            "EC_CancelForNoFullFill")


def test_time_in_force_outcomes(ex) -> None:
    maker, taker = client(ex, make_trader(ex)), client(ex, make_trader(ex))
    maker.place_order(category="linear", symbol=S, side="Sell", orderType="Limit", qty="0.1", price="65100")

    def outcome(**kw) -> dict:
        oid = taker.place_order(category="linear", symbol=S, side="Buy", orderType="Limit", **kw)["result"]["orderId"]
        return order_of(taker, oid)

    post = outcome(qty="0.05", price="65100", timeInForce="PostOnly")
    assert (post["orderStatus"], post["rejectReason"], post["cumExecQty"]) == ("Cancelled",
                                                                               "EC_PostOnlyWillTakeLiquidity", "0")
    resting = outcome(qty="0.05", price="65000", timeInForce="PostOnly")
    assert resting["orderStatus"] == "New"
    fok = outcome(qty="0.2", price="65100", timeInForce="FOK")
    assert (fok["orderStatus"], fok["cumExecQty"], fok["rejectReason"]) == ("Cancelled", "0", "EC_NoEnoughQtyToFill")
    ioc = outcome(qty="0.15", price="65100", timeInForce="IOC")
    assert (ioc["orderStatus"], ioc["cumExecQty"], ioc["leavesQty"]) == ("Cancelled", "0.1", "0")
    assert ioc["rejectReason"] == "EC_CancelForNoFullFill"
    fok_ok = outcome(qty="0.05", price="65100", timeInForce="FOK")
    assert fok_ok["orderStatus"] == "Cancelled"  # nothing left on the ask after the IOC took it all
    maker.place_order(category="linear", symbol=S, side="Sell", orderType="Limit", qty="0.05", price="65100")
    assert outcome(qty="0.05", price="65100", timeInForce="FOK")["orderStatus"] == "Filled"


def test_batch_endpoints_with_mixed_items(ex) -> None:
    trader = client(ex, make_trader(ex))
    created = trader.place_batch_order(category="linear", request=[
        {"symbol": S, "side": "Buy", "orderType": "Limit", "qty": "0.01", "price": "60000", "orderLinkId": "b1"},
        {"symbol": S, "side": "Buy", "orderType": "Limit", "qty": "0.0105", "price": "60000"},
        {"symbol": S, "side": "Buy", "orderType": "Limit", "qty": "0.01", "price": "60001", "orderLinkId": "b3"},
        {"symbol": S, "side": "Buy", "orderType": "Limit", "qty": "0.01", "price": "59000", "orderLinkId": "b1"},
    ])
    assert created["retCode"] == 0
    ext = created["retExtInfo"]["list"]
    assert [e["code"] for e in ext] == [0, 10001, 0, 110072]
    assert ext[1]["msg"] == "Request parameter error: qty must be a multiple of 0.001"
    assert ext[0]["msg"] == "OK" and ext[3]["msg"] == "OrderLinkedID is duplicate"
    rows = created["result"]["list"]
    assert rows[0]["orderLinkId"] == "b1" and rows[0]["orderId"] and rows[0]["createAt"].isdigit()
    assert rows[1]["orderId"] == "" and rows[0]["category"] == "linear" and rows[0]["symbol"] == S
    amended = trader.amend_batch_order(category="linear", request=[
        {"symbol": S, "orderLinkId": "b1", "price": "60500"},
        {"symbol": S, "orderLinkId": "nope", "price": "60500"},
    ])
    assert [e["code"] for e in amended["retExtInfo"]["list"]] == [0, 110001]
    cancelled = trader.cancel_batch_order(category="linear", request=[
        {"symbol": S, "orderLinkId": "b1"}, {"symbol": S, "orderLinkId": "b3"},
        {"symbol": S, "orderId": "not-an-order-id"},
    ])
    assert [e["code"] for e in cancelled["retExtInfo"]["list"]] == [0, 0, 110019]
    assert trader.get_open_orders(category="linear", symbol=S)["result"]["list"] == []
    too_many = [{"symbol": S, "side": "Buy", "orderType": "Limit", "qty": "0.01", "price": "60000"}] * 21
    assert rejected(lambda: trader.place_batch_order(category="linear", request=too_many)) == (
        10001, "Request parameter error: at most 20 orders per batch")


def test_cancel_all_and_pagination(ex) -> None:
    trader = client(ex, make_trader(ex))
    ids = [trader.place_order(category="linear", symbol=S, side="Buy", orderType="Limit", qty="0.01",
                              price=str(60000 + i))["result"]["orderId"] for i in range(5)]
    trader.place_order(category="linear", symbol="ETHUSDT", side="Buy", orderType="Limit", qty="0.1", price="3000")
    seen, cursor = [], ""
    while True:
        page = trader.get_open_orders(category="linear", symbol=S, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [r["orderId"] for r in page["result"]["list"]]
        cursor = page["result"]["nextPageCursor"]
        if not cursor:
            break
    assert seen == ids[::-1]  # newest first, each once
    everything = trader.get_open_orders(category="linear", settleCoin="USDT")["result"]["list"]
    assert len(everything) == 6
    assert rejected(lambda: trader.get_open_orders(category="linear"))[0] == 10001
    result = trader.cancel_all_orders(category="linear", symbol=S)["result"]
    assert result["success"] == "1" and sorted(r["orderId"] for r in result["list"]) == sorted(ids)
    assert len(trader.get_open_orders(category="linear", settleCoin="USDT")["result"]["list"]) == 1
    assert rejected(lambda: trader.cancel_all_orders(category="linear"))[0] == 10001


def test_spot_trading_and_balances(ex) -> None:
    seller_t = make_trader(ex, {"BTC": "1"})
    buyer_t = make_trader(ex, {"USDT": "10000"})
    seller, buyer = client(ex, seller_t), client(ex, buyer_t)
    sell = seller.place_order(category="spot", symbol=S, side="Sell", orderType="Limit", qty="0.1",
                              price="65000")["result"]["orderId"]
    assert sell.isdigit() and len(sell) == 19  # spot order ids are numbers
    coins = {c["coin"]: c for c in seller.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]["coin"]}
    assert coins["BTC"]["locked"] == "0.1"
    buy = buyer.place_order(category="spot", symbol=S, side="Buy", orderType="Market", qty="1300")["result"]["orderId"]
    row = order_of(buyer, buy, "spot")
    assert (row["orderStatus"], row["cumExecQty"], row["marketUnit"]) == ("Filled", "0.02", "quoteCoin")
    assert row["cumExecValue"] == "1300" and row["cumFeeDetail"] == {"BTC": "0.00002"}
    coins = {c["coin"]: c for c in buyer.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]["coin"]}
    assert coins["USDT"]["walletBalance"] == "8700" and coins["BTC"]["walletBalance"] == "0.01998"
    coins = {c["coin"]: c for c in seller.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]["coin"]}
    assert coins["USDT"]["walletBalance"] == "1298.7" and coins["BTC"]["locked"] == "0.08"
    fee = seller.get_fee_rates(category="spot", symbol=S)["result"]["list"][0]
    assert Decimal(fee["takerFeeRate"]) == Decimal("0.001")
