"""Bybit's semantics where paperex used to differ, through real pybit and ccxt: the price band clamps futures orders
by default (set-limit-px-action / user-setting-config switch it), order history lists closed orders only, cancel-all
refuses a coin that names nothing, fee-rate without a category, and the newer reply fields (openTime, execFeeV2)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ccxt.test.exchange.base.test_order import test_order as ccxt_test_order
from ccxt.test.exchange.sync.test_fetch_closed_orders import test_fetch_closed_orders as ccxt_test_fetch_closed_orders
from ccxt.test.exchange.sync.test_fetch_trading_fee import test_fetch_trading_fee as ccxt_test_fetch_trading_fee
from ccxt.test.exchange.sync.test_fetch_trading_fees import test_fetch_trading_fees as ccxt_test_fetch_trading_fees

from paperex.core import snapshot
from paperex.core.commands import CreateAccount, SetLimitPriceAction
from paperex.core.engine import Exchange
from paperex.data import load_market
from paperex.errors import ApiError
from tests.conftest import Trader, ccxt_sync, make_trader, pybit_http
from tests.serverproc import ServerProcess
from tests.test_trading_wire import rejected

BTC = {"category": "linear", "symbol": "BTCUSDT"}
DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def ex(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A virtual clock (the history's 24-hour rule is checked by moving it) and no living market: mark = index =
    65000 for BTCUSDT, whose band is X = 1 %, Y = 2 %: max buy 65650, min sell 64350."""
    tmp = tmp_path_factory.mktemp("semantics")
    config = Path(tmp) / "virtual.toml"
    config.write_text('[clock]\nmode = "virtual"\nstart = "2026-01-01T00:20:00Z"\n[market]\nenabled = false\n')
    server = ServerProcess(Path(tmp) / "data", ["--no-demo", "--config", str(config)]).start()
    yield server
    server.stop()


def session_of(server: ServerProcess, trader: Trader):
    return pybit_http(server, trader.api_key, trader.api_secret)


def one_order(session, order_id: str, **where) -> dict:
    (row,) = session.get_open_orders(**{**BTC, **where}, orderId=order_id)["result"]["list"]
    return row


# -- the price band --------------------------------------------------------------------------------------------
def test_futures_clamp_an_out_of_band_price_by_default(ex) -> None:
    s = session_of(ex, make_trader(ex, {"USDT": "100000", "BTC": "1"}))
    assert s.get_user_setting_config()["result"] == {"lpaSpot": False, "lpaPerp": False, "deltaEnable": False,
                                                      "smsef": False, "fmsef": False}
    buy = s.place_order(**BTC, side="Buy", orderType="Limit", qty="0.01", price="70000")
    assert buy["retCode"] == 0
    row = one_order(s, buy["result"]["orderId"])
    assert (row["price"], row["orderStatus"]) == ("65650", "New")  # at the band's edge, as Bybit moves it
    # an amend to an out-of-band price is moved the same way; an in-band one is kept
    s.amend_order(**BTC, orderId=buy["result"]["orderId"], price="65000")
    assert one_order(s, buy["result"]["orderId"])["price"] == "65000"
    s.amend_order(**BTC, orderId=buy["result"]["orderId"], price="99000")
    assert one_order(s, buy["result"]["orderId"])["price"] == "65650"
    s.cancel_all_orders(**BTC)
    sell = s.place_order(**BTC, side="Sell", orderType="Limit", qty="0.01", price="60000")["result"]["orderId"]
    assert one_order(s, sell)["price"] == "64350"
    s.amend_order(**BTC, orderId=sell, price="50000")
    assert one_order(s, sell)["price"] == "64350"
    # inverse too (futures): BTCUSD's band around its own mark
    inv = {"category": "inverse", "symbol": "BTCUSD"}
    mark = float(s.get_tickers(**inv)["result"]["list"][0]["markPrice"])
    placed = s.place_order(**inv, side="Buy", orderType="Limit", qty="100", price=str(round(mark * 1.5)))
    assert float(one_order(s, placed["result"]["orderId"], **inv)["price"]) < mark * 1.5
    s.cancel_all_orders(category="inverse", symbol="BTCUSD")
    s.cancel_all_orders(**BTC)


