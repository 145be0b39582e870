"""Small helpers shared by the benchmarks: a load loop and a percentile table."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable


async def closed_loop(make_request: Callable[[], Awaitable[None]], concurrency: int, seconds: float,
                      max_requests: int = 2_000_000) -> tuple[int, list[float]]:
    """``concurrency`` workers issue requests back to back for ``seconds``; returns (count, latencies in s)."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline and len(latencies) < max_requests:
            t0 = time.perf_counter()
            await make_request()
            latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies), latencies


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=1000)[min(999, int(q * 1000)) - 1] if len(values) > 1 else values[0]


def table(title: str, header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    return "\n".join([f"\n{title}", line, sep, *body])
