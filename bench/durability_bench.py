"""What durability costs, and how long a restart takes.

1. Durable commands/s through the sequencer with group commit: SQLite, PostgreSQL (a private cluster
   from Debian's package, when available) and the in-memory journal, for 1, 16 and 256 concurrent
   submitters.
2. Signed POST /v5/order/create over HTTP with the SQLite journal versus the in-memory one.
3. Restart time for 1,000,000 journaled order commands, from the journal alone and from a snapshot.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import table
from bench.core_bench import ACCOUNTS, make_ops
from paperex.core import snapshot
from paperex.core.commands import CancelOrder, CreateAccount, Deposit, PlaceOrder
from paperex.core.engine import FIRST_UID, Exchange
from paperex.core.numbers import to_units
from paperex.data import load_market
from paperex.errors import ApiError
from paperex.journal.group_commit import GroupCommitWriter
from paperex.journal.memory import MemoryJournal
from paperex.journal.sqlite import SqliteJournal
from paperex.journal.store import Snapshot
from paperex.market.clock import WallClock
from paperex.sequencer import Sequencer, encode_command, restore
from paperex.server import tune_gc


async def durable_rate(store, commands: int, submitters: int) -> tuple[float, int]:
    writer = GroupCommitWriter(store)
    writer.start()
    seq = Sequencer(Exchange(load_market()), writer, WallClock())
    await seq.submit(CreateAccount())
    per = max(1, commands // submitters)

    async def submitter() -> None:
        for _ in range(per):
            await seq.submit(Deposit(uid=FIRST_UID, coin="USDT", amount=1))

    t0 = time.perf_counter()
    await asyncio.gather(*(submitter() for _ in range(submitters)))
    elapsed = time.perf_counter() - t0
    batches = writer.batches
    await writer.stop()
    store.close()
    return per * submitters / elapsed, batches


def journal_rows(tmp: Path, postgres_url: str | None) -> list[list[str]]:
    rows = []
    stores = [("SQLite (WAL, synchronous=FULL)", lambda n: SqliteJournal(tmp / f"j{n}.sqlite3")),
              ("in memory (no durability)", lambda n: MemoryJournal())]
    if postgres_url:
        from tests.pg import PostgresCluster  # noqa: F401 - the cluster is started by the caller

        from paperex.journal.postgres import PostgresJournal

        def pg(n: int):
            import psycopg

            with psycopg.connect(postgres_url, autocommit=True) as db:
                db.execute("DROP TABLE IF EXISTS paperex_journal, paperex_snapshots, paperex_meta")
            return PostgresJournal(postgres_url)

        stores.insert(1, ("PostgreSQL 15 (psycopg 3, localhost)", pg))
    for name, make in stores:
        for submitters in (1, 16, 256):
            n = 2_000 if submitters == 1 else 20_000
            rate, batches = asyncio.run(durable_rate(make(submitters), n, submitters))
            rows.append([name, str(submitters), f"{rate:,.0f}", str(batches)])
    return rows


def journal_of_orders(path: Path, n: int) -> tuple[int, float]:
    """Journal n commands of the core benchmark's mix (as a running server would have), in batches."""
    ex = Exchange(load_market())
    store = SqliteJournal(path)
    rows, seq, ts = [], 0, 1_000
    commands = [CreateAccount(balances={"USDT": to_units("1000000000")}) for _ in range(ACCOUNTS)]
    resting: dict[int, list[int]] = {FIRST_UID + i: [] for i in range(ACCOUNTS)}
    for op in make_ops(n, 7, ex.symbols[("linear", "BTCUSDT")].mark):
        if op[0] == "limit":
            _, uid, side, price, qty = op
            commands.append(PlaceOrder(uid=uid, category="linear", symbol="BTCUSDT", side=side, order_type="Limit",
                                       qty=qty, price=price))
        elif op[0] == "market":
            _, uid, side, qty = op
            commands.append(PlaceOrder(uid=uid, category="linear", symbol="BTCUSDT", side=side,
                                       order_type="Market", qty=qty))
        else:
            commands.append(("cancel", op[1], op[2]))  # resolved against the live state below
    for cmd in commands:
        ts += 1
        if isinstance(cmd, tuple):
            mine = resting[cmd[1]]
            if not mine:
                continue
            oid = mine.pop(int(cmd[2] * len(mine)))
            if oid not in ex.accounts[cmd[1]].open_orders:
                continue
            cmd = CancelOrder(uid=cmd[1], category="linear", symbol="BTCUSDT", order_id=oid)
        try:
            ex.apply(cmd, ts)
        except ApiError:
            continue
        if isinstance(cmd, PlaceOrder) and cmd.order_type == "Limit":
            resting[cmd.uid].append(ex.order_seq)
        seq += 1
        rows.append((seq, ts, encode_command(cmd)))
        if len(rows) == 10_000:
            store.append_batch(rows)
            rows = []
    if rows:
        store.append_batch(rows)
    t0 = time.perf_counter()
    body = __import__("msgspec").msgpack.encode(snapshot.dump(ex))
    snap_time = time.perf_counter() - t0
    store.close()
    return seq, snap_time, body, ex.digest()


def restart_rows(tmp: Path, n: int) -> list[list[str]]:
    path = tmp / "orders.sqlite3"
    count, snap_time, body, digest = journal_of_orders(path, n)
    rows = []
    t0 = time.perf_counter()
    core, last, _ = restore(load_market(), SqliteJournal(path))
    full = time.perf_counter() - t0
    assert core.digest() == digest
    rows.append([f"{count:,}", "journal only", f"{full:.1f}", f"{count / full:,.0f}", "-"])
    store = SqliteJournal(path)
    store.write_snapshot(Snapshot(last, 0, snapshot.FORMAT, body))
    store.close()
    t0 = time.perf_counter()
    core, _, from_seq = restore(load_market(), SqliteJournal(path))
    quick = time.perf_counter() - t0
    assert core.digest() == digest and from_seq == last
    rows.append([f"{count:,}", "latest snapshot", f"{quick:.1f}", "-",
                 f"{len(body) / 2**20:,.0f} MiB, taken in {snap_time:.1f} s"])
    return rows


def main(argv: list[str] | None = None) -> None:
    tune_gc()
    ap = argparse.ArgumentParser()
    ap.add_argument("--restart-commands", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="paperex-bench-"))
    cluster = None
    try:
        try:
            from tests.pg import PostgresCluster

            cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="paperex-pg-"))).start()
            pg_url = cluster.new_database()
        except Exception as exc:
            print(f"(PostgreSQL not available: {exc})")
            pg_url = None
        print(table("Durable commands/s with group commit (sequencer + journal, in process, no HTTP)",
                    ["journal", "concurrent submitters", "commands/s", "batches"], journal_rows(tmp, pg_url)))
        print(table(f"Restart: restore the state of {args.restart_commands:,} generated order operations "
                    "(the core benchmark's mix; SQLite)",
                    ["journaled commands", "from", "seconds", "replayed commands/s", "snapshot"],
                    restart_rows(tmp, args.restart_commands)))
    finally:
        if cluster is not None:
            cluster.stop()
            shutil.rmtree(cluster.root, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
