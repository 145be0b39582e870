"""Conditional orders and take-profit / stop-loss through pybit and ccxt, prices moved by the admin API."""

from __future__ import annotations

from tests.conftest import ccxt_sync, make_trader
from tests.test_risk_wire import BTC, set_prices
from tests.test_trading_wire import client, ex, rejected  # noqa: F401  (ex is the fixture)


def statuses(session, order_id: str) -> str:
    """An order's status, open or closed: realtime finds an order of any status by its id (order history lists
    closed orders only)."""
    rows = session.get_open_orders(category="linear", orderId=order_id)["result"]["list"]
    return rows[0]["orderStatus"]


def test_a_conditional_order_waits_then_trades(ex) -> None:  # noqa: F811
    me, mm = make_trader(ex), make_trader(ex)
    session, maker = client(ex, me), client(ex, mm)
    maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.5", price="66100")
    stop = session.place_order(**BTC, side="Buy", orderType="Market", qty="0.1", triggerPrice="66000",
                               triggerDirection=1, triggerBy="MarkPrice", orderLinkId="breakout")["result"]
    waiting = session.get_open_orders(**BTC, orderFilter="StopOrder")["result"]["list"]
    assert [(o["orderId"], o["orderStatus"], o["stopOrderType"], o["triggerPrice"], o["triggerDirection"],
             o["triggerBy"]) for o in waiting] == [(stop["orderId"], "Untriggered", "Stop", "66000", 1, "MarkPrice")]
    assert session.get_open_orders(**BTC, orderFilter="Order")["result"]["list"] == []
    set_prices(ex, "65900")  # not yet
    assert statuses(session, stop["orderId"]) == "Untriggered"
    set_prices(ex, "66050")  # the mark reaches 66000: triggered, then a market buy under the same id
    assert statuses(session, stop["orderId"]) == "Filled"
    fill = session.get_executions(**BTC, orderId=stop["orderId"])["result"]["list"][0]
    assert (fill["execPrice"], fill["execQty"]) == ("66100", "0.1")
    assert session.get_positions(**BTC)["result"]["list"][0]["size"] == "0.1"

    # amend, cancel (Deactivated) and the limit of 10 per symbol
    for i in range(10):
        session.place_order(**BTC, side="Sell", orderType="Limit", qty="0.01", price="60000", triggerPrice="61000",
                            triggerDirection=2, orderLinkId=f"dip-{i}")
    code, _ = rejected(lambda: session.place_order(**BTC, side="Sell", orderType="Limit", qty="0.01",
                                                   price="60000", triggerPrice="61000", triggerDirection=2))
    assert code == 110009
    session.amend_order(**BTC, orderLinkId="dip-0", triggerPrice="60500")
    row = session.get_open_orders(**BTC, orderLinkId="dip-0")["result"]["list"][0]
    assert row["triggerPrice"] == "60500"
    session.cancel_order(**BTC, orderLinkId="dip-0")
    assert session.get_order_history(category="linear", orderLinkId="dip-0")["result"]["list"][0][
        "orderStatus"] == "Deactivated"
    cancelled = session.cancel_all_orders(**BTC, orderFilter="StopOrder")["result"]["list"]
    assert len(cancelled) == 9
    assert session.get_open_orders(**BTC)["result"]["list"] == []


def test_take_profit_and_stop_loss_close_the_position(ex) -> None:  # noqa: F811
    me, mm = make_trader(ex), make_trader(ex)
    session, maker = client(ex, me), client(ex, mm)
    maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.2", price="65000")
    order = session.place_order(**BTC, side="Buy", orderType="Market", qty="0.2", takeProfit="67000",
                                stopLoss="63000", tpTriggerBy="MarkPrice", slTriggerBy="MarkPrice")["result"]
    row = session.get_order_history(category="linear", orderId=order["orderId"])["result"]["list"][0]
    assert (row["takeProfit"], row["stopLoss"], row["tpslMode"]) == ("67000", "63000", "Full")
    position = session.get_positions(**BTC)["result"]["list"][0]
    assert (position["takeProfit"], position["stopLoss"]) == ("67000", "63000")
    # as on Bybit, they are waiting orders too: reduce-only market orders closing the whole position
    stops = session.get_open_orders(**BTC, orderFilter="StopOrder")["result"]["list"]
    assert sorted((o["stopOrderType"], o["triggerPrice"], o["triggerDirection"], o["qty"], o["reduceOnly"],
                   o["createType"]) for o in stops) == [
        ("StopLoss", "63000", 2, "0", True, "CreateByStopLoss"),
        ("TakeProfit", "67000", 1, "0", True, "CreateByTakeProfit")]
    take_profit = next(o for o in stops if o["stopOrderType"] == "TakeProfit")
    session.cancel_order(**BTC, orderId=take_profit["orderId"])  # cancelling the order removes the TP
    assert session.get_positions(**BTC)["result"]["list"][0]["takeProfit"] == ""
    # trading-stop moves the stop loss; a stop above the price for a long is refused
    session.set_trading_stop(**BTC, stopLoss="64000", slTriggerBy="MarkPrice", tpslMode="Full", positionIdx=0)
    assert session.get_positions(**BTC)["result"]["list"][0]["stopLoss"] == "64000"
    code, msg = rejected(lambda: session.set_trading_stop(**BTC, stopLoss="66000", positionIdx=0))
    assert code == 10001 and "StopLoss:66000 set for Buy position should be lower than base_price:65000" in msg
    # the mark falls to the stop: a reduce-only market sell closes the whole position
    maker.place_order(**BTC, side="Buy", orderType="Limit", qty="0.2", price="63900")
    set_prices(ex, "63950")
    position = session.get_positions(**BTC)["result"]["list"][0]
    assert (position["size"], position["takeProfit"], position["stopLoss"]) == ("0", "", "")
    closing = [o for o in session.get_order_history(category="linear")["result"]["list"]
               if o["createType"] == "CreateByStopLoss"]
    assert len(closing) == 1 and closing[0]["stopOrderType"] == "StopLoss" and closing[0]["reduceOnly"] is True
    assert closing[0]["orderStatus"] == "Filled" and closing[0]["avgPrice"] == "63900"
    rejected_stop = rejected(lambda: session.set_trading_stop(**BTC, takeProfit="70000", positionIdx=0))
    assert rejected_stop == (10001, "Request parameter error: can not set tp/sl/ts for zero position")


