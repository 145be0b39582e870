"""Property tests of the order lifecycle in the pure core: random order flow from several accounts on a
linear, an inverse and a spot book, with every invariant checked after every command."""

from __future__ import annotations

from collections import defaultdict

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from paperex.core import margin, position_mode, risk
from paperex.core.commands import (
    AddMargin,
    AmendOrder,
    CancelAll,
    CancelOrder,
    CreateAccount,
    PlaceOrder,
    SetAccountRules,
    SetLeverage,
    SetMarginMode,
    SetPrices,
    SetSymbolRules,
    SetTradingStop,
    SwitchPositionMode,
    Tick,
)
from paperex.core.engine import FIRST_UID, Exchange
from paperex.core.numbers import to_units
from paperex.core.orders import CANCELLED, FILLED, NEW, OPEN_STATUSES, PARTIALLY_FILLED, PARTIALLY_FILLED_CANCELED
from paperex.data import load_market
from paperex.errors import ApiError

MARKET = load_market()
UIDS = [FIRST_UID, FIRST_UID + 1, FIRST_UID + 2, FIRST_UID + 3]
FUNDING = {"USDT": to_units("50000"), "BTC": to_units("2")}
SYMBOLS = [("linear", "BTCUSDT"), ("inverse", "BTCUSD"), ("spot", "BTCUSDT")]


def fresh() -> Exchange:
    ex = Exchange(MARKET)
    for ts, _ in enumerate(UIDS):
        ex.apply(CreateAccount(balances=dict(FUNDING)), ts)
    return ex


@st.composite
def a_command(draw):
    kind = draw(st.sampled_from(["place"] * 6 + ["cancel", "amend", "cancel_all", "prices"]))
    uid = draw(st.sampled_from(UIDS))
    category, symbol = draw(st.sampled_from(SYMBOLS))
    if kind == "place":
        order_type = draw(st.sampled_from(["Limit", "Limit", "Limit", "Market"]))
        offset = draw(st.integers(-8, 8))  # x10 ticks around the mark: orders cross often
        qty = draw(st.integers(1, 30))
        return ("place", uid, category, symbol, draw(st.sampled_from([1, -1])), order_type, offset, qty,
                draw(st.sampled_from(["GTC", "GTC", "IOC", "FOK", "PostOnly"])),
                draw(st.sampled_from([False, False, False, True])),
                draw(st.sampled_from(["None", "None", "CancelMaker", "CancelTaker", "CancelBoth"])))
    if kind in ("cancel", "amend"):
        return (kind, uid, category, symbol, draw(st.integers(0, 10**6)), draw(st.integers(-20, 20)),
                draw(st.integers(-10, 10)))
    if kind == "prices":
        return ("prices", category, symbol, draw(st.integers(-300, 300)))
    return ("cancel_all", uid, category, symbol)


def to_command(ex: Exchange, spec: tuple):
    kind = spec[0]
    if kind == "place":
        _, uid, category, symbol, side, order_type, offset, qty, tif, reduce_only, smp = spec
        sym = ex.symbols[(category, symbol)]
        lots = qty * max(sym.grid.min_lots, 1) if category != "inverse" else qty * 100
        price = sym.mark + offset * 10 if order_type == "Limit" else None
        market_unit = ""
        if category == "spot" and order_type == "Market":
            market_unit = "baseCoin"
            if side == 1 and offset % 2:  # a market buy by quote amount
                market_unit, lots = "quoteCoin", qty * 10**10  # qty x 100 USDT
        return PlaceOrder(uid=uid, category=category, symbol=symbol, side=side, order_type=order_type, qty=lots,
                          price=price, tif="GTC" if order_type == "Market" else tif,
                          reduce_only=reduce_only and category != "spot", smp_type=smp, market_unit=market_unit)
    if kind in ("cancel", "amend"):
        _, uid, category, symbol, pick, dqty, dprice = spec
        mine = [o for o in ex.orders.values() if o.uid == uid and o.symbol == symbol and o.category == category]
        order_id = mine[pick % len(mine)].order_id if mine else 999_999
        if kind == "cancel":
            return CancelOrder(uid=uid, category=category, symbol=symbol, order_id=order_id)
        target = ex.orders.get(order_id)
        if target is None:
            return AmendOrder(uid=uid, category=category, symbol=symbol, order_id=order_id, qty=5)
        step = ex.symbols[(category, symbol)].grid.min_lots
        return AmendOrder(uid=uid, category=category, symbol=symbol, order_id=order_id,
                          qty=max(1, target.qty + dqty * step) if dqty else None,
                          price=target.price + dprice * 10 if dprice or not dqty else None)
    if kind == "prices":
        _, category, symbol, move = spec
        sym = ex.symbols[(category, symbol)]
        return SetPrices(category=category, symbol=symbol, index=max(1, sym.index + move * 10))
    _, uid, category, symbol = spec
    return CancelAll(uid=uid, category=category, symbol=symbol)


