"""Snapshots: dump -> msgpack -> load gives back exactly the same exchange, and it keeps trading the same."""

from __future__ import annotations

import contextlib

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paperex.core import snapshot
from paperex.data import load_market
from paperex.errors import ApiError
from tests.test_engine_properties import a_command, fresh, to_command

MARKET = load_market()


def roundtrip(ex):
    return snapshot.load(MARKET, msgspec.msgpack.decode(msgspec.msgpack.encode(snapshot.dump(ex))))


@settings(max_examples=80, deadline=None)
@given(st.lists(a_command(), min_size=1, max_size=50), st.lists(a_command(), max_size=25))
def test_snapshot_restores_the_same_exchange(before, after) -> None:
    live = fresh()
    ts = 10
    for spec in before:
        ts += 1
        with contextlib.suppress(ApiError):
            live.apply(to_command(live, spec), ts)
    restored = roundtrip(live)
    assert restored.digest() == live.digest()
    # and both go on identically: same outcomes, same ids, same state
    for spec in after:
        ts += 1
        cmd = to_command(live, spec)
        outcomes = []
        for ex in (live, restored):
            try:
                outcomes.append(ex.apply(cmd, ts))
            except ApiError as err:
                outcomes.append(err.code)
        assert outcomes[0] == outcomes[1]
    assert restored.digest() == live.digest()


def test_snapshot_of_another_format_or_market_is_refused() -> None:
    data = snapshot.dump(fresh())
    with pytest.raises(snapshot.SnapshotError):
        snapshot.load(MARKET, {**data, "format": snapshot.FORMAT + 1})
    with pytest.raises(snapshot.SnapshotError):
        snapshot.load(MARKET, {**data, "instruments": data["instruments"][1:]})


def test_exchange_wide_sums_beyond_64_bits() -> None:
    from paperex.core.commands import CreateAccount
    from paperex.core.numbers import MAX_AMOUNT

    ex = fresh()
    for ts in range(30):  # 30 accounts at the per-account maximum: the sum passes 2**64
        ex.apply(CreateAccount(balances={"USDT": MAX_AMOUNT}), 100 + ts)
    assert ex.deposits["USDT"] > 2**64
    assert roundtrip(ex).digest() == ex.digest()


def test_a_whale_position_beyond_64_bits_snapshots_and_digests() -> None:
    """The exact inverse-price record of a big position (lots x 10**20 / price ticks) passes 64 bits: the
    snapshot keeps it as text and the digest does not choke on it (both once failed with OverflowError)."""
    from decimal import Decimal

    from paperex.core.commands import CreateAccount, PlaceOrder
    from paperex.core.engine import Exchange
    from paperex.core.numbers import to_units

    ex = Exchange(MARKET)
    ex.apply(CreateAccount(balances={"USDT": to_units("10000000")}), 1)
    ex.apply(CreateAccount(balances={"USDT": to_units("10000000")}), 2)
    maker, taker = sorted(ex.accounts)
    st = ex.symbols[("linear", "SOLUSDT")]
    lots = st.grid.lots(Decimal("15000"))
    for i in range(2):  # two orders of 15,000 SOL (the most one order may have)
        ex.apply(PlaceOrder(uid=maker, category="linear", symbol="SOLUSDT", side=-1, order_type="Limit", qty=lots,
                            price=st.mark), 4 + 2 * i)
        ex.apply(PlaceOrder(uid=taker, category="linear", symbol="SOLUSDT", side=1, order_type="Limit", qty=lots,
                            price=st.mark), 5 + 2 * i)
    position = ex.accounts[taker].positions[("linear", "SOLUSDT", 0)]
    assert position.entry_inv >= 2**63
    assert roundtrip(ex).digest() == ex.digest()
