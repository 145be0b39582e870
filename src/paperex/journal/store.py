"""What a journal backend provides. SQLite (``journal.sqlite``) is the default; PostgreSQL
(``journal.postgres``) serves a shared deployment. Both keep the same two tables: the command journal
(seq, ts, body, crc32) and snapshots of the whole core state (seq, ts, format, body, crc32)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

SCHEMA_VERSION = 2


class JournalError(RuntimeError):
    """The journal cannot be used as it is (written by a newer version, damaged, ...)."""


@dataclass(frozen=True)
class Snapshot:
    seq: int  # the state after applying journal record ``seq``
    ts: int
    format: int
    body: bytes


def crc(body: bytes) -> int:
    return zlib.crc32(body)


class JournalStore(Protocol):
    recovery_report: str | None  # what recovery had to do when opening, if anything

    def read(self, after_seq: int = 0) -> Iterator[tuple[int, int, bytes]]: ...
    def last_seq(self) -> int: ...
    def append_batch(self, rows: list[tuple[int, int, bytes]]) -> None: ...
    def write_snapshot(self, snap: Snapshot, keep: int = 2) -> None: ...
    def latest_snapshot(self) -> Snapshot | None: ...
    def close(self) -> None: ...


def check_row(seq: int, body: bytes, stored_crc: int) -> None:
    if crc(body) != stored_crc:
        raise JournalError(f"journal record {seq} is damaged (checksum mismatch); the data dir needs a restore "
                           "from an export")
