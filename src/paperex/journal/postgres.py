"""PostgreSQL journal for a shared deployment (``paperex serve --journal postgresql://...``), through
psycopg 3. Same tables and guarantees as the SQLite journal: a batch is one transaction, committed
(durable) before any command in it is acknowledged. One server per database: a session advisory lock
keeps a second one out."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from paperex.journal.store import SCHEMA_VERSION, JournalError, Snapshot, check_row, crc

log = logging.getLogger("paperex.journal")

_LOCK_KEY = 0x70617065  # "pape"


class PostgresJournal:
    recovery_report: str | None = None  # PostgreSQL recovers its own WAL; nothing to report here

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise JournalError("a postgresql:// journal needs psycopg: pip install 'paperex[postgres]'") from exc
        self._psycopg = psycopg
        try:
            self._db = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            raise JournalError(f"cannot connect to the journal database: {exc}") from exc
        locked = self._db.execute("SELECT pg_try_advisory_lock(%s)", (_LOCK_KEY,)).fetchone()
        if not locked or not locked[0]:
            self._db.close()
            raise JournalError("another paperex server is using this journal database")
        self._open_schema()

    def _open_schema(self) -> None:
        db = self._db
        with db.transaction():
            db.execute("CREATE TABLE IF NOT EXISTS paperex_meta (key text PRIMARY KEY, value text NOT NULL)")
            row = db.execute("SELECT value FROM paperex_meta WHERE key='schema_version'").fetchone()
            if row is None:
                db.execute("CREATE TABLE paperex_journal (seq bigint PRIMARY KEY, ts bigint NOT NULL, "
                           "body bytea NOT NULL, crc bigint NOT NULL)")
                db.execute("CREATE TABLE paperex_snapshots (seq bigint PRIMARY KEY, ts bigint NOT NULL, "
                           "format integer NOT NULL, body bytea NOT NULL, crc bigint NOT NULL)")
                db.execute("INSERT INTO paperex_meta VALUES ('schema_version', %s)", (str(SCHEMA_VERSION),))
                return
            version = int(row[0])
        if version > SCHEMA_VERSION:
            raise JournalError(f"the journal database was written by a newer paperex (schema {version} > "
                               f"{SCHEMA_VERSION}); upgrade paperex to open it")
        # PostgreSQL journals start at schema 2: no migration exists yet for them.

    def read(self, after_seq: int = 0) -> Iterator[tuple[int, int, bytes]]:
        # a server-side cursor (inside a transaction) streams the rows instead of loading them all
        with self._db.transaction(), self._db.cursor(name="paperex_replay") as cur:
            cur.itersize = 10_000
            cur.execute("SELECT seq, ts, body, crc FROM paperex_journal WHERE seq > %s ORDER BY seq", (after_seq,))
            for seq, ts, body, stored in cur:
                body = bytes(body)
                check_row(seq, body, stored)
                yield seq, ts, body

    def last_seq(self) -> int:
        row = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM paperex_journal").fetchone()
        return int(row[0]) if row else 0

    def append_batch(self, rows: list[tuple[int, int, bytes]]) -> None:
        with self._db.transaction(), self._db.cursor() as cur:
            cur.executemany("INSERT INTO paperex_journal (seq, ts, body, crc) VALUES (%s, %s, %s, %s)",
                            [(seq, ts, body, crc(body)) for seq, ts, body in rows])

    def write_snapshot(self, snap: Snapshot, keep: int = 2) -> None:
        with self._db.transaction():
            self._db.execute("INSERT INTO paperex_snapshots VALUES (%s, %s, %s, %s, %s) ON CONFLICT (seq) DO "
                             "UPDATE SET body = EXCLUDED.body, crc = EXCLUDED.crc",
                             (snap.seq, snap.ts, snap.format, snap.body, crc(snap.body)))
            self._db.execute("DELETE FROM paperex_snapshots WHERE seq NOT IN "
                             "(SELECT seq FROM paperex_snapshots ORDER BY seq DESC LIMIT %s)", (keep,))

    def latest_snapshot(self) -> Snapshot | None:
        rows = self._db.execute("SELECT seq, ts, format, body, crc FROM paperex_snapshots ORDER BY seq DESC").fetchall()
        for seq, ts, fmt, body, stored in rows:
            body = bytes(body)
            if crc(body) == stored:
                return Snapshot(seq, ts, fmt, body)
            log.warning("journal database: snapshot at seq %d is damaged; trying an older one", seq)
        return None

    def close(self) -> None:
        self._db.close()
