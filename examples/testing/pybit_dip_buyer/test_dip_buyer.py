"""The dip buyer against a paperex venue: the ``paperex`` fixture gives each test a fresh exchange (virtual
time from 2026-01-01, BTCUSDT at 65,000, empty books), in milliseconds."""

from decimal import Decimal

import pytest
from dip_buyer import DipBuyer

BTC = {"category": "linear", "symbol": "BTCUSDT"}


@pytest.fixture()
def account(paperex):
    return paperex.account({"USDT": "10000"})


@pytest.fixture()
def bot(account):
    return DipBuyer(account.pybit())


@pytest.fixture()
def other(paperex):
    """Someone to trade with: a paperex venue without the living market has empty books."""
    return paperex.account({"USDT": "1000000"}).pybit()


def position(session):
    return session.get_positions(**BTC)["result"]["list"][0]


def test_buys_the_dip_then_protects_the_position(bot, other):
    bot.step()  # rests a buy 1% under the mark (65,000)
    [order] = bot.session.get_open_orders(**BTC)["result"]["list"]
    assert Decimal(order["price"]) == 64350 and order["orderLinkId"] == "dip-1"

    other.place_order(**BTC, side="Sell", orderType="Market", qty="0.01")  # someone sells into the bid
    bot.step()  # sees the fill: sets the stop-loss 2% under it, the take-profit 3% over it

    held = position(bot.session)
    assert held["side"] == "Buy" and held["size"] == "0.01" and Decimal(held["avgPrice"]) == 64350
    assert Decimal(held["stopLoss"]) == Decimal("63063") and Decimal(held["takeProfit"]) == Decimal("66280.5")
    assert bot.state == "holding"


def test_the_stop_loss_closes_the_position_when_the_price_falls(paperex, bot, other):
    bot.step()
    other.place_order(**BTC, side="Sell", orderType="Market", qty="0.01")
    bot.step()
    other.place_order(**BTC, side="Buy", orderType="Limit", qty="0.01", price="63000")  # a bid to sell into

    paperex.set_price("BTCUSDT", index="62900")  # the mark falls through the stop (63,063): it fires now

    assert position(bot.session)["size"] == "0"
    bot.step()  # notices, records the round's result
    # bought 0.01 at 64,350 (maker fee 0.02%), sold at 63,000 by the stop (taker fee 0.055%)
    assert bot.results == [Decimal("-13.5") - Decimal("0.1287") - Decimal("0.3465")]
    wallet = bot.session.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]
    assert Decimal(wallet["totalWalletBalance"]) == 10000 + bot.results[0]
    bot.step()  # and starts again, under the new mark
    assert bot.state == "waiting" and bot.entry_link_id == "dip-2"


@pytest.mark.parametrize("applied", [True, False], ids=["placed-then-timeout", "timeout-not-placed"])
def test_a_timeout_on_create_never_doubles_the_order(paperex, account, bot, applied):
    # The next order/create answers 10000 "Server Timeout". applied=True: the order was placed anyway (the
    # client cannot know); applied=False: it was not.
    paperex.fault("/v5/order/create", code=10000, applied=applied)

    bot.step()

    orders = bot.session.get_open_orders(**BTC)["result"]["list"]
    assert len(orders) == 1, "one buy on the book, whatever the timeout hid"
    assert orders[0]["orderLinkId"] == bot.entry_link_id  # and it is the one the bot follows
    assert bot.state == "waiting"
    creates = [r["retCode"] for r in account.requests() if r["path"] == "/v5/order/create"]
    assert creates == ([10000] if applied else [10000, 0])  # it resent only when the first never arrived