def check_invariants(ex: Exchange) -> None:
    deposits = dict(ex.deposits)
    held = defaultdict(int)
    signed = defaultdict(int)  # direction x signed entry value per settle coin
    for (category, symbol), sym in ex.symbols.items():
        bid, ask = sym.book.best_bid(), sym.book.best_ask()
        assert bid is None or ask is None or bid < ask, f"crossed book at rest: {symbol}"
        here = [p for a in ex.accounts.values() for p in a.held_positions(category, symbol)]
        assert sum(p.size for p in here) == 0, "positions do not net to zero"
        assert sym.open_interest == sum(max(p.size, 0) for p in here)
        for p in here:  # a hedge-mode side never flips: the long side long, the short side short
            assert (p.idx != 1 or p.size >= 0) and (p.idx != 2 or p.size <= 0), "a hedge side flipped"
            mode = position_mode.mode_of(ex.accounts[p.uid], sym.inst)
            assert p.size == 0 or p.idx in ((1, 2) if mode == position_mode.HEDGE else (0,))
        in_book = {o.order_id for o in sym.book.orders()}
        open_here = {o.order_id for a in ex.accounts.values() for o in a.open_orders.values()
                     if (o.category, o.symbol) == (category, symbol)}
        assert in_book == open_here, "open orders and the book disagree"
    for account in ex.accounts.values():
        for order in account.open_orders.values():
            held[(account.uid, order.hold_coin)] += order.hold
            assert order.status in OPEN_STATUSES and order.leaves > 0
        for coin, amount in account.held.items():
            assert amount == held[(account.uid, coin)] and amount >= 0, "holds drifted"
        for key, pos in account.positions.items():
            sym = ex.symbols[key[:2]]
            direction = -1 if sym.grid.inverse else 1
            signed[sym.inst.settle_coin] += direction * pos.signed_entry()
            assert pos.entry_value >= 0 and (pos.size != 0 or pos.entry_value == 0)
            assert pos.entry_inv >= 0 and (pos.size != 0 or pos.entry_inv == 0)
            assert pos.open_fees >= 0 and (pos.size != 0 or pos.open_fees == 0)
            # realised PnL: the executions' PnL less their fees, all time and since the position opened
            mine = [e for e in account.executions if (e.category, e.symbol) == key[:2]]
            assert abs(pos.cur_realised) <= sum(abs(e.pnl) + abs(e.fee) for e in mine)  # funding fees can be < 0
        for category, symbol in {key[:2] for key in account.positions}:  # both sides of a symbol together
            mine = [e for e in account.executions if (e.category, e.symbol) == (category, symbol)]
            realised = sum(p.cum_realised for p in account.held_positions(category, symbol))
            assert realised == sum(e.pnl - e.fee for e in mine), "cumRealisedPnl drifted"
    for account in ex.accounts.values():  # the transaction log adds up to every wallet, entry by entry
        if account.label == risk.INSURANCE_LABEL:
            continue
        running: dict[str, int] = defaultdict(int)
        for entry in account.ledger:
            coin, cash_flow, funding, fee, after = entry[3], entry[10], entry[11], entry[12], entry[14]
            running[coin] += cash_flow + funding - fee
            assert running[coin] == after, f"transaction log of {coin} disagrees with its balance"
        assert {c: v for c, v in running.items() if v} == {c: v for c, v in account.balances.items() if v}
    for coin, deposited in deposits.items():
        wallets = sum(a.balance(coin) for a in ex.accounts.values())
        assert wallets + ex.fees_collected.get(coin, 0) - signed[coin] == deposited, f"{coin} not conserved"
    # every order agrees with its executions
    by_order = defaultdict(lambda: [0, 0, 0])
    for account in ex.accounts.values():
        for e in account.executions:
            t = by_order[e.order_id]
            t[0] += e.qty
            t[1] += e.value
            t[2] += e.fee
    for account in ex.accounts.values():  # reduce-only orders never add up to more than their position
        for key, pos in account.positions.items():
            ro = [o for o in account.open_orders.values()
                  if o.reduce_only and (o.category, o.symbol, o.position_idx) == key]
            assert all(pos.size and (pos.size > 0) != (o.side > 0) for o in ro), "a reduce-only order would add"
            assert sum(o.leaves for o in ro) <= abs(pos.size), "reduce-only orders exceed the position"
        resting = defaultdict(int)
        for o in account.open_orders.values():
            resting[(o.category, o.symbol, o.side)] += o.leaves
        assert {k: v for k, v in account.resting.items() if v} == dict(resting), "resting index drifted"
    for order in ex.orders.values():
        if order.tif == "FOK":
            assert order.cum_qty in (0, order.qty), "a FOK order filled partly"
        assert [order.cum_qty, order.cum_value, order.cum_fee] == by_order[order.order_id]
        if order.status == NEW:
            assert order.cum_qty == 0
        if order.status == PARTIALLY_FILLED:
            assert 0 < order.cum_qty < order.qty and order.leaves == order.qty - order.cum_qty
        if order.status == FILLED:
            assert order.leaves == 0 and (order.cum_qty == order.qty or order.quote_qty)
        if order.status in (CANCELLED, PARTIALLY_FILLED_CANCELED):
            assert order.leaves == 0 and order.hold == 0


