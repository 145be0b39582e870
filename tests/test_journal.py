"""Journal: what was acknowledged is replayed into exactly the live state."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperex.core.engine import Exchange
from paperex.data import load_market
from paperex.errors import ApiError
from paperex.journal.group_commit import GroupCommitWriter
from paperex.journal.sqlite import SqliteJournal
from paperex.journal.store import SCHEMA_VERSION, JournalError
from paperex.sequencer import Sequencer, replay
from tests.test_core import commands


class StepClock:
    def __init__(self) -> None:
        self.t = 1_700_000_000_000

    def now_ms(self) -> int:
        self.t += 7
        return self.t


async def run_live(path, stream) -> tuple[str, int, int]:
    journal = SqliteJournal(path)
    core = Exchange(load_market())
    writer = GroupCommitWriter(journal)
    writer.start()
    seq = Sequencer(core, writer, StepClock())

    async def submit(cmd):
        with contextlib.suppress(ApiError):
            await seq.submit(cmd)

    await asyncio.gather(*(submit(c) for c in stream))  # concurrent submitters share batches
    await writer.stop()
    journal.close()
    return core.digest(), core.applied, writer.batches


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=st.lists(commands, max_size=30))
def test_replay_equals_live(tmp_path_factory, stream) -> None:
    path = tmp_path_factory.mktemp("j") / "journal.sqlite3"
    live_digest, applied, batches = asyncio.run(run_live(path, stream))
    journal = SqliteJournal(path)
    core = Exchange(load_market())
    last = replay(core, journal)
    assert core.digest() == live_digest
    assert core.applied == applied and last == applied
    assert batches <= max(applied, 1)


def test_group_commit_batches_concurrent_commands(tmp_path) -> None:
    from paperex.core.commands import CreateAccount

    _digest, applied, batches = asyncio.run(run_live(tmp_path / "j.sqlite3", [CreateAccount()] * 200))
    assert applied == 201  # and the Tick that starts the funding clock
    assert batches < 200  # commands queued behind an in-flight write share the next batch


def test_newer_schema_is_refused(tmp_path) -> None:
    path = tmp_path / "journal.sqlite3"
    SqliteJournal(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    db.commit()
    db.close()
    with pytest.raises(JournalError, match="newer paperex"):
        SqliteJournal(path)


def test_unreplayable_record_is_refused(tmp_path) -> None:
    journal = SqliteJournal(tmp_path / "journal.sqlite3")
    journal.append_batch([(1, 5, b"\x93garbage")])
    with pytest.raises(JournalError, match="record 1"):
        replay(Exchange(load_market()), journal)
