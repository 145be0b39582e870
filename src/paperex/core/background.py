"""The living market, inside the core: each ``MarketStep`` moves every configured symbol one tick.

Per symbol, in the configured order:
1. **Index**: a seeded geometric Brownian walk from the symbol's current index, one draw per base coin, so
   every BTC product moves with the BTC index (an admin-set index is where a symbol goes on from; a symbol fed
   by a data file walks on from where its recording ends).
2. **Basis**: where the book trades relative to the index, a mean-reverting (Ornstein-Uhlenbeck) ratio.
3. **Liquidity provider** (an ordinary account): a ladder of ``levels`` limit orders a side on a lattice of
   ``spacing`` ticks around ``index x (1 + basis)``, sizes growing away from the touch with noise. The ladder
   stays contiguous, so a move of the centre by k lattice points re-prices about k orders a side (the far end
   moves to the near end), whatever the depth; a few random levels are resized each step.
4. **Background takers** (an ordinary account): market orders arriving as a Poisson process, heavy-tailed
   sizes, sides leaning against their own inventory so it stays bounded.
5. **Mark price** (derivatives on the walk; a feed or a scenario sets its own), Bybit's: the median of
   index x (1 + funding rate x time to funding / interval), index + the 5-minute average of the book's basis
   (mid - index, sampled every step), and the last traded price.

Nothing here is privileged: the provider and the takers place, amend and cancel through ``core.trading``
like any account, meet every rule, and a refused order is simply skipped. Only ``MarketStep`` (a few bytes)
is journaled; everything it does is re-derived on replay from the seeded streams, whose states are part of
the snapshot. Background accounts keep a bounded history (older closed orders and executions are dropped).
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

from paperex.core import delivery, prices, risk, trading
from paperex.core.book import BUY, SELL
from paperex.core.commands import (
    AmendOrder,
    CancelOrder,
    ConfigureMarket,
    MarketStep,
    PlaceOrder,
    SetAutoAddMargin,
    SimSymbol,
)
from paperex.core.events import Event
from paperex.core.rng import SplitMix64, stream
from paperex.core.symbol import SymbolState
from paperex.errors import ApiError, Code

if TYPE_CHECKING:
    from paperex.core.accounts import Account
    from paperex.core.engine import Exchange

YEAR_MS = 365 * 86_400_000
BASIS_MEAN = 0.00005  # perpetuals trade a little above the index, on average (0.5 bp)
BASIS_SD = 0.0002  # stationary spread of the basis (2 bp)
BASIS_HALF_LIFE_MS = 600_000  # the basis forgets in about ten minutes
MARK_WINDOW_MS = 300_000  # Bybit: the basis moving average spans 5 minutes
CARRY = 0.05  # dated futures trade above the index by this much a year until delivery (contango)
# a dated future's book: thinner than its perpetual's and wider (a step's cost is the ladder's re-pricing as the
# index moves: a quarter of the lattice points, a quarter of the amends)
FUTURE_LEVELS = 40
FUTURE_SPACING = 4
FUTURE_FLOW = 0.1  # and its takers: this share of its perpetual's
MAX_LEVELS = 240  # a side; two sides stay under the 500 open orders an account may have per symbol
KEEP_HISTORY = 1000  # background accounts' closed orders and executions kept
PRUNE_EVERY = 60  # steps


class SimState:
    """One symbol's living-market state. Everything but ``spec``, ``st`` and ``source`` is in the snapshot."""

    __slots__ = ("asks", "basis", "bids", "net", "rng", "sample_sum", "samples", "source", "spec", "st", "x")

    def __init__(self, spec: SimSymbol, st: SymbolState, rng_state: int, source: SymbolState | None = None) -> None:
        self.spec = spec
        self.st = st
        self.source = source  # a dated future: its perpetual, whose index it shares
        self.rng = SplitMix64(rng_state)
        self.x = float(st.index)  # the walk's exact level, in (fractional) ticks
        self.basis = BASIS_MEAN
        self.samples: deque[int] = deque()  # (bid1 + ask1 - 2 index), half-ticks, one a step
        self.sample_sum = 0  # derived: their sum (integers, exact)
        self.bids: dict[int, int] = {}  # price -> order id: a contiguous run of lattice prices
        self.asks: dict[int, int] = {}
        self.net = 0  # the takers' signed lots bought

    def dump(self) -> list:
        return [self.rng.state, repr(self.x), repr(self.basis), list(self.samples), sorted(self.bids.items()),
                sorted(self.asks.items()), self.net]

    def restore(self, row: list) -> None:
        self.rng.state, x, basis, samples, bids, asks, self.net = row
        self.x, self.basis = float(x), float(basis)
        self.samples = deque(samples)
        self.sample_sum = sum(self.samples)
        self.bids, self.asks = dict(map(tuple, bids)), dict(map(tuple, asks))


