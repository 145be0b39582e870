"""The risk refusals through pybit, each from the situation that causes it: a price beyond the liquidation price,
positions that already need more margin than the account has, isolated margin changes that would liquidate or
leave a position on unrealised profit alone, wallet vs available balance, portfolio margin's refusals."""

from __future__ import annotations

from tests.conftest import make_trader
from tests.test_risk_wire import BTC, set_prices
from tests.test_trading_wire import client, ex, rejected  # noqa: F401  (ex is the fixture)


def open_long(ex, balance: str = "1000", *, isolated: bool = False, side: str = "Buy"):  # noqa: F811
    """A 0.1 BTC position at 65000, 10x, on ``balance`` USDT."""
    set_prices(ex, "65000")
    me, mm = make_trader(ex, {"USDT": balance}), make_trader(ex, {"USDT": "1000000"})
    session, maker = client(ex, me), client(ex, mm)
    if isolated:
        session.set_margin_mode(setMarginMode="ISOLATED_MARGIN")
    maker.place_order(**BTC, side="Sell" if side == "Buy" else "Buy", orderType="Limit", qty="0.1", price="65000")
    session.place_order(**BTC, side=side, orderType="Market", qty="0.1")
    return session, maker


def test_prices_beyond_the_liquidation_price_and_negative_available(ex) -> None:  # noqa: F811
    session, _ = open_long(ex)
    liq = session.get_positions(**BTC)["result"]["list"][0]["liqPrice"]
    assert 55000 < float(liq) < 56000
    code, msg = rejected(lambda: session.place_order(**BTC, side="Buy", orderType="Limit", qty="0.001",
                                                     price="55000"))
    assert (code, msg) == (110040, "The order will trigger a forced liquidation, please re-submit the order.: "
                                   f"the position's liquidation price is {liq}")
    resting = session.place_order(**BTC, side="Buy", orderType="Limit", qty="0.001", price="60000")["result"]
    assert rejected(lambda: session.amend_order(**BTC, orderId=resting["orderId"], price="55000"))[0] == 110040
    session.cancel_order(**BTC, orderId=resting["orderId"])
    # at a mark of 60000 the position (IM 600, loss 500) needs more than the 996.425 wallet: nothing new opens,
    # though the account is far from its maintenance margin (30)
    set_prices(ex, "60000")
    assert session.get_positions(**BTC)["result"]["list"][0]["size"] == "0.1"
    assert rejected(lambda: session.place_order(**BTC, side="Buy", orderType="Limit", qty="0.001",
                                                price="59000")) == (
        110006, "The assets are estimated to be unable to cover the position margin: USDT available balance is "
                "negative")
    # closing still works: it needs no margin
    assert session.place_order(**BTC, side="Sell", orderType="Limit", qty="0.05", price="61000",
                               reduceOnly=True)["retCode"] == 0


def test_close_on_trigger_needs_a_position(ex) -> None:  # noqa: F811
    session = client(ex, make_trader(ex, {"USDT": "1000"}))
    assert rejected(lambda: session.place_order(**BTC, side="Sell", orderType="Market", qty="0.01",
                                                closeOnTrigger=True)) == (
        110034, "There is no net position: a close-on-trigger order needs a position to close")


def test_isolated_margin_changes_that_would_liquidate(ex) -> None:  # noqa: F811
    # a profitable long: at 100x its margin (65) would be below its maintenance margin at 140000 (70),
    # kept above it only by the unrealised profit
    session, _ = open_long(ex, isolated=True)
    set_prices(ex, "140000")
    assert rejected(lambda: session.set_leverage(**BTC, buyLeverage="100", sellLeverage="100")) == (
        110039, "Maintenance margin rate is too high. This may trigger liquidation.: the position's margin would be "
                "below its maintenance margin")
    assert session.set_leverage(**BTC, buyLeverage="50", sellLeverage="50")["retCode"] == 0  # 130 > 70

    # a losing short: margin 650, loss 500 at 70000, maintenance 35
    session, _ = open_long(ex, isolated=True, side="Sell")
    set_prices(ex, "70000")
    assert rejected(lambda: session.set_leverage(**BTC, buyLeverage="50", sellLeverage="50")) == (
        110011, "Liquidation will be triggered immediately by this adjustment: the position's margin would not "
                "cover its maintenance margin")
    # adding margin: more than the available balance (346.4), more than the wallet (996.4)
    assert rejected(lambda: session.add_or_reduce_margin(**BTC, margin="500"))[0] == 110014
    assert rejected(lambda: session.add_or_reduce_margin(**BTC, margin="2000")) == (
        110045, "Wallet balance is insufficient.: the USDT wallet holds 996.425")
    session.add_or_reduce_margin(**BTC, margin="100")
    set_prices(ex, "71500")  # loss 650: the 750 of margin still cover the 35.75 maintenance margin
    assert session.get_positions(**BTC)["result"]["list"][0]["size"] == "0.1"
    assert rejected(lambda: session.add_or_reduce_margin(**BTC, margin="-100")) == (
        110046, "Liquidation will be triggered immediately by this adjustment.: the position's margin would not "
                "cover its maintenance margin")


def test_portfolio_margin_refusals(ex) -> None:  # noqa: F811
    set_prices(ex, "65000")
    me, mm = make_trader(ex, {"USDT": "100000"}), make_trader(ex, {"USDT": "100000"})
    session, maker = client(ex, me), client(ex, mm)
    assert session.set_margin_mode(setMarginMode="PORTFOLIO_MARGIN")["result"] == {"reasons": []}
    assert session.get_account_info()["result"]["marginMode"] == "PORTFOLIO_MARGIN"
    assert rejected(lambda: session.set_leverage(**BTC, buyLeverage="5", sellLeverage="5")) == (
        110038, "You are not allowed to change leverage due to portfolio margin mode.")
    assert rejected(lambda: session.set_risk_limit(**BTC, riskId=2))[0] == 110077
    assert rejected(lambda: session.set_auto_add_margin(**BTC, autoAddMargin=1))[0] == 110077
    maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.1", price="65000")
    session.place_order(**BTC, side="Buy", orderType="Market", qty="0.1")  # margined as cross margin
    assert rejected(lambda: session.add_or_reduce_margin(**BTC, margin="10")) == (
        110077, "Pm mode cannot support: margin is added to isolated positions only")