def apply_checked(ex: Exchange, cmd, ts: int, outcomes: list) -> None:
    """Apply one command: accepted ones are kept for the replay, a rejected one must change nothing; then
    every invariant."""
    before = ex.digest()
    try:
        ex.apply(cmd, ts)
        outcomes.append((cmd, ts))
    except ApiError:
        assert ex.digest() == before, "a rejected command changed the state"
    check_invariants(ex)


@settings(max_examples=150, deadline=None)
@given(st.lists(a_command(), min_size=1, max_size=60))
def test_random_order_flow_keeps_every_invariant(specs) -> None:
    ex = fresh()
    replayed = fresh()
    outcomes = []
    for ts, spec in enumerate(specs, start=10):
        apply_checked(ex, to_command(ex, spec), ts, outcomes)
    for cmd, ts in outcomes:  # replaying the accepted commands rebuilds the same state
        replayed.apply(cmd, ts)
    assert replayed.digest() == ex.digest()


# -- derivatives risk: leverage, liquidation, funding --------------------------------------------------
RISK_SYMBOLS = [("linear", "BTCUSDT"), ("inverse", "BTCUSD")]
RISK_FUNDING = {"USDT": to_units("2000"), "BTC": to_units("0.03")}
# how often the generated flows reached each mechanism
STATS = {"liquidations": 0, "funding": 0, "triggered": 0, "hedged": 0, "order_legs": 0}


