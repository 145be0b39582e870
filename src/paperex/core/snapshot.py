"""The whole core state as plain data, and back: what snapshots are made of.

``dump`` gives nested lists/dicts of ints, strings and bools (msgpack-able); ``load`` rebuilds an
``Exchange`` that is indistinguishable from the original: same digest, same id generators, same book
queues in the same time priority. ``FORMAT`` changes whenever the layout does; a snapshot of another
format is refused (the journal can always rebuild the state from scratch).
"""

from __future__ import annotations

from typing import Any

import msgspec

from paperex.core import background, calendar, delivery
from paperex.core.accounts import Account, ApiKey
from paperex.core.candles import Candles
from paperex.core.commands import ConfigureMarket
from paperex.core.engine import Exchange
from paperex.core.instruments import MarketSpec
from paperex.core.orders import Execution, Order, PublicTrade
from paperex.core.positions import Position
from paperex.core.rng import SplitMix64
from paperex.core.samples import MarketSamples

FORMAT = 19  # 2: accounts carry a label; 3: candle sums as strings; 4: positions keep curRealisedPnl;
# 5: executions keep their PnL; 6: funding, liquidations, order createType, execution execType;
# 7: positions keep the exact inverse entry; 8: open fees of positions and of the lots each fill closed;
# 9: conditional orders and TP/SL; 10: executions keep the entry of the lots they closed; 11: transaction log;
# 12: isolated margin; 13: trailing stops; 14: hedge mode (positions keyed by positionIdx, position modes),
# Partial TP/SL on orders, TP/SL modes, account and symbol rules, MMP, the UTA upgrade; 15: the living market
# (core.background) and premium candles; 16: open interest and account counts every 5 minutes (core.samples);
# 17: dated futures (listing, status, delivery window); 18: FUND wallets, sub-accounts, transfer, deposit and
# withdrawal records (core.funds); 19: the limit-price action
# (set-limit-px-action), positions' open time

_ORDER_FIELDS = Order.__slots__
_EXEC_FIELDS = Execution.__slots__
_LEDGER_TEXT = {2, 3, 4, 5, 17}  # the text fields of a ledger entry (core.ledger)
_POSITION_FIELDS = Position.__slots__
_TRADE_FIELDS = PublicTrade.__slots__


class SnapshotError(ValueError):
    """A snapshot that does not fit this version of paperex or this market."""


_BIG = 2**63
_BIG_TAG = "#big:"  # ints beyond msgpack's 64 bits (exact inverse-price records of big positions), as text


def _fields(obj: object, names: tuple[str, ...]) -> list[Any]:
    values = [getattr(obj, n) for n in names]
    return [f"{_BIG_TAG}{v}" if type(v) is int and not -_BIG <= v < _BIG else v for v in values]


def _set(obj: object, names: tuple[str, ...], values: list[Any]) -> None:
    for n, v in zip(names, values, strict=True):
        setattr(obj, n, int(v[len(_BIG_TAG):]) if isinstance(v, str) and v.startswith(_BIG_TAG) else v)


def _candles(c: Candles) -> list[Any]:
    # a minute's volume and turnover are exchange-wide sums: decimal strings, as msgpack ints are 64-bit
    return [[m, [*c.bars[m][:4], str(c.bars[m][4]), str(c.bars[m][5])]] for m in c.minutes]


def _load_candles(rows: list[Any]) -> Candles:
    c = Candles()
    for minute, bar in rows:
        c.minutes.append(minute)
        c.bars[minute] = [*bar[:4], int(bar[4]), int(bar[5])]
    return c


