"""The exchange core alone, in process: order operations per second on a realistic mix.

60 % limit orders placed near the touch, 30 % cancels of resting orders, 10 % marketable orders that
sweep 1-3 levels; two accounts quoting on both sides of BTCUSDT (linear). Every operation goes through
``Exchange.apply`` with all its checks, holds, fees, positions and events: the same path as a request.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import table
from paperex.core.commands import CancelOrder, CreateAccount, PlaceOrder
from paperex.core.engine import FIRST_UID, Exchange
from paperex.core.numbers import to_units
from paperex.data import load_market
from paperex.errors import ApiError
from paperex.server import tune_gc

ACCOUNTS = 1000  # enough that no account reaches the 500-active-orders limit


def make_ops(n: int, seed: int, mid: int) -> list[tuple]:
    rng = random.Random(seed)
    ops = []
    for _ in range(n):
        r = rng.random()
        uid = FIRST_UID + rng.randrange(ACCOUNTS)
        side = 1 if rng.random() < 0.5 else -1
        if r < 0.6:
            offset = rng.randint(1, 30)  # ticks away from the mid, on the passive side
            price = mid - offset if side == 1 else mid + offset
            ops.append(("limit", uid, side, price, rng.randint(1, 20)))
        elif r < 0.9:
            ops.append(("cancel", uid, rng.random()))
        else:
            ops.append(("market", uid, side, rng.randint(20, 60)))
    return ops


def apply_op(ex: Exchange, op: tuple, resting: dict[int, list[int]], ts: int) -> bool:
    """One generated operation through the core (False: a cancel with nothing to cancel, skipped); a refusal
    raises ``ApiError``."""
    kind, uid = op[0], op[1]
    if kind == "limit":
        _, _, side, price, qty = op
        ex.apply(PlaceOrder(uid=uid, category="linear", symbol="BTCUSDT", side=side, order_type="Limit", qty=qty,
                            price=price), ts)
        resting[uid].append(ex.order_seq)
    elif kind == "cancel":
        mine = resting[uid]
        if not mine:
            return False
        oid = mine.pop(int(op[2] * len(mine)))
        if oid not in ex.accounts[uid].open_orders:
            return False
        ex.apply(CancelOrder(uid=uid, category="linear", symbol="BTCUSDT", order_id=oid), ts)
    else:
        _, _, side, qty = op
        ex.apply(PlaceOrder(uid=uid, category="linear", symbol="BTCUSDT", side=side, order_type="Market", qty=qty),
                 ts)
    return True


def run(n: int, seed: int) -> tuple[int, float, dict[str, int]]:
    ex = Exchange(load_market())
    for ts in range(ACCOUNTS):
        ex.apply(CreateAccount(balances={"USDT": to_units("1000000000")}), ts)
    st = ex.symbols[("linear", "BTCUSDT")]
    mid = st.mark
    ops = make_ops(n, seed, mid)
    resting: dict[int, list[int]] = {FIRST_UID + i: [] for i in range(ACCOUNTS)}
    counts = {"limit": 0, "cancel": 0, "market": 0, "rejected": 0, "fills": 0}
    ts = 1_000
    t0 = time.perf_counter()
    for op in ops:
        ts += 1
        kind = op[0]
        try:
            if not apply_op(ex, op, resting, ts):
                continue
            counts[kind] += 1
        except ApiError:
            counts["rejected"] += 1
    elapsed = time.perf_counter() - t0
    counts["fills"] = sum(len(a.executions) for a in ex.accounts.values()) // 2
    done = counts["limit"] + counts["cancel"] + counts["market"] + counts["rejected"]
    return done, elapsed, counts


def main(argv: list[str] | None = None) -> None:
    tune_gc()  # as paperex serve does
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    done, elapsed, counts = run(args.ops, args.seed)
    print(table(f"Core alone: {args.ops:,} generated operations (60 % limit near the touch, 30 % cancel, "
                "10 % marketable), one core",
                ["operations applied", "seconds", "ops/s", "limits", "cancels", "marketable", "fills", "rejected"],
                [[f"{done:,}", f"{elapsed:.2f}", f"{done / elapsed:,.0f}", f"{counts['limit']:,}",
                  f"{counts['cancel']:,}", f"{counts['market']:,}", f"{counts['fills']:,}",
                  f"{counts['rejected']:,}"]]))


if __name__ == "__main__":
    main()