@st.composite
def a_risk_command(draw):
    kind = draw(st.sampled_from(["place"] * 5 + ["prices"] * 3 + ["leverage"] * 2
                                + ["wait", "cancel_all", "conditional", "tpsl", "mode", "add_margin", "hedge",
                                   "tpsl_order", "rules"]))
    uid = draw(st.sampled_from(UIDS))
    category, symbol = draw(st.sampled_from(RISK_SYMBOLS))
    if kind == "place":
        return ("place", uid, category, symbol, draw(st.sampled_from([1, -1])),
                draw(st.sampled_from(["Limit", "Market"])), draw(st.integers(-5, 5)), draw(st.integers(1, 200)),
                "GTC", draw(st.sampled_from([False, False, True])), "None")
    if kind == "prices":  # mostly small moves, sometimes a crash or a squeeze that liquidates 10x positions
        move = draw(st.one_of(st.integers(-150, 150), st.sampled_from([-300, -200, 200, 300])))
        return ("risk_prices", category, symbol, move, draw(st.integers(-10, 10)))
    if kind == "leverage":
        return ("leverage", uid, category, symbol, draw(st.sampled_from([100, 200, 500, 1000, 2500, 5000])))
    if kind == "conditional":  # a stop order some way from the price, either direction
        return ("conditional", uid, category, symbol, draw(st.sampled_from([1, -1])), draw(st.integers(1, 50)),
                draw(st.sampled_from([1, 2])), draw(st.integers(1, 60)),
                draw(st.sampled_from(["LastPrice", "MarkPrice", "IndexPrice"])))
    if kind == "tpsl":
        return ("tpsl", uid, category, symbol, draw(st.integers(0, 60)), draw(st.integers(0, 60)))
    if kind == "mode":  # refused while the account holds positions or orders
        return ("mode", uid, draw(st.sampled_from(["ISOLATED_MARGIN", "REGULAR_MARGIN"])))
    if kind == "add_margin":
        return ("add_margin", uid, category, symbol, draw(st.integers(-50, 100)))
    if kind == "tpsl_order":  # an order whose fills set the position's TP/SL (Full) or grow legs (Partial)
        return ("tpsl_order", uid, category, symbol, draw(st.sampled_from([1, -1])), draw(st.integers(1, 100)),
                draw(st.sampled_from(["Full", "Partial"])), draw(st.integers(0, 40)), draw(st.integers(0, 40)),
                draw(st.booleans()))
    if kind == "rules":  # admin restrictions switched on and off: what they refuse must change nothing
        rule = draw(st.sampled_from(["halted", "reduce_only", "max_open_interest", "qty_restricted",
                                     "trading_banned", "reduce_only_symbols", "leverage_banned"]))
        return ("rules", uid, category, symbol, rule, draw(st.booleans()), draw(st.integers(1, 400)))
    if kind == "hedge":  # refused while the symbol has a position or orders, and for inverse symbols
        return ("hedge", uid, category, symbol, draw(st.sampled_from([0, 3])), draw(st.booleans()))
    if kind == "wait":  # time passes: funding settles at each 8-hour boundary crossed
        return ("wait", draw(st.sampled_from([1, 60_000, 3_600_000, 4 * 3_600_000, 8 * 3_600_000])))
    return ("cancel_all", uid, category, symbol)