def dump(ex: Exchange) -> dict[str, Any]:
    symbols = []
    for (category, symbol), st in sorted(ex.symbols.items()):
        queues = []
        for side in (st.book.bids, st.book.asks):
            for price in side.prices:
                queues.append([price, [o.order_id for o in side.levels[price].orders.values()]])
        symbols.append({
            "key": [category, symbol], "mark": st.mark, "index": st.index, "last": st.last,
            "prev_last": st.prev_last, "tick_direction": st.tick_direction, "open_interest": st.open_interest,
            "seq": st.seq, "cts": st.cts, "update_id": st.book.update_id, "queues": queues,
            "tape": [_fields(t, _TRADE_FIELDS) for t in st.tape], "candles": _candles(st.candles),
            "mark_candles": _candles(st.mark_candles), "index_candles": _candles(st.index_candles),
            "premium_candles": _candles(st.premium_candles),
            "funding": [st.funding.due, st.funding.premium, str(st.funding.premium_sum), st.funding.premium_ts,
                        st.funding.history],
            "liquidations": list(st.liquidations), "rules": st.rules,
            "delivery": [st.status, str(st.settle_sum), st.settle_ts, st.delivery_price],
        })
    accounts = []
    for a in sorted(ex.accounts.values(), key=lambda a: a.uid):
        accounts.append({
            "uid": a.uid, "label": a.label, "created_at": a.created_at, "updated_at": a.updated_at,
            "balances": a.balances,
            "margin_mode": a.margin_mode, "unified_margin_status": a.unified_margin_status,
            "fee_rates": {k: list(v) for k, v in a.fee_rates.items()}, "held": a.held,
            "positions": [_fields(p, _POSITION_FIELDS) for p in a.positions.values()],
            "symbol_modes": a.symbol_modes, "coin_modes": a.coin_modes,
            "tpsl_modes": [[list(k), v] for k, v in a.tpsl_modes.items()], "rules": a.rules, "mmp": a.mmp,
            "upgrading_until": a.upgrading_until, "clamp": [a.clamp_futures, a.clamp_spot],
            "open_orders": list(a.open_orders), "conditionals": list(a.conditionals), "order_ids": a.order_ids,
            "executions": [_fields(e, _EXEC_FIELDS) for e in a.executions],
            "active_count": [[list(k), v] for k, v in a.active_count.items()],
            # big sums (cash flows of whale accounts) may pass 64 bits: every int as text
            "ledger": [[str(x) if isinstance(x, int) else x for x in e] for e in a.ledger],
            "funding": a.funding, "parent_uid": a.parent_uid, "username": a.username, "member_type": a.member_type,
            "remark": a.remark, "transfers": [list(t) for t in a.transfers],
            "deposit_log": [list(d) for d in a.deposit_log], "withdrawals": [list(w) for w in a.withdrawals],
        })
    keys = [[k.id, k.api_key, k.uid, k.secret, k.rsa_public_key, k.read_only, k.permissions, k.ips, k.note,
             k.created_at] for k in ex.api_keys.values()]
    return {
        "format": FORMAT,
        "dated": [list(d) for d in ex.dated],
        "instruments": sorted([list(k) for k in ex.symbols]),
        "counters": [ex.next_uid, ex.next_key_id, ex.order_seq, ex.exec_seq, ex.seq, ex.last_ts, ex.applied,
                     ex.ledger_seq],
        # exchange-wide sums are not bounded by the per-account cap: kept as decimal strings (msgpack is 64-bit)
        "fees_collected": {c: str(v) for c, v in ex.fees_collected.items()},
        "deposits": {c: str(v) for c, v in ex.deposits.items()},
        "withdrawn": {c: str(v) for c, v in ex.withdrawn.items()},
        "asset_counters": [ex.deposit_seq, ex.withdraw_seq, ex.transfer_seq],
        "orders": [_fields(o, _ORDER_FIELDS) for o in ex.orders.values()],
        "accounts": accounts,
        "api_keys": keys,
        "symbols": symbols,
        "market": None if ex.sim is None else [msgspec.msgpack.encode(ex.sim.config), ex.sim.steps,
                                                [[list(k), st.dump()] for k, st in ex.sim.symbols.items()],
                                                {c: r.state for c, r in ex.sim.coins.items()}],
        "samples": ex.samples.dump(),
    }