class MarketSim:
    __slots__ = ("coins", "config", "steps", "symbols")

    def __init__(self, config: ConfigureMarket) -> None:
        self.config = config
        self.symbols: dict[tuple[str, str], SimState] = {}
        # one walk per base coin: BTCUSDT, BTCUSD and spot BTCUSDT share the BTC index's moves, as on Bybit
        self.coins: dict[str, SplitMix64] = {}
        self.steps = 0

    def coin(self, name: str) -> SplitMix64:
        rng = self.coins.get(name)
        if rng is None:
            rng = self.coins[name] = SplitMix64(stream(self.config.seed, "walk", name))
        return rng

    def state(self) -> tuple:
        return (self.steps, sorted((c, r.state) for c, r in self.coins.items()),
                [(k, s.dump()) for k, s in self.symbols.items()])


# -- configuration ---------------------------------------------------------------------------------------
def configure(ex: Exchange, cmd: ConfigureMarket, ts: int) -> list[Event]:
    for uid in (cmd.maker_uid, cmd.taker_uid):
        ex.account(uid)
    if cmd.tick_ms < 10:
        raise ApiError(Code.PARAM_ERROR, "tick_ms must be at least 10")
    seen = set()
    for s in cmd.symbols:
        key = (s.category, s.symbol)
        if key not in ex.symbols or key in seen:
            raise ApiError(Code.PARAM_ERROR, f"symbol {s.symbol} does not exist in {s.category} or is repeated")
        if ex.symbols[key].inst.delivery_time:  # listed by the calendar, driven from its perpetual (listed_spec)
            raise ApiError(Code.PARAM_ERROR, f"{s.symbol} is a dated future: configure its perpetual")
        seen.add(key)
        if not (0 <= s.levels <= MAX_LEVELS and s.spacing >= 1 and s.half_spread >= 0 and s.lots >= 1
                and s.taker_lots >= 1 and s.max_taker_lots >= s.taker_lots and 0 <= s.trade_rate <= 1000
                and 0 <= s.volatility <= 10 and -10 <= s.drift <= 10):
            raise ApiError(Code.PARAM_ERROR, f"market settings of {s.symbol} out of range")
    old = ex.sim
    sim = MarketSim(cmd)
    events: list[Event] = []
    for s in cmd.symbols:
        key = (s.category, s.symbol)
        prev = old.symbols.get(key) if old is not None else None
        state = SimState(s, ex.symbols[key], stream(cmd.seed, "market", *key))
        if prev is not None:
            state.restore(prev.dump())
        sim.symbols[key] = state
    for key in map(delivery.key_of, ex.dated):
        st = ex.symbols[key]
        spec, source = listed_spec(ex, st, sim)
        if spec is not None and st.status == "Trading":
            prev = old.symbols.get(key) if old is not None else None
            state = SimState(spec, st, stream(cmd.seed, "market", *key), source)
            if prev is not None:
                state.restore(prev.dump())
            sim.symbols[key] = state
    if old is not None:
        sim.steps = old.steps
        sim.coins = {c: SplitMix64(r.state) for c, r in old.coins.items()}
        for key, prev in old.symbols.items():  # a symbol no longer quoted (or by another account): orders go
            now = sim.symbols.get(key)
            if now is None or now.spec.levels == 0 or cmd.maker_uid != old.config.maker_uid:
                for side in (prev.bids, prev.asks):
                    _cancel(ex, old.config.maker_uid, prev.st, list(side.values()), ts, events)
                    side.clear()
                if now is not None:
                    now.bids.clear()
                    now.asks.clear()
    ex.sim = sim
    # the provider's ladder holds each level at its own price: one beyond the band is refused (and skipped), never
    # moved onto the band's edge as Bybit's futures default would (set-limit-px-action: reject)
    ex.accounts[cmd.maker_uid].clamp_futures = False
    return events


