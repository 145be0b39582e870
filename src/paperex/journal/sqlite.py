"""SQLite (WAL, synchronous=FULL) journal: one row per accepted command, appended in batches (group
commit: one transaction, one fsync per batch), plus snapshots.

A torn write can only cut the WAL: SQLite then recovers up to the last whole transaction. Before SQLite
opens the file, ``inspect_wal`` reads the WAL's frame headers to tell whether such a cut happened, so
the loss is reported instead of silent.
"""

from __future__ import annotations

import logging
import sqlite3
import struct
from collections.abc import Iterator
from pathlib import Path

from paperex.journal.store import SCHEMA_VERSION, JournalError, Snapshot, check_row, crc

log = logging.getLogger("paperex.journal")

_WAL_HEADER = 32
_FRAME_HEADER = 24


def _wal_checksum(data: bytes, s0: int, s1: int, big_endian: bool) -> tuple[int, int]:
    """SQLite's WAL checksum: over 32-bit word pairs, s0 += x0 + s1; s1 += x1 + s0 (mod 2**32)."""
    words = struct.unpack(f"{'>' if big_endian else '<'}{len(data) // 4}I", data)
    mask = 0xFFFFFFFF
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & mask
        s1 = (s1 + words[i + 1] + s0) & mask
    return s0, s1


def inspect_wal(db_path: Path) -> str | None:
    """Describe what SQLite's recovery will drop from the end of the write-ahead log, if anything: frames
    of an unfinished transaction, a frame whose checksum fails (a torn or damaged write), a partial frame.
    It checks frames the way SQLite does (salts and the running checksum), before SQLite opens the file."""
    wal = Path(f"{db_path}-wal")
    try:
        data = wal.read_bytes()
    except FileNotFoundError:
        return None
    if not data:
        return None
    if len(data) < _WAL_HEADER:
        return f"the journal's write-ahead log was cut inside its header ({len(data)} bytes): nothing in it is used"
    header = data[:_WAL_HEADER]
    magic, _, page_size = struct.unpack(">III", header[:12])
    if magic not in (0x377F0682, 0x377F0683):
        return "the journal's write-ahead log has no valid header: nothing in it is used"
    big_endian = magic == 0x377F0683
    salts = header[16:24]
    s0, s1 = _wal_checksum(header[:24], 0, 0, big_endian)
    if (s0, s1) != struct.unpack(">II", header[24:32]):
        return "the journal's write-ahead log header is damaged: nothing in it is used"
    frame = _FRAME_HEADER + page_size
    offset, valid, last_commit, problem = _WAL_HEADER, 0, 0, ""
    while offset + frame <= len(data):
        head = data[offset:offset + _FRAME_HEADER]
        if head[8:16] != salts:
            salt1 = struct.unpack(">I", head[8:12])[0]
            if salt1 != (struct.unpack(">I", salts[:4])[0] - 1) & 0xFFFFFFFF:  # not a stale earlier generation
                problem = "a frame that is not part of the log (zeroed or overwritten)"
            break
        s0, s1 = _wal_checksum(head[:8] + data[offset + _FRAME_HEADER:offset + frame], s0, s1, big_endian)
        if (s0, s1) != struct.unpack(">II", head[16:24]):
            problem = "a frame whose checksum fails (a torn or damaged write)"
            break
        valid += 1
        if struct.unpack(">I", head[4:8])[0]:  # "database size after commit": a commit frame
            last_commit = valid
        offset += frame
    else:
        if offset < len(data):
            problem = f"{len(data) - offset} byte(s) of a partial frame"
    lost = valid - last_commit
    if problem or lost:
        parts = [f"{lost} frame(s) of an unfinished transaction"] if lost else []
        if problem:
            parts.append(problem)
        return ("torn write at the end of the journal: " + " and ".join(parts)
                + " dropped; recovered up to the last whole batch")
    return None


def _migrate_1_to_2(db: sqlite3.Connection) -> None:
    """v1 (the foundation) had no checksums and no snapshots."""
    db.execute("ALTER TABLE journal ADD COLUMN crc INTEGER")
    for seq, body in db.execute("SELECT seq, body FROM journal").fetchall():
        db.execute("UPDATE journal SET crc=? WHERE seq=?", (crc(body), seq))
    db.execute("CREATE TABLE snapshots (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, format INTEGER NOT NULL, "
               "body BLOB NOT NULL, crc INTEGER NOT NULL)")


MIGRATIONS = {2: _migrate_1_to_2}  # target version -> step from the version before


_BLOB_PIECE = 1 << 20  # a snapshot is written 1 MiB at a time


