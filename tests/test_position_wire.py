"""``/v5/position/list`` through pybit: which positions are listed, and the numbers of a held one."""

from __future__ import annotations

import pytest
from pybit.exceptions import FailedRequestError

from tests.conftest import make_trader
from tests.test_trading_wire import client, ex, rejected  # noqa: F401  (ex is the fixture)


def test_position_list(ex) -> None:  # noqa: F811
    me, other = make_trader(ex), make_trader(ex, {"BTC": "10", "USDT": "100000"})
    session, maker = client(ex, me), client(ex, other)
    flat = session.get_positions(category="linear", symbol="ETHUSDT")["result"]
    assert flat["category"] == "linear" and len(flat["list"]) == 1  # a symbol answers even when flat
    row = flat["list"][0]
    assert (row["size"], row["side"], row["avgPrice"], row["seq"], row["positionIdx"]) == ("0", "", "0", -1, 0)
    assert rejected(lambda: session.get_positions(category="linear")) == (
        10001, "Request parameter error: symbol or settleCoin is required")
    with pytest.raises(FailedRequestError, match="ErrCode: 404"):  # a category the endpoint does not serve
        session.get_positions(category="spot", symbol="BTCUSDT")
    assert session.get_positions(category="linear", settleCoin="USDT")["result"]["list"] == []

    # a short of 0.1 BTC at 65000 against a resting bid, taker fee 0.055 %
    maker.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.1", price="65000")
    session.place_order(category="linear", symbol="BTCUSDT", side="Sell", orderType="Market", qty="0.1")
    held = session.get_positions(category="linear", settleCoin="USDT")["result"]["list"]
    assert [p["symbol"] for p in held] == ["BTCUSDT"]
    p = held[0]
    assert (p["side"], p["size"], p["avgPrice"], p["positionValue"]) == ("Sell", "0.1", "65000", "6500")
    assert p["positionIM"] == "650" and p["leverage"] == "10"  # 6500 / 10
    assert p["curRealisedPnl"] == p["cumRealisedPnl"] == "-3.575"  # 6500 x 0.055 %
    # break-even, Bybit's formula with qty -0.1: (65000 x -0.1 + 3.575) / (-0.1 - 0.1 x 0.00055)
    assert p["breakEvenPrice"] == "64928.53930338"  # 6496.425 / 0.100055
    # maintenance margin at the mark (65000 on a quiet exchange): 6500 x tier-1 MMR 0.5 %
    assert p["markPrice"] == "65000" and p["positionMM"] == "32.5" and p["riskId"] == 1
    assert p["unrealisedPnl"] == "0"
    # cross margin's estimate: (99996.425 + 6500) / (0.1 x 1.005) = 1059665.92..., at the tick towards the mark
    assert p["liqPrice"] == "1059665.9"
    # closing: cumRealisedPnl keeps the history, the flat position shows no entry
    maker.place_order(category="linear", symbol="BTCUSDT", side="Sell", orderType="Limit", qty="0.1", price="64500")
    session.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.1",
                        reduceOnly=True)
    closed = session.get_positions(category="linear", symbol="BTCUSDT")["result"]["list"][0]
    assert (closed["size"], closed["side"], closed["positionIM"]) == ("0", "", "0")
    assert closed["cumRealisedPnl"] == "42.8775"  # -3.575 + 50 profit - 3.5475 fee (6450 x 0.055 %)
    (record,) = session.get_closed_pnl(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert (record["side"], record["closedSize"], record["avgEntryPrice"], record["avgExitPrice"]) == (
        "Buy", "0.1", "65000", "64500")
    assert (record["cumEntryValue"], record["cumExitValue"], record["openFee"], record["closeFee"]) == (
        "6500", "6450", "3.575", "3.5475")
    assert record["closedPnl"] == "42.8775" and record["fillCount"] == "1" and record["execType"] == "Trade"
    assert session.get_positions(category="linear", settleCoin="USDT")["result"]["list"] == []
    inverse = session.get_positions(category="inverse", symbol="BTCUSD")["result"]["list"][0]
    assert inverse["size"] == "0" and inverse["symbol"] == "BTCUSD"
    # inverse: one fill at 65000 is an entry of exactly 65000 (the coin value 1000/65000 is rounded to 1e-8)
    coin_margined = client(ex, make_trader(ex, {"BTC": "1"}))
    maker.place_order(category="inverse", symbol="BTCUSD", side="Sell", orderType="Limit", qty="1000", price="65000")
    coin_margined.place_order(category="inverse", symbol="BTCUSD", side="Buy", orderType="Market", qty="1000")
    inverse = coin_margined.get_positions(category="inverse", symbol="BTCUSD")["result"]["list"][0]
    assert (inverse["size"], inverse["avgPrice"], inverse["positionValue"]) == ("1000", "65000", "0.01538462")
    maker.place_order(category="inverse", symbol="BTCUSD", side="Buy", orderType="Limit", qty="1000", price="64000.5")
    coin_margined.place_order(category="inverse", symbol="BTCUSD", side="Sell", orderType="Market", qty="1000")
    (record,) = coin_margined.get_closed_pnl(category="inverse", symbol="BTCUSD")["result"]["list"]
    assert (record["avgEntryPrice"], record["avgExitPrice"]) == ("65000", "64000.5")  # the fill prices, exactly
