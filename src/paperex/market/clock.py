"""The exchange clock. Real-time mode reads the wall clock here, at the edge, never inside the core.
Virtual-time mode only moves when told to (``POST /admin/v1/clock/advance``), so a day of market runs in
seconds and every run of a scenario is the same."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    virtual: bool

    def now_ms(self) -> int: ...
    def now_ns(self) -> int: ...


class WallClock:
    """Real time, in integer milliseconds / nanoseconds since the epoch."""

    virtual = False

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def now_ns(self) -> int:
        return time.time_ns()


class VirtualClock:
    """Time that stands still until the market driver moves it forward."""

    virtual = True

    def __init__(self, start_ms: int) -> None:
        self.ms = start_ms

    def now_ms(self) -> int:
        return self.ms

    def now_ns(self) -> int:
        return self.ms * 1_000_000

    def set(self, ms: int) -> None:
        if ms < self.ms:
            raise ValueError("the virtual clock only moves forward")
        self.ms = ms
