"""A marker outside the journal database: the highest sequence the journal has made durable.

It is written after each durable batch (no fsync of its own: it can only lag the journal, never lead it), so
on the next start a journal that ends *before* the marker has lost acknowledged records — a deleted or
zeroed database, a copy made without its ``-wal`` file, a log cut by damage — and the start is refused with
the way out, instead of an exchange that silently forgot orders.
"""

from __future__ import annotations

import os
from pathlib import Path

MARKER_FILE = "DURABLE"


class DurableMarker:
    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / MARKER_FILE
        self._fd: int | None = None

    def read(self) -> int | None:
        """The recorded sequence, or None when there is none (or it is unreadable: a torn marker write)."""
        try:
            text = self.path.read_text().strip()
        except (FileNotFoundError, OSError, UnicodeDecodeError):
            return None
        return int(text) if text.isascii() and text.isdigit() else None

    def write(self, seq: int) -> None:
        """One fixed-width write in place (no rename, no fsync: a few microseconds a batch)."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.pwrite(self._fd, f"{seq:020d}\n".encode(), 0)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def check(self, last_seq: int) -> str | None:
        """A problem to refuse the start with, or None."""
        recorded = self.read()
        if recorded is None or last_seq >= recorded:
            return None
        what = "is empty or missing" if last_seq == 0 else f"ends at record {last_seq}"
        return (f"the journal {what}, but this data dir made {recorded} records durable: acknowledged commands "
                f"are missing (a deleted or emptied journal, or one copied without its -wal file). Restore the "
                f"data dir from an export (paperex import), or remove {self.path} to start from what is there")
