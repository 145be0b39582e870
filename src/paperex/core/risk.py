"""Derivatives risk: leverage, margin modes, liquidation, auto-deleveraging and funding (one settle coin at a time).

Liquidation. After every mark-price change, each account holding the symbol is checked: when the equity of
the settle coin (wallet + unrealised PnL at the mark) is at or below the maintenance margin of its positions
in that coin (account MM rate >= 100 %), the account is liquidated: its open orders are cancelled
(``CancelAllBeforeLiq``), and every position in the coin is taken over by the insurance fund at its
bankruptcy price (``BustTrade``, ``CreateByTakeOver_PassThrough``), the price at which the account's
equity in the coin is exactly zero (the loss to zero spread over the positions by value, each price rounded
against the account; in bad debt the losing positions take it).
What the rounding leaves in the wallet goes to the fund, or the fund covers it. The fund (an internal
account labelled ``insurance-fund``) then closes what it took over in the book with reduce-only market
orders; what the book cannot absorb is closed against the opposite positions with the highest ADL score
(``AdlTrade``) at the bankruptcy price. Isolated margin: each position is liquidated on its own margin.

Funding. Every ``fundingInterval`` (aligned to the epoch, e.g. 00:00/08:00/16:00 UTC) each position pays or
receives position value at the mark x rate; a positive rate means longs pay shorts. The rate is Bybit's
``P + clamp(I - P, -0.05 %, 0.05 %)`` clamped to the instrument's bounds, with P the time-weighted premium
of the mark over the index during the interval and I = 0.01 % per 8 hours. Payers round up, receivers
down; the dust goes to the exchange's fees so money stays conserved to the unit.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

from paperex.core import ledger, margin, position_mode, rules, trading, triggers
from paperex.core.accounts import Account
from paperex.core.book import BUY, SELL
from paperex.core.commands import (
    AddMargin,
    PlaceOrder,
    SetAutoAddMargin,
    SetLeverage,
    SetMarginMode,
    SetRiskLimit,
)
from paperex.core.events import (
    BalanceChanged,
    Event,
    Executed,
    FundingSettled,
    Liquidated,
    OrderAccepted,
    OrderChanged,
    PositionChanged,
)
from paperex.core.numbers import MONEY_SCALE, RATE_DP, format_units
from paperex.core.orders import CANCELLED, FILLED, Execution, Order
from paperex.core.positions import DEFAULT_LEVERAGE, Position
from paperex.core.symbol import SymbolState
from paperex.errors import ApiError, Code

if TYPE_CHECKING:
    from paperex.core.engine import Exchange

INSURANCE_LABEL = "insurance-fund"
RATE_SCALE = 10**RATE_DP
INTEREST_PER_8H = 10_000  # 0.01 % in 1e-8 units
PREMIUM_CLAMP = 50_000  # 0.05 %


def _hundredths(value: object) -> int:
    return int(Fraction(str(value)) * 100)


# -- leverage ------------------------------------------------------------------------------------------
def set_leverage(ex: Exchange, cmd: SetLeverage, ts: int) -> list[Event]:
    account = ex.account(cmd.uid)
    st = ex.derivative(cmd.category, cmd.symbol)
    inst = st.inst
    if account.margin_mode == margin.PORTFOLIO:
        raise ApiError(Code.LEVERAGE_PORTFOLIO_MODE)
    rules.check_leverage(account, max(cmd.buy_leverage, cmd.sell_leverage))
    idxs = position_mode.position_idxs(account, inst)
    isolated = account.margin_mode == margin.ISOLATED
    if cmd.buy_leverage != cmd.sell_leverage:
        if idxs == (0,):
            raise ApiError(Code.PARAM_ERROR, "buyLeverage must equal sellLeverage in one-way mode")
        if not isolated:  # hedge mode: the sides may differ in isolated margin only
            raise ApiError(Code.LEVERAGE_CROSS_MODE, "buyLeverage must equal sellLeverage in cross margin mode")
    lo, hi, step = _hundredths(inst.min_leverage), _hundredths(inst.max_leverage), _hundredths(inst.leverage_step)
    for lev in (cmd.buy_leverage, cmd.sell_leverage):
        if not lo <= lev <= hi or (step and (lev - lo) % step):
            raise ApiError(Code.PARAM_ERROR, f"leverage must be from {inst.min_leverage} to {inst.max_leverage} in "
                                             f"steps of {inst.leverage_step}")
    # one-way: the one position; hedge mode: the long side takes buyLeverage, the short side sellLeverage
    wanted = {0: cmd.buy_leverage} if idxs == (0,) else {1: cmd.buy_leverage, 2: cmd.sell_leverage}
    changes = []
    for idx, lev in wanted.items():
        pos = account.positions.get((cmd.category, cmd.symbol, idx))
        if lev != (pos.leverage if pos else DEFAULT_LEVERAGE):
            changes.append((idx, pos, lev))
    if not changes:
        raise ApiError(Code.LEVERAGE_NOT_MODIFIED)
    taker = account.fee_rates[cmd.category][0]
    extra = 0
    costed = []
    for idx, pos, lev in changes:
        if pos is not None and pos.size:
            tier = margin.tier_of(st, margin.position_value(st, pos))
            if tier is not None and lev > _hundredths(tier.max_leverage):
                raise ApiError(Code.LEVERAGE_RISK_LIMIT,
                               f"the position's risk tier allows at most {tier.max_leverage}x")
        # what the change costs: the position's initial margin and the open orders' holds at the new leverage
        holds = {}
        for order in account.open_orders.values():
            if (order.category, order.symbol, order.position_idx) == (cmd.category, cmd.symbol, idx) and \
                    not order.reduce_only:
                closable = margin.closable_lots(account, pos, order.category, order.symbol, order.side,
                                                pending_own=order.leaves)
                holds[order.order_id] = margin.derivatives_hold(st, closable, lev, taker, order.price, order.leaves)
        extra += sum(h - account.open_orders[oid].hold for oid, h in holds.items())
        margin_change = 0
        if pos is not None and pos.size:
            if isolated:  # the position's margin moves with its initial margin (what was added stays)
                margin_change = margin.isolated_im(pos, lev) - margin.isolated_im(pos)
                extra += margin_change
                _check_isolated_margin(st, pos, pos.margin + margin_change, Code.ADJUSTMENT_LIQUIDATES)
            else:
                extra += margin.position_im(st, pos, lev) - margin.position_im(st, pos)
        costed.append((idx, pos, lev, holds, margin_change))
    coin = inst.settle_coin
    if extra > 0 and extra > margin.available(ex.symbols, account, coin):
        raise ApiError(Code.AVAILABLE_MARGIN_INSUFFICIENT, "the new leverage needs more margin than is available")
    # accepted
    for idx, pos, lev, holds, margin_change in costed:
        if pos is None:
            pos = account.positions[(cmd.category, cmd.symbol, idx)] = Position(account.uid, cmd.category,
                                                                                cmd.symbol, ts, idx=idx)
        pos.leverage = lev
        pos.margin += margin_change
        for oid, hold in holds.items():
            order = account.open_orders[oid]
            account.held[coin] = account.held.get(coin, 0) + hold - order.hold
            order.hold = hold
        pos.updated_ts = ts  # seq stays the last trade's (Bybit)
    return [PositionChanged(uid=account.uid, category=cmd.category, symbol=cmd.symbol)]


def _check_isolated_margin(st: SymbolState, pos: Position, new_margin: int, liquidates: int) -> None:
    """An isolated position's margin after a change: at or below its maintenance margin with the unrealised PnL
    it would be liquidated at once (``liquidates``: 110011 or 110046); below it without, it would stand on
    unrealised profit alone (110039)."""
    mm = margin.position_mm(st, pos)
    if new_margin + margin.unrealised(st, pos) <= mm:
        raise ApiError(liquidates, "the position's margin would not cover its maintenance margin")
    if new_margin <= mm:
        raise ApiError(Code.MMR_TOO_HIGH, "the position's margin would be below its maintenance margin")


def set_risk_limit(ex: Exchange, cmd: SetRiskLimit, ts: int) -> list[Event]:
    account = ex.account(cmd.uid)
    st = ex.derivative(cmd.category, cmd.symbol)
    if account.margin_mode == margin.PORTFOLIO:
        raise ApiError(Code.PM_MODE_UNSUPPORTED, "risk limits do not apply under portfolio margin")
    tier = next((t for t in st.inst.risk_tiers if t.id == cmd.risk_id), None)
    if tier is None:
        raise ApiError(Code.RISK_LIMIT_NOT_FOUND, f"riskId {cmd.risk_id} is not a tier of {cmd.symbol}")
    idx = position_mode.check_idx(account, st.inst, cmd.position_idx)
    pos = account.positions.get((cmd.category, cmd.symbol, idx))
    value = margin.position_value(st, pos) if pos else 0
    current = margin.tier_of(st, value)
    if current is not None and current.id == tier.id:
        raise ApiError(Code.RISK_ID_NOT_MODIFIED)
    if value > tier.risk_limit_value * MONEY_SCALE:
        raise ApiError(Code.RISK_LIMIT_VALUE_EXCEEDED, f"the position is worth more than {tier.risk_limit_value}")
    leverage = pos.leverage if pos else DEFAULT_LEVERAGE
    cap = _hundredths(tier.max_leverage)
    if leverage <= cap:
        return []  # tiers are automatic: nothing changes
    levels = {i: (p.leverage if p else DEFAULT_LEVERAGE) for i in (1, 2)
              for p in (account.positions.get((cmd.category, cmd.symbol, i)),)}
    buy, sell = (cap, cap) if idx == 0 else (cap, levels[2]) if idx == 1 else (levels[1], cap)
    if account.margin_mode != margin.ISOLATED:  # hedge mode in cross margin: one leverage for both sides
        buy = sell = cap
    try:
        return set_leverage(ex, SetLeverage(uid=cmd.uid, category=cmd.category, symbol=cmd.symbol,
                                            buy_leverage=buy, sell_leverage=sell), ts)
    except ApiError as err:
        if err.code == Code.AVAILABLE_MARGIN_INSUFFICIENT:
            raise ApiError(Code.RISK_LIMIT_MARGIN_INSUFFICIENT,
                           f"the tier's {tier.max_leverage}x needs more margin than is available") from None
        raise


# -- margin modes ---------------------------------------------------------------------------------------
PM_MIN_EQUITY_USD = 1000  # Bybit: portfolio margin needs an equity of at least 1,000 USDC


def set_margin_mode(ex: Exchange, cmd: SetMarginMode, ts: int) -> list[Event]:
    account = ex.account(cmd.uid)
    if cmd.mode not in (margin.ISOLATED, "REGULAR_MARGIN", "PORTFOLIO_MARGIN"):
        raise ApiError(Code.PARAM_ERROR, "setMarginMode must be ISOLATED_MARGIN, REGULAR_MARGIN or PORTFOLIO_MARGIN")
    if cmd.mode == account.margin_mode:
        raise ApiError(Code.MARGIN_MODE_NOT_MODIFIED)
    if cmd.mode == margin.PORTFOLIO:
        equity = sum(Fraction(units, MONEY_SCALE) * Fraction(ex.coin_usd_price(c)) for c, units in
                     account.balances.items())
        if equity < PM_MIN_EQUITY_USD:
            raise ApiError(Code.UPGRADE_NET_ASSET, f"portfolio margin needs an equity of {PM_MIN_EQUITY_USD} USD")
    busy = [k for k, p in account.positions.items() if p.size] or [
        (o.category, o.symbol) for o in [*account.open_orders.values(), *account.conditionals.values()]
        if o.category != "spot"]
    if busy:
        raise ApiError(Code.SET_MARGIN_MODE_FAILED,
                       f"close the derivatives positions and orders first ({busy[0][1]})")
    account.margin_mode = cmd.mode
    account.updated_at = ts
    return []


def add_margin(ex: Exchange, cmd: AddMargin, ts: int) -> list[Event]:
    account = ex.account(cmd.uid)
    st = ex.derivative(cmd.category, cmd.symbol)
    pos = account.positions.get((cmd.category, cmd.symbol, position_mode.check_idx(account, st.inst,
                                                                                   cmd.position_idx)))
    if pos is None or pos.size == 0:
        raise ApiError(Code.SET_MARGIN_WITHOUT_POSITION)
    if cmd.amount == 0:
        raise ApiError(Code.MARGIN_NOT_MODIFIED)
    if account.margin_mode == margin.PORTFOLIO:
        raise ApiError(Code.PM_MODE_UNSUPPORTED, "margin is added to isolated positions only")
    if account.margin_mode != margin.ISOLATED:
        raise ApiError(Code.POSITION_CROSS_MODE, "margin is added to isolated positions only")
    coin = st.inst.settle_coin
    if cmd.amount > 0 and cmd.amount > account.balance(coin):
        raise ApiError(Code.WALLET_BALANCE_INSUFFICIENT,
                       f"the {coin} wallet holds {format_units(account.balance(coin))}")
    if cmd.amount > 0 and cmd.amount > margin.available(ex.symbols, account, coin):
        raise ApiError(Code.ADD_MARGIN_INSUFFICIENT)
    if cmd.amount < 0:
        removable = pos.margin - margin.isolated_im(pos)  # only what was added can come back
        if -cmd.amount > removable:
            raise ApiError(Code.ADDED_MARGIN_ABOVE_MAX,
                           f"at most {format_units(removable)} {st.inst.settle_coin} can be removed")
        _check_isolated_margin(st, pos, pos.margin + cmd.amount, Code.ADJUSTMENT_LIQUIDATES_NOW)
    pos.margin += cmd.amount
    pos.updated_ts = ts
    return [PositionChanged(uid=account.uid, category=cmd.category, symbol=cmd.symbol)]


def set_auto_add_margin(ex: Exchange, cmd: SetAutoAddMargin, ts: int) -> list[Event]:
    account = ex.account(cmd.uid)
    st = ex.derivative(cmd.category, cmd.symbol)
    if account.margin_mode == margin.PORTFOLIO:
        raise ApiError(Code.PM_MODE_UNSUPPORTED, "auto-add-margin is for isolated positions")
    if account.margin_mode != margin.ISOLATED:
        raise ApiError(Code.AUTO_ADD_MARGIN_ISOLATED_ONLY, "the account is in cross margin mode")
    key = (cmd.category, cmd.symbol, position_mode.check_idx(account, st.inst, cmd.position_idx))
    pos = account.positions.get(key)
    if pos is None:
        pos = account.positions[key] = Position(account.uid, cmd.category, cmd.symbol, ts, idx=key[2])
    pos.auto_add = cmd.enabled
    pos.updated_ts = ts
    return [PositionChanged(uid=account.uid, category=cmd.category, symbol=cmd.symbol)]


# -- liquidation ---------------------------------------------------------------------------------------
def coin_equity_and_mm(ex: Exchange, account: Account, coin: str) -> tuple[int, int]:
    """Wallet + unrealised PnL of a settle coin, and the maintenance margin of its positions."""
    equity, mm = account.balance(coin), 0
    for key, pos in account.positions.items():
        st = ex.symbols[key[:2]]
        if pos.size and st.inst.settle_coin == coin:
            equity += margin.unrealised(st, pos)
            mm += margin.position_mm(st, pos)
    return equity, mm


def check_liquidations(ex: Exchange, st: SymbolState, ts: int, events: list[Event]) -> None:
    """Liquidate every account holding ``st`` whose maintenance margin the equity no longer covers."""
    coin, key = st.inst.settle_coin, st.inst.key
    for account in list(ex.accounts.values()):
        held = [p for p in account.held_positions(*key) if p.size]
        if not held or account.label == INSURANCE_LABEL or account.rules.get("skip_liquidation"):
            continue
        if account.margin_mode == margin.ISOLATED:  # each position stands on its own margin
            for pos in held:
                equity, mm = pos.margin + margin.unrealised(st, pos), margin.position_mm(st, pos)
                if mm and equity <= mm and pos.auto_add:
                    _auto_add(ex, account, st, pos, ts, events)
                    equity = pos.margin + margin.unrealised(st, pos)
                if mm and equity <= mm:
                    liquidate(ex, account, coin, ts, events, only=pos.key)
            continue
        equity, mm = coin_equity_and_mm(ex, account, coin)
        if mm and equity <= mm:
            liquidate(ex, account, coin, ts, events)


def insurance_fund(ex: Exchange, ts: int, events: list[Event]) -> Account:
    fund = ex.account_labelled(INSURANCE_LABEL)
    if fund is None:
        uid = ex.next_uid
        fund = ex.accounts[uid] = Account(uid=uid, created_at=ts, updated_at=ts, label=INSURANCE_LABEL)
        ex.next_uid += 1
    return fund


def _exit_ticks(st: SymbolState, pos: Position, exit_value: int) -> int:
    """The price whose value of the position is ``exit_value``, rounded against the position's holder."""
    lots = abs(pos.size)
    grid = st.grid
    if exit_value <= 0:
        exact = Fraction(0) if not grid.inverse else Fraction(grid.max_price_ticks)
    elif grid.inverse:
        exact = Fraction(lots) * Fraction(grid.step) * MONEY_SCALE / (exit_value * grid.tick_fraction)
    else:
        exact = Fraction(exit_value, lots * grid.value_mult)
    ticks = exact.numerator // exact.denominator if pos.size > 0 else -(-exact.numerator // exact.denominator)
    return max(1, ticks)


