"""The core's 5-minute samples of open interest and account counts (core.samples): taken at boundaries from
the state before the first command past them, only when that command succeeds, kept in digest and snapshot."""

from __future__ import annotations

import msgspec
import pytest

from paperex.core import snapshot
from paperex.core.commands import CreateAccount, PlaceOrder, Tick
from paperex.core.engine import FIRST_UID, Exchange
from paperex.core.numbers import to_units
from paperex.core.samples import KEEP, SAMPLE_MS
from paperex.data import load_market
from paperex.errors import ApiError

MARKET = load_market()
BTC = ("linear", "BTCUSDT")
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC, a boundary


def trade(ex: Exchange, ts: int, buyer: int, seller: int, lots: int) -> None:
    st = ex.symbols[BTC]
    ex.apply(PlaceOrder(uid=seller, category="linear", symbol="BTCUSDT", side=-1, order_type="Limit", qty=lots,
                        price=st.mark), ts)
    ex.apply(PlaceOrder(uid=buyer, category="linear", symbol="BTCUSDT", side=1, order_type="Market", qty=lots), ts)


def exchange() -> Exchange:
    ex = Exchange(MARKET)
    for _ in range(3):
        ex.apply(CreateAccount(balances={"USDT": to_units("10000000")}), T0 + 1)
    return ex


def test_a_sample_holds_the_state_at_its_boundary() -> None:
    ex = exchange()
    a, b, c = FIRST_UID, FIRST_UID + 1, FIRST_UID + 2
    trade(ex, T0 + 1_000, a, b, 5)  # a long 5, b short 5
    assert ex.samples.at(BTC, T0) == (T0, 0, 0, 0)  # the first command's boundary: before anything
    assert ex.samples.at(BTC, T0 + SAMPLE_MS) is None  # not reached yet: the live state is the state then
    trade(ex, T0 + SAMPLE_MS + 10, c, b, 2)  # past the boundary: the sample is the state before this trade
    assert ex.samples.at(BTC, T0 + SAMPLE_MS) == (T0 + SAMPLE_MS, 5, 1, 1)
    assert ex.symbols[BTC].open_interest == 7
    # nothing for 20 minutes: the next command samples once, for every boundary since
    ex.apply(Tick(), T0 + 5 * SAMPLE_MS + 1)
    for k in (2, 3, 4, 5):
        assert ex.samples.at(BTC, T0 + k * SAMPLE_MS)[1:] == (7, 2, 1)
    assert ex.samples.anchors[BTC] == 5
    assert len(ex.samples.rows[BTC]) == 3


def test_a_rejected_command_takes_no_sample_and_replay_agrees() -> None:
    ex, replay = exchange(), exchange()
    before = ex.digest()
    assert before == replay.digest()
    with pytest.raises(ApiError):  # an unknown account: rejected, nothing changes, not even the samples
        ex.apply(PlaceOrder(uid=1, category="linear", symbol="BTCUSDT", side=1, order_type="Market", qty=1),
                 T0 + 3 * SAMPLE_MS)
    assert ex.digest() == before
    for core in (ex, replay):  # replay never saw the rejected command: both sample on the next one alike
        core.apply(Tick(), T0 + 4 * SAMPLE_MS + 5)
    assert ex.digest() == replay.digest()
    assert ex.samples.at(BTC, T0 + 4 * SAMPLE_MS)[0] == T0 + 4 * SAMPLE_MS


def test_samples_are_bounded_and_survive_a_snapshot() -> None:
    ex = exchange()
    trade(ex, T0 + 1_000, FIRST_UID, FIRST_UID + 1, 3)
    for k in range(1, KEEP + 20):
        ex.apply(Tick(), T0 + k * SAMPLE_MS)
    rows = ex.samples.rows[BTC]
    assert len(rows) == KEEP and rows[-1] == (T0 + (KEEP + 19) * SAMPLE_MS, 3, 1, 1)
    restored = snapshot.load(MARKET, msgspec.msgpack.decode(msgspec.msgpack.encode(snapshot.dump(ex))))
    assert restored.digest() == ex.digest()
    restored.apply(Tick(), T0 + (KEEP + 20) * SAMPLE_MS)
    ex.apply(Tick(), T0 + (KEEP + 20) * SAMPLE_MS)
    assert restored.digest() == ex.digest()
    assert ("spot", "BTCUSDT") not in ex.samples.rows  # derivatives only
