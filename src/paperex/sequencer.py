"""The sequencer: the single writer in front of the core.

It stamps each command with the exchange time, applies it to the core (rejections raise and change
nothing), appends the accepted command to the journal and acknowledges only once that is durable.
Apply and enqueue happen with no ``await`` between them, so journal order is apply order and a
replay of the journal rebuilds exactly the live state.
"""

from __future__ import annotations

import logging
from typing import Protocol

import msgspec

from paperex.core.commands import AnyCommand, Command
from paperex.core.engine import Exchange
from paperex.core.events import Event
from paperex.errors import ApiError, Code
from paperex.journal.group_commit import GroupCommitWriter
from paperex.journal.sqlite import JournalError, SqliteJournal

log = logging.getLogger("paperex.sequencer")

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(AnyCommand)


class Clock(Protocol):
    def now_ms(self) -> int: ...


def encode_command(command: Command) -> bytes:
    try:
        return _encoder.encode(command)
    except (OverflowError, msgspec.EncodeError) as exc:
        raise ApiError(Code.PARAM_ERROR, "a value is out of range") from exc


def decode_command(body: bytes) -> Command:
    return _decoder.decode(body)


def replay(core: Exchange, journal: SqliteJournal) -> int:
    """Apply every journaled command to ``core``; returns the last sequence number."""
    last = 0
    for seq, ts, body in journal.read():
        try:
            core.apply(decode_command(body), ts)
        except (ApiError, msgspec.DecodeError) as exc:
            raise JournalError(f"journal record {seq} cannot be replayed: {exc}") from exc
        last = seq
    return last


class Sequencer:
    def __init__(self, core: Exchange, writer: GroupCommitWriter, clock: Clock, last_seq: int = 0) -> None:
        self.core = core
        self.writer = writer
        self.clock = clock
        self.seq = last_seq
        self.broken: str | None = None  # set when the core may be ahead of the journal: no more writes
        self.inflight_orders: set[tuple[int, int]] = set()  # (uid, order id) with an amend/cancel in flight

    def now_ms(self) -> int:
        """Exchange time: the clock, never behind the last applied command."""
        return max(self.clock.now_ms(), self.core.last_ts)

    async def submit(self, command: Command) -> list[Event]:
        if self.writer.failed is not None or self.broken is not None:
            raise ApiError(Code.SERVER_ERROR, "journal unavailable")
        body = encode_command(command)  # before apply: a command that cannot be journaled changes nothing
        ts = self.now_ms()
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
        durable = self.writer.append(self.seq, ts, body)
        try:
            await durable
        except Exception as exc:
            raise ApiError(Code.SERVER_ERROR, "journal write failed") from exc
        return events
