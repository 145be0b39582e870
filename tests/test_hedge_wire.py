"""Hedge mode through real clients: /v5/position/switch-mode and its refusals, both sides of one symbol held at
once, closing orders that only reduce their side, leverage per side, TP/SL per side."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import ccxt_sync, make_trader
from tests.test_trading_wire import client, ex, rejected  # noqa: F401  (ex is the fixture)

BTC = {"category": "linear", "symbol": "BTCUSDT"}
ETH = {"category": "linear", "symbol": "ETHUSDT"}


def test_switch_mode_rules(ex) -> None:  # noqa: F811
    me, other = make_trader(ex, {"USDT": "100000"}), make_trader(ex, {"USDT": "100000"})
    session, maker = client(ex, me), client(ex, other)
    assert rejected(lambda: session.switch_position_mode(**BTC, mode=0)) == (
        110025, "Position mode has not been modified.")
    assert rejected(lambda: session.switch_position_mode(category="inverse", symbol="BTCUSD", mode=3)) == (
        110029, "Hedge mode is not supported for this symbol.")
    assert rejected(lambda: session.switch_position_mode(**BTC, mode=1))[0] == 10001
    assert rejected(lambda: session.switch_position_mode(category="linear", mode=3))[0] == 10001  # no symbol/coin
    # positionIdx must match the mode: 1/2 in one-way mode are refused
    assert rejected(lambda: session.place_order(**BTC, side="Buy", orderType="Limit", qty="0.01", price="50000",
                                                positionIdx=1)) == (
        10001, "Request parameter error: position idx not match position mode")

    order = session.place_order(**BTC, side="Buy", orderType="Limit", qty="0.01", price="50000")["result"]
    assert rejected(lambda: session.switch_position_mode(**BTC, mode=3)) == (
        110028, "You have existing open orders, so the position mode cannot be switched.")
    session.cancel_order(**BTC, orderId=order["orderId"])
    price = maker.get_tickers(**BTC)["result"]["list"][0]["markPrice"]
    maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.01", price=price)
    session.place_order(**BTC, side="Buy", orderType="Market", qty="0.01")
    assert rejected(lambda: session.switch_position_mode(**BTC, mode=3)) == (
        110024, "You have an existing position, so the position mode cannot be switched.")
    # a coin-level switch leaves the busy symbol as it is and switches the others
    assert session.switch_position_mode(category="linear", coin="USDT", mode=3)["retCode"] == 0
    assert [r["positionIdx"] for r in session.get_positions(**BTC)["result"]["list"]] == [0]
    assert [r["positionIdx"] for r in session.get_positions(**ETH)["result"]["list"]] == [1, 2]
    assert rejected(lambda: session.switch_position_mode(**ETH, mode=3))[0] == 110025


def test_both_sides_of_a_symbol_at_once(ex) -> None:  # noqa: F811
    me, other = make_trader(ex, {"USDT": "100000"}), make_trader(ex, {"USDT": "100000"})
    session, maker = client(ex, me), client(ex, other)
    session.set_leverage(**BTC, buyLeverage="4", sellLeverage="4")
    assert session.switch_position_mode(**BTC, mode=3)["retCode"] == 0
    rows = session.get_positions(**BTC)["result"]["list"]
    assert [(r["positionIdx"], r["size"], r["leverage"]) for r in rows] == [(1, "0", "4"), (2, "0", "4")]
    assert rejected(lambda: session.place_order(**BTC, side="Buy", orderType="Market", qty="0.01"))[0] == 10001

    price = Decimal(maker.get_tickers(**BTC)["result"]["list"][0]["markPrice"])
    maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.03", price=str(price))
    maker.place_order(**BTC, side="Buy", orderType="Limit", qty="0.05", price=str(price - 10))
    session.place_order(**BTC, side="Buy", orderType="Market", qty="0.03", positionIdx=1)  # long 0.03
    session.place_order(**BTC, side="Sell", orderType="Market", qty="0.02", positionIdx=2)  # short 0.02
    rows = {r["positionIdx"]: r for r in session.get_positions(**BTC)["result"]["list"]}
    assert (rows[1]["side"], rows[1]["size"]) == ("Buy", "0.03")
    assert (rows[2]["side"], rows[2]["size"]) == ("Sell", "0.02")
    assert rows[1]["liqPrice"] == rows[2]["liqPrice"]  # cross margin: both sides move with the one mark
    # a closing order carries no TP/SL: the position it reduces keeps its own
    assert rejected(lambda: session.place_order(**BTC, side="Sell", orderType="Market", qty="0.01", positionIdx=1,
                                                stopLoss=str(price + 1000)))[0] == 110057

    # a sell on the long side closes it, reduce-only: more than the position is cut to the position
    reply = session.place_order(**BTC, side="Sell", orderType="Market", qty="0.05", positionIdx=1)["result"]
    closed = session.get_order_history(**BTC, orderId=reply["orderId"])["result"]["list"][0]
    assert closed["reduceOnly"] is True and closed["cumExecQty"] == "0.03" and closed["positionIdx"] == 1
    rows = {r["positionIdx"]: r for r in session.get_positions(**BTC)["result"]["list"]}
    assert rows[1]["size"] == "0" and rows[2]["size"] == "0.02"  # the short side is untouched
    # nothing left to close on the long side
    assert rejected(lambda: session.place_order(**BTC, side="Sell", orderType="Market", qty="0.01",
                                                positionIdx=1))[0] == 110017

    # per-side TP/SL: positionIdx picks the side; the short's stop loss is above the price
    assert session.set_trading_stop(**BTC, positionIdx=2, stopLoss=str(price + 5000))["retCode"] == 0
    assert rejected(lambda: session.set_trading_stop(**BTC, positionIdx=0, stopLoss=str(price + 5000)))[0] == 10001
    rows = {r["positionIdx"]: r for r in session.get_positions(**BTC)["result"]["list"]}
    assert Decimal(rows[2]["stopLoss"]) == price + 5000 and rows[1]["stopLoss"] == ""
    stops = session.get_open_orders(**BTC, orderFilter="StopOrder")["result"]["list"]
    assert [(o["stopOrderType"], o["positionIdx"], o["side"]) for o in stops] == [("StopLoss", 2, "Buy")]

    # with a position on either side the mode stays
    assert rejected(lambda: session.switch_position_mode(**BTC, mode=0))[0] == 110024
    # cross margin: one leverage for both sides
    assert rejected(lambda: session.set_leverage(**BTC, buyLeverage="4", sellLeverage="6")) == (
        110036, "You are not allowed to change leverage due to cross margin mode.: buyLeverage must equal "
                "sellLeverage in cross margin mode")


def test_isolated_hedge_sides_have_their_own_leverage_and_ccxt_sees_hedged_positions(ex) -> None:  # noqa: F811
    me, other = make_trader(ex, {"USDT": "100000"}), make_trader(ex, {"USDT": "100000"})
    session, maker = client(ex, me), client(ex, other)
    assert session.set_margin_mode(setMarginMode="ISOLATED_MARGIN")["retCode"] == 0
    trader = ccxt_sync(ex, me.api_key, me.api_secret)
    trader.load_markets()
    trader.set_position_mode(True, "BTC/USDT:USDT")  # /v5/position/switch-mode, mode 3
    assert session.set_leverage(**BTC, buyLeverage="5", sellLeverage="10")["retCode"] == 0
    price = Decimal(maker.get_tickers(**BTC)["result"]["list"][0]["markPrice"])
    maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.1", price=str(price))
    maker.place_order(**BTC, side="Buy", orderType="Limit", qty="0.1", price=str(price - 10))
    # ccxt's hedged orders: positionIdx 1 for a buy, 2 for a sell
    trader.create_order("BTC/USDT:USDT", "market", "buy", 0.1, None, {"hedged": True})
    trader.create_order("BTC/USDT:USDT", "market", "sell", 0.1, None, {"hedged": True})
    held = {p["side"]: p for p in trader.fetch_positions(["BTC/USDT:USDT"])}
    assert held["long"]["hedged"] is True and held["short"]["hedged"] is True
    assert held["long"]["leverage"] == 5 and held["short"]["leverage"] == 10
    # each side's isolated margin is its entry value / its leverage
    rows = {r["positionIdx"]: r for r in session.get_positions(**BTC)["result"]["list"]}
    assert Decimal(rows[1]["positionIM"]) == price * Decimal("0.1") / 5
    assert Decimal(rows[2]["positionIM"]) == (price - 10) * Decimal("0.1") / 10
    # margin is added to one side: positionIdx says which
    assert session.add_or_reduce_margin(**BTC, margin="10", positionIdx=2)["result"]["positionIdx"] == 2
    rows = {r["positionIdx"]: r for r in session.get_positions(**BTC)["result"]["list"]}
    assert Decimal(rows[2]["positionIM"]) == (price - 10) * Decimal("0.1") / 10 + 10
    # ccxt closes a hedged long with reduceOnly: positionIdx 1, a sell
    maker.place_order(**BTC, side="Buy", orderType="Limit", qty="0.1", price=str(price - 20))
    trader.create_order("BTC/USDT:USDT", "market", "sell", 0.1, None, {"hedged": True, "reduceOnly": True})
    sides = {p["side"] for p in trader.fetch_positions(["BTC/USDT:USDT"]) if p["contracts"]}
    assert sides == {"short"}
