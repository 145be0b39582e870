"""Bring a configured market to life on a node: the configured accounts and keys, the market maker's
account, the feeds and the driver. Everything it creates is a journaled command, and it creates only
what is missing, so a restart finds the same accounts (by label) and keys."""

from __future__ import annotations

import dataclasses

from paperex.admin.service import parse_permissions, symbol_rule_changes
from paperex.config import Config, SymbolConfig
from paperex.core.commands import CreateAccount, CreateApiKey, SetAccountRules, SetPrices, SetSymbolRules
from paperex.core.numbers import to_units
from paperex.market import maker as mm
from paperex.market.clock import VirtualClock
from paperex.market.driver import MarketDriver
from paperex.market.feeds import KlinePath, RandomWalk, TradeFeed, read_klines, read_trades
from paperex.sequencer import Sequencer


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
            if (s.category, s.symbol) not in sequencer.core.symbols:
                raise ValueError(f"config: no instrument {s.category} {s.symbol}")
        return config.symbols
    return [SymbolConfig(category=c, symbol=s) for c, s in sorted(sequencer.core.symbols)]


async def build_market(sequencer: Sequencer, config: Config) -> MarketDriver:
    core = sequencer.core
    virtual = isinstance(sequencer.clock, VirtualClock)
    origin = config.start_ms if virtual else sequencer.now_ms()
    feeds: dict[tuple[str, str], RandomWalk | TradeFeed] = {}
    quotes: dict[tuple[str, str], mm.QuoteConfig] = {}
    for s in _symbols(sequencer, config):
        key = (s.category, s.symbol)
        st = core.symbols[key]
        fresh = core.last_ts <= origin or not st.index_candles.minutes
        if s.price is not None and fresh and s.feed in ("fixed", "random_walk"):  # the configured start price
            ticks = st.grid.round_ticks(s.price, up=False)
            await sequencer.submit(SetPrices(category=s.category, symbol=s.symbol, index=ticks))
        if s.feed == "random_walk":
            walk = RandomWalk(s.symbol, config.seed, config.tick_ms, s.drift, s.volatility)
            # virtual time resumes the same draws where it stopped; real time walks on from now
            walk.skip_to(max(0, (sequencer.now_ms() - origin) // config.tick_ms) if virtual else 0)
            feeds[key] = walk
        elif s.feed == "trades":
            assert s.file is not None
            trades = read_trades(s.file, s.symbol)
            if not virtual and trades:  # real time: the recorded day starts now
                shift = origin - trades[0].ts
                trades = [dataclasses.replace(t, ts=t.ts + shift) for t in trades]
            feed = TradeFeed(trades, replay=s.replay)
            feed.skip_until(core.last_ts if core.last_ts > origin else origin - 1)
            feeds[key] = feed
        elif s.feed == "klines":
            assert s.file is not None
            bars, bar_ms = read_klines(s.file)
            if not virtual:  # real time: the recording starts now
                shift = origin - bars[0][0]
                bars = [(b[0] + shift, *b[1:]) for b in bars]
            feeds[key] = KlinePath(bars, bar_ms)
        if s.quote and config.maker:
            quotes[key] = mm.QuoteConfig(
                levels=config.levels if s.levels is None else s.levels,
                spread_bps=config.spread_bps if s.spread_bps is None else s.spread_bps,
                step_bps=config.step_bps if s.step_bps is None else s.step_bps, size=s.size)
    maker = None
    if quotes:
        account = core.account_labelled(mm.LABEL)
        if account is None:
            events = await sequencer.submit(CreateAccount(
                label=mm.LABEL, balances={c: to_units(v) for c, v in mm.BALANCES.items()}))
            account = core.accounts[events[0].uid]  # type: ignore[attr-defined]
        maker = mm.MarketMaker(account.uid, quotes)
        maker.adopt(core)
    replay_uids = None
    if any(isinstance(f, TradeFeed) and f.replay for f in feeds.values()):
        uids = []
        for label in ("replay-maker", "replay-taker"):
            account = core.account_labelled(label)
            if account is None:
                events = await sequencer.submit(CreateAccount(
                    label=label, balances={c: to_units(v) for c, v in mm.BALANCES.items()}))
                account = core.accounts[events[0].uid]  # type: ignore[attr-defined]
            uids.append(account.uid)
        replay_uids = (uids[0], uids[1])
    driver = MarketDriver(sequencer, feeds, maker, config.tick_ms, origin, replay_uids)
    # quotes from the first moment; a virtual market that resumes after a restart ticks on its grid only
    if not virtual or core.last_ts <= config.start_ms:
        await driver.tick_now()
    return driver
