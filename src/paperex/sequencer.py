"""The sequencer: the single writer in front of the core.

It stamps each command with the exchange time, applies it to the core (rejections raise and change
nothing), appends the accepted command to the journal and acknowledges only once that is durable.
Apply and enqueue happen with no ``await`` between them, so journal order is apply order and a
replay of the journal rebuilds exactly the live state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Protocol

import msgspec

from paperex.background_snapshot import SnapshotChild, fork_available
from paperex.core import snapshot
from paperex.core.commands import AnyCommand, Command, MarketStep, Tick
from paperex.core.engine import Exchange
from paperex.core.events import Event
from paperex.core.instruments import MarketSpec
from paperex.errors import ApiError, Code
from paperex.journal.group_commit import GroupCommitWriter
from paperex.journal.store import JournalError, JournalStore, Snapshot

log = logging.getLogger("paperex.sequencer")

_encoder = msgspec.msgpack.Encoder()
UNAVAILABLE = "journal unavailable: the last write failed; restart the server (it recovers from the journal)"
_decoder = msgspec.msgpack.Decoder(AnyCommand)
# a state of fewer records than this (orders, executions, ledger entries) serialises in a few ms: faster on the
# event loop than a fork; a bigger one is serialised in a forked child (paperex.background_snapshot)
FORK_ABOVE = 2_000


class Clock(Protocol):
    def now_ms(self) -> int: ...


def encode_command(command: Command) -> bytes:
    try:
        return _encoder.encode(command)
    except (OverflowError, msgspec.EncodeError) as exc:
        raise ApiError(Code.PARAM_ERROR, "a value is out of range") from exc


def decode_command(body: bytes) -> Command:
    return _decoder.decode(body)


def replay(core: Exchange, journal: JournalStore, after_seq: int = 0) -> int:
    """Apply the journaled commands after ``after_seq`` to ``core``; returns the last sequence number."""
    last = after_seq
    for seq, ts, body in journal.read(after_seq):
        if seq != last + 1:
            raise JournalError(f"the journal has a gap: record {seq} follows {last}; the data dir needs a restore "
                               "from an export")
        try:
            core.apply(decode_command(body), ts)
        except (ApiError, msgspec.DecodeError) as exc:
            raise JournalError(f"journal record {seq} cannot be replayed: {exc}") from exc
        last = seq
    return last


def restore(market: MarketSpec, journal: JournalStore) -> tuple[Exchange, int, int]:
    """The state at the end of the journal: the latest usable snapshot, then the journal's tail.
    Returns (core, last journal seq, seq of the snapshot used or 0)."""
    snap = journal.latest_snapshot()
    core: Exchange | None = None
    if snap is not None:
        try:
            core = snapshot.load(market, msgspec.msgpack.decode(snap.body))
        except (snapshot.SnapshotError, msgspec.DecodeError, KeyError, TypeError, ValueError) as exc:
            log.warning("snapshot at seq %d is not usable (%s); replaying the whole journal", snap.seq, exc)
            core = None
    start = snap.seq if core is not None and snap is not None else 0
    if core is None:
        core = Exchange(market)
    return core, replay(core, journal, start), start


class Sequencer:
    def __init__(self, core: Exchange, writer: GroupCommitWriter, clock: Clock, last_seq: int = 0,
                 snapshot_every: int = 0, snapshot_seq: int | None = None) -> None:
        self.core = core
        self.writer = writer
        self.clock = clock
        self.seq = last_seq
        self.snapshot_every = snapshot_every  # take a snapshot every N units of work (0: never)
        self.snapshot_seq = last_seq if snapshot_seq is None else snapshot_seq  # seq of the newest snapshot
        # work since the newest snapshot: what a restart would replay. A command counts 1; a market step as
        # many as the events it made (its order operations), so a quiet market still snapshots every hour or so
        self.work = self.seq - self.snapshot_seq
        self.broken: str | None = None  # set when the core may be ahead of the journal: no more writes
        # (uid, order id) -> "amend" / "cancel": the request on that order still in flight
        self.inflight_orders: dict[tuple[int, int], str] = {}
        # called with (events, ts, durable) right after each command is applied (the private streams listen
        # here); what they show must wait for ``durable``: nothing observable runs ahead of the journal
        self.listeners: list[Callable[[list[Event], int, asyncio.Future[None]], None]] = []
        self.last_durable: asyncio.Future[None] | None = None  # the newest command's durable write
        # snapshots of a large state are serialised in a forked child (None: always on the loop, e.g. no fork)
        self.fork_above: int | None = FORK_ABOVE if fork_available() else None
        self.snapshot_child: SnapshotChild | None = None  # the one child at work, if any
        self._snapshot_task: asyncio.Task[None] | None = None

    def now_ms(self) -> int:
        """Exchange time: the clock, never behind the last applied command."""
        return max(self.clock.now_ms(), self.core.last_ts)

    async def submit(self, command: Command) -> list[Event]:
        """Apply, journal, and return once the command is durable."""
        events, durable = self.apply_now(command)
        try:
            await durable
        except Exception as exc:
            raise ApiError(Code.SERVER_ERROR, "journal write failed") from exc
        return events

    def apply_now(self, command: Command, ts: int | None = None) -> tuple[list[Event], asyncio.Future[None]]:
        """Apply and queue for the journal at once; the future completes when the command is durable.
        For producers that issue many commands in a row (the market driver) and wait for all at the end."""
        if self.writer.failed is not None or self.broken is not None:
            raise ApiError(Code.SERVER_ERROR, UNAVAILABLE)
        body = encode_command(command)  # before apply: a command that cannot be journaled changes nothing
        ts = self.now_ms() if ts is None else max(ts, self.core.last_ts)
        if ts >= self.core.next_timed_check() and not isinstance(command, Tick):
            # a timed event (funding, a dated future's listing or delivery) is due: it happens in a Tick of its own,
            # journaled before this command, so the command meets the state after it (and a rejected command
            # still changes nothing)
            self.apply_now(Tick(), ts)
        try:
            events = self.core.apply(command, ts)  # raises ApiError on rejection; nothing is journaled
        except ApiError:
            raise
        except Exception as exc:
            # A bug in the core may have changed part of the state: stop taking writes rather than run on a
            # state the journal cannot reproduce. A restart replays the journal into a consistent state.
            self.broken = f"{type(command).__name__}: {exc!r}"
            log.critical("core failed on %s; refusing further commands until restart", self.broken, exc_info=exc)
            raise ApiError(Code.SERVER_ERROR, "internal error") from exc
        self.seq += 1
        self.work += len(events) if type(command) is MarketStep else 1
        durable = self.writer.append(self.seq, ts, body)
        self.last_durable = durable
        for listener in self.listeners:
            try:
                listener(events, ts, durable)
            except Exception:  # a stream must never break the exchange
                log.exception("event listener failed")
        if self.snapshot_every and self.work >= self.snapshot_every:
            try:
                self.take_snapshot()
            except Exception:  # a snapshot is an optimisation: it must never fail an acknowledged command
                log.exception("snapshot at seq %d failed; the journal still holds everything", self.seq)
        return events, durable

    def settled(self) -> bool:
        """Is every command applied so far durable (what the state shows is what the journal holds)? Never
        after a failed write or a broken core: the state is then ahead of the journal for good."""
        if self.writer.failed is not None or self.broken is not None:
            return False
        return self.last_durable is None or self.last_durable.done()

    async def settle(self) -> None:
        """Wait until every command applied so far is durable (reads show only what the journal holds). After a
        failed write the state holds commands a restart will not have: reads are refused too (10016), so a
        refused order is never seen, until a restart rebuilds the state from the journal."""
        last = self.last_durable
        if last is not None and not last.done():
            await asyncio.wait([last])
        if self.writer.failed is not None or self.broken is not None:
            raise ApiError(Code.SERVER_ERROR, UNAVAILABLE)

    def take_snapshot(self, background: bool = True) -> asyncio.Future[None] | None:
        """Snapshot the state after ``self.seq`` (the last journaled command); the journal writer stores it after
        the rows queued before it. A large state is serialised in a forked child (the loop pays for the fork
        only); a small one, or with ``background=False`` (the final snapshot at close), right here. Returns
        the write's future, or None when the snapshot is made in the background or skipped."""
        if background and self.fork_above is not None:
            if self.snapshot_child is not None:
                return None  # one at a time: ``work`` keeps counting, so the next command after it ends tries again
            if self.state_records() > self.fork_above:
                self._fork_snapshot()
                return None
        body = msgspec.msgpack.encode(snapshot.dump(self.core))
        self.snapshot_seq = self.seq
        self.work = 0
        fut = self.writer.snapshot(Snapshot(self.seq, self.core.last_ts, snapshot.FORMAT, body))
        fut.add_done_callback(lambda f: f.cancelled() or f.exception())  # failures are logged by the writer
        return fut

    def state_records(self) -> int:
        """About how many records a snapshot holds (what its cost grows with)."""
        core = self.core
        return len(core.orders) + sum(len(a.executions) + len(a.ledger) for a in core.accounts.values())

    def _fork_snapshot(self) -> None:
        seq, ts, core = self.seq, self.core.last_ts, self.core
        try:
            child = SnapshotChild(lambda: msgspec.msgpack.encode(snapshot.dump(core)))
        except OSError as exc:  # no memory or no process left: try again after the next snapshot_every
            log.warning("snapshot at seq %d skipped: cannot fork (%s); the journal still holds everything", seq, exc)
            self.work = 0
            return
        self.snapshot_child = child
        self.work = 0
        self._snapshot_task = asyncio.get_running_loop().create_task(
            self._store_snapshot(child, seq, ts, time.monotonic()), name=f"snapshot-{seq}")

    async def _store_snapshot(self, child: SnapshotChild, seq: int, ts: int, started: float) -> None:
        """The child's bytes (read and reaped in a worker thread) go to the journal writer, behind the rows up to
        ``seq`` (queued long before). A child that fails only costs this snapshot."""
        try:
            body = await asyncio.to_thread(child.collect)
        except Exception as exc:
            log.warning("snapshot at seq %d skipped: %s; the journal still holds everything", seq, exc)
            return
        finally:
            self.snapshot_child = None
        if self.writer.failed is not None or self.broken is not None:
            return  # the journal may not hold everything up to seq: no snapshot may claim it does
        try:
            await self.writer.snapshot(Snapshot(seq, ts, snapshot.FORMAT, body))
        except Exception:
            return  # logged by the writer
        self.snapshot_seq = max(self.snapshot_seq, seq)
        log.info("snapshot at seq %d stored: %.1f MiB, serialised in a forked child (pid %d), %.2f s in all", seq,
                 len(body) / 2**20, child.pid, time.monotonic() - started)

    async def stop_snapshots(self) -> None:
        """Shutdown: end a child still at work (a final snapshot, if any, supersedes it) and reap it."""
        child, task = self.snapshot_child, self._snapshot_task
        if child is not None:
            child.kill()
        if task is not None:
            with contextlib.suppress(BaseException):
                await task
        self._snapshot_task = None