def test_set_limit_px_action_switches_between_clamp_and_reject(ex) -> None:
    s = session_of(ex, make_trader(ex))
    # spot refuses by default
    spot = {"category": "spot", "symbol": "BTCUSDT"}
    code, msg = rejected(lambda: s.place_order(**spot, side="Buy", orderType="Limit", qty="0.001", price="90000"))
    assert code == 110003 and msg.startswith("Order price exceeds the allowable range.")
    assert s.set_limit_price_action(category="spot", modifyEnable=True) == {
        **s.set_limit_price_action(category="spot", modifyEnable=True), "retCode": 0, "result": {}}
    assert s.get_user_setting_config()["result"]["lpaSpot"] is True
    placed = s.place_order(**spot, side="Buy", orderType="Limit", qty="0.001", price="90000")["result"]["orderId"]
    # spot's band is around the index: max buy = min(max(index, index x 1.005), index x 1.01)
    assert one_order(s, placed, **spot)["price"] == "65325"
    s.cancel_all_orders(category="spot")
    # linear (or inverse) sets every futures category to refuse: lpaPerp true means "reject"
    assert s.set_limit_price_action(category="inverse", modifyEnable=False)["retCode"] == 0
    assert s.get_user_setting_config()["result"] == {"lpaSpot": True, "lpaPerp": True, "deltaEnable": False,
                                                      "smsef": False, "fmsef": False}
    assert rejected(lambda: s.place_order(**BTC, side="Buy", orderType="Limit", qty="0.01", price="70000"))[0] == (
        110003)
    oid = s.place_order(**BTC, side="Buy", orderType="Limit", qty="0.01", price="65000")["result"]["orderId"]
    assert rejected(lambda: s.amend_order(**BTC, orderId=oid, price="70000"))[0] == 110003
    assert one_order(s, oid)["price"] == "65000"  # a refused amend changes nothing
    assert s.set_limit_price_action(category="linear", modifyEnable=True)["retCode"] == 0
    assert s.get_user_setting_config()["result"]["lpaPerp"] is False
    s.amend_order(**BTC, orderId=oid, price="70000")
    assert one_order(s, oid)["price"] == "65650"
    s.cancel_all_orders(**BTC)
    # other accounts keep Bybit's defaults
    assert session_of(ex, make_trader(ex)).get_user_setting_config()["result"]["lpaPerp"] is False


@pytest.mark.parametrize(("body", "detail"), [
    ({"category": "option", "modifyEnable": True}, "category must be one of linear, inverse, spot"),
    ({"modifyEnable": True}, "category is required"),
    ({"category": "linear"}, "modifyEnable is required"),
    ({"category": "linear", "modifyEnable": "yes"}, "modifyEnable must be a boolean"),
])
def test_set_limit_px_action_bad_input(ex, body, detail) -> None:
    s = session_of(ex, make_trader(ex))
    assert rejected(lambda: s.set_limit_price_action(**body)) == (10001, f"Request parameter error: {detail}")


def test_the_setting_is_journaled_and_in_snapshots() -> None:
    market = load_market()
    core = Exchange(market)
    core.apply(CreateAccount(uid=100_000_001, balances={}), 1)
    before = core.digest()
    core.apply(SetLimitPriceAction(uid=100_000_001, category="linear", modify_enable=False), 2)
    core.apply(SetLimitPriceAction(uid=100_000_001, category="spot", modify_enable=True), 3)
    assert core.digest() != before
    with pytest.raises(ApiError):
        core.apply(SetLimitPriceAction(uid=100_000_001, category="option", modify_enable=True), 4)
    restored = snapshot.load(market, snapshot.dump(core))
    assert restored.digest() == core.digest()
    account = restored.accounts[100_000_001]
    assert (account.clamp_futures, account.clamp_spot) == (False, True)


