"""Bring a configured market to life on a node: the configured accounts and keys, the living market's two
accounts and its configuration (core.background), the past (market.history), the file feeds and the driver.
Everything it creates is a journaled command, and it creates only what is missing or changed, so a restart
finds the same accounts (by label), keys, market and past."""

from __future__ import annotations

import dataclasses
import logging
from decimal import Decimal
from pathlib import Path

from paperex.admin.service import parse_permissions, symbol_rule_changes
from paperex.config import Config, SymbolConfig
from paperex.core import background
from paperex.core.commands import (
    ConfigureMarket,
    CreateAccount,
    CreateApiKey,
    HistorySpec,
    SetAccountRules,
    SetAutoAddMargin,
    SetMarginMode,
    SetPrices,
    SetSymbolRules,
    SimSymbol,
)
from paperex.core.margin import ISOLATED
from paperex.core.numbers import to_units
from paperex.core.symbol import SymbolState
from paperex.market import datafiles, history
from paperex.market.clock import VirtualClock
from paperex.market.driver import MarketDriver
from paperex.market.feeds import KlinePath, TradeFeed
from paperex.sequencer import Sequencer

log = logging.getLogger("paperex.market")

MAKER_LABEL, TAKER_LABEL = "market-maker", "market-taker"
BALANCES = {"USDT": Decimal(1_000_000_000), "USDC": Decimal(1_000_000_000), "BTC": Decimal(10_000),
            "ETH": Decimal(100_000), "SOL": Decimal(1_000_000), "XRP": Decimal(100_000_000),
            "DOGE": Decimal(1_000_000_000)}
# a quiet Bybit hour: taker orders a second, by category, times a weight per base coin
TRADE_RATE = {"linear": 1.0, "inverse": 0.25, "spot": 0.5}
COIN_WEIGHT = {"BTC": 3.0, "ETH": 2.0}
# a few more than Bybit shows (200 and 50): takers eat the touch between steps
DEFAULT_LEVELS = {"linear": 220, "inverse": 220, "spot": 60}


async def ensure_accounts(sequencer: Sequencer, config: Config) -> None:
    core = sequencer.core
    for acc in config.accounts:
        account = core.account_labelled(acc.label)
        if account is None:
            events = await sequencer.submit(CreateAccount(
                label=acc.label, balances={c: to_units(v) for c, v in acc.balances.items()}, classic=acc.classic))
            account = core.accounts[events[0].uid]  # type: ignore[attr-defined]
        changes = {k: v for k, v in acc.rules.items() if account.rules.get(k) != v}
        if changes:  # the file's rules, journaled once (a restart with the same file changes nothing)
            await sequencer.submit(SetAccountRules(uid=account.uid, rules=changes))
        for key in acc.api_keys:
            if key.api_key in core.api_keys:
                continue
            await sequencer.submit(CreateApiKey(
                uid=account.uid, api_key=key.api_key, secret=key.api_secret, rsa_public_key=key.rsa_public_key,
                read_only=key.read_only, permissions=parse_permissions(key.permissions), ips=key.ips,
                note=f"config:{acc.label}"))


async def ensure_symbol_rules(sequencer: Sequencer, config: Config) -> None:
    for row in config.symbol_rules:
        st = sequencer.core.symbols.get((row.category, row.symbol))
        if st is None:
            raise ValueError(f"config: no instrument {row.category} {row.symbol}")
        wanted = symbol_rule_changes(st, row.rules)
        changes = {k: v for k, v in wanted.items() if st.rules.get(k) != v}
        if changes:
            await sequencer.submit(SetSymbolRules(category=row.category, symbol=row.symbol, rules=changes))


def _symbols(sequencer: Sequencer, config: Config) -> list[SymbolConfig]:
    if config.symbols is not None:
        for s in config.symbols:
            st = sequencer.core.symbols.get((s.category, s.symbol))
            if st is None:
                raise ValueError(f"config: no instrument {s.category} {s.symbol}")
            if st.inst.delivery_time:
                raise ValueError(f"config: {s.symbol} is a dated future: the calendar lists it and the market "
                                 f"drives it like its perpetual {st.inst.source} (configure that one)")
        return config.symbols
    # dated futures are not configured: the calendar lists them, and the market drives them like their perpetual
    return [SymbolConfig(category=c, symbol=s) for (c, s), st in sorted(sequencer.core.symbols.items())
            if not st.inst.delivery_time]


def _file_key(s: SymbolConfig) -> str:
    return f"{s.category}:{s.symbol}"


def _lot_usd(st: SymbolState, ticks: int) -> float:
    """What one lot is worth in USD at ``ticks`` (an inverse lot is a number of USD)."""
    if st.grid.inverse:
        return float(st.grid.step)
    return float(st.grid.price(ticks) * st.grid.step)