def to_risk_command(ex: Exchange, spec: tuple):
    kind = spec[0]
    if kind == "risk_prices":
        _, category, symbol, move, premium = spec
        sym = ex.symbols[(category, symbol)]
        index = max(1, sym.index + sym.index * move // 1000)
        return SetPrices(category=category, symbol=symbol, index=index, mark=index + index * premium // 10_000)
    if kind == "leverage":
        _, uid, category, symbol, lev = spec
        return SetLeverage(uid=uid, category=category, symbol=symbol, buy_leverage=lev, sell_leverage=lev)
    if kind == "wait":
        return Tick()
    if kind == "mode":
        return SetMarginMode(uid=spec[1], mode=spec[2])
    if kind == "rules":
        _, uid, category, symbol, rule, on, amount = spec
        if rule in ("trading_banned", "reduce_only_symbols", "leverage_banned"):
            value = ([symbol] if rule == "reduce_only_symbols" else True) if on else None
            return SetAccountRules(uid=uid, rules={rule: value})
        return SetSymbolRules(category=category, symbol=symbol,
                              rules={rule: (amount * 100 if rule == "max_open_interest" else True) if on else None})
    if kind == "hedge":
        _, uid, category, symbol, mode, by_coin = spec
        return SwitchPositionMode(uid=uid, category=category, mode=mode, symbol="" if by_coin else symbol,
                                  coin=ex.symbols[(category, symbol)].inst.settle_coin if by_coin else "")
    if kind == "add_margin":
        _, uid, category, symbol, amount = spec
        return AddMargin(uid=uid, category=category, symbol=symbol, amount=amount * (10**8 if category == "linear"
                                                                                      else 10**4))
    if kind == "conditional":
        _, uid, category, symbol, side, qty, direction, distance, by = spec
        sym = ex.symbols[(category, symbol)]
        lots = qty * max(sym.grid.min_lots, 1) if category != "inverse" else qty * 100
        trigger = max(1, sym.mark + (1 if direction == 1 else -1) * distance * sym.mark // 1000)
        return PlaceOrder(uid=uid, category=category, symbol=symbol, side=side, order_type="Market", qty=lots,
                          trigger_price=trigger, trigger_direction=direction, trigger_by=by)
    if kind == "tpsl_order":
        _, uid, category, symbol, side, qty, mode, tp, sl, limit = spec
        sym = ex.symbols[(category, symbol)]
        lots = qty * max(sym.grid.min_lots, 1) if category != "inverse" else qty * 100
        take_profit = max(1, sym.mark + side * tp * sym.mark // 1000) if tp else 0
        stop_loss = max(1, sym.mark - side * sl * sym.mark // 1000) if sl else 0
        # a limit order at the mark: it takes what crosses it and rests for later market orders to fill
        cmd = PlaceOrder(uid=uid, category=category, symbol=symbol, side=side, order_type="Limit", qty=lots,
                         price=sym.mark, take_profit=take_profit, stop_loss=stop_loss, tpsl_mode=mode,
                         tp_limit=take_profit if limit and mode == "Partial" else 0)
        if position_mode.mode_of(ex.accounts[uid], sym.inst) == position_mode.HEDGE:
            cmd = msgspec.structs.replace(cmd, position_idx=1 if side > 0 else 2)
        return cmd
    if kind == "tpsl":
        _, uid, category, symbol, tp, sl = spec
        sym = ex.symbols[(category, symbol)]
        held = [p for p in ex.accounts[uid].held_positions(category, symbol) if p.size]
        pos = held[(tp + sl) % len(held)] if held else None
        sign = 1 if pos is None or pos.size >= 0 else -1
        return SetTradingStop(uid=uid, category=category, symbol=symbol, position_idx=pos.idx if pos else 0,
                              take_profit=max(1, sym.mark + sign * tp * sym.mark // 1000) if tp else None,
                              stop_loss=max(1, sym.mark - sign * sl * sym.mark // 1000) if sl else None,
                              tp_trigger_by="MarkPrice", sl_trigger_by="MarkPrice",
                              trailing_stop=sym.mark * (tp + sl) // 2000 if (tp + sl) % 3 == 0 else None)
    cmd = to_command(ex, spec)
    if isinstance(cmd, PlaceOrder | AddMargin) and cmd.category != "spot":
        account = ex.accounts[cmd.uid]
        if position_mode.mode_of(account, ex.symbols[(cmd.category, cmd.symbol)].inst) == position_mode.HEDGE:
            # hedge mode: a reduce-only order closes the other side, any other opens its own side
            side = cmd.side if isinstance(cmd, PlaceOrder) else (1 if cmd.amount % 2 else -1)
            closing = isinstance(cmd, PlaceOrder) and cmd.reduce_only
            cmd = msgspec.structs.replace(cmd, position_idx=1 if (side > 0) != closing else 2)
    return cmd


@settings(max_examples=150, deadline=None, derandomize=True)  # the same flows every run: STATS below are stable
@given(st.lists(a_risk_command(), min_size=5, max_size=60))
def test_liquidation_and_funding_keep_every_invariant(specs) -> None:
    def start() -> Exchange:
        ex = Exchange(MARKET)
        for ts, _ in enumerate(UIDS):
            ex.apply(CreateAccount(balances=dict(RISK_FUNDING)), ts)
        return ex

    ex, replayed = start(), start()
    outcomes = []
    ts = 10
    # every flow starts with leveraged positions on both books, so price moves have something to liquidate
    opening = [("leverage", UIDS[0], "linear", "BTCUSDT", 2500), ("leverage", UIDS[1], "inverse", "BTCUSD", 2500),
               ("place", UIDS[2], "linear", "BTCUSDT", -1, "Limit", 0, 100, "GTC", False, "None"),
               ("place", UIDS[0], "linear", "BTCUSDT", 1, "Market", 0, 100, "GTC", False, "None"),
               ("place", UIDS[2], "inverse", "BTCUSD", 1, "Limit", 0, 5, "GTC", False, "None"),
               ("place", UIDS[1], "inverse", "BTCUSD", -1, "Market", 0, 5, "GTC", False, "None"),
               ("risk_prices", "linear", "BTCUSDT", 0, 5), ("wait", 8 * 3_600_000),  # a premium, then funding
               ("hedge", UIDS[3], "linear", "BTCUSDT", 3, False),  # one account trades both sides
               ("place", UIDS[2], "linear", "BTCUSDT", -1, "Limit", 0, 50, "GTC", False, "None"),
               ("place", UIDS[3], "linear", "BTCUSDT", 1, "Market", 0, 50, "GTC", False, "None"),
               ("place", UIDS[1], "linear", "BTCUSDT", -1, "Limit", 0, 20, "GTC", False, "None"),
               ("tpsl_order", UIDS[0], "linear", "BTCUSDT", 1, 20, "Partial", 20, 20, True)]  # legs of a fill
    for spec in [*opening, *specs]:
        ts += spec[1] if spec[0] == "wait" else 1
        cmd = to_risk_command(ex, spec)
        apply_checked(ex, cmd, ts, outcomes)
        STATS["liquidations"] += sum(len(st.liquidations) for st in ex.symbols.values()) > 0
        STATS["funding"] += sum(len(st.funding.history) for st in ex.symbols.values()) > 0
        STATS["order_legs"] += any(o.parent for o in ex.orders.values())
        STATS["hedged"] += any(p.idx and p.size for a in ex.accounts.values() for p in a.positions.values())
        STATS["triggered"] += any(o.stop_order_type and o.status not in ("Untriggered", "Deactivated")
                                  for o in ex.orders.values())
        for account in ex.accounts.values():  # the integer liquidation price is the exact one, on the grid
            for key, pos in account.positions.items():
                sym = ex.symbols[key[:2]]
                exact = margin.estimated_liq_price(ex.symbols, account, sym, pos)
                expected = None if exact is None else sym.grid.round_ticks(
                    exact, up=exact < sym.grid.price(sym.mark))
                assert margin.liq_ticks(ex.symbols, account, sym, pos) == expected
        for account in ex.accounts.values():  # waiting stop orders hold nothing and are not in any book
            for order in account.conditionals.values():
                assert order.status == "Untriggered" and order.hold == 0
                assert order.order_id not in account.open_orders
        if isinstance(cmd, SetPrices):  # nobody is left holding the symbol below maintenance margin
            coin = ex.symbols[(cmd.category, cmd.symbol)].inst.settle_coin
            for account in ex.accounts.values():
                for pos in account.held_positions(cmd.category, cmd.symbol):
                    if account.label == risk.INSURANCE_LABEL or not pos.size:
                        continue
                    if account.margin_mode == "ISOLATED_MARGIN":  # each position on its own margin
                        sym = ex.symbols[(cmd.category, cmd.symbol)]
                        equity, mm = pos.margin + margin.unrealised(sym, pos), margin.position_mm(sym, pos)
                    else:
                        equity, mm = risk.coin_equity_and_mm(ex, account, coin)
                    assert equity > mm, "an account was left below maintenance margin"
    for cmd, at in outcomes:
        replayed.apply(cmd, at)
    assert replayed.digest() == ex.digest()


def test_the_risk_flows_reach_every_mechanism() -> None:
    """The generated flows are worth something only if they get there: liquidations, funding, fired stops
    and hedge-mode positions all happen in them (counted by the property test, run here if it has not been)."""
    if not all(STATS.values()):
        test_liquidation_and_funding_keep_every_invariant()
    assert all(STATS.values()), STATS