def _auto_add(ex: Exchange, account: Account, st: SymbolState, pos: Position, ts: int, events: list[Event]) -> None:
    """Isolated auto-add-margin: top the margin up from the available balance, back to the initial margin."""
    coin = st.inst.settle_coin
    need = margin.isolated_im(pos) - pos.margin - margin.unrealised(st, pos)
    amount = min(need, margin.available(ex.symbols, account, coin))
    if amount > 0:
        pos.margin += amount
        events.append(PositionChanged(uid=account.uid, category=st.inst.category, symbol=st.inst.symbol))


def liquidate(ex: Exchange, account: Account, coin: str, ts: int, events: list[Event],
              only: tuple[str, str, int] | None = None) -> None:
    """Cross: every position of the coin, the account's equity in it lost. Isolated (``only``): that
    position, at the price where its margin is lost."""
    fund = insurance_fund(ex, ts, events)
    for order in list(account.open_orders.values()):  # CancelAllBeforeLiq
        if only is None or (order.category, order.symbol, order.position_idx) == only:
            trading.finish(ex, account, order, CANCELLED, ts, events, cancel_type="CancelAllBeforeLiq")
    for order in list(account.conditionals.values()):
        if only is None or (order.category, order.symbol, order.position_idx) == only:
            triggers.cancel_conditional(ex, account, order, ts, events)
            order.cancel_type = "CancelAllBeforeLiq"
    held = [(key, pos) for key, pos in sorted(account.positions.items())
            if pos.size and ex.symbols[key[:2]].inst.settle_coin == coin and (only is None or key == only)]
    for _, pos in held:  # the TP/SL of the positions taken over go too
        pos.take_profit = pos.stop_loss = pos.trailing_stop = pos.trail_active = 0
    wallet_before = account.balance(coin)
    busts: list[Execution] = []
    if only is not None:
        equity = held[0][1].margin + margin.unrealised(ex.symbols[only[:2]], held[0][1])
    else:
        equity, _ = coin_equity_and_mm(ex, account, coin)
    values = [margin.position_value(ex.symbols[key[:2]], pos) for key, pos in held]
    # isolated: exactly the position's margin is lost, whatever the mark; cross with equity left: it is lost,
    # spread over the positions by value, each closing below its mark
    if only is not None or equity > 0:
        weights = values
    else:  # bankrupt already: the losing positions close at their bankruptcy prices (better than the mark,
        # the fund takes the difference), the profitable ones at their marks
        weights = [max(0, -margin.unrealised(ex.symbols[key[:2]], pos)) for key, pos in held]
        if not any(weights):
            weights = values
    total = sum(weights) or 1
    shares = [equity * w // total for w in weights]
    biggest = max(range(len(held)), key=lambda i: weights[i])
    shares[biggest] += equity - sum(shares)
    taken = []
    for (key, pos), share in zip(held, shares, strict=True):
        st = ex.symbols[key[:2]]
        direction, sign = margin.direction(st), (1 if pos.size > 0 else -1)
        target = margin.unrealised(st, pos) - share  # realised PnL that leaves the coin's equity at zero
        ticks = _exit_ticks(st, pos, pos.entry_value + direction * sign * target)
        side, lots = (SELL if pos.size > 0 else BUY), abs(pos.size)
        last = (pos, _bust_trade(ex, st, account, fund, side, lots, ticks, ts, events, idx=pos.idx))
        busts.append(last[1])
        st.liquidations.append((ex.exec_seq, ts, BUY if sign > 0 else SELL, lots, ticks))
        events.append(Liquidated(uid=account.uid, category=st.inst.category, symbol=st.inst.symbol))
        taken.append((st, side, lots, ticks))
    residue = account.balance(coin) if only is None else 0  # what the rounding of the bankruptcy prices left
    if residue and taken:
        pos, execution = last  # part of the last liquidation's realised PnL: the account ends at exactly zero
        execution.pnl -= residue
        pos.cum_realised -= residue
        pos.cur_realised -= residue
        account.credit(coin, -residue)
        fund.credit(coin, residue)
        events.append(BalanceChanged(uid=account.uid, coin=coin, change=-residue, balance=account.balance(coin),
                                     reason="liquidation"))
        events.append(BalanceChanged(uid=fund.uid, coin=coin, change=residue, balance=fund.balance(coin),
                                     reason="liquidation"))
    balance = wallet_before
    for e in busts:  # the transaction log, after the rounding has been folded into the last one
        balance += e.pnl
        ledger.record(ex, account, ts, "LIQUIDATION", coin, category=e.category, symbol=e.symbol, side=e.side,
                      qty=e.qty, size_after=0, price=e.price, cash_flow=e.pnl, trade_id=e.exec_id,
                      order_id=e.order_id, balance=balance)
    for st, side, lots, ticks in taken:  # the fund closes what it took over in the book
        remaining = lots
        while remaining > 0:
            chunk = min(remaining, st.grid.max_mkt_lots or remaining)
            try:
                events += trading.place(ex, PlaceOrder(uid=fund.uid, category=st.inst.category, symbol=st.inst.symbol,
                                                       side=side, order_type="Market", qty=chunk, reduce_only=True),
                                        ts)
            except ApiError:
                break
            remaining -= chunk
        _auto_deleverage(ex, st, fund, ticks, ts, events)


def adl_score(st: SymbolState, pos: Position) -> Fraction:
    """Bybit's ADL ranking: profit ratio x leverage (losing positions rank by the same formula, last)."""
    if not pos.size or not pos.entry_value:
        return Fraction(0)
    return Fraction(margin.unrealised(st, pos), pos.entry_value) * pos.leverage / 100


def adl_rank(ex: Exchange, st: SymbolState, pos: Position) -> int:
    """``adlRankIndicator``: 1 (last in the queue) to 5 (first), the quintile of the position's score among
    the positions on its side of the symbol; 0 when flat."""
    if not pos.size:
        return 0
    key, long = st.inst.key, pos.size > 0
    mine = adl_score(st, pos)
    scores = [adl_score(st, p) for a in ex.accounts.values() if a.label != INSURANCE_LABEL
              for p in a.held_positions(*key) if p.size and (p.size > 0) == long]
    below = sum(1 for s in scores if s < mine)
    return 1 + min(4, below * 5 // max(1, len(scores)))


def _auto_deleverage(ex: Exchange, st: SymbolState, fund: Account, ticks: int, ts: int,
                     events: list[Event]) -> None:
    """What the book could not absorb of a liquidated position is closed against the opposite positions,
    highest ADL score first, at the bankruptcy price (``AdlTrade``, ``CreateByAdl_PassThrough``)."""
    key = st.inst.key
    held = fund.positions.get((*key, 0))
    while held is not None and held.size:
        long = held.size < 0  # the fund holds a short: longs are deleveraged, and the other way round
        queue = sorted(((adl_score(st, p), a.uid, a, p) for a in ex.accounts.values() if a is not fund
                        for p in a.held_positions(*key) if p.size and (p.size > 0) == long),
                       key=lambda c: (-c[0], c[1]))
        if not queue:
            return
        _, _, account, pos = queue[0]
        for order in [o for o in account.open_orders.values() if (o.category, o.symbol) == key]:
            # Bybit cancels the deleveraged account's orders on the symbol first: none may act on a position
            # that is about to shrink (a closing order left resting could otherwise flip it)
            trading.finish(ex, account, order, CANCELLED, ts, events, cancel_type="CancelAllBeforeAdl")
        lots = min(abs(pos.size), abs(held.size))
        side = SELL if pos.size > 0 else BUY
        e = _bust_trade(ex, st, account, fund, side, lots, ticks, ts, events, exec_type="AdlTrade",
                        create_type="CreateByAdl_PassThrough", idx=pos.idx)
        ledger.record(ex, account, ts, "ADL", st.inst.settle_coin, category=e.category, symbol=e.symbol, side=side,
                      qty=lots, size_after=pos.size, price=ticks, cash_flow=e.pnl, trade_id=e.exec_id,
                      order_id=e.order_id)


def _bust_trade(ex: Exchange, st: SymbolState, account: Account, fund: Account, side: int, lots: int, ticks: int,
                ts: int, events: list[Event], exec_type: str = "BustTrade",
                create_type: str = "CreateByTakeOver_PassThrough", idx: int = 0) -> Execution:
    """The account's position passes to the fund at the bankruptcy price: a filled liquidation order on each
    side, no fee, execType ``BustTrade``. Returns the account's execution."""
    mine = None
    value = st.grid.value(ticks, lots)
    seq = ex.next_seq()
    ex.exec_seq += 1
    for holder, order_side in ((account, side), (fund, -side)):
        ex.order_seq += 1
        order = Order(order_id=ex.order_seq, uid=holder.uid, category=st.inst.category, symbol=st.inst.symbol,
                      side=order_side, order_type="Market", tif="IOC", price=ticks, qty=lots, order_link_id="",
                      reduce_only=holder is account, close_on_trigger=False, smp_type="None",
                      position_idx=idx if holder is account else 0, ts=ts,
                      last_price_on_created=st.last if st.last is not None else st.mark)
        order.create_type = create_type
        ex.orders[order.order_id] = order
        holder.order_ids.append(order.order_id)
        events.append(OrderAccepted(uid=holder.uid, order_id=order.order_id))
        _fee, _coin, closed, pnl, open_fee, entry_closed = trading.settle_derivative(
            ex, st, holder, order, ticks, lots, value, 0, ts, seq, events)
        order.leaves, order.cum_qty, order.cum_value = 0, lots, value
        order.cum_inv = lots * 10**20 // ticks
        order.status, order.fee_coin, order.seq, order.updated_ts = FILLED, st.inst.settle_coin, seq, ts
        execution = Execution(ex.exec_seq, order, ticks, lots, value, 0, st.inst.settle_coin, 0, holder is fund, ts,
                              seq, st.mark, closed, pnl, open_fee)
        execution.leaves = 0
        execution.exec_type = exec_type
        execution.entry_closed, execution.entry_inv_closed = entry_closed
        holder.executions.append(execution)
        events.append(Executed(uid=holder.uid, order_id=order.order_id, exec_id=execution.exec_id))
        events.append(OrderChanged(uid=holder.uid, order_id=order.order_id, status=FILLED))
        if holder is account:
            mine = execution
    assert mine is not None
    return mine


# -- funding -------------------------------------------------------------------------------------------
def interval_ms(st: SymbolState) -> int:
    return st.inst.funding_interval_min * 60_000


def sample_premium(st: SymbolState, ts: int) -> None:
    """Accumulate the current premium of the mark over the index until ``ts`` (time-weighted), never past the
    interval's funding time (the settlement at that time starts the next interval)."""
    f = st.funding
    if f.due == 0:
        return
    until = min(ts, f.due)
    if until > f.premium_ts:
        f.premium_sum += f.premium * (until - f.premium_ts)
        f.premium_ts = until
    f.premium = (st.mark - st.index) * RATE_SCALE // st.index if st.index else 0


def predicted_rate(st: SymbolState, now: int) -> int:
    """The funding rate (1e-8 units) the current interval would settle at, were it to end ``now``."""
    f = st.funding
    length = interval_ms(st)
    start = (f.due - length) if f.due else now - now % length
    span = max(0, min(now, f.due or now) - start)
    total = f.premium_sum + f.premium * max(0, min(now, f.due or now) - f.premium_ts) if f.due else 0
    premium = total // span if span else f.premium
    interest = INTEREST_PER_8H * st.inst.funding_interval_min // 480
    rate = premium + max(-PREMIUM_CLAMP, min(PREMIUM_CLAMP, interest - premium))
    lower = int(st.inst.lower_funding_rate * RATE_SCALE)
    upper = int(st.inst.upper_funding_rate * RATE_SCALE)
    return max(lower, min(upper, rate))


def next_funding_time(st: SymbolState, now: int) -> int:
    length = interval_ms(st)
    return st.funding.due or (now - now % length + length)


def settle_funding_until(ex: Exchange, ts: int, events: list[Event]) -> None:
    """Settle every funding time of every derivatives symbol up to ``ts``."""
    if ts < ex.next_funding_check:
        return
    for st in ex.symbols.values():
        if not st.inst.is_derivative or st.inst.delivery_time:  # spot and dated futures have no funding
            continue
        f = st.funding
        if f.due == 0:  # the first command seen: start the first interval
            f.due = ts - ts % interval_ms(st) + interval_ms(st)
            f.premium_ts = ts
            f.premium = (st.mark - st.index) * RATE_SCALE // st.index if st.index else 0
            continue
        if ts >= f.due:
            while ts >= f.due:
                _settle(ex, st, f.due, events)
            check_liquidations(ex, st, ts, events)  # funding paid may leave accounts below maintenance
    ex.next_funding_check = min(st.funding.due for st in ex.symbols.values() if st.inst.is_derivative
                                and not st.inst.delivery_time)


def _settle(ex: Exchange, st: SymbolState, at: int, events: list[Event]) -> None:
    f = st.funding
    rate = predicted_rate(st, at)
    coin, key = st.inst.settle_coin, st.inst.key
    dust = 0
    for account, pos in [(a, p) for a in ex.accounts.values() for p in a.held_positions(*key) if p.size]:
        value = margin.position_value(st, pos)
        owed = value * rate * (1 if pos.size > 0 else -1)  # > 0: this position pays (scaled by RATE_SCALE)
        fee = -(-owed // RATE_SCALE)  # payers round up, receivers down
        dust += fee  # what the payers paid beyond what the receivers got stays with the exchange
        account.credit(coin, -fee)
        pos.cum_realised -= fee
        pos.cur_realised -= fee
        pos.updated_ts = at
        ex.exec_seq += 1
        execution = Execution.__new__(Execution)
        for name in Execution.__slots__:
            setattr(execution, name, 0)
        execution.exec_id, execution.uid, execution.category, execution.symbol = (ex.exec_seq, account.uid,
                                                                                  st.inst.category, st.inst.symbol)
        execution.order_link_id, execution.order_type = "", "UNKNOWN"
        execution.side = BUY if pos.size > 0 else SELL
        execution.price, execution.qty, execution.value = st.mark, abs(pos.size), value
        execution.fee, execution.fee_coin, execution.fee_rate = fee, coin, rate
        execution.is_maker, execution.ts, execution.seq, execution.mark_price = False, at, ex.next_seq(), st.mark
        execution.exec_type = "Funding"
        pos.seq = execution.seq
        account.executions.append(execution)
        ledger.record(ex, account, at, "SETTLEMENT", coin, category=st.inst.category, symbol=st.inst.symbol,
                      side=BUY if pos.size > 0 else SELL, qty=abs(pos.size), size_after=pos.size, price=st.mark,
                      funding=-fee, fee_rate=rate if pos.size > 0 else -rate, trade_id=execution.exec_id)
        events.append(Executed(uid=account.uid, order_id=0, exec_id=execution.exec_id))
        events.append(BalanceChanged(uid=account.uid, coin=coin, change=-fee, balance=account.balance(coin),
                                     reason="funding"))
        events.append(PositionChanged(uid=account.uid, category=st.inst.category, symbol=st.inst.symbol))
    if dust:
        ex.fees_collected[coin] = ex.fees_collected.get(coin, 0) + dust
    f.history.append((at, rate))
    f.due = at + interval_ms(st)
    f.premium_sum, f.premium_ts = 0, at
    events.append(FundingSettled(category=st.inst.category, symbol=st.inst.symbol, rate=rate))
