"""The testing kit (paperex.testing): what a fresh exchange costs a test.

- in-process (the default of the ``paperex`` fixture): the first start in a process (it imports the server),
  then the median of later starts, and a stop;
- subprocess (``process=True`` / ``--paperex-process``): a ``paperex serve`` child per venue;
- with the living market (``market=True``: the past derived, the first quotes).

    python bench/kit_bench.py [--runs 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from paperex.testing import Venue

try:
    from bench.common import table
except ImportError:  # run as a script from bench/
    from common import table  # type: ignore[no-redef]


def timed(runs: int, **options: object) -> tuple[float, float]:
    """(median start ms, median stop ms) over ``runs`` venues, each making an account (ready for a test)."""
    starts, stops = [], []
    for _ in range(runs):
        began = time.perf_counter()
        venue = Venue.start(**options)  # type: ignore[arg-type]
        venue.account()
        starts.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        venue.stop()
        stops.append((time.perf_counter() - began) * 1000)
    return statistics.median(starts), statistics.median(stops)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    began = time.perf_counter()
    Venue.start().stop()
    first = (time.perf_counter() - began) * 1000
    rows = [["in-process, first in the process (imports the server)", f"{first:.0f}", ""]]
    start, stop = timed(args.runs)
    rows.append(["in-process, then each (median)", f"{start:.1f}", f"{stop:.1f}"])
    start, stop = timed(max(3, args.runs // 3), process=True)
    rows.append(["subprocess (`paperex serve`, median)", f"{start:.0f}", f"{stop:.0f}"])
    start, stop = timed(max(3, args.runs // 3), market=True)
    rows.append(["in-process with the living market (30-day past, first quotes)", f"{start:.0f}", f"{stop:.0f}"])
    print(table("a fresh venue, ready with one account (ms)", ["venue", "start + account", "stop"], rows))


if __name__ == "__main__":
    main()
