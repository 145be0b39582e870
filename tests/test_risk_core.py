"""Funding through the sequencer: each funding time settles in a Tick journaled before the first command
after it, so that command meets the state after funding; the premium is counted per interval; funding
that leaves an account below maintenance margin liquidates it."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from paperex.core.commands import CreateAccount, PlaceOrder, SetPrices
from paperex.core.numbers import to_units
from paperex.server import Node

H = 3_600_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00Z, a funding time


def run(tmp_path, script) -> Node:
    node = Node(tmp_path)

    async def go() -> None:
        node.start()
        script(node.sequencer)
        await node.close()

    asyncio.run(go())
    return node


def prices(seq, ts: int, index: str, mark: str) -> None:
    st = seq.core.symbols[("linear", "BTCUSDT")]
    seq.apply_now(SetPrices(category="linear", symbol="BTCUSDT", index=st.grid.ticks(Decimal(index)),
                            mark=st.grid.ticks(Decimal(mark))), ts)


def test_each_interval_averages_its_own_premium(tmp_path) -> None:
    def script(seq) -> None:
        prices(seq, T0, "65000", "65195")  # +0.3 % from 00:00
        prices(seq, T0 + 12 * H, "65000", "65000")  # back to 0 at 12:00
        seq.apply_now(CreateAccount(), T0 + 16 * H)  # any command after 16:00 settles it first

    node = run(tmp_path, script)
    history = node.core.symbols[("linear", "BTCUSDT")].funding.history
    # 08:00: 0.3 % premium all interval -> 0.003 - 0.0005 clamp = 0.0025;
    # 16:00: 0.3 % for 4 of 8 hours -> 0.0015 - 0.0005 = 0.0010
    assert history == [(T0 + 8 * H, 250_000), (T0 + 16 * H, 100_000)]


def test_a_command_after_a_funding_time_meets_the_settled_state(tmp_path) -> None:
    def script(seq) -> None:
        seq.apply_now(CreateAccount(balances={"USDT": to_units("100000")}), T0 + 1)
        seq.apply_now(CreateAccount(balances={"USDT": to_units("100000")}), T0 + 2)
        prices(seq, T0 + 3, "65000", "65100")
        st = seq.core.symbols[("linear", "BTCUSDT")]
        maker, taker = sorted(seq.core.accounts)
        seq.apply_now(PlaceOrder(uid=maker, category="linear", symbol="BTCUSDT", side=-1, order_type="Limit",
                                 qty=1000, price=st.grid.ticks(Decimal("65100"))), T0 + 4)
        # six seconds after 08:00: the position it opens did not exist at 08:00 and pays nothing
        seq.apply_now(PlaceOrder(uid=taker, category="linear", symbol="BTCUSDT", side=1, order_type="Market",
                                 qty=1000), T0 + 8 * H + 6_000)

    node = run(tmp_path, script)
    assert [e.exec_type for a in node.core.accounts.values() for e in a.executions] == ["Trade", "Trade"]
    assert node.core.symbols[("linear", "BTCUSDT")].funding.history[0][0] == T0 + 8 * H


def test_funding_that_breaches_maintenance_margin_liquidates(tmp_path) -> None:
    """1 BTC long from 62000 at 100x on 800 USDT; at a 61700 mark (index 61400) equity is 465.9 against a
    maintenance margin of 308.5; the 08:00 funding (about 0.44 %, 271 USDT) leaves it below: liquidated."""
    from paperex.core.commands import SetLeverage

    def script(seq) -> None:
        seq.apply_now(CreateAccount(balances={"USDT": to_units("800")}), T0)
        seq.apply_now(CreateAccount(balances={"USDT": to_units("1000000")}), T0)
        me, maker = sorted(seq.core.accounts)
        seq.apply_now(SetLeverage(uid=me, category="linear", symbol="BTCUSDT", buy_leverage=10_000,
                                  sell_leverage=10_000), T0)
        prices(seq, T0, "62000", "62000")
        st = seq.core.symbols[("linear", "BTCUSDT")]
        seq.apply_now(PlaceOrder(uid=maker, category="linear", symbol="BTCUSDT", side=-1, order_type="Limit",
                                 qty=1000, price=st.grid.ticks(Decimal("62000"))), T0)
        seq.apply_now(PlaceOrder(uid=me, category="linear", symbol="BTCUSDT", side=1, order_type="Market",
                                 qty=1000), T0)
        prices(seq, T0, "61400", "61700")
        assert seq.core.accounts[me].positions[("linear", "BTCUSDT", 0)].size == 1000  # still held
        seq.apply_now(CreateAccount(), T0 + 8 * H)  # the first command at 08:00: funding, then the check

    node = run(tmp_path, script)
    me = node.core.accounts[min(node.core.accounts)]
    kinds = [e.exec_type for e in me.executions]
    assert kinds == ["Trade", "Funding", "BustTrade"], kinds  # paid funding, then was liquidated
    assert me.positions[("linear", "BTCUSDT", 0)].size == 0 and me.balance("USDT") == 0


def test_bad_debt_is_taken_from_the_losing_positions(tmp_path) -> None:
    """0.1 BTC short and 1 ETH long on 2000 USDT; BTC jumps to 90000: equity is negative. The losing short
    closes at its bankruptcy price; the profitable long at its mark, never above it."""
    from paperex.core import risk

    def script(seq) -> None:
        seq.apply_now(CreateAccount(balances={"USDT": to_units("2000")}), T0)
        seq.apply_now(CreateAccount(balances={"USDT": to_units("10000000")}), T0)
        me, maker = sorted(seq.core.accounts)
        for symbol, side, lots, price in (("BTCUSDT", 1, 100, "65000"), ("ETHUSDT", -1, 100, "3200")):
            st = seq.core.symbols[("linear", symbol)]
            prices_of = {"BTCUSDT": "65000", "ETHUSDT": "3200"}
            seq.apply_now(SetPrices(category="linear", symbol=symbol, index=st.grid.ticks(Decimal(prices_of[symbol]))),
                          T0)
            seq.apply_now(PlaceOrder(uid=maker, category="linear", symbol=symbol, side=side, order_type="Limit",
                                     qty=lots, price=st.grid.ticks(Decimal(price))), T0)
            seq.apply_now(PlaceOrder(uid=me, category="linear", symbol=symbol, side=-side, order_type="Market",
                                     qty=lots), T0)
        prices(seq, T0 + 1, "90000", "90000")

    node = run(tmp_path, script)
    me = node.core.accounts[min(node.core.accounts)]
    bust = {e.symbol: e for e in me.executions if e.exec_type == "BustTrade"}
    eth = node.core.symbols[("linear", "ETHUSDT")]
    assert set(bust) == {"BTCUSDT", "ETHUSDT"} and bust["ETHUSDT"].price == eth.mark  # the long at its mark
    assert me.balance("USDT") == 0
    assert node.core.account_labelled(risk.INSURANCE_LABEL).balance("USDT") < 0  # the fund covered the debt
    assert all(row["conserved"] for row in node.core.money_check().values())