# -- order history: closed orders only ------------------------------------------------------------------------
def test_order_history_lists_closed_orders_only(ex) -> None:
    maker_t, taker_t = make_trader(ex), make_trader(ex)
    maker, taker = session_of(ex, maker_t), session_of(ex, taker_t)
    resting = maker.place_order(**BTC, side="Buy", orderType="Limit", qty="0.01", price="64000")["result"]["orderId"]
    partial = maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.02", price="65100")["result"]["orderId"]
    cancelled = maker.place_order(**BTC, side="Buy", orderType="Limit", qty="0.01", price="63000")["result"]["orderId"]
    maker.cancel_order(**BTC, orderId=cancelled)
    filled = taker.place_order(**BTC, side="Buy", orderType="Market", qty="0.01")["result"]["orderId"]
    history = maker.get_order_history(**BTC)["result"]["list"]
    assert [(h["orderId"], h["orderStatus"]) for h in history] == [(cancelled, "Cancelled")]
    # New and PartiallyFilled stay in /v5/order/realtime
    assert {o["orderId"] for o in maker.get_open_orders(**BTC)["result"]["list"]} == {resting, partial}
    assert maker.get_order_history(**BTC, orderStatus="New")["result"]["list"] == []
    assert maker.get_order_history(**BTC, orderId=resting)["result"]["list"] == []
    assert [h["orderStatus"] for h in taker.get_order_history(**BTC, orderStatus="Filled")["result"]["list"]] == [
        "Filled"]
    assert taker.get_order_history(**BTC)["result"]["list"][0]["orderId"] == filled
    # ccxt: closed, canceled and both, each through its validator
    cx = ccxt_sync(ex, maker_t.api_key, maker_t.api_secret)
    cx.load_markets()
    symbol = "BTC/USDT:USDT"
    skips = {"fees": True}  # ccxt fills only `fee`, not `fees`, for bybit orders
    maker.cancel_order(**BTC, orderId=partial)  # PartiallyFilled, then cancelled: a closed order with a fill
    ccxt_test_fetch_closed_orders(cx, skips, symbol)
    both = cx.fetch_canceled_and_closed_orders(symbol)  # ccxt's fetch_orders says "not supported" for bybit
    assert {o["id"] for o in both} == {cancelled, partial}  # the taker's fill is the other account's
    for order in both:
        ccxt_test_order(cx, skips, "fetchCanceledAndClosedOrders", order, symbol, cx.milliseconds())
    canceled = cx.fetch_canceled_orders(symbol)
    assert {o["id"] for o in canceled} == {cancelled, partial}
    for order in canceled:
        ccxt_test_order(cx, skips, "fetchCanceledOrders", order, symbol, cx.milliseconds())
    maker.cancel_all_orders(**BTC)


def test_history_keeps_unfilled_closed_orders_for_24_hours(ex) -> None:
    maker_t, taker_t = make_trader(ex), make_trader(ex)
    maker, taker = session_of(ex, maker_t), session_of(ex, taker_t)
    gone = maker.place_order(**BTC, side="Buy", orderType="Limit", qty="0.01", price="63000")["result"]["orderId"]
    maker.cancel_order(**BTC, orderId=gone)
    kept = maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.01", price="65200")["result"]["orderId"]
    taker.place_order(**BTC, side="Buy", orderType="Market", qty="0.01")
    assert {h["orderId"] for h in maker.get_order_history(**BTC)["result"]["list"]} == {gone, kept}
    assert ex.admin("POST", "/admin/v1/clock/advance", {"ms": DAY_MS + 60_000})["retCode"] == 0
    assert [h["orderId"] for h in maker.get_order_history(**BTC)["result"]["list"]] == [kept]
    taker.place_order(**BTC, side="Sell", orderType="Market", qty="0.01")  # flat again (the market is empty)