def listed_spec(ex: Exchange, st: SymbolState,
                sim: MarketSim | None = None) -> tuple[SimSymbol | None, SymbolState | None]:
    """How the living market drives a dated future: like its perpetual (the series' source), thinner, with its
    index taken from the perpetual's. None when the perpetual is not part of the living market."""
    sim = sim or ex.sim
    series = next((x for x in ex.market.series if any(d[0] == x.name and d[1] == st.inst.symbol for d in ex.dated)),
                  None)
    if sim is None or series is None:
        return None, None
    source_key = (series.category, series.source)
    src = next((s for s in sim.config.symbols if (s.category, s.symbol) == source_key), None)
    if src is None:
        return None, None
    spec = SimSymbol(category=st.inst.category, symbol=st.inst.symbol, walk=src.walk, walk_from=src.walk_from,
                     drift=src.drift, volatility=src.volatility, levels=min(src.levels, FUTURE_LEVELS),
                     spacing=src.spacing * FUTURE_SPACING, half_spread=src.half_spread, lots=src.lots,
                     trade_rate=src.trade_rate * FUTURE_FLOW, taker_lots=src.taker_lots,
                     max_taker_lots=src.max_taker_lots)
    return spec, ex.symbols[source_key]


def add_listed(ex: Exchange, st: SymbolState, ts: int) -> None:
    """A dated future just listed: the living market quotes and trades it from the next step (its accounts'
    isolated positions top their margin up, as on every symbol they trade)."""
    sim = ex.sim
    assert sim is not None
    spec, source = listed_spec(ex, st)
    if spec is None:
        return
    sim.symbols[st.inst.key] = SimState(spec, st, stream(sim.config.seed, "market", *st.inst.key), source)
    for uid in (sim.config.maker_uid, sim.config.taker_uid):
        _apply(ex, risk.set_auto_add_margin, SetAutoAddMargin(uid=uid, category=st.inst.category,
                                                              symbol=st.inst.symbol, enabled=True), ts, [])


def remove_delivered(ex: Exchange, st: SymbolState) -> None:
    """A dated future delivered: no more quotes (its orders were cancelled by the settlement)."""
    if ex.sim is not None:
        ex.sim.symbols.pop(st.inst.key, None)


