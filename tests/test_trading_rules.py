"""Order rules that protect margin and meaning: closing orders, reduce-only, FOK with self-match
prevention, spot against derivatives margin, spot quote-amount buys, inverse averages, ids."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import ccxt_sync, make_trader
from tests.serverproc import ServerProcess
from tests.test_trading_wire import S, client, order_of, rejected


@pytest.fixture()
def ex(tmp_path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path, ["--no-demo"]).start()
    yield server
    server.stop()


def test_closing_orders_cannot_open_positions_without_margin(ex) -> None:
    small = client(ex, make_trader(ex, {"USDT": "100"}))
    market = client(ex, make_trader(ex))
    market.place_order(category="linear", symbol=S, side="Sell", orderType="Limit", qty="0.01", price="65000")
    small.place_order(category="linear", symbol=S, side="Buy", orderType="Market", qty="0.01")  # long 0.01
    # the first sell closes the long and costs nothing; the next would open a short: 66.2 USDT of margin
    # that the 34.64 left (99.64 wallet - 65 position IM) cannot cover
    small.place_order(category="linear", symbol=S, side="Sell", orderType="Limit", qty="0.01", price="65500")
    assert rejected(lambda: small.place_order(category="linear", symbol=S, side="Sell", orderType="Limit",
                                              qty="0.01", price="65500"))[0] == 110007


def test_reduce_only_orders_shrink_with_the_position(ex) -> None:
    trader = client(ex, make_trader(ex))
    other = client(ex, make_trader(ex))
    other.place_order(category="linear", symbol=S, side="Sell", orderType="Limit", qty="0.02", price="65000")
    trader.place_order(category="linear", symbol=S, side="Buy", orderType="Market", qty="0.02")  # long 0.02
    ro = trader.place_order(category="linear", symbol=S, side="Sell", orderType="Limit", qty="0.02", price="65500",
                            reduceOnly=True)["result"]["orderId"]
    other.place_order(category="linear", symbol=S, side="Buy", orderType="Limit", qty="0.015", price="64900")
    trader.place_order(category="linear", symbol=S, side="Sell", orderType="Market", qty="0.015")  # long 0.005
    row = order_of(trader, ro)
    assert (row["orderStatus"], row["qty"], row["leavesQty"]) == ("New", "0.005", "0.005")
    other.place_order(category="linear", symbol=S, side="Buy", orderType="Limit", qty="0.005", price="64900")
    trader.place_order(category="linear", symbol=S, side="Sell", orderType="Market", qty="0.005")  # flat
    row = order_of(trader, ro)
    assert (row["orderStatus"], row["cancelType"]) == ("Cancelled", "CancelByReduceOnly")
    # qty 0 + reduceOnly + closeOnTrigger closes a whole position
    other.place_order(category="linear", symbol=S, side="Sell", orderType="Limit", qty="0.03", price="65000")
    trader.place_order(category="linear", symbol=S, side="Buy", orderType="Market", qty="0.03")
    other.place_order(category="linear", symbol=S, side="Buy", orderType="Limit", qty="0.03", price="64900")
    close = trader.place_order(category="linear", symbol=S, side="Sell", orderType="Market", qty="0",
                               reduceOnly=True, closeOnTrigger=True)["result"]["orderId"]
    assert order_of(trader, close)["cumExecQty"] == "0.03"


def test_fok_with_self_match_prevention_is_all_or_nothing(ex) -> None:
    me, other = client(ex, make_trader(ex)), client(ex, make_trader(ex))
    other.place_order(category="linear", symbol=S, side="Sell", orderType="Limit", qty="0.01", price="65000")
    mine = me.place_order(category="linear", symbol=S, side="Sell", orderType="Limit", qty="0.01",
                          price="65000")["result"]["orderId"]
    fok = me.place_order(category="linear", symbol=S, side="Buy", orderType="Limit", qty="0.02", price="65000",
                         timeInForce="FOK", smpType="CancelMaker")["result"]["orderId"]
    row = order_of(me, fok)
    assert (row["orderStatus"], row["cumExecQty"]) == ("Cancelled", "0")
    assert order_of(me, mine)["orderStatus"] == "New"  # nothing happened to the book
    me.place_order(category="linear", symbol=S, side="Buy", orderType="Limit", qty="0.02", price="65000",
                   smpType="CancelMaker")
    row = order_of(me, mine)
    assert (row["orderStatus"], row["cancelType"], row["rejectReason"]) == ("Cancelled", "CancelBySmp",
                                                                            "EC_BySelfMatch")
    assert row["smpOrderId"]


def test_spot_holds_respect_derivatives_margin(ex) -> None:
    trader = client(ex, make_trader(ex, {"USDT": "100"}))
    other = client(ex, make_trader(ex))
    other.place_order(category="linear", symbol=S, side="Sell", orderType="Limit", qty="0.01", price="65000")
    trader.place_order(category="linear", symbol=S, side="Buy", orderType="Market", qty="0.01")  # IM 65
    code, _ = rejected(lambda: trader.place_order(category="spot", symbol=S, side="Buy", orderType="Limit",
                                                    qty="0.001", price="65000"))
    assert code == 110012


def test_spot_market_buy_by_quote_amount(ex) -> None:
    seller = client(ex, make_trader(ex, {"BTC": "1"}))
    buyer_t = make_trader(ex, {"USDT": "1000"})
    buyer = client(ex, buyer_t)
    seller.place_order(category="spot", symbol=S, side="Sell", orderType="Limit", qty="0.001", price="65000")
    oid = buyer.place_order(category="spot", symbol=S, side="Buy", orderType="Market", qty="200")["result"]["orderId"]
    row = order_of(buyer, oid, "spot")
    assert (row["orderStatus"], row["qty"], row["marketUnit"], row["cumExecQty"]) == (
        "PartiallyFilledCanceled", "200", "quoteCoin", "0.001")
    assert (row["cumExecValue"], row["leavesValue"], row["leavesQty"]) == ("65", "135", "0")
    assert "tpslMode" not in row and "createType" not in row
    assert rejected(lambda: seller.place_order(category="spot", symbol=S, side="Sell", orderType="Market",
                                               qty="10", marketUnit="quoteCoin"))[0] == 10001
    ccxt_ex = ccxt_sync(ex, buyer_t.api_key, buyer_t.api_secret)
    (trade,) = ccxt_ex.fetch_my_trades("BTC/USDT")
    assert trade["symbol"] == "BTC/USDT" and trade["fee"]["currency"] == "BTC"
    fill = buyer.get_executions(category="spot", symbol=S)["result"]["list"][0]
    assert fill["execId"].isdigit() and fill["markPrice"] == "" and "createType" not in fill
    assert buyer.get_public_trade_history(category="spot", symbol=S)["result"]["list"][0]["execId"] == fill["execId"]


def test_inverse_average_price_and_shared_exec_ids(ex) -> None:
    maker = client(ex, make_trader(ex, {"BTC": "1"}))
    taker = client(ex, make_trader(ex, {"BTC": "1"}))
    maker.place_order(category="inverse", symbol="BTCUSD", side="Sell", orderType="Limit", qty="100", price="65000")
    maker.place_order(category="inverse", symbol="BTCUSD", side="Sell", orderType="Limit", qty="100", price="65500")
    oid = taker.place_order(category="inverse", symbol="BTCUSD", side="Buy", orderType="Market",
                            qty="200")["result"]["orderId"]
    row = order_of(taker, oid, "inverse", "BTCUSD")
    # 200 contracts / (100/65000 + 100/65500): the harmonic mean of the fill prices
    assert row["avgPrice"] == "65249.04214559"  # 2 x 65000 x 65500 / 130500
    one = maker.place_order(category="inverse", symbol="BTCUSD", side="Sell", orderType="Limit", qty="100",
                            price="65000")["result"]["orderId"]
    taker.place_order(category="inverse", symbol="BTCUSD", side="Buy", orderType="Market", qty="100")
    assert order_of(maker, one, "inverse", "BTCUSD")["avgPrice"] == "65000"
    mine = {e["execId"] for e in taker.get_executions(category="inverse", symbol="BTCUSD")["result"]["list"]}
    theirs = {e["execId"] for e in maker.get_executions(category="inverse", symbol="BTCUSD")["result"]["list"]}
    tape = taker.get_public_trade_history(category="inverse", symbol="BTCUSD")["result"]["list"]
    public = {t["execId"] for t in tape}
    assert mine == theirs == public and len(mine) == 3


def test_kline_start_pages_forward_and_no_future_or_prelisting_bars(ex) -> None:
    import time

    session = client(ex, make_trader(ex))
    before = int(time.time() * 1000)
    bars = session.get_mark_price_kline(category="linear", symbol=S, interval="1", limit=5)["result"]["list"]
    now = int(time.time() * 1000)
    assert len(bars) == 5 and int(bars[0][0]) <= now and before < int(bars[0][0]) + 60_000  # the current minute
    monthly = session.get_mark_price_kline(category="linear", symbol=S, interval="M", limit=1000)["result"]["list"]
    assert int(monthly[-1][0]) >= 1584230400000 - 31 * 86_400_000  # not before the listing
    start = now - 10 * 60_000
    forward = session.get_mark_price_kline(category="linear", symbol=S, interval="1", start=start,
                                           limit=3)["result"]["list"]
    assert [int(b[0]) for b in forward] == [start - start % 60_000 + i * 60_000 for i in (2, 1, 0)]
    future = session.get_mark_price_kline(category="linear", symbol=S, interval="1",
                                          end=now + 3_600_000)["result"]["list"]
    assert int(future[0][0]) <= now
