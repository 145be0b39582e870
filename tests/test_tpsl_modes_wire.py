"""TP/SL modes through pybit: /v5/position/set-tpsl-mode and what blocks it, Partial TP/SL legs created by an
order's fills (market or limit), and amending an order's own TP/SL."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import make_trader
from tests.test_risk_wire import BTC
from tests.test_trading_wire import client, ex, rejected  # noqa: F401  (ex is the fixture)

ETH = {"category": "linear", "symbol": "ETHUSDT"}


def mark(session, pair: dict) -> Decimal:
    return Decimal(session.get_tickers(**pair)["result"]["list"][0]["markPrice"])


def stops(session, pair: dict) -> list[tuple[str, str, str, str]]:
    rows = session.get_open_orders(**pair, orderFilter="StopOrder")["result"]["list"]
    return sorted((o["stopOrderType"], o["qty"], o["orderType"], o["price"]) for o in rows)


def test_set_tpsl_mode_is_refused_while_stops_wait(ex) -> None:  # noqa: F811
    me, other = make_trader(ex, {"USDT": "100000"}), make_trader(ex, {"USDT": "100000"})
    session, maker = client(ex, me), client(ex, other)
    price = mark(session, ETH)
    maker.place_order(**ETH, side="Sell", orderType="Limit", qty="1", price=str(price))
    session.place_order(**ETH, side="Buy", orderType="Market", qty="1")
    assert session.set_tp_sl_mode(**ETH, tpSlMode="Partial")["result"] == {"tpSlMode": "Partial"}
    assert session.get_positions(**ETH)["result"]["list"][0]["tpslMode"] == "Full"  # Bybit: deprecated, always Full
    # an order's TP/SL without tpslMode takes the symbol's mode
    order = session.place_order(**ETH, side="Buy", orderType="Limit", qty="0.1", price=str(price - 100),
                                takeProfit=str(price * 2))["result"]
    assert session.get_open_orders(**ETH, orderId=order["orderId"])["result"]["list"][0]["tpslMode"] == "Partial"
    session.cancel_order(**ETH, orderId=order["orderId"])
    # trading-stop without tpslMode now follows the symbol's mode: a leg of its own size
    session.set_trading_stop(**ETH, takeProfit=str(price * 2), tpSize="0.4", stopLoss=str(price / 2), slSize="0.3")
    assert stops(session, ETH) == [("PartialStopLoss", "0.3", "Market", "0"),
                                   ("PartialTakeProfit", "0.4", "Market", "0")]
    assert rejected(lambda: session.set_tp_sl_mode(**ETH, tpSlMode="Full")) == (
        110054, "This position has at least one take profit link order, so the take profit and stop loss mode "
                "cannot be switched")
    legs = session.get_open_orders(**ETH, orderFilter="StopOrder")["result"]["list"]
    take_profit = next(o for o in legs if o["stopOrderType"] == "PartialTakeProfit")
    session.cancel_order(**ETH, orderId=take_profit["orderId"])
    assert rejected(lambda: session.set_tp_sl_mode(**ETH, tpSlMode="Full"))[0] == 110055
    session.cancel_all_orders(**ETH, orderFilter="StopOrder")
    assert session.set_tp_sl_mode(**ETH, tpSlMode="Full")["retCode"] == 0
    session.set_trading_stop(**ETH, trailingStop="50")
    assert rejected(lambda: session.set_tp_sl_mode(**ETH, tpSlMode="Partial")) == (
        110056, "This position has at least one trailing stop link order, so the take profit and stop loss mode "
                "cannot be switched")
    assert rejected(lambda: session.set_tp_sl_mode(**ETH, tpSlMode="Half"))[0] == 10001


def test_partial_tpsl_legs_follow_an_orders_fills(ex) -> None:  # noqa: F811
    me, other = make_trader(ex, {"USDT": "100000"}), make_trader(ex, {"USDT": "100000"})
    session, maker = client(ex, me), client(ex, other)
    price = mark(session, BTC)
    tp, tp_limit, sl = price + 3000, price + 2900, price - 3000
    # Full mode supports market TP/SL only; a limit leg needs its price; TP/SL on a reduce-only order: 110057
    assert rejected(lambda: session.place_order(**BTC, side="Buy", orderType="Limit", qty="0.02", price=str(price),
                                                takeProfit=str(tp), tpOrderType="Limit",
                                                tpLimitPrice=str(tp_limit)))[0] == 10001
    code, _ = rejected(lambda: session.place_order(**BTC, side="Buy", orderType="Limit", qty="0.02", price=str(price),
                                                   takeProfit=str(tp), tpslMode="Partial", tpOrderType="Limit"))
    assert code == 10001
    assert rejected(lambda: session.place_order(**BTC, side="Sell", orderType="Market", qty="0.02", reduceOnly=True,
                                                stopLoss=str(price + 100))) == (
        110057, "Conditional order or limit order contains TP/SL related params: a reduce-only or close-on-trigger "
                "order cannot carry TP/SL")

    order = session.place_order(**BTC, side="Buy", orderType="Limit", qty="0.02", price=str(price),
                                takeProfit=str(tp), tpslMode="Partial", tpOrderType="Limit",
                                tpLimitPrice=str(tp_limit), stopLoss=str(sl))["result"]
    row = session.get_open_orders(**BTC, orderId=order["orderId"])["result"]["list"][0]
    assert (row["tpslMode"], row["tpLimitPrice"], row["slLimitPrice"]) == ("Partial", str(tp_limit), "0")
    # its TP/SL can be amended while nothing has filled; limit prices only on a Partial limit order
    session.amend_order(**BTC, orderId=order["orderId"], stopLoss=str(sl - 100))
    row = session.get_open_orders(**BTC, orderId=order["orderId"])["result"]["list"][0]
    assert row["stopLoss"] == str(sl - 100)
    maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.01", price=str(price))  # half of it fills
    assert stops(session, BTC) == [("PartialStopLoss", "0.01", "Market", "0"),
                                   ("PartialTakeProfit", "0.01", "Limit", str(tp_limit))]
    assert rejected(lambda: session.amend_order(**BTC, orderId=order["orderId"], takeProfit=str(tp + 100))) == (
        110059, "Not allowed to modify the TP/SL of a partially filled open order")
    maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.01", price=str(price))  # the rest
    assert stops(session, BTC) == [("PartialStopLoss", "0.02", "Market", "0"),
                                   ("PartialTakeProfit", "0.02", "Limit", str(tp_limit))]

    full = session.place_order(**BTC, side="Buy", orderType="Limit", qty="0.01", price=str(price - 1000),
                               takeProfit=str(tp))["result"]
    assert rejected(lambda: session.amend_order(**BTC, orderId=full["orderId"], tpLimitPrice=str(tp_limit))) == (
        110060, "Under full TP/SL mode, it is not allowed to modify TP/SL: tpLimitPrice/slLimitPrice need an order "
                "with Partial limit TP/SL")
    # the TP is checked against the amended price: a long's take profit must stay above it (an account that
    # refuses out-of-band prices; one that clamps checks the price at the band's edge, below the TP here)
    session.set_limit_price_action(category="linear", modifyEnable=False)
    assert rejected(lambda: session.amend_order(**BTC, orderId=full["orderId"], price=str(tp + 100)))[0] == 10001
    session.set_limit_price_action(category="linear", modifyEnable=True)
    amended = session.amend_order(**BTC, orderId=full["orderId"], price=str(tp + 100))["result"]["orderId"]
    moved = session.get_open_orders(**BTC, orderId=amended)["result"]["list"][0]
    assert Decimal(moved["price"]) < tp  # clamped to the band's edge, under the take profit it keeps
    session.amend_order(**BTC, orderId=full["orderId"], price=str(price - 1000))
    session.amend_order(**BTC, orderId=full["orderId"], takeProfit="0")  # "0" removes it
    row = session.get_open_orders(**BTC, orderId=full["orderId"])["result"]["list"][0]
    assert (row["takeProfit"], row["tpslMode"]) == ("", "")
