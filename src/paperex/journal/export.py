"""``paperex export`` / ``paperex import``: the journal as one portable file, backend to backend.

Layout: frames of a 4-byte big-endian length and a msgpack value. The first frame is a header
(format name, export version, journal schema, paperex version), then one frame per command
``[seq, ts, body]``, then a trailer ``{"end": count}``: a file cut short is detected, never half-imported.
"""

from __future__ import annotations

import struct
from pathlib import Path

import msgspec

from paperex import __version__
from paperex.journal.store import SCHEMA_VERSION, JournalError, JournalStore

FORMAT_NAME = "paperex-export"
EXPORT_VERSION = 1
_BATCH = 10_000


def export_journal(store: JournalStore, path: Path) -> int:
    enc = msgspec.msgpack.Encoder()
    count = 0
    with path.open("wb") as f:

        def frame(value: object) -> None:
            data = enc.encode(value)
            f.write(struct.pack(">I", len(data)))
            f.write(data)

        frame({"format": FORMAT_NAME, "version": EXPORT_VERSION, "schema": SCHEMA_VERSION, "paperex": __version__})
        for seq, ts, body in store.read(0):
            frame([seq, ts, body])
            count += 1
        frame({"end": count})
    return count


def _frames(path: Path):
    dec = msgspec.msgpack.Decoder()
    with path.open("rb") as f:
        while True:
            head = f.read(4)
            if not head:
                return
            if len(head) < 4:
                raise JournalError(f"{path} is cut short")
            (n,) = struct.unpack(">I", head)
            data = f.read(n)
            if len(data) < n:
                raise JournalError(f"{path} is cut short")
            yield dec.decode(data)


def import_journal(path: Path, store: JournalStore) -> int:
    """Load an export into an empty journal. The whole file is checked first, so a cut or damaged file
    writes nothing at all."""
    if store.last_seq() != 0:
        raise JournalError("the target journal is not empty: import into a new data dir or database")
    _load(path, None)  # validate only
    return _load(path, store)


def _load(path: Path, store: JournalStore | None) -> int:
    frames = _frames(path)
    header = next(frames, None)
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise JournalError(f"{path} is not a paperex export")
    if header.get("version", 0) > EXPORT_VERSION or header.get("schema", 0) > SCHEMA_VERSION:
        raise JournalError(f"{path} was written by a newer paperex ({header.get('paperex')}); upgrade to import it")
    rows: list[tuple[int, int, bytes]] = []
    count = 0
    expected = 1
    for value in frames:
        if isinstance(value, dict):
            if value.get("end") != count + len(rows):
                raise JournalError(f"{path} is incomplete")
            if rows and store is not None:
                store.append_batch(rows)
            return count + len(rows)
        seq, ts, body = value
        if seq != expected:
            raise JournalError(f"{path}: record {seq} where {expected} was expected")
        expected += 1
        rows.append((seq, ts, bytes(body)))
        if len(rows) >= _BATCH:
            if store is not None:
                store.append_batch(rows)
            count += len(rows)
            rows = []
    raise JournalError(f"{path} is cut short (no trailer)")
