"""The exchange clock. Real-time mode reads the wall clock here, at the edge, never inside the core."""

from __future__ import annotations

import time


class WallClock:
    """Real time, in integer milliseconds / nanoseconds since the epoch."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def now_ns(self) -> int:
        return time.time_ns()