def sim_spec(st: SymbolState, s: SymbolConfig, config: Config, anchor: int, walk_from: int = 0) -> SimSymbol:
    """How the living market drives a symbol: sizes and spacing from its price when the past ends (so a restart
    configures the same market), Bybit-like defaults, the config's overrides."""
    inst = st.inst
    big = inst.base_coin in COIN_WEIGHT
    lot_usd = _lot_usd(st, anchor)
    step_bps = float(s.step_bps if s.step_bps is not None else config.step_bps)
    spread = s.spread_bps if s.spread_bps is not None else config.spread_bps
    spread_bps = float(spread) if spread is not None else (1.0 if big else 2.5)
    price = float(anchor)
    spacing = max(1, round(price * step_bps / 10_000))
    half_spread = max(0, round(price * spread_bps / 20_000) - spacing // 2)
    lots = st.grid.lots(s.size) if s.size is not None else round((20_000 if big else 5_000) / lot_usd)
    levels = (s.levels if s.levels is not None else config.levels if config.levels is not None
              else DEFAULT_LEVELS[inst.category]) if (s.quote and config.maker) else 0
    rate = s.trade_rate if s.trade_rate is not None else (
        TRADE_RATE[inst.category] * COIN_WEIGHT.get(inst.base_coin, 0.7) if config.takers else 0.0)
    taker = (st.grid.lots(s.taker_size) if s.taker_size is not None
             else round((2_000 if big else 500) / lot_usd))
    taker = max(st.grid.min_lots, taker)
    return SimSymbol(category=inst.category, symbol=inst.symbol, walk=s.feed != "fixed", walk_from=walk_from,
                     drift=s.drift,
                     volatility=s.volatility, levels=levels, spacing=spacing, half_spread=half_spread,
                     lots=max(st.grid.min_lots, lots), trade_rate=rate, taker_lots=taker,
                     max_taker_lots=max(taker, min(taker * 100, st.grid.max_mkt_lots)))


async def _account(sequencer: Sequencer, label: str, isolated: bool = False) -> int:
    """A background account, created once. ``isolated``: isolated margin with auto-add-margin on every
    derivative (a position tops its margin up from the large wallet rather than being liquidated, and each
    order's margin checks look at one position, not the whole account: the market's steps cost less)."""
    core = sequencer.core
    account = core.account_labelled(label)
    if account is None:
        events = await sequencer.submit(CreateAccount(
            label=label, balances={c: to_units(v) for c, v in BALANCES.items() if c in core.coins}))
        account = core.accounts[events[0].uid]  # type: ignore[attr-defined]
        if isolated:
            await sequencer.submit(SetMarginMode(uid=account.uid, mode=ISOLATED))
    if account.margin_mode == ISOLATED:
        for (category, symbol), st in sorted(core.symbols.items()):
            pos = account.positions.get((category, symbol, 0))
            if st.inst.is_derivative and (pos is None or not pos.auto_add):
                await sequencer.submit(SetAutoAddMargin(uid=account.uid, category=category, symbol=symbol,
                                                        enabled=True))
    return account.uid


def _file_span(s: SymbolConfig) -> tuple[int, int]:
    """From when to when a data file records (the end exclusive)."""
    assert s.file is not None
    if datafiles.detect_kind(s.file) == "trades":
        trades = datafiles.read_trades(s.file, s.symbol)
        first, last = (trades[0].ts, trades[-1].ts + 1) if trades else (0, 0)
    else:
        bars, bar_ms = datafiles.read_klines(s.file)
        first, last = (bars[0].start, bars[-1].start + bar_ms) if bars else (0, 0)
    return first, last


def _file_window(s: SymbolConfig, origin: int, days: int, virtual: bool) -> int:
    """How far a data file's times move: none in virtual time when the recording goes on past the clock's start
    (what came before is the past, the rest plays live); otherwise its first ``days`` (all of it, if shorter)
    end where the exchange starts, and the rest plays live."""
    assert s.file is not None
    first, last = _file_span(s)
    if (virtual and origin <= last) or first == last == 0:
        return 0
    shift = origin - (first + min(days * 86_400_000, last - first))
    if days <= 0:
        return shift  # no past: the recording plays from the start, as it is
    unit = datafiles.read_klines(s.file)[1] if datafiles.detect_kind(s.file) == "klines" else 60_000
    # whole minutes (whole bars), rounded down: bars keep their boundaries; everything before the start is the
    # past, what follows plays live
    return shift - shift % unit


async def build_market(sequencer: Sequencer, config: Config) -> MarketDriver:
    core = sequencer.core
    virtual = isinstance(sequencer.clock, VirtualClock)
    symbols = _symbols(sequencer, config)
    maker_uid = await _account(sequencer, MAKER_LABEL, isolated=True)
    taker_uid = await _account(sequencer, TAKER_LABEL, isolated=True)
    fresh = core.sim is None
    if fresh:  # a new data dir: the past ends now, at the configured (or listed) prices
        origin = config.start_ms if virtual else sequencer.now_ms()
        files = {}
        for s in symbols:
            st = core.symbols[(s.category, s.symbol)]
            if s.file is not None:
                shift = _file_window(s, origin, config.history_days, virtual)
                files[_file_key(s)] = f"{s.file}|{datafiles.file_checksum(s.file)}|{shift}"
                past = history.from_file(s.file, st, origin, shift)
                last = past.trades.close_at(origin)
                if last is not None and last != st.index:
                    await sequencer.submit(SetPrices(category=s.category, symbol=s.symbol, index=last))
            elif s.price is not None:
                ticks = max(1, st.grid.round_ticks(s.price, up=False))
                if ticks != st.index:
                    await sequencer.submit(SetPrices(category=s.category, symbol=s.symbol, index=ticks))
        undated = sorted((k, st) for k, st in core.symbols.items() if not st.inst.delivery_time)
        anchors = {f"{c}:{n}": st.index for (c, n), st in undated}
        listed = {(s.category, s.symbol): s for s in symbols}
        every = [sim_spec(st, listed.get(key) or SymbolConfig(category=key[0], symbol=key[1]), config,
                          anchors[f"{key[0]}:{key[1]}"]) for key, st in undated]
        spec = HistorySpec(seed=config.seed, end_ms=origin, days=config.history_days, anchors=anchors, files=files,
                           symbols=every)
    else:
        assert core.sim is not None
        spec = core.sim.config.history  # the past never changes once the data dir has one
    specs = []
    for s in symbols:
        st = core.symbols[(s.category, s.symbol)]
        walk_from = 0
        recorded = spec.files.get(_file_key(s))
        if s.file is not None and recorded is not None:  # the walk goes on where the recording ends
            walk_from = _file_span(s)[1] + int(recorded.rsplit("|", 1)[1])
        specs.append(sim_spec(st, s, config, spec.anchors.get(_file_key(s), st.index), walk_from))
    command = ConfigureMarket(seed=config.seed, tick_ms=config.tick_ms, maker_uid=maker_uid, taker_uid=taker_uid,
                              symbols=specs, history=spec)
    if core.sim is None or core.sim.config != command:
        await sequencer.submit(command)
    attach_past(sequencer, spec)
    feeds: dict[tuple[str, str], TradeFeed | KlinePath] = {}
    for s in symbols:
        if s.feed not in ("trades", "klines") or s.file is None:
            continue
        recorded = spec.files.get(_file_key(s))
        shift = int(recorded.rsplit("|", 1)[1]) if recorded else 0
        if s.feed == "trades":
            trades = [dataclasses.replace(t, ts=t.ts + shift) for t in datafiles.read_trades(s.file, s.symbol)]
            feed = TradeFeed(trades, replay=s.replay)
            # a restart goes on after what was handled; a new market plays from the end of the past
            feed.skip_until(core.last_ts if core.last_ts > spec.end_ms else spec.end_ms - 1)
            feeds[(s.category, s.symbol)] = feed
        else:
            bars, bar_ms = datafiles.read_klines(s.file)
            feeds[(s.category, s.symbol)] = KlinePath(
                [(b.start + shift, b.open, b.high, b.low, b.close) for b in bars], bar_ms)
    replay_uids = None
    if any(isinstance(f, TradeFeed) and f.replay for f in feeds.values()):
        replay_uids = (await _account(sequencer, "replay-maker"), await _account(sequencer, "replay-taker"))
    driver = MarketDriver(sequencer, feeds, config.tick_ms, spec.end_ms, replay_uids)
    # quotes from the first moment; a virtual market that resumes after a restart ticks on its grid only
    if not virtual or fresh:
        await driver.tick_now()
    return driver


def attach_past(sequencer: Sequencer, spec: HistorySpec) -> None:
    """Derive every symbol's past from the journaled spec and give it to the symbol's series."""
    if spec.days <= 0:
        return
    core = sequencer.core
    by_key = {(s.category, s.symbol): s for s in spec.symbols}
    for key, st in sorted(core.symbols.items()):
        recorded = spec.files.get(f"{key[0]}:{key[1]}")
        if recorded is not None:
            path, checksum, shift = recorded.rsplit("|", 2)
            if not Path(path).is_file() or datafiles.file_checksum(Path(path)) != checksum:
                log.warning("%s %s: the data file %s is gone or changed; the symbol has no past", *key, path)
                continue
            past = history.from_file(Path(path), st, spec.end_ms, int(shift))
        elif st.inst.delivery_time:  # a dated future listed before the past ended: its past since its launch
            source = by_key.get((key[0], st.inst.source))
            future, _ = background.listed_spec(core, st)
            anchor = spec.anchors.get(f"{key[0]}:{st.inst.source}")
            if st.inst.launch_time >= spec.end_ms or source is None or future is None or anchor is None:
                continue
            past = history.dated(spec, st, future, anchor)
        else:
            sim = by_key.get(key)
            if sim is None:
                continue
            past = history.synthetic(spec, st, sim)
        past.attach(st)
        st.past = past

