"""A journal that keeps nothing on disk (``--journal memory``): for benchmarks that measure what
durability costs, and for throwaway runs where losing everything on exit is fine."""

from __future__ import annotations

from collections.abc import Iterator

from paperex.journal.store import Snapshot


class MemoryJournal:
    recovery_report: str | None = None

    def __init__(self) -> None:
        self.rows: list[tuple[int, int, bytes]] = []
        self.snapshots: list[Snapshot] = []

    def read(self, after_seq: int = 0) -> Iterator[tuple[int, int, bytes]]:
        return iter([r for r in self.rows if r[0] > after_seq])

    def last_seq(self) -> int:
        return self.rows[-1][0] if self.rows else 0

    def append_batch(self, rows: list[tuple[int, int, bytes]]) -> None:
        self.rows.extend(rows)

    def write_snapshot(self, snap: Snapshot, keep: int = 2) -> None:
        self.snapshots = [*self.snapshots, snap][-keep:]

    def latest_snapshot(self) -> Snapshot | None:
        return self.snapshots[-1] if self.snapshots else None

    def close(self) -> None:
        pass
