"""Property tests of the living market in the pure core (core.background): for any seed and any user orders
interleaved with its steps, money is conserved, books never rest crossed, the liquidity provider's ladder
stays on its lattice within its depth, it never trades with itself, and the state replays and snapshots to
the same digest. Plus the history generator's own rules (market.history)."""

from __future__ import annotations

import itertools

import msgspec
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from paperex.config import Config, SymbolConfig
from paperex.core import background, snapshot
from paperex.core.commands import (
    ConfigureMarket,
    CreateAccount,
    HistorySpec,
    MarketStep,
    PlaceOrder,
    SetPrices,
)
from paperex.core.engine import FIRST_UID, Exchange
from paperex.core.numbers import to_units
from paperex.data import load_market
from paperex.errors import ApiError
from paperex.market import history
from paperex.market.setup import BALANCES, sim_spec

MARKET = load_market()
SYMBOLS = [("linear", "BTCUSDT"), ("inverse", "ETHUSD"), ("spot", "ETHUSDT")]
T0 = 1_767_225_600_000
MAKER, TAKER, USER = FIRST_UID, FIRST_UID + 1, FIRST_UID + 2


def configured(seed: int, levels: int) -> tuple[Exchange, list[tuple[object, int]]]:
    ex = Exchange(MARKET)
    log: list[tuple[object, int]] = []

    def apply(command, ts: int) -> list:
        events = ex.apply(command, ts)
        log.append((command, ts))
        return events

    for _ in (MAKER, TAKER):
        apply(CreateAccount(balances={c: to_units(v) for c, v in BALANCES.items()}), T0)
    apply(CreateAccount(balances={"USDT": to_units("100000"), "ETH": to_units("20")}), T0)
    cfg = Config(levels=levels)
    specs = [sim_spec(ex.symbols[k], SymbolConfig(category=k[0], symbol=k[1], volatility=3.0), cfg, ex.symbols[k].index)
             for k in SYMBOLS]
    apply(ConfigureMarket(seed=seed, tick_ms=1000, maker_uid=MAKER, taker_uid=TAKER, symbols=specs,
                          history=HistorySpec(seed=seed, end_ms=T0, days=0)), T0)
    return ex, log


def check(ex: Exchange) -> None:
    assert all(row["conserved"] for row in ex.money_check().values()), ex.money_check()
    for (category, symbol), state in ex.sim.symbols.items():
        book = ex.symbols[(category, symbol)].book
        bid, ask = book.best_bid(), book.best_ask()
        assert not (bid and ask) or bid < ask, (symbol, bid, ask)
        maker = ex.accounts[MAKER]
        for ladder, side in ((state.bids, 1), (state.asks, -1)):
            assert len(ladder) <= state.spec.levels
            taken = True  # takers that came after the quotes ate the ladder from its touch outwards only
            for price in sorted(ladder, reverse=side == 1):
                order = ex.orders[ladder[price]]
                assert price % state.spec.spacing == 0 and order.price == price and order.side == side
                if order.order_id in maker.open_orders:
                    taken = False
                else:
                    assert taken and order.status == "Filled", (symbol, price, order.status)
    ids = [e.exec_id for e in ex.accounts[MAKER].executions]
    assert len(ids) == len(set(ids)), "the provider traded with itself"


user_orders = st.lists(st.tuples(st.integers(0, 59), st.sampled_from(SYMBOLS), st.sampled_from([1, -1]),
                                 st.sampled_from(["Market", "Limit"]), st.integers(-40, 40), st.integers(1, 40)),
                       max_size=8)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32), levels=st.sampled_from([3, 20]), orders=user_orders,
       jump=st.sampled_from([0, 200, -300]))
