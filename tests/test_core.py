"""Unit and property tests of the pure core: accounts, keys, deposits, digests, determinism."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paperex.core.commands import CreateAccount, CreateApiKey, Deposit
from paperex.core.engine import FIRST_UID, Exchange
from paperex.core.events import AccountCreated, ApiKeyCreated, BalanceChanged
from paperex.core.numbers import format_units, to_units
from paperex.data import load_market
from paperex.errors import ApiError, Code

MARKET = load_market()


def new_core() -> Exchange:
    return Exchange(MARKET)


def test_create_account_assigns_sequential_uids_and_balances() -> None:
    core = new_core()
    events = core.apply(CreateAccount(balances={"USDT": to_units("100000")}), ts=1)
    assert events[0] == AccountCreated(uid=FIRST_UID)
    assert events[1] == BalanceChanged(uid=FIRST_UID, coin="USDT", change=to_units("100000"),
                                       balance=to_units("100000"), reason="deposit")
    assert core.apply(CreateAccount(), ts=2) == [AccountCreated(uid=FIRST_UID + 1)]
    assert core.account(FIRST_UID).balance("USDT") == 100_000 * 10**8


def test_api_key_defaults_to_full_permissions() -> None:
    core = new_core()
    core.apply(CreateAccount(), ts=1)
    events = core.apply(CreateApiKey(uid=FIRST_UID, api_key="k1", secret="s1"), ts=2)
    assert events == [ApiKeyCreated(uid=FIRST_UID, api_key="k1")]
    key = core.api_keys["k1"]
    assert key.allows("ContractTrade", "Order") and key.allows("Wallet", "AccountTransfer")
    assert key.ips == ["*"] and key.id == 1 and key.created_at == 2


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (CreateApiKey(uid=999, api_key="k", secret="s"), Code.ILLEGAL_USER_ID),
        (CreateApiKey(uid=FIRST_UID, api_key="k"), Code.PARAM_ERROR),  # neither secret nor RSA key
        (CreateApiKey(uid=FIRST_UID, api_key="k", secret="s", permissions={"Spot": ["Fly"]}), Code.PARAM_ERROR),
        (Deposit(uid=FIRST_UID, coin="NOPE", amount=1), Code.INVALID_COIN),
        (Deposit(uid=FIRST_UID, coin="USDT", amount=0), Code.PARAM_ERROR),
        (Deposit(uid=12345, coin="USDT", amount=1), Code.ILLEGAL_USER_ID),
        (CreateAccount(uid=FIRST_UID), Code.ILLEGAL_USER_ID),
        (CreateAccount(balances={"USDT": 1, "NOPE": 1}), Code.INVALID_COIN),
    ],
)
def test_rejections_leave_state_untouched(command, code) -> None:
    core = new_core()
    core.apply(CreateAccount(balances={"USDT": 5}), ts=1)
    before = core.digest()
    with pytest.raises(ApiError) as info:
        core.apply(command, ts=2)
    assert info.value.code == code
    assert core.digest() == before


amounts = st.integers(min_value=-10, max_value=10**18)
uids = st.integers(min_value=FIRST_UID - 1, max_value=FIRST_UID + 4)
coins = st.sampled_from(["USDT", "BTC", "ETH", "NOPE"])
commands = st.one_of(
    st.builds(CreateAccount, balances=st.dictionaries(coins, amounts, max_size=3)),
    st.builds(Deposit, uid=uids, coin=coins, amount=amounts),
    st.builds(CreateApiKey, uid=uids, api_key=st.sampled_from(["a", "b", "c"]), secret=st.just("s")),
)


def run(stream) -> tuple[Exchange, list]:
    core = new_core()
    outcomes = []
    for ts, cmd in enumerate(stream):
        try:
            outcomes.append(core.apply(cmd, ts))
        except ApiError as err:
            outcomes.append(err.code)
    return core, outcomes


@settings(max_examples=200, deadline=None)
@given(st.lists(commands, max_size=40))
def test_core_is_deterministic_and_conserves_money(stream) -> None:
    a, out_a = run(stream)
    b, out_b = run(stream)
    assert out_a == out_b and a.digest() == b.digest()
    # money: every unit in a wallet came from an accepted deposit event
    deposited: dict[tuple[int, str], int] = {}
    for outcome in out_a:
        for ev in outcome if isinstance(outcome, list) else []:
            if isinstance(ev, BalanceChanged):
                deposited[(ev.uid, ev.coin)] = deposited.get((ev.uid, ev.coin), 0) + ev.change
    held = {(acc.uid, c): u for acc in a.accounts.values() for c, u in acc.balances.items() if u}
    assert held == {k: v for k, v in deposited.items() if v}
    assert all(u >= 0 for u in held.values())


@given(st.decimals(allow_nan=False, allow_infinity=False, places=8, min_value=-10**12, max_value=10**12))
def test_units_round_trip(value) -> None:
    units = to_units(value)
    assert to_units(format_units(units)) == units
    assert format_units(units) == format_units(to_units(str(value)))


def test_units_reject_excess_precision_and_junk() -> None:
    assert to_units("0.00000001") == 1
    assert format_units(123_450_000) == "1.2345" and format_units(-5) == "-0.00000005"
    for bad in ("0.000000001", "abc", "NaN", "Infinity", ""):
        with pytest.raises(ValueError):
            to_units(bad)


def test_every_command_can_be_journaled() -> None:
    """The journal decodes commands through ``AnyCommand``: a command missing from it could be applied
    live but never replayed."""
    from typing import get_args

    from paperex.core import commands

    defined = {c for c in vars(commands).values() if isinstance(c, type) and issubclass(c, commands.Command)
               and c is not commands.Command}
    assert defined == set(get_args(commands.AnyCommand))


@settings(max_examples=300, deadline=None)
@given(lots=st.integers(1, 10**10), ticks=st.integers(1, 10**9), symbol=st.sampled_from(["BTCUSD", "ETHUSD"]))
def test_inverse_value_in_integers_equals_the_exact_fraction(lots, ticks, symbol) -> None:
    from fractions import Fraction

    from paperex.core.grid import Grid
    from paperex.core.numbers import MONEY_SCALE

    grid = Grid.of(next(i for i in load_market().instruments if i.symbol == symbol))
    exact = Fraction(lots) * Fraction(grid.step) * MONEY_SCALE / (ticks * grid.tick_fraction)
    assert grid.value(ticks, lots) == int(exact + Fraction(1, 2))  # rounded half up, as before
