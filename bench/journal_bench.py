"""Durable commands per second through the sequencer with group commit (in process, no HTTP)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import table
from paperex.core.commands import CreateAccount, Deposit
from paperex.core.engine import FIRST_UID, Exchange
from paperex.data import load_market
from paperex.journal.group_commit import GroupCommitWriter
from paperex.journal.sqlite import SqliteJournal
from paperex.market.clock import WallClock
from paperex.sequencer import Sequencer, replay


async def durable_rate(path: Path, commands: int, submitters: int) -> tuple[float, int]:
    journal = SqliteJournal(path)
    writer = GroupCommitWriter(journal)
    writer.start()
    seq = Sequencer(Exchange(load_market()), writer, WallClock())
    await seq.submit(CreateAccount())
    per = commands // submitters

    async def submitter() -> None:
        for _ in range(per):
            await seq.submit(Deposit(uid=FIRST_UID, coin="USDT", amount=1))

    t0 = time.perf_counter()
    await asyncio.gather(*(submitter() for _ in range(submitters)))
    elapsed = time.perf_counter() - t0
    batches = writer.batches
    await writer.stop()
    journal.close()
    return per * submitters / elapsed, batches


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for submitters in (1, 16, 256):
            path = Path(tmp) / f"j{submitters}.sqlite3"
            rate, batches = asyncio.run(durable_rate(path, 20_000 if submitters > 1 else 2_000, submitters))
            rows.append([str(submitters), f"{rate:,.0f}", str(batches)])
        path = Path(tmp) / "j256.sqlite3"
        t0 = time.perf_counter()
        core = Exchange(load_market())
        n = replay(core, SqliteJournal(path))
        replay_s = time.perf_counter() - t0
    print(table("Journal: durable commands/s with group commit (SQLite WAL, synchronous=FULL)",
                ["concurrent submitters", "durable commands/s", "fsync'd batches"], rows))
    print(table("Replay on start", ["commands", "seconds", "commands/s"],
                [[f"{n:,}", f"{replay_s:.2f}", f"{n / replay_s:,.0f}"]]))


if __name__ == "__main__":
    main()
