"""SQLite (WAL) command journal: one row per accepted command, appended in batches (group commit)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

SCHEMA_VERSION = 1


class JournalError(RuntimeError):
    """The journal cannot be used (written by a newer version, unreadable, ...)."""


class SqliteJournal:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS journal "
            "(seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, body BLOB NOT NULL)"
        )
        row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) > SCHEMA_VERSION:
            raise JournalError(
                f"{self.path} was written by a newer paperex (schema {row[0]} > {SCHEMA_VERSION}); "
                "upgrade paperex to open it"
            )

    def read(self) -> Iterator[tuple[int, int, bytes]]:
        """Every journaled command in order: (seq, ts, body)."""
        yield from self._db.execute("SELECT seq, ts, body FROM journal ORDER BY seq")

    def last_seq(self) -> int:
        row = self._db.execute("SELECT MAX(seq) FROM journal").fetchone()
        return int(row[0] or 0)

    def append_batch(self, rows: list[tuple[int, int, bytes]]) -> None:
        """Append rows in one transaction: durable (fsync'd) when this returns."""
        self._db.execute("BEGIN")
        try:
            self._db.executemany("INSERT INTO journal (seq, ts, body) VALUES (?, ?, ?)", rows)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()
