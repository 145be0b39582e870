"""The default living market (core.background, market.history): what it costs to keep it running.

- start-up: deriving the past (30 days x every symbol) and placing the first quotes;
- an idle hour: journaled commands per second and journal bytes per hour (SQLite, as ``make run`` has it),
  measured on a virtual hour, which journals exactly what a real-time hour does (one ``MarketStep`` a tick and
  the funding ``Tick``s);
- virtual time: seconds to advance the default market by ``--hours`` (24 by default; in-memory journal), and
  the process's memory (RSS) before and after.

    python bench/market_bench.py [--hours 24]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from paperex.config import Config
from paperex.market.clock import VirtualClock
from paperex.market.setup import build_market
from paperex.server import JOURNAL_FILE, Node

try:
    from bench.common import table
except ImportError:  # run as a script from bench/
    from common import table  # type: ignore[no-redef]


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def journal_bytes(data_dir: Path) -> int:
    return sum(p.stat().st_size for p in data_dir.glob(f"{JOURNAL_FILE}*"))


async def idle_hour() -> list[str]:
    cfg = Config(clock="virtual")
    data_dir = Path(tempfile.mkdtemp())
    node = Node(data_dir, None, 0, VirtualClock(cfg.start_ms))
    node.start()
    t0 = time.perf_counter()
    driver = await build_market(node.sequencer, cfg)
    startup = time.perf_counter() - t0
    seq0, bytes0 = node.sequencer.seq, journal_bytes(data_dir)
    await driver.advance(3_600_000)
    commands = node.sequencer.seq - seq0
    await node.writer.stop()
    grown = journal_bytes(data_dir) - bytes0
    node.journal.close()
    node.lock.release()
    return [f"{startup:.2f}", f"{commands / 3600:.2f}", f"{grown / 1e6:.2f}", f"{grown / max(commands, 1):.0f}"]


async def advance(hours: float) -> list[str]:
    cfg = Config(clock="virtual")
    node = Node(Path(tempfile.mkdtemp()), "memory", 0, VirtualClock(cfg.start_ms))
    node.start()
    driver = await build_market(node.sequencer, cfg)
    before = rss_mb()
    t0 = time.perf_counter()
    await driver.advance(int(hours * 3_600_000))
    seconds = time.perf_counter() - t0
    core = node.core
    trades = sum(len(a.executions) for a in core.accounts.values())
    row = [f"{hours:g} h", f"{seconds:.1f}", f"{hours * 3600 / seconds:.0f}", f"{before:.0f}", f"{rss_mb():.0f}",
           str(len(core.orders)), str(trades)]
    await node.close(snapshot=False)
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=float, default=24.0)
    args = parser.parse_args()
    print(table("default living market, idle: an hour of it (SQLite journal)",
                ["start-up s (past + first quotes)", "journaled commands/s", "journal MB/hour", "bytes/command"],
                [asyncio.run(idle_hour())]))
    print(table("default living market in virtual time (memory journal)",
                ["advance", "seconds", "x real time", "RSS MB before", "RSS MB after", "orders in memory",
                 "executions in memory"], [asyncio.run(advance(args.hours))]))


if __name__ == "__main__":
    main()
