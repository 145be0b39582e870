"""Derivatives risk through real clients: leverage, liquidation at the bankruptcy price, the insurance fund,
funding between two accounts. Prices move with the admin API; time with the virtual clock."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from tests.conftest import ccxt_sync, make_trader
from tests.serverproc import ServerProcess
from tests.test_trading_wire import client, ex, rejected  # noqa: F401  (ex is the fixture)

BTC = {"category": "linear", "symbol": "BTCUSDT"}


def set_prices(server: ServerProcess, index: str, mark: str | None = None) -> None:
    body = {**BTC, "indexPrice": index, **({"markPrice": mark} if mark else {})}
    reply = server.admin("POST", "/admin/v1/prices", body)
    assert reply["retCode"] == 0, reply


def test_set_leverage_rules(ex) -> None:  # noqa: F811
    me, other = make_trader(ex, {"USDT": "400000"}), make_trader(ex, {"USDT": "400000", "SOL": "10000"})
    session, maker = client(ex, me), client(ex, other)
    assert session.set_leverage(**BTC, buyLeverage="5", sellLeverage="5")["retCode"] == 0
    row = session.get_positions(**BTC)["result"]["list"][0]
    assert row["leverage"] == "5" and row["size"] == "0"
    assert rejected(lambda: session.set_leverage(**BTC, buyLeverage="5", sellLeverage="5")) == (
        110043, "Set leverage has not been modified.")
    for bad in ("0.5", "101", "12.345"):
        assert rejected(lambda b=bad: session.set_leverage(**BTC, buyLeverage=b, sellLeverage=b))[0] == 10001
    assert rejected(lambda: session.set_leverage(**BTC, buyLeverage="5", sellLeverage="6"))[0] == 10001

    # resting orders are re-costed: 7 bids of 1 BTC at 60000 hold 7 x (12000 IM + 66 fees) at 5x, but
    # 7 x 60066 = 420,462 at 1x, more than the 400,000 wallet
    for _ in range(7):
        session.place_order(**BTC, side="Buy", orderType="Limit", qty="1", price="60000")
    before = session.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]["totalInitialMargin"]
    assert rejected(lambda: session.set_leverage(**BTC, buyLeverage="1", sellLeverage="1")) == (
        110044, "Available margin is insufficient.: the new leverage needs more margin than is available")
    assert session.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]["totalInitialMargin"] == before
    session.set_leverage(**BTC, buyLeverage="50", sellLeverage="50")  # cheaper: the holds shrink
    after = session.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]["totalInitialMargin"]
    assert Decimal(after) < Decimal(before)

    # the risk tier caps leverage: 250,000 USDT of SOLUSDT is in tier 2 (limit 200,000 at 100x; 75x above)
    sol = {"category": "linear", "symbol": "SOLUSDT"}
    price = maker.get_tickers(**sol)["result"]["list"][0]["markPrice"]
    lots = (Decimal(250_000) / Decimal(price)).quantize(Decimal("0.1"))
    maker.place_order(**sol, side="Sell", orderType="Limit", qty=str(lots), price=price)
    session.place_order(**sol, side="Buy", orderType="Market", qty=str(lots))
    assert rejected(lambda: session.set_leverage(**sol, buyLeverage="90", sellLeverage="90")) == (
        110013, "Cannot set leverage due to risk limit level.: the position's risk tier allows at most 75.00x")
    assert session.set_leverage(**sol, buyLeverage="75", sellLeverage="75")["retCode"] == 0
    assert session.get_positions(**sol)["result"]["list"][0]["riskId"] == 2

    # ccxt's set_leverage sends the same request
    trader = ccxt_sync(ex, me.api_key, me.api_secret)
    trader.load_markets()
    trader.set_leverage(20, "BTC/USDT:USDT")
    assert trader.fetch_position("BTC/USDT:USDT")["leverage"] == 20


def test_liquidation_at_the_bankruptcy_price(ex) -> None:  # noqa: F811
    """0.1 BTC long from 65000 on 1000 USDT: at a mark of 55000 the equity (996.425 - 1000) no longer covers
    the maintenance margin; the position goes to the insurance fund at the price where the wallet is zero."""
    import aiohttp

    me = make_trader(ex, {"USDT": "1000"})
    mm = make_trader(ex, {"USDT": "1000000"})
    session, maker = client(ex, me), client(ex, mm)
    maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.1", price="65000")
    session.place_order(**BTC, side="Buy", orderType="Market", qty="0.1")
    resting = session.place_order(**BTC, side="Buy", orderType="Limit", qty="0.001", price="64000")["result"]
    wallet = session.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]["coin"][0]["walletBalance"]
    assert wallet == "996.425"  # the 0.055 % taker fee on 6500
    # the estimate: equity = MM where (p - 65000) x 0.1 + 996.425 = 0.005 x 0.1 x p -> p = 5503.575 / 0.0995
    assert session.get_positions(**BTC)["result"]["list"][0]["liqPrice"] == "55312.4"  # 55312.31, towards the mark

    async def watch_liquidations() -> list[dict]:
        async with aiohttp.ClientSession() as http, http.ws_connect(
                ex.base_url.replace("http", "ws") + "/v5/public/linear") as ws:
            await ws.send_str('{"op":"subscribe","args":["allLiquidation.BTCUSDT"]}')
            assert orjson.loads((await ws.receive(timeout=5)).data)["success"] is True
            # the mark falls in two steps: 60000 keeps the account (equity 496.4 > MM 30), 55000 does not
            await asyncio.to_thread(set_prices, ex, "60000")
            assert (await asyncio.to_thread(session.get_positions, **BTC))["result"]["list"][0]["size"] == "0.1"
            await asyncio.to_thread(maker.place_order, **BTC, side="Buy", orderType="Limit", qty="0.1",
                                    price="55040")  # where the fund will close what it takes over
            await asyncio.to_thread(set_prices, ex, "55000")
            while True:
                frame = orjson.loads((await ws.receive(timeout=5)).data)
                if frame.get("topic") == "allLiquidation.BTCUSDT":
                    return frame["data"]

    liquidations = asyncio.run(watch_liquidations())
    # bankruptcy price: (p - 65000) x 0.1 = -996.425 -> p = 55035.75, rounded down (against the long)
    assert [(x["S"], x["v"], x["p"]) for x in liquidations] == [("Buy", "0.1", "55035.7")]
    position = session.get_positions(**BTC)["result"]["list"][0]
    assert position["size"] == "0" and position["cumRealisedPnl"] == "-1000"  # everything, fee included
    coin = session.get_wallet_balance(accountType="UNIFIED")["result"]["list"]
    assert not coin or Decimal(coin[0]["coin"][0]["walletBalance"]) == 0
    orders = {o["orderId"]: o for o in session.get_order_history(category="linear")["result"]["list"]}
    assert orders[resting["orderId"]]["cancelType"] == "CancelAllBeforeLiq"
    bust = [o for o in orders.values() if o["createType"] == "CreateByTakeOver_PassThrough"]
    assert len(bust) == 1 and bust[0]["side"] == "Sell" and bust[0]["orderStatus"] == "Filled"
    (closed,) = session.get_closed_pnl(category="linear", symbol="BTCUSDT")["result"]["list"]
    assert (closed["execType"], closed["cumEntryValue"], closed["avgEntryPrice"], closed["avgExitPrice"]) == (
        "BustTrade", "6500", "65000", "55035.7")
    assert closed["closedPnl"] == "-1000"  # the wallet, fee included
    (entry,) = session.get_transaction_log(type="LIQUIDATION")["result"]["list"]
    assert (entry["cashFlow"], entry["cashBalance"], entry["tradePrice"]) == ("-996.425", "0", "55035.7")
    fills = session.get_executions(category="linear", execType="BustTrade")["result"]["list"]
    assert [(f["execPrice"], f["execQty"], f["execFee"], f["createType"]) for f in fills] == [
        ("55035.7", "0.1", "0", "CreateByTakeOver_PassThrough")]
    # the fund took the position over at 55035.7 and sold it to the 55040 bid (taker fee 0.055 % of 5504):
    # 0.43 - 3.0272 + the 0.005 the rounding left unpaid by the account
    insurance = session.get_insurance(coin="USDT")["result"]["list"][0]
    assert Decimal(insurance["balance"]) == Decimal("0.43") - Decimal("3.0272") - Decimal("0.005")
    # the maker's 55040 bid bought the 0.1 from the fund, closing the short it sold the account at 65000
    assert maker.get_positions(**BTC)["result"]["list"][0]["size"] == "0"
    fund_fill = maker.get_executions(**BTC, limit=1)["result"]["list"][0]
    assert (fund_fill["execPrice"], fund_fill["isMaker"]) == ("55040", True)
    health = ex.admin("GET", "/admin/v1/health")["result"]
    assert health["moneyConserved"] is True
    fund = ex.admin("GET", f"/admin/v1/accounts/{health['insuranceFundUid']}")["result"]
    assert fund["label"] == "insurance-fund" and fund["positions"] == []  # it sold what it took over


@pytest.fixture()
def virtual(tmp_path: Path):
    config = tmp_path / "virtual.toml"
    config.write_text('[clock]\nmode = "virtual"\nstart = "2026-01-01T00:00:00Z"\n[market]\nenabled = false\n')
    server = ServerProcess(tmp_path / "data", ["--no-demo", "--config", str(config)]).start()
    yield server
    server.stop()


def test_funding_flows_from_longs_to_shorts(virtual) -> None:
    long_key, short_key = make_trader(virtual), make_trader(virtual)
    long_, short = client(virtual, long_key), client(virtual, short_key)
    short.place_order(**BTC, side="Sell", orderType="Limit", qty="0.1", price="65000")
    long_.place_order(**BTC, side="Buy", orderType="Market", qty="0.1")
    ticker = long_.get_tickers(**BTC)["result"]["list"][0]
    assert ticker["fundingRate"] == "0.0001" and ticker["nextFundingTime"] == "1767254400000"  # 08:00 UTC

    def wallet(session) -> Decimal:
        return Decimal(session.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]["coin"][0]
                       ["walletBalance"])

    before = wallet(long_), wallet(short)
    # mark 0.1 % over the index for the whole interval: rate = 0.001 + clamp(0.0001 - 0.001, +-0.0005) = 0.0005
    set_prices(virtual, "65000", "65065")
    virtual.admin("POST", "/admin/v1/clock/advance", {"ms": 8 * 3_600_000})
    history = long_.get_funding_rate_history(**BTC)["result"]["list"]
    assert [(h["fundingRate"], h["fundingRateTimestamp"]) for h in history] == [("0.0005", "1767254400000")]
    paid = before[0] - wallet(long_)
    received = wallet(short) - before[1]
    assert paid == received == Decimal("3.25325")  # 0.1 x 65065 x 0.0005
    funding = long_.get_executions(category="linear", execType="Funding")["result"]["list"]
    assert [(f["execFee"], f["execType"], f["orderType"], f["execTime"]) for f in funding] == [
        ("3.25325", "Funding", "UNKNOWN", "1767254400000")]
    assert short.get_executions(category="linear", execType="Funding")["result"]["list"][0]["execFee"] == "-3.25325"
    position = long_.get_positions(**BTC)["result"]["list"][0]
    assert position["cumRealisedPnl"] == str(Decimal("-3.575") - Decimal("3.25325"))  # fee + funding
    assert long_.get_tickers(**BTC)["result"]["list"][0]["nextFundingTime"] == "1767283200000"
    # the transaction log: the deposit, the trade, the funding; each with the wallet after it
    log = long_.get_transaction_log(accountType="UNIFIED", startTime=1767225600000,
                                    endTime=1767225600000 + 86_400_000)["result"]["list"]
    assert [(x["type"], x["change"], x["cashBalance"]) for x in log] == [
        ("SETTLEMENT", "-3.25325", "99993.17175"), ("TRADE", "-3.575", "99996.425"),
        ("TRANSFER_IN", "100000", "100000")]
    settlement = log[0]
    assert (settlement["funding"], settlement["feeRate"], settlement["size"], settlement["side"]) == (
        "-3.25325", "0.0005", "0.1", "Buy")
    assert short.get_transaction_log(type="SETTLEMENT")["result"]["list"][0]["funding"] == "3.25325"
    assert rejected(lambda: short.get_transaction_log(type="FUNDING"))[0] == 10001  # not a log type
    assert virtual.admin("GET", "/admin/v1/health")["result"]["moneyConserved"] is True


def test_risk_tiers_and_the_isolated_margin_endpoints(ex) -> None:  # noqa: F811
    me, other = make_trader(ex, {"USDT": "3000000"}), make_trader(ex, {"USDT": "1000000"})
    session, maker = client(ex, me), client(ex, other)
    sol = {"category": "linear", "symbol": "SOLUSDT"}
    session.set_leverage(**sol, buyLeverage="5", sellLeverage="5")  # the last tier's maximum
    # SOLUSDT's last tier ends at a position value of 12,000,000 USDT: resting bids count towards it
    last = session.get_risk_limit(**sol)["result"]["list"][-1]
    price = Decimal(session.get_tickers(**sol)["result"]["list"][0]["markPrice"])
    assert (last["riskLimitValue"], price) == ("12000000", Decimal("150"))
    resting = session.place_order(**sol, side="Buy", orderType="Limit", qty="60000", price="150")["result"]
    code, msg = rejected(lambda: session.place_order(**sol, side="Buy", orderType="Limit", qty="21000",
                                                     price="150"))  # 81,000 x 150 = 12,150,000
    assert code == 110016 and msg.startswith("The quantity of contracts requested exceeds the risk limit")
    session.cancel_order(**sol, orderId=resting["orderId"])
    # at 100x only the first tier (200,000) is allowed: an order that would make 250,000 is refused
    session.set_leverage(**sol, buyLeverage="100", sellLeverage="100")
    lots = (Decimal(250_000) / price).quantize(Decimal("0.1"))
    code, msg = rejected(lambda: session.place_order(**sol, side="Buy", orderType="Limit", qty=str(lots),
                                                     price=str(price)))
    assert code == 30150 and msg.startswith("Current order leverage exceeds the maximum available")
    small = session.place_order(**sol, side="Buy", orderType="Limit", qty="100", price=str(price))["result"]
    assert rejected(lambda: session.amend_order(**sol, orderId=small["orderId"], qty=str(lots)))[0] == 30150
    session.cancel_order(**sol, orderId=small["orderId"])

    # set-risk-limit: tiers follow the position's value, so only the checks remain
    assert rejected(lambda: session.set_risk_limit(**sol, riskId=999))[0] == 110031
    assert rejected(lambda: session.set_risk_limit(**sol, riskId=1))[0] == 110075  # flat: already tier 1
    maker.place_order(**sol, side="Sell", orderType="Limit", qty=str(lots), price=str(price))
    session.set_leverage(**sol, buyLeverage="20", sellLeverage="20")
    session.place_order(**sol, side="Buy", orderType="Market", qty=str(lots))  # 250,000: tier 2
    assert rejected(lambda: session.set_risk_limit(**sol, riskId=1))[0] == 110048  # worth more than tier 1
    reply = session.set_risk_limit(**sol, riskId=3)["result"]
    assert reply == {"category": "linear", "riskId": 3, "riskLimitValue": "800000"}

    # the isolated-margin endpoints answer as for a cross-margin account
    btc = {"category": "linear", "symbol": "BTCUSDT"}
    assert rejected(lambda: session.add_or_reduce_margin(**btc, margin="10"))[0] == 110033  # no position
    assert rejected(lambda: session.add_or_reduce_margin(**sol, margin="0"))[0] == 110027
    assert rejected(lambda: session.add_or_reduce_margin(**sol, margin="10"))[0] == 110015
    assert rejected(lambda: session.set_auto_add_margin(**sol, autoAddMargin=1))[0] == 110076


def test_ccxt_funding_and_position_history(virtual) -> None:
    long_key, short_key = make_trader(virtual), make_trader(virtual)
    client(virtual, short_key).place_order(**BTC, side="Sell", orderType="Limit", qty="0.1", price="65000")
    trader = ccxt_sync(virtual, long_key.api_key, long_key.api_secret)
    trader.load_markets()
    symbol = "BTC/USDT:USDT"
    trader.create_order(symbol, "market", "buy", 0.1)
    virtual.admin("POST", "/admin/v1/clock/advance", {"ms": 8 * 3_600_000})
    rates = trader.fetch_funding_rate_history(symbol)
    assert [(r["fundingRate"], r["timestamp"]) for r in rates] == [(0.0001, 1767254400000)]
    client(virtual, short_key).place_order(**BTC, side="Buy", orderType="Limit", qty="0.1", price="65000")
    trader.create_order(symbol, "market", "sell", 0.1, None, {"reduceOnly": True})
    (closed,) = trader.fetch_positions_history([symbol])
    assert closed["symbol"] == symbol and closed["realizedPnl"] < 0  # fees and funding, no price change


def test_isolated_margin(ex) -> None:  # noqa: F811
    me, mm = make_trader(ex), make_trader(ex, {"USDT": "1000000"})
    session, maker = client(ex, me), client(ex, mm)
    small = client(ex, make_trader(ex, {"USDT": "100"}))
    assert rejected(lambda: small.set_margin_mode(setMarginMode="PORTFOLIO_MARGIN"))[0] == 3400071
    assert rejected(lambda: session.set_margin_mode(setMarginMode="REGULAR_MARGIN"))[0] == 110026
    maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.1", price="65000")
    session.place_order(**BTC, side="Buy", orderType="Market", qty="0.1")
    code, msg = rejected(lambda: session.set_margin_mode(setMarginMode="ISOLATED_MARGIN"))
    assert code == 110073 and "close the derivatives positions and orders first" in msg
    maker.place_order(**BTC, side="Buy", orderType="Limit", qty="0.1", price="65000")
    session.place_order(**BTC, side="Sell", orderType="Market", qty="0.1", reduceOnly=True)
    assert session.set_margin_mode(setMarginMode="ISOLATED_MARGIN")["result"] == {"reasons": []}
    assert session.get_account_info()["result"]["marginMode"] == "ISOLATED_MARGIN"

    # 0.1 BTC long at 65000, 10x: 650 of margin; liquidation where 650 + (p - 65000) x 0.1 = 0.5 % x 0.1 x p
    maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.1", price="65000")
    session.place_order(**BTC, side="Buy", orderType="Market", qty="0.1")
    position = session.get_positions(**BTC)["result"]["list"][0]
    assert (position["positionIM"], position["positionBalance"], position["liqPrice"]) == ("650", "650", "58794")
    session.add_or_reduce_margin(**BTC, margin="100")
    assert session.get_positions(**BTC)["result"]["list"][0]["liqPrice"] == "57789"  # (6500 - 750) / 0.0995
    assert rejected(lambda: session.add_or_reduce_margin(**BTC, margin="-200"))[0] == 110078  # only 100 added
    session.add_or_reduce_margin(**BTC, margin="-100")
    wallet = Decimal(session.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]["coin"][0]
                     ["walletBalance"])
    # the mark falls below 58794: only this position goes, at 58500 where its 650 are lost; the wallet keeps
    # everything else (a cross account would have been untouched at this price)
    set_prices(ex, "58700")
    position = session.get_positions(**BTC)["result"]["list"][0]
    assert position["size"] == "0"
    (bust,) = session.get_executions(category="linear", execType="BustTrade")["result"]["list"]
    assert bust["execPrice"] == "58500"
    after = Decimal(session.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]["coin"][0]
                    ["walletBalance"])
    assert wallet - after == 650

    # auto-add-margin: the next time, the wallet tops the margin up instead
    set_prices(ex, "65000")
    maker.place_order(**BTC, side="Sell", orderType="Limit", qty="0.1", price="65000")
    session.set_auto_add_margin(**BTC, autoAddMargin=1)
    session.place_order(**BTC, side="Buy", orderType="Market", qty="0.1")
    set_prices(ex, "58700")
    position = session.get_positions(**BTC)["result"]["list"][0]
    assert position["size"] == "0.1" and position["autoAddMargin"] == 1
    assert position["positionBalance"] == "1280"  # back to 650 of equity: 650 + 630 of loss covered
    assert ex.admin("GET", "/admin/v1/health")["result"]["moneyConserved"] is True


def test_what_the_book_cannot_absorb_is_auto_deleveraged(ex) -> None:  # noqa: F811
    """A liquidated long with no bid in the book: the fund closes it against the profitable short, at the
    bankruptcy price (AdlTrade)."""
    me, other = make_trader(ex, {"USDT": "1000"}), make_trader(ex, {"USDT": "100000"})
    session, short = client(ex, me), client(ex, other)
    short.place_order(**BTC, side="Sell", orderType="Limit", qty="0.1", price="65000")
    session.place_order(**BTC, side="Buy", orderType="Market", qty="0.1")
    assert short.get_positions(**BTC)["result"]["list"][0]["adlRankIndicator"] == 1
    # a closing order far below the market: the deleveraging cancels it first, so it can never open a long
    closing = short.place_order(**BTC, side="Buy", orderType="Limit", qty="0.05", price="50000",
                                reduceOnly=True)["result"]
    set_prices(ex, "55000")
    cancelled = short.get_order_history(**BTC, orderId=closing["orderId"])["result"]["list"][0]
    assert (cancelled["orderStatus"], cancelled["cancelType"]) == ("Cancelled", "CancelAllBeforeAdl")
    assert session.get_positions(**BTC)["result"]["list"][0]["size"] == "0"
    (adl,) = short.get_executions(category="linear", execType="AdlTrade")["result"]["list"]
    assert (adl["execPrice"], adl["execQty"], adl["side"], adl["createType"]) == ("55035.7", "0.1", "Buy",
                                                                                   "CreateByAdl_PassThrough")
    position = short.get_positions(**BTC)["result"]["list"][0]
    assert position["size"] == "0" and position["adlRankIndicator"] == 0
    (entry,) = short.get_transaction_log(type="ADL")["result"]["list"]
    assert entry["cashFlow"] == "996.43"  # (65000 - 55035.7) x 0.1
    assert ex.admin("GET", "/admin/v1/health")["result"]["moneyConserved"] is True


def test_ccxt_margin_mode_and_ledger(ex) -> None:  # noqa: F811
    me, mm = make_trader(ex), make_trader(ex)
    trader = ccxt_sync(ex, me.api_key, me.api_secret)
    trader.load_markets()
    symbol = "BTC/USDT:USDT"
    trader.set_margin_mode("isolated", symbol)
    assert trader.fetch_margin_mode(symbol)["marginMode"] == "isolated"
    client(ex, mm).place_order(**BTC, side="Sell", orderType="Limit", qty="0.1", price="65000")
    trader.create_order(symbol, "market", "buy", 0.1)
    assert trader.fetch_position(symbol)["collateral"] == 650.0  # isolated: the position's own margin
    ledger = trader.fetch_ledger("USDT")
    assert [(x["type"], x["amount"], x["after"], x["direction"]) for x in ledger] == [
        ("transaction", 100000.0, 100000.0, "in"), ("trade", 3.575, 99996.425, "out")]