# -- one step --------------------------------------------------------------------------------------------
def step(ex: Exchange, cmd: MarketStep, ts: int) -> list[Event]:
    sim = ex.sim
    if sim is None:
        raise ApiError(Code.PARAM_ERROR, "no living market is configured")
    states = sim.symbols.values()
    if cmd.symbol:
        one = sim.symbols.get((cmd.category, cmd.symbol))
        if one is None or (one.spec.walk and ts >= one.spec.walk_from):
            raise ApiError(Code.PARAM_ERROR, f"{cmd.symbol} is not a symbol the market follows from a feed")
        states = [one]
    cfg = sim.config
    maker, taker = ex.account(cfg.maker_uid), ex.account(cfg.taker_uid)
    events: list[Event] = []
    dt = cfg.tick_ms / YEAR_MS
    keep = math.exp(-cfg.tick_ms * math.log(2) / BASIS_HALF_LIFE_MS)
    shock = BASIS_SD * math.sqrt(1 - keep * keep)
    window = max(1, MARK_WINDOW_MS // cfg.tick_ms)
    shocks: dict[str, float] = {}  # this step's draw of each coin's walk
    for state in states:
        spec, st, rng = state.spec, state.st, state.rng
        moved = False
        walking = spec.walk and ts >= spec.walk_from
        if state.source is not None:  # a dated future: the index is its perpetual's
            walking = ts >= spec.walk_from
            if state.source.index != st.index:
                prices.set_index(st, state.source.index, ts)
                moved = True
            state.basis = BASIS_MEAN + (state.basis - BASIS_MEAN) * keep + shock * rng.gauss()
        elif walking:
            if round(state.x) != st.index:  # someone else (a scenario) moved the index: walk on from there
                state.x = float(st.index)
            sigma = spec.volatility
            coin = st.inst.base_coin
            z = shocks.get(coin)
            if z is None:
                z = shocks[coin] = sim.coin(coin).gauss()
            state.x *= math.exp((spec.drift - sigma * sigma / 2) * dt + sigma * math.sqrt(dt) * z)
            ticks = max(1, round(state.x))
            if ticks != st.index:
                prices.set_index(st, ticks, ts)
                moved = True
            state.basis = BASIS_MEAN + (state.basis - BASIS_MEAN) * keep + shock * rng.gauss()
        else:  # a feed's recorded trades print at the index: quotes straddle it
            state.basis = 0.0
        if spec.levels:
            _quote(ex, state, maker, ts, events)
        if spec.trade_rate and (walking or not spec.walk):  # not while a recording plays: its trades are the tape
            _takers(ex, state, taker, cfg.tick_ms, ts, events)
        if not walking:  # a feed or a scenario owns the index and the mark
            continue
        if st.inst.is_derivative:
            bid, ask = st.book.best_bid(), st.book.best_ask()
            sample = bid + ask - 2 * st.index if bid and ask else 0
            state.samples.append(sample)
            state.sample_sum += sample
            while len(state.samples) > window:
                state.sample_sum -= state.samples.popleft()
            basis_ticks = state.sample_sum / (2 * len(state.samples))
            # a dated future's mark: the index plus the average basis (Bybit: a 10-minute impact-price basis)
            mark = max(1, round(st.index + basis_ticks)) if st.inst.delivery_time else bybit_mark(st, ts, basis_ticks)
            if mark != st.mark or moved:
                prices.set_mark(ex, st, mark, ts, events)
        elif moved:  # spot: the mark is the index
            prices.set_mark(ex, st, st.index, ts, events)
    if cmd.symbol:
        return events
    sim.steps += 1
    if sim.steps % PRUNE_EVERY == 0:
        _prune(ex, maker)
        _prune(ex, taker)
    return events


def bybit_mark(st: SymbolState, ts: int, basis_ticks: float) -> int:
    """Bybit's mark price of a perpetual: the median of index x (1 + funding rate x time to the funding /
    interval), index + the moving average of the basis, and the last traded price."""
    index = st.index
    interval = risk.interval_ms(st)
    to_funding = max(0, risk.next_funding_time(st, ts) - ts)
    p1 = index * (1 + risk.predicted_rate(st, ts) / risk.RATE_SCALE * to_funding / interval)
    p2 = index + basis_ticks
    last = st.last if st.last is not None else index
    return max(1, round(sorted((p1, p2, float(last)))[1]))


# -- the liquidity provider ------------------------------------------------------------------------------
def _size(rng: SplitMix64, lots: int, level: int, st: SymbolState) -> int:
    size = lots * (1 + level / 25) * math.exp(0.35 * rng.gauss())
    return min(st.grid.max_lots, max(st.grid.min_lots, round(size)))


def _quote(ex: Exchange, state: SimState, maker: Account, ts: int, events: list[Event]) -> None:
    spec, st, rng = state.spec, state.st, state.rng
    s, levels = spec.spacing, spec.levels
    carry = CARRY * max(0, st.inst.delivery_time - ts) / YEAR_MS if st.inst.delivery_time else 0.0
    centre = st.index * (1 + state.basis + carry)
    best_bid = math.floor((centre - spec.half_spread) / s) * s
    best_ask = max(math.ceil((centre + spec.half_spread) / s) * s, best_bid + s)
    sides = ((BUY, state.bids, best_bid, max(s, best_bid - (levels - 1) * s)),
             (SELL, state.asks, best_ask, best_ask + (levels - 1) * s))
    plan = []
    for side, ladder, touch, far in sides:
        out = -s if side == BUY else s  # from the touch outwards
        free: list[int] = []  # orders to re-price: those inside the new touch first
        if ladder:
            near, end = (max(ladder), min(ladder)) if side == BUY else (min(ladder), max(ladder))
            while ladder and (near - end) * out <= 0 and ladder.get(near, 0) not in maker.open_orders:
                ladder.pop(near, None)  # taken, from the touch outwards
                near += out
            while ladder and (near - end) * out <= 0 and (near - touch) * out < 0:  # inside the new touch
                oid = ladder.pop(near, 0)
                if oid:
                    free.append(oid)
                near += out
            while ladder and (end - near) * out >= 0 and (end - far) * out > 0:  # beyond the new far end
                oid = ladder.pop(end, 0)
                if oid:
                    free.append(oid)
                end -= out
        if not ladder:
            near, end = touch + out, touch
        far_wanted, touch_wanted = [], []
        p = end + out
        while (p - far) * out <= 0 and p > 0:
            far_wanted.append(p)
            p += out
        p = near - out
        while (p - touch) * out >= 0:
            touch_wanted.append(p)
            p -= out
        plan.append((side, ladder, touch, free, far_wanted, touch_wanted))
    # the far ends first (they never cross), then the touch; the provider never trades with itself (SMP)
    for phase in (4, 5):
        for side, ladder, touch, free, *wanted in plan:
            for price in wanted[phase - 4]:
                qty = _size(rng, spec.lots, abs(price - touch) // s, st)
                oid = free.pop() if free else 0
                order = ex.orders.get(oid)
                if order is not None and oid in maker.open_orders and _apply(ex, trading.amend, AmendOrder(
                        uid=maker.uid, category=st.inst.category, symbol=st.inst.symbol, order_id=oid,
                        qty=order.cum_qty + qty, price=price), ts, events):
                    if oid in maker.open_orders:
                        ladder[price] = oid
                    continue
                if oid:
                    _cancel(ex, maker.uid, st, [oid], ts, events)
                before = ex.order_seq
                _apply(ex, trading.place, PlaceOrder(uid=maker.uid, category=st.inst.category, symbol=st.inst.symbol,
                                                     side=side, order_type="Limit", qty=qty, price=price, tif="GTC",
                                                     smp_type="CancelTaker"), ts, events)
                if ex.order_seq != before and ex.order_seq in maker.open_orders:
                    ladder[price] = ex.order_seq
    for _, _, _, free, *_ in plan:
        _cancel(ex, maker.uid, st, free, ts, events)
    if levels > 2 and rng.uniform() < 0.3:  # providers come and go across the book
        side, ladder, touch, *_ = plan[0 if rng.uniform() < 0.5 else 1]
        level = int(rng.uniform() * levels)
        price = touch + (s if side == SELL else -s) * level
        oid = ladder.get(price, 0)
        order = ex.orders.get(oid)
        if order is not None and oid in maker.open_orders:
            qty = _size(rng, spec.lots, level, st)
            if qty != order.leaves:
                _apply(ex, trading.amend, AmendOrder(uid=maker.uid, category=st.inst.category,
                                                     symbol=st.inst.symbol, order_id=oid,
                                                     qty=order.cum_qty + qty), ts, events)
                if oid not in maker.open_orders:
                    del ladder[price]


def _apply(ex: Exchange, operation, command, ts: int, events: list[Event]) -> bool:
    """One order operation of a background account; a refusal (margin, a limit, a rule) skips it."""
    try:
        events += operation(ex, command, ts)
    except ApiError:
        return False
    return True


def _cancel(ex: Exchange, uid: int, st: SymbolState, order_ids: list[int], ts: int, events: list[Event]) -> None:
    account = ex.accounts[uid]
    for oid in order_ids:
        if oid in account.open_orders:
            _apply(ex, trading.cancel, CancelOrder(uid=uid, category=st.inst.category, symbol=st.inst.symbol,
                                                   order_id=oid), ts, events)


# -- background takers -----------------------------------------------------------------------------------
def _takers(ex: Exchange, state: SimState, taker: Account, tick_ms: int, ts: int, events: list[Event]) -> None:
    spec, st, rng = state.spec, state.st, state.rng
    arrivals = rng.poisson(spec.trade_rate * tick_ms / 1000)
    for _ in range(arrivals):
        lean = math.tanh(state.net / (50 * spec.taker_lots))
        side = BUY if rng.uniform() < 0.5 - 0.45 * lean else SELL
        lots = round(spec.taker_lots * math.exp(rng.gauss()))
        lots = max(st.grid.min_lots, min(lots, spec.max_taker_lots, st.grid.max_mkt_lots))
        before = ex.order_seq
        if _apply(ex, trading.place, PlaceOrder(uid=taker.uid, category=st.inst.category, symbol=st.inst.symbol,
                                                side=side, order_type="Market", qty=lots), ts, events) \
                and ex.order_seq != before:
            state.net += side * ex.orders[ex.order_seq].cum_qty


# -- bounded history of background accounts --------------------------------------------------------------
def _prune(ex: Exchange, account: Account) -> None:
    if len(account.executions) > 2 * KEEP_HISTORY:
        del account.executions[:-KEEP_HISTORY]
    if len(account.order_ids) > 2 * KEEP_HISTORY:
        kept = []
        for oid in account.order_ids[:-KEEP_HISTORY]:
            if oid in account.open_orders or oid in account.conditionals:
                kept.append(oid)
                continue
            order = ex.orders.pop(oid, None)
            if order is not None and order.order_link_id:
                ex.link_ids.pop((order.uid, order.order_link_id), None)
        account.order_ids = kept + account.order_ids[-KEEP_HISTORY:]