def test_ccxt_stop_orders_and_attached_stops(ex) -> None:  # noqa: F811
    me, mm = make_trader(ex), make_trader(ex)
    trader = ccxt_sync(ex, me.api_key, me.api_secret)
    trader.load_markets()
    symbol = "BTC/USDT:USDT"
    stop = trader.create_order(symbol, "market", "buy", 0.01, None, {"triggerPrice": 66000,
                                                                     "triggerDirection": "above"})
    fetched = trader.fetch_open_orders(symbol, params={"orderFilter": "StopOrder"})
    assert [o["id"] for o in fetched] == [stop["id"]] and fetched[0]["triggerPrice"] == 66000.0
    trader.cancel_order(stop["id"], symbol, {"trigger": True})
    client(ex, mm).place_order(**BTC, side="Sell", orderType="Limit", qty="0.01", price="65000")
    trader.create_order(symbol, "market", "buy", 0.01, None, {"stopLoss": {"triggerPrice": 63000},
                                                              "takeProfit": {"triggerPrice": 68000}})
    position = trader.fetch_position(symbol)
    assert (position["stopLossPrice"], position["takeProfitPrice"]) == (63000.0, 68000.0)


def test_stops_follow_the_position_and_spot_stops(ex) -> None:  # noqa: F811
    me, mm = make_trader(ex, {"USDT": "100000", "BTC": "1"}), make_trader(ex, {"USDT": "1000000", "BTC": "10"})
    session, maker = client(ex, me), client(ex, mm)
    # a reversal drops the old position's TP/SL (a long's take profit would fire at once on the short)
    maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.1", price="65000")
    session.place_order(**BTC, side="Buy", orderType="Market", qty="0.1", takeProfit="70000", stopLoss="60000")
    maker.place_order(**BTC, side="Buy", orderType="Limit", qty="0.2", price="64990")
    maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.1", price="65100")
    session.place_order(**BTC, side="Sell", orderType="Market", qty="0.2")
    position = session.get_positions(**BTC)["result"]["list"][0]
    assert (position["side"], position["size"], position["takeProfit"], position["stopLoss"]) == ("Sell", "0.1",
                                                                                                  "", "")
    # the executions of a stop's closing order say what created it
    session.set_trading_stop(**BTC, stopLoss="66000", slTriggerBy="MarkPrice", positionIdx=0)
    set_prices(ex, "66000")
    closing = [f for f in session.get_executions(**BTC)["result"]["list"] if f["createType"] == "CreateByStopLoss"]
    assert len(closing) == 1 and closing[0]["stopOrderType"] == "StopLoss" and closing[0]["execPrice"] == "65100"
    # a conditional order whose checks fail when it triggers is cancelled (Bybit: insufficient margin)
    poor = client(ex, make_trader(ex, {"USDT": "500"}))
    stop = poor.place_order(**BTC, side="Buy", orderType="Market", qty="0.1", triggerPrice="66500",
                            triggerDirection=1, triggerBy="MarkPrice")["result"]
    set_prices(ex, "66600")
    row = poor.get_order_history(category="linear", orderId=stop["orderId"])["result"]["list"][0]
    assert (row["orderStatus"], row["createType"], row["stopOrderType"]) == ("Cancelled", "CreateByStopOrder",
                                                                             "Stop")
    # spot: no triggerDirection; the trigger's side of the last price decides
    spot = {"category": "spot", "symbol": "BTCUSDT"}
    sell = session.place_order(**spot, side="Sell", orderType="Limit", qty="0.01", price="64000",
                               triggerPrice="64500", orderFilter="StopOrder")["result"]
    waiting = session.get_open_orders(**spot, orderFilter="StopOrder")["result"]["list"]
    assert [(o["orderId"], o["orderStatus"], o["triggerDirection"]) for o in waiting] == [(sell["orderId"],
                                                                                            "Untriggered", 2)]


