"""Group commit: many commands share one durable write, so acknowledging after the disk stays fast.

Commands queue up while the previous batch is being written; each batch is one transaction (one fsync)
run in a worker thread. ``append`` returns once the batch holding the record is durable. Snapshots go
through the same queue, after the journal rows queued before them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

from paperex.journal.store import Snapshot

log = logging.getLogger("paperex.journal")


class BatchStore(Protocol):
    def append_batch(self, rows: list[tuple[int, int, bytes]]) -> None: ...
    def write_snapshot(self, snap: Snapshot, keep: int = 2) -> None: ...


class GroupCommitWriter:
    def __init__(self, store: BatchStore) -> None:
        self._store = store
        self._rows: list[tuple[int, int, bytes]] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._inflight: list[asyncio.Future[None]] = []
        self._snapshots: list[tuple[Snapshot, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.failed: BaseException | None = None
        self.batches = 0
        self.on_durable: Callable[[int], None] | None = None  # told each durable batch's last seq (worker thread)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="journal-writer")

    def append(self, seq: int, ts: int, body: bytes) -> asyncio.Future[None]:
        """Queue a record (synchronously, so journal order = call order); await the result."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.failed is not None:
            fut.set_exception(self.failed)
            return fut
        self._rows.append((seq, ts, body))
        self._waiters.append(fut)
        self._wake.set()
        return fut

    def snapshot(self, snap: Snapshot) -> asyncio.Future[None]:
        """Queue a snapshot; it is written after every journal row queued before it. Refused after a failed
        write (the rows it covers may not all be in the journal; nothing would ever write it either)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.failed is not None:
            fut.set_exception(self.failed)
            return fut
        self._snapshots.append((snap, fut))
        self._wake.set()
        return fut

    def _write(self, rows: list[tuple[int, int, bytes]], snaps: list[Snapshot]) -> list[BaseException | None]:
        """Runs in a worker thread. A failed row batch raises; a failed snapshot is only reported."""
        if rows:
            self._store.append_batch(rows)
            if self.on_durable is not None:
                try:
                    self.on_durable(rows[-1][0])
                except OSError as exc:  # the marker is a safety net: the journal itself is durable
                    log.warning("durable marker not written: %s", exc)
        outcomes: list[BaseException | None] = []
        for snap in snaps:
            try:
                self._store.write_snapshot(snap)
                outcomes.append(None)
            except Exception as exc:  # the journal still holds everything: a snapshot is an optimisation
                outcomes.append(exc)
        return outcomes

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._rows and not self._snapshots:
                continue
            rows, waiters, snaps = self._rows, self._waiters, self._snapshots
            self._rows, self._waiters, self._snapshots = [], [], []
            self._inflight = waiters + [f for _, f in snaps]
            try:
                outcomes = await asyncio.to_thread(self._write, rows, [s for s, _ in snaps])
            except Exception as exc:  # the disk failed: state is ahead of the journal, stop accepting
                log.critical("journal write failed; refusing further commands: %s", exc)
                self.failed = exc
                # Everything queued behind the failed batch fails too and is never written: writing it
                # would leave a gap in the journal (and acknowledge commands that replay differently).
                queued = [*self._inflight, *self._waiters, *(f for _, f in self._snapshots)]
                self._rows, self._waiters, self._snapshots = [], [], []
                for w in queued:
                    if not w.done():
                        w.set_exception(exc)
                return
            self.batches += 1 if rows else 0
            for w in waiters:
                if not w.done():
                    w.set_result(None)
            for (snap, fut), outcome in zip(snaps, outcomes, strict=True):
                if outcome is not None:
                    log.error("snapshot at seq %d was not written: %s", snap.seq, outcome)
                    fut.set_exception(outcome)
                else:
                    fut.set_result(None)

    async def drain(self) -> None:
        """Wait until everything queued so far is durable."""
        queued = (*self._inflight, *self._waiters, *(f for _, f in self._snapshots))
        pending = [f for f in queued if not f.done()]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def stop(self) -> None:
        await self.drain()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