def load(market: MarketSpec, data: dict[str, Any]) -> Exchange:
    if data.get("format") != FORMAT:
        raise SnapshotError(f"snapshot format {data.get('format')} is not {FORMAT}")
    ex = Exchange(market)
    series = {x.name: x for x in market.series}
    for name, symbol, launch, delivery_ms in data["dated"]:  # the dated futures listed when it was taken
        if name not in series:
            raise SnapshotError(f"the snapshot has futures of a series ({name}) this market does not list")
        delivery.list_contract(ex, series[name], calendar.Contract(symbol, launch, delivery_ms), 0)
    if sorted([list(k) for k in ex.symbols]) != data["instruments"]:
        raise SnapshotError("the snapshot was taken with other instruments")
    (ex.next_uid, ex.next_key_id, ex.order_seq, ex.exec_seq, ex.seq, ex.last_ts, ex.applied,
     ex.ledger_seq) = data["counters"]
    ex.fees_collected = {c: int(v) for c, v in data["fees_collected"].items()}
    ex.deposits = {c: int(v) for c, v in data["deposits"].items()}
    ex.withdrawn = {c: int(v) for c, v in data["withdrawn"].items()}
    ex.deposit_seq, ex.withdraw_seq, ex.transfer_seq = data["asset_counters"]
    for values in data["orders"]:
        o = Order.__new__(Order)
        _set(o, _ORDER_FIELDS, values)
        ex.orders[o.order_id] = o
        if o.order_link_id:
            ex.link_ids[(o.uid, o.order_link_id)] = o.order_id
    for k in data["api_keys"]:
        key = ApiKey(id=k[0], api_key=k[1], uid=k[2], secret=k[3], rsa_public_key=k[4], read_only=k[5],
                     permissions={g: list(p) for g, p in k[6].items()}, ips=list(k[7]), note=k[8], created_at=k[9])
        ex.api_keys[key.api_key] = key
    for a in data["accounts"]:
        acc = Account(uid=a["uid"], label=a["label"], created_at=a["created_at"],
                      updated_at=a["updated_at"],
                      balances=dict(a["balances"]), margin_mode=a["margin_mode"],
                      unified_margin_status=a["unified_margin_status"],
                      fee_rates={k: tuple(v) for k, v in a["fee_rates"].items()}, held=dict(a["held"]))
        for values in a["positions"]:
            p = Position.__new__(Position)
            _set(p, _POSITION_FIELDS, values)
            acc.positions[p.key] = p
        acc.symbol_modes, acc.coin_modes = dict(a["symbol_modes"]), dict(a["coin_modes"])
        acc.tpsl_modes = {(k[0], k[1]): v for k, v in a["tpsl_modes"]}
        acc.rules = dict(a["rules"])
        acc.mmp = {c: dict(v) for c, v in a["mmp"].items()}
        acc.upgrading_until = a["upgrading_until"]
        acc.clamp_futures, acc.clamp_spot = a["clamp"]
        acc.open_orders = {oid: ex.orders[oid] for oid in a["open_orders"]}
        acc.conditionals = {oid: ex.orders[oid] for oid in a["conditionals"]}
        if acc.conditionals or any(p.take_profit or p.stop_loss for p in acc.positions.values()):
            ex.trigger_uids.add(acc.uid)
        for o in acc.open_orders.values():  # the derived indexes
            acc.rest(o, o.leaves)
            if o.reduce_only and o.category != "spot":
                acc.reduce_only_ids.add(o.order_id)
        acc.order_ids = list(a["order_ids"])
        for values in a["executions"]:
            e = Execution.__new__(Execution)
            _set(e, _EXEC_FIELDS, values)
            acc.executions.append(e)
        acc.active_count = {tuple(k): v for k, v in a["active_count"]}  # type: ignore[misc]
        acc.ledger.extend(tuple(int(x) if i not in _LEDGER_TEXT else x for i, x in enumerate(e)) for e in a["ledger"])
        acc.funding = dict(a["funding"])
        acc.parent_uid, acc.username, acc.member_type, acc.remark = (a["parent_uid"], a["username"],
                                                                     a["member_type"], a["remark"])
        acc.transfers = [tuple(t) for t in a["transfers"]]
        acc.deposit_log = [tuple(d) for d in a["deposit_log"]]
        acc.withdrawals = [tuple(w) for w in a["withdrawals"]]
        ex.transfer_ids.update(t[1] for t in acc.transfers)
        ex.accounts[acc.uid] = acc
    for s in data["symbols"]:
        st = ex.symbols[tuple(s["key"])]  # type: ignore[index]
        st.mark, st.index, st.last, st.prev_last = s["mark"], s["index"], s["last"], s["prev_last"]
        st.tick_direction, st.open_interest, st.seq, st.cts = (s["tick_direction"], s["open_interest"], s["seq"],
                                                               s["cts"])
        for _, order_ids in s["queues"]:
            for oid in order_ids:
                st.book.add(ex.orders[oid])
        st.book.update_id = s["update_id"]
        for values in s["tape"]:
            t = PublicTrade.__new__(PublicTrade)
            _set(t, _TRADE_FIELDS, values)
            st.tape.append(t)
        st.candles = _load_candles(s["candles"])
        st.mark_candles = _load_candles(s["mark_candles"])
        st.index_candles = _load_candles(s["index_candles"])
        st.premium_candles = _load_candles(s["premium_candles"])
        f = st.funding
        f.due, f.premium, premium_sum, f.premium_ts, history = s["funding"]
        f.premium_sum, f.history = int(premium_sum), [tuple(h) for h in history]  # type: ignore[misc]
        st.liquidations.extend(tuple(x) for x in s["liquidations"])  # type: ignore[misc]
        st.rules = dict(s["rules"])
        st.status, settle_sum, st.settle_ts, st.delivery_price = s["delivery"]
        st.settle_sum = int(settle_sum)
    if data["market"] is not None:
        config, steps, states, coins = data["market"]
        ex.sim = background.MarketSim(msgspec.msgpack.decode(config, type=ConfigureMarket))
        ex.sim.steps = steps
        ex.sim.coins = {c: SplitMix64(state) for c, state in coins.items()}
        specs = {(s.category, s.symbol): s for s in ex.sim.config.symbols}
        for key, row in states:
            key = tuple(key)
            spec, source = (specs[key], None) if key in specs else background.listed_spec(ex, ex.symbols[key])
            assert spec is not None, key  # a dated future's, derived from its perpetual's
            state = background.SimState(spec, ex.symbols[key], 0, source)
            state.restore(row)
            ex.sim.symbols[key] = state
    ex.samples = MarketSamples.load(data["samples"])
    dues = [st.funding.due for st in ex.symbols.values() if st.inst.is_derivative and not st.inst.delivery_time]
    ex.next_funding_check = 0 if not dues or 0 in dues else min(dues)
    delivery.index_futures(ex)
    ex.next_dated_check = delivery.next_check(ex) if ex.dated or not market.series else 0
    return ex
