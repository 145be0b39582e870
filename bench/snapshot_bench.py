"""How long a snapshot pauses the event loop, at a large state.

Builds the state of the core benchmark's mix (``--ops`` generated order operations: ~60 % of them resting
orders, hundreds of thousands of executions) in a sequencer with a SQLite journal, then takes snapshots while
a probe task on the same event loop wakes every millisecond and records the longest gap between its wake-ups
(what a stream of requests such as ``GET /v5/market/time`` would wait). Two ways of taking them:

- ``on the loop``: serialised synchronously on the event loop (the code path before background snapshots,
  still used for small states and for the final snapshot at close: ``take_snapshot(background=False)``);
- ``forked child``: ``take_snapshot()`` forks, the child serialises, the parent reads it in a worker thread.

Commands keep arriving between snapshots (a deposit every millisecond), so each snapshot covers a new seq.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import table
from bench.core_bench import ACCOUNTS, apply_op, make_ops
from paperex.core.commands import CreateAccount, Deposit
from paperex.core.engine import FIRST_UID, Exchange
from paperex.core.numbers import to_units
from paperex.data import load_market
from paperex.errors import ApiError
from paperex.journal.group_commit import GroupCommitWriter
from paperex.journal.sqlite import SqliteJournal
from paperex.market.clock import WallClock
from paperex.sequencer import Sequencer
from paperex.server import tune_gc


def build(n: int, seed: int) -> tuple[Exchange, int]:
    """The core after ``n`` generated operations (applied directly: the journal is not what is measured)."""
    ex = Exchange(load_market())
    for ts in range(ACCOUNTS):
        ex.apply(CreateAccount(balances={"USDT": to_units("1000000000")}), ts)
    resting: dict[int, list[int]] = {FIRST_UID + i: [] for i in range(ACCOUNTS)}
    ts, applied = 1_000, ACCOUNTS
    for op in make_ops(n, seed, ex.symbols[("linear", "BTCUSDT")].mark):
        ts += 1
        try:
            if not apply_op(ex, op, resting, ts):
                continue
            applied += 1
        except ApiError:
            continue
    return ex, applied


class Probe:
    """Wakes every millisecond; the longest gap between wake-ups beyond that is the longest pause."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.wakeups = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last - 0.001)
            self.wakeups += 1
            last = now

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def measure(seq: Sequencer, background: bool, snapshots: int) -> list[str]:
    """Take ``snapshots`` snapshots one after the other, commands arriving all along."""
    probe = Probe()
    probe.start()
    traffic_stop = asyncio.Event()
    commands = 0

    async def traffic() -> None:
        nonlocal commands
        while not traffic_stop.is_set():
            await seq.submit(Deposit(uid=FIRST_UID, coin="USDT", amount=1))
            commands += 1
            await asyncio.sleep(0.001)

    t_traffic = asyncio.get_running_loop().create_task(traffic())
    await asyncio.sleep(0.2)
    calls, totals = [], []
    for _ in range(snapshots):
        before = seq.snapshot_seq
        t0 = time.perf_counter()
        fut = seq.take_snapshot(background=background)
        calls.append(time.perf_counter() - t0)
        if fut is not None:
            await fut
        while seq.snapshot_seq == before:  # the background one is stored when its seq shows
            if time.perf_counter() - t0 > 600:
                raise RuntimeError("the snapshot was never stored (see the log)")
            await asyncio.sleep(0.005)
        totals.append(time.perf_counter() - t0)
        await asyncio.sleep(0.2)
    traffic_stop.set()
    await t_traffic
    await probe.stop()
    return [f"{max(calls) * 1000:,.1f}", f"{probe.longest * 1000:,.1f}", f"{max(totals):.1f}", f"{commands:,}",
            f"{probe.wakeups:,}"]


async def run(tmp: Path, ops: int, seed: int, snapshots: int) -> tuple[list[list[str]], int, int, float]:
    t0 = time.perf_counter()
    core, applied = build(ops, seed)
    built = time.perf_counter() - t0
    journal = SqliteJournal(tmp / "journal.sqlite3")
    writer = GroupCommitWriter(journal)
    writer.start()
    seq = Sequencer(core, writer, WallClock(), last_seq=applied)
    rows = []
    for name, background in (("on the loop (before)", False), ("forked child (now)", True)):
        rows.append([name, *await measure(seq, background, snapshots)])
    size = len(journal.latest_snapshot().body)  # type: ignore[union-attr]
    await writer.stop()
    journal.close()
    return rows, applied, size, built


def main(argv: list[str] | None = None) -> None:
    tune_gc()  # as paperex serve does
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, default=1_000_000, help="generated order operations before the snapshots")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--snapshots", type=int, default=3, help="snapshots taken each way")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="paperex-snap-"))
    try:
        rows, applied, size, built = asyncio.run(run(tmp, args.ops, args.seed, args.snapshots))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(table(f"Snapshots of a large state: {args.ops:,} generated operations ({applied:,} applied, built in "
                f"{built:.0f} s), snapshot {size / 2**20:,.0f} MiB, server RSS {rss:,.0f} MiB; "
                f"{args.snapshots} snapshots each way, a deposit every ms meanwhile",
                ["snapshot taken", "loop blocked by the call, ms", "longest loop pause, ms",
                 "to durable, s (longest)", "commands meanwhile", "probe wake-ups"], rows))


if __name__ == "__main__":
    main()