def test_a_trailing_stop_follows_the_last_price(ex) -> None:  # noqa: F811
    me, mm, mover_key = make_trader(ex), make_trader(ex, {"USDT": "1000000"}), make_trader(ex)
    session, maker, mover = client(ex, me), client(ex, mm), client(ex, mover_key)

    def trade_at(price: str, side: str = "Buy") -> None:  # the mover trades 0.01 with the maker at price
        maker.place_order(**BTC, side="Sell" if side == "Buy" else "Buy", orderType="Limit", qty="0.01",
                          price=price)
        mover.place_order(**BTC, side=side, orderType="Market", qty="0.01")

    maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.1", price="65000")
    session.place_order(**BTC, side="Buy", orderType="Market", qty="0.1")
    session.set_trading_stop(**BTC, trailingStop="500", activePrice="66000", positionIdx=0)
    assert session.get_positions(**BTC)["result"]["list"][0]["trailingStop"] == "500"
    (trailing,) = session.get_open_orders(**BTC, orderFilter="StopOrder")["result"]["list"]
    assert (trailing["stopOrderType"], trailing["triggerPrice"], trailing["createType"]) == (
        "TrailingStop", "", "CreateByTrailingStop")  # waits for 66000 to start
    set_prices(ex, "66000")  # the price band follows the mark
    trade_at("66500")  # started: 500 under the best price so far
    assert session.get_open_orders(**BTC, orderFilter="StopOrder")["result"]["list"][0]["triggerPrice"] == "66000"
    trade_at("66200")  # a lower price does not lower it
    assert session.get_open_orders(**BTC, orderFilter="StopOrder")["result"]["list"][0]["triggerPrice"] == "66000"
    maker.place_order(**BTC, side="Buy", orderType="Limit", qty="0.1", price="65900")  # where it will sell
    trade_at("65950", side="Sell")  # 65950 <= 66000: fired, the long is sold to the 65900 bid
    assert session.get_positions(**BTC)["result"]["list"][0]["size"] == "0"
    fills = [f for f in session.get_executions(**BTC)["result"]["list"] if f["stopOrderType"] == "TrailingStop"]
    assert [(f["execPrice"], f["execQty"], f["createType"]) for f in fills] == [("65900", "0.1",
                                                                                 "CreateByTrailingStop")]


def test_partial_take_profit_and_stop_loss_legs(ex) -> None:  # noqa: F811
    me, mm = make_trader(ex), make_trader(ex, {"USDT": "1000000"})
    session, maker = client(ex, me), client(ex, mm)
    maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.3", price="65000")
    session.place_order(**BTC, side="Buy", orderType="Market", qty="0.3")
    session.set_trading_stop(**BTC, tpslMode="Partial", takeProfit="66000", tpSize="0.1", tpOrderType="Limit",
                             tpLimitPrice="66100", tpTriggerBy="MarkPrice", stopLoss="64000", slSize="0.2",
                             positionIdx=0)
    legs = session.get_open_orders(**BTC, orderFilter="StopOrder")["result"]["list"]
    assert sorted((o["stopOrderType"], o["orderType"], o["qty"], o["price"], o["triggerPrice"]) for o in legs) == [
        ("PartialStopLoss", "Market", "0.2", "0", "64000"), ("PartialTakeProfit", "Limit", "0.1", "66100", "66000")]
    assert rejected(lambda: session.set_trading_stop(**BTC, tpslMode="Partial", takeProfit="67000", tpSize="0.4",
                                                     positionIdx=0))[0] == 110058  # more than the position
    for _ in range(18):
        session.set_trading_stop(**BTC, tpslMode="Partial", takeProfit="67000", tpSize="0.001", positionIdx=0)
    assert rejected(lambda: session.set_trading_stop(**BTC, tpslMode="Partial", takeProfit="67000",
                                                     tpSize="0.001", positionIdx=0))[0] == 110061  # 20 legs
    set_prices(ex, "66000")  # the mark reaches the limit TP leg: a reduce-only sell of 0.1 at 66100 rests
    tp = next(o for o in legs if o["stopOrderType"] == "PartialTakeProfit")
    row = session.get_open_orders(**BTC, orderId=tp["orderId"])["result"]["list"][0]
    assert (row["orderStatus"], row["price"], row["qty"], row["reduceOnly"]) == ("New", "66100", "0.1", True)
    # the position closes by other means: every leg left goes with it
    maker.place_order(**BTC, side="Buy", orderType="Limit", qty="0.3", price="65900")
    session.cancel_order(**BTC, orderId=tp["orderId"])
    session.place_order(**BTC, side="Sell", orderType="Market", qty="0.3", reduceOnly=True)
    assert session.get_open_orders(**BTC, orderFilter="StopOrder")["result"]["list"] == []