class SqliteJournal:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.recovery_report = inspect_wal(self.path)
        if self.recovery_report:
            log.warning("%s: %s", self.path, self.recovery_report)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._open_schema()
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{self.path} cannot be read ({exc}); the data dir needs a restore from an "
                               "export") from exc
        try:  # a journal the server cannot write would serve reads and fail every write: refuse it now
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('writable', '1')")
            self._db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise JournalError(f"{self.path} cannot be written ({exc}): paperex needs a writable journal (check "
                               "the file's and the data dir's permissions and the free space)") from exc

    def _open_schema(self) -> None:
        db = self._db
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        has_journal = db.execute("SELECT 1 FROM sqlite_master WHERE name='journal'").fetchone()
        if row is None and not has_journal:
            db.execute("BEGIN")
            db.execute("CREATE TABLE journal (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, body BLOB NOT NULL, "
                       "crc INTEGER NOT NULL)")
            db.execute("CREATE TABLE snapshots (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, "
                       "format INTEGER NOT NULL, body BLOB NOT NULL, crc INTEGER NOT NULL)")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            db.execute("COMMIT")
            return
        version = int(row[0]) if row else 1
        if version > SCHEMA_VERSION:
            raise JournalError(f"{self.path} was written by a newer paperex (schema {version} > {SCHEMA_VERSION}); "
                               "upgrade paperex to open it")
        while version < SCHEMA_VERSION:
            version += 1
            db.execute("BEGIN")
            MIGRATIONS[version](db)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(version),))
            db.execute("COMMIT")
            log.info("%s: migrated the journal schema to version %d", self.path, version)

    def read(self, after_seq: int = 0) -> Iterator[tuple[int, int, bytes]]:
        """The journaled commands after ``after_seq``, in order: (seq, ts, body). Checksums are verified."""
        return _rows(self._db, after_seq)

    def last_seq(self) -> int:
        row = self._db.execute("SELECT MAX(seq) FROM journal").fetchone()
        return int(row[0] or 0)

    def append_batch(self, rows: list[tuple[int, int, bytes]]) -> None:
        """Append rows in one transaction: durable (fsync'd) when this returns."""
        self._db.execute("BEGIN")
        try:
            self._db.executemany("INSERT INTO journal (seq, ts, body, crc) VALUES (?, ?, ?, ?)",
                                 [(seq, ts, body, crc(body)) for seq, ts, body in rows])
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def write_snapshot(self, snap: Snapshot, keep: int = 2) -> None:
        """Store a snapshot (in the journal writer's thread). The body goes in by pieces through SQLite's blob
        I/O: bound whole, SQLite would copy hundreds of MB while holding the GIL (a pause of the event loop)."""
        body = memoryview(snap.body)
        checksum = crc(snap.body)  # zlib lets go of the GIL
        self._db.execute("BEGIN")
        try:
            self._db.execute("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, zeroblob(?), ?)",
                             (snap.seq, snap.ts, snap.format, len(body), checksum))
            if body:
                with self._db.blobopen("snapshots", "body", snap.seq) as blob:  # seq is the rowid
                    for at in range(0, len(body), _BLOB_PIECE):
                        blob.write(body[at:at + _BLOB_PIECE])
            self._db.execute("DELETE FROM snapshots WHERE seq NOT IN "
                             "(SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)", (keep,))
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def latest_snapshot(self) -> Snapshot | None:
        for seq, ts, fmt, body, stored in self._db.execute(
                "SELECT seq, ts, format, body, crc FROM snapshots ORDER BY seq DESC"):
            if crc(body) == stored:
                return Snapshot(seq, ts, fmt, body)
            log.warning("%s: snapshot at seq %d is damaged; trying an older one", self.path, seq)
        return None

    def close(self) -> None:
        self._db.close()


def _rows(db: sqlite3.Connection, after_seq: int) -> Iterator[tuple[int, int, bytes]]:
    for seq, ts, body, stored in db.execute("SELECT seq, ts, body, crc FROM journal WHERE seq > ? ORDER BY seq",
                                            (after_seq,)):
        check_row(seq, body, stored)
        yield seq, ts, body


class SqliteReader:
    """A read-only view of a journal another process (a running server) is writing: one read transaction, so
    what it reads is a consistent prefix of the journal, however long reading takes (SQLite's WAL lets a reader
    and the writer go on side by side). For ``paperex export`` from a running server."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None)
            self._db.execute("BEGIN")
            self._db.execute("SELECT COUNT(*) FROM meta").fetchone()  # the read transaction's snapshot starts here
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{self.path} cannot be read ({exc})") from exc

    def read(self, after_seq: int = 0) -> Iterator[tuple[int, int, bytes]]:
        return _rows(self._db, after_seq)

    def close(self) -> None:
        self._db.execute("COMMIT")
        self._db.close()

