"""Replay speed in virtual time: historical trades per second through the core, with the liquidity provider
quoting the replayed symbol, journaled (SQLite) or not (memory)."""

from __future__ import annotations

import argparse
import asyncio
import gzip
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import table
from paperex.config import parse
from paperex.market.clock import VirtualClock
from paperex.market.setup import build_market
from paperex.server import Node, tune_gc

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def write_trades(path: Path, n: int, seconds: int) -> None:
    rng = random.Random(1)
    price = 65000.0
    with gzip.open(path, "wt") as f:
        f.write("timestamp,symbol,side,size,price\n")
        for i in range(n):
            price = max(1000.0, price + rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0]))
            f.write(f"{T0 + seconds * i / n:.3f},BTCUSDT,{rng.choice(['Buy', 'Sell'])},"
                    f"{rng.randrange(1, 100) / 1000:.3f},{price:.1f}\n")


async def run(tmp: Path, trades: Path, journal: str | None, seconds: int) -> tuple[int, float, int]:
    config = parse({"clock": {"mode": "virtual", "start": "2026-01-01T00:00:00Z"}, "market": {"history_days": 0},
                    "symbols": [{"category": "linear", "symbol": "BTCUSDT", "feed": "trades", "file": str(trades)}]})
    node = Node(tmp, journal, snapshot_every=0, clock=VirtualClock(config.start_ms))
    node.start()
    driver = await build_market(node.sequencer, config)
    t0 = time.perf_counter()
    await driver.advance(seconds * 1000)
    elapsed = time.perf_counter() - t0
    commands = node.sequencer.seq
    await node.close(snapshot=False)
    return driver.replayed, elapsed, commands


def main(argv: list[str] | None = None) -> None:
    tune_gc()
    ap = argparse.ArgumentParser()
    ap.add_argument("--trades", type=int, default=100_000)
    ap.add_argument("--seconds", type=int, default=3600, help="the recorded span (virtual time)")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="paperex-replay-"))
    try:
        trades = tmp / "BTCUSDT.csv.gz"
        write_trades(trades, args.trades, args.seconds)
        rows = []
        for name, journal in (("SQLite", None), ("memory", "memory")):
            replayed, elapsed, commands = asyncio.run(run(tmp / name, trades, journal, args.seconds))
            rows.append([name, f"{replayed:,}", f"{args.seconds:,} s", f"{elapsed:.1f}", f"{replayed / elapsed:,.0f}",
                         f"{commands:,}"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(table("Replay in virtual time: historical trades re-printed through the core, the liquidity provider "
                "quoting 220 levels a side around each trade",
                ["journal", "trades", "span", "seconds", "trades/s", "journaled commands"], rows))


if __name__ == "__main__":
    main()