# -- cancel-all -----------------------------------------------------------------------------------------------
def test_cancel_all_refuses_a_coin_that_names_nothing(ex) -> None:
    s = session_of(ex, make_trader(ex))
    oid = s.place_order(**BTC, side="Buy", orderType="Limit", qty="0.01", price="64000")["result"]["orderId"]
    for params in ({"settleCoin": "XYZ"}, {"settleCoin": "BTC"}, {"baseCoin": "NOPE"}, {"baseCoin": "USDT"}):
        assert rejected(lambda p=params: s.cancel_all_orders(category="linear", **p)) == (110050, "Invalid coin")
    assert rejected(lambda: s.cancel_all_orders(category="inverse", settleCoin="USDT")) == (110050, "Invalid coin")
    assert s.get_open_orders(**BTC)["result"]["list"][0]["orderId"] == oid  # nothing was cancelled
    # a real coin with no orders: success, nothing listed
    assert s.cancel_all_orders(category="linear", baseCoin="ETH")["result"] == {"list": [], "success": "1"}
    # symbol > baseCoin > settleCoin: only the first given counts (Bybit's priority)
    done = s.cancel_all_orders(category="linear", symbol="BTCUSDT", settleCoin="XYZ")["result"]["list"]
    assert [d["orderId"] for d in done] == [oid]


# -- fee-rate ---------------------------------------------------------------------------------------------------
def test_fee_rate_without_category(ex) -> None:
    t = make_trader(ex)
    s = session_of(ex, t)
    whole = s.get_fee_rates()["result"]
    assert "category" not in whole  # the derivatives shape
    listed = [i["symbol"] for c in ("linear", "inverse") for i in s.get_instruments_info(category=c)["result"]["list"]]
    assert [r["symbol"] for r in whole["list"]] == listed  # linear then inverse, dated futures included
    assert {"BTCUSDT", "DOGEUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "BTCUSD", "ETHUSD"} < set(listed)
    assert all((r["takerFeeRate"], r["makerFeeRate"]) == ("0.00055", "0.0002") for r in whole["list"])
    assert s.get_fee_rates(symbol="ETHUSDT")["result"] == {
        "list": [{"symbol": "ETHUSDT", "takerFeeRate": "0.00055", "makerFeeRate": "0.0002"}]}
    assert s.get_fee_rates(symbol="BTCUSD")["result"]["list"][0]["symbol"] == "BTCUSD"
    assert rejected(lambda: s.get_fee_rates(symbol="NOPEUSDT")) == (
        10001, "Request parameter error: symbol NOPEUSDT does not exist")
    assert s.get_fee_rates(category="spot", symbol="BTCUSDT")["result"]["category"] == "spot"
    cx = ccxt_sync(ex, t.api_key, t.api_secret)
    cx.load_markets()
    ccxt_test_fetch_trading_fees(cx, {})
    ccxt_test_fetch_trading_fee(cx, {}, "BTC/USDT:USDT")
    ccxt_test_fetch_trading_fee(cx, {}, "BTC/USDT")


# -- newer fields --------------------------------------------------------------------------------------------------
def test_open_time_and_exec_fee_v2(ex) -> None:
    maker_t, taker_t = make_trader(ex), make_trader(ex)
    maker, taker = session_of(ex, maker_t), session_of(ex, taker_t)

    def position() -> dict:
        return taker.get_positions(**BTC)["result"]["list"][0]

    assert position()["openTime"] == 0  # flat: an integer 0 (position.mdx)
    maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.03", price="65100")
    taker.place_order(**BTC, side="Buy", orderType="Market", qty="0.01")
    (fill,) = taker.get_executions(**BTC)["result"]["list"]
    assert fill["execFeeV2"] == ""  # only FutureSpread executions carry a spot leg's fee
    opened = position()["openTime"]
    assert opened == int(fill["execTime"]) and isinstance(opened, int)
    ex.admin("POST", "/admin/v1/clock/advance", {"ms": 60_000})
    taker.place_order(**BTC, side="Buy", orderType="Market", qty="0.01")  # adding keeps the open time
    assert position()["openTime"] == opened
    maker.place_order(**BTC, side="Buy", orderType="Limit", qty="0.05", price="64900")
    taker.place_order(**BTC, side="Sell", orderType="Market", qty="0.02")  # closed
    assert position()["size"] == "0" and position()["openTime"] == 0
    ex.admin("POST", "/admin/v1/clock/advance", {"ms": 60_000})
    taker.place_order(**BTC, side="Sell", orderType="Market", qty="0.01")  # a new (short) position
    last = taker.get_executions(**BTC)["result"]["list"][0]
    assert position()["side"] == "Sell" and position()["openTime"] == int(last["execTime"]) > opened
    maker.cancel_all_orders(**BTC)