def test_the_living_market_keeps_every_invariant(seed, levels, orders, jump) -> None:
    ex, log = configured(seed, levels)
    for second in range(60):
        ts = T0 + (second + 1) * 1000
        if second == 30 and jump:  # a scenario moves the index far: the ladder follows without crossing itself
            st_ = ex.symbols[SYMBOLS[0]]
            command = SetPrices(category="linear", symbol="BTCUSDT", index=st_.index + jump * st_.grid.min_lots)
            ex.apply(command, ts)
            log.append((command, ts))
        for at, (category, symbol), side, kind, offset, lots in orders:
            if at != second:
                continue
            sym = ex.symbols[(category, symbol)]
            price = sym.index + offset * max(1, ex.sim.symbols[(category, symbol)].spec.spacing // 4)
            command = PlaceOrder(uid=USER, category=category, symbol=symbol, side=side, order_type=kind,
                                 qty=lots * sym.grid.min_lots, price=price if kind == "Limit" else None)
            try:
                ex.apply(command, ts)
                log.append((command, ts))
            except ApiError:
                pass
        ex.apply(MarketStep(), ts)
        log.append((MarketStep(), ts))
        check(ex)
    assert ex.sim.steps == 60 and any(s.st.tape for s in ex.sim.symbols.values())  # takers traded
    # the journal's commands rebuild the same state, and a snapshot carries it whole
    again = Exchange(MARKET)
    for command, ts in log:
        again.apply(msgspec.msgpack.decode(msgspec.msgpack.encode(command), type=type(command)), ts)
    assert again.digest() == ex.digest()
    loaded = snapshot.load(MARKET, msgspec.msgpack.decode(msgspec.msgpack.encode(snapshot.dump(ex))))
    assert loaded.digest() == ex.digest()
    loaded.apply(MarketStep(), T0 + 61_000)
    ex.apply(MarketStep(), T0 + 61_000)
    assert loaded.digest() == ex.digest()  # and the market goes on the same from a snapshot


def test_bad_market_settings_are_refused() -> None:
    ex, _ = configured(1, 5)
    good = ex.sim.config
    for change, code in (({"symbols": [msgspec.structs.replace(good.symbols[0], levels=background.MAX_LEVELS + 1)]},
                           10001), ({"symbols": [good.symbols[0], good.symbols[0]]}, 10001),
                         ({"maker_uid": 1}, 110018), ({"tick_ms": 1}, 10001)):
        try:
            ex.apply(msgspec.structs.replace(good, **change), T0)
        except ApiError as err:
            assert err.code == code
        else:
            raise AssertionError(f"accepted {change}")
    assert ex.sim.config == good
    fresh = Exchange(MARKET)
    try:
        fresh.apply(MarketStep(), T0)
    except ApiError as err:
        assert err.code == 10001
    else:
        raise AssertionError("a step without a market")


def test_bybit_mark_is_the_median_of_its_three_prices() -> None:
    ex, _ = configured(1, 5)
    st_ = ex.symbols[("linear", "BTCUSDT")]
    st_.index, st_.last = 650_000, 651_000
    assert background.bybit_mark(st_, T0, 300.0) == 650_300  # index + basis lies between the other two
    assert background.bybit_mark(st_, T0, 5000.0) == 651_000  # the last trade, between
    st_.last = 660_000
    p1 = background.bybit_mark(st_, T0, -50_000.0)  # the funding-adjusted index is the middle one now
    assert 650_000 <= p1 <= 650_065  # index x (1 + 0.01 % x the part of the interval still to run)


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**32), days=st.integers(1, 3))
def test_the_synthetic_past_is_consistent_and_ends_at_the_anchor(seed, days) -> None:
    ex = Exchange(MARKET)
    for key in (("linear", "SOLUSDT"), ("inverse", "BTCUSD"), ("spot", "BTCUSDT")):
        sym = ex.symbols[key]
        spec = HistorySpec(seed=seed, end_ms=T0 + 12_345, days=days, anchors={f"{key[0]}:{key[1]}": sym.index})
        sim = sim_spec(sym, SymbolConfig(category=key[0], symbol=key[1]), Config(), sym.index)
        past = history.synthetic(spec, sym, sim)
        again = history.synthetic(spec, sym, sim)
        assert np.array_equal(past.trades.ohlc, again.trades.ohlc) and past.tape[-1].ts == again.tape[-1].ts
        n = days * 1440 + 1  # and the 12.345 s of the start minute before the start
        assert len(past.index.ohlc) == n and past.index.end == T0 + 60_000
        assert past.index.first == T0 - days * 1440 * 60_000
        assert int(past.index.ohlc[-1, 3]) == sym.index  # the present continues the past without a seam
        for series in (past.trades, past.index, past.mark):
            o, h, low, c = series.ohlc.T
            assert (low <= np.minimum(o, c)).all() and (h >= np.maximum(o, c)).all() and (low > 0).all()
        assert all(v >= 0 for v in past.trades.volume) and sum(past.trades.volume) > 0
        tape = past.tape
        assert 0 < len(tape) <= 1000 and all(a.ts <= b.ts for a, b in itertools.pairwise(tape))
        assert tape[-1].ts < T0 + 12_345  # the past ends where the exchange starts
        last_minute = (tape[-1].ts // 60_000) * 60_000
        bar = past.trades.aggregate(last_minute, last_minute + 60_000)
        prices = [t.price for t in tape if last_minute <= t.ts < last_minute + 60_000]
        assert bar[1] == max(prices) and bar[2] == min(prices) and bar[3] == prices[-1]  # the tape is the bars
        assert bar[4] == sum(t.qty for t in tape if last_minute <= t.ts)
        if key[0] != "spot":
            assert len(past.funding) == days * 3 and all(t % (8 * 3_600_000) == 0 for t, _ in past.funding)
            assert past.premium is not None
        else:
            assert past.funding == [] and past.premium is None
