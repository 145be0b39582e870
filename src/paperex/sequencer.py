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
    return _encoder.encode(command)


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

    def now_ms(self) -> int:
        """Exchange time: the clock, never behind the last applied command."""
        return max(self.clock.now_ms(), self.core.last_ts)

    async def submit(self, command: Command) -> list[Event]:
        if self.writer.failed is not None:
            raise ApiError(Code.SERVER_ERROR, "journal unavailable")
        ts = self.now_ms()
        events = self.core.apply(command, ts)  # raises ApiError on rejection; nothing is journaled
        self.seq += 1
        durable = self.writer.append(self.seq, ts, encode_command(command))
        try:
            await durable
        except Exception as exc:
            raise ApiError(Code.SERVER_ERROR, "journal write failed") from exc
        return events
