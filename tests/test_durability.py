"""Durability: replay equals live (SQLite and PostgreSQL, with snapshots at random points), schema
migration, damaged and torn journals, export/import, and acknowledged orders surviving kill -9."""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import sqlite3
import threading
import time
import zlib
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pybit.exceptions import InvalidRequestError

from paperex.core.commands import CreateAccount
from paperex.errors import ApiError
from paperex.journal.sqlite import SqliteJournal
from paperex.journal.store import JournalError
from paperex.sequencer import encode_command
from paperex.server import Node
from tests.conftest import pybit_http
from tests.serverproc import ServerProcess
from tests.test_engine_properties import UIDS, a_command, to_command

settings.register_profile("durability", max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])


async def run_node(node: Node, specs: list[tuple]) -> str:
    """Submit a random stream concurrently (a few at a time, like concurrent clients)."""
    node.start()
    for _ in UIDS:
        await node.sequencer.submit(CreateAccount(balances={"USDT": 50_000 * 10**8, "BTC": 2 * 10**8}))

    async def one(spec: tuple) -> None:
        with contextlib.suppress(ApiError):
            await node.sequencer.submit(to_command(node.core, spec))

    for i in range(0, len(specs), 4):
        await asyncio.gather(*(one(s) for s in specs[i:i + 4]))
    return node.core.digest()


def check_replay(data_dir: Path, journal: str | None, specs: list[tuple], snapshot_every: int,
                 clean: bool) -> None:
    node = Node(data_dir, journal, snapshot_every)

    async def live() -> str:
        digest = await run_node(node, specs)
        await node.close(snapshot=clean)  # a clean stop snapshots; otherwise restart replays the tail
        return digest

    digest = asyncio.run(live())
    again = Node(data_dir, journal, snapshot_every)
    try:
        assert again.core.digest() == digest
        assert again.sequencer.seq == node.sequencer.seq
    finally:
        asyncio.run(again.close(snapshot=False))


@settings(settings.get_profile("durability"))
@given(specs=st.lists(a_command(), max_size=60), snapshot_every=st.sampled_from([0, 3, 7, 25]),
       clean=st.booleans())
def test_replay_equals_live_sqlite(tmp_path_factory, specs, snapshot_every, clean) -> None:
    check_replay(tmp_path_factory.mktemp("replay"), None, specs, snapshot_every, clean)


@settings(settings.get_profile("durability"), max_examples=8)
@given(specs=st.lists(a_command(), max_size=40), snapshot_every=st.sampled_from([0, 5]), clean=st.booleans())
def test_replay_equals_live_postgres(postgres, tmp_path_factory, specs, snapshot_every, clean) -> None:
    check_replay(tmp_path_factory.mktemp("replay-pg"), postgres.new_database(), specs, snapshot_every, clean)


def test_migration_from_schema_1(tmp_path) -> None:
    """The foundation wrote schema 1 (no checksums, no snapshots); it is migrated in place."""
    path = tmp_path / "journal.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("CREATE TABLE journal (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, body BLOB NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.execute("INSERT INTO journal VALUES (1, 100, ?)", (encode_command(CreateAccount(balances={"USDT": 5})),))
    db.commit()
    db.close()
    node = Node(tmp_path)
    try:
        assert node.sequencer.seq == 1 and node.core.accounts[100_000_001].balance("USDT") == 5
    finally:
        asyncio.run(node.close())
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("2",)
    body, stored = db.execute("SELECT body, crc FROM journal WHERE seq=1").fetchone()
    assert stored == zlib.crc32(body)
    assert db.execute("SELECT COUNT(*) FROM snapshots").fetchone() == (1,)  # the clean stop's snapshot


def test_damaged_record_refuses_to_start(tmp_path) -> None:
    journal = SqliteJournal(tmp_path / "journal.sqlite3")
    journal.append_batch([(1, 5, encode_command(CreateAccount()))])
    journal.close()
    db = sqlite3.connect(tmp_path / "journal.sqlite3")
    db.execute("UPDATE journal SET body = ? WHERE seq = 1", (encode_command(CreateAccount(balances={"BTC": 9})),))
    db.commit()
    db.close()
    with pytest.raises(JournalError, match="record 1 is damaged"):
        Node(tmp_path)


def test_snapshot_is_used_and_a_damaged_one_is_skipped(tmp_path) -> None:
    node = Node(tmp_path, snapshot_every=2)

    async def go() -> str:
        node.start()
        for _ in range(5):
            await node.sequencer.submit(CreateAccount(balances={"USDT": 7}))
        await node.close()
        return node.core.digest()

    digest = asyncio.run(go())
    again = Node(tmp_path)
    assert again.core.digest() == digest and again.sequencer.snapshot_seq == 5
    asyncio.run(again.close(snapshot=False))
    db = sqlite3.connect(tmp_path / "journal.sqlite3")
    db.execute("UPDATE snapshots SET body = x'00' WHERE seq = 5")
    db.commit()
    db.close()
    third = Node(tmp_path)  # the damaged newest snapshot is skipped: an older one plus the tail
    assert third.core.digest() == digest and third.sequencer.snapshot_seq == 4
    asyncio.run(third.close(snapshot=False))


def place_orders(server: ServerProcess, n: int) -> tuple[dict, list[str]]:
    uid = server.create_account({"USDT": "1000000"})
    key = server.create_key(uid)
    session = pybit_http(server, key["apiKey"], key["apiSecret"])
    ids = [session.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.001",
                               price=str(60000 + i))["result"]["orderId"] for i in range(n)]
    return {"uid": uid, **key}, ids


def test_torn_journal_tail_recovers_a_prefix_and_reports(tmp_path) -> None:
    origin = tmp_path / "origin"
    server = ServerProcess(origin, ["--no-demo", "--snapshot-every", "0"]).start()
    trader, ids = place_orders(server, 30)
    server.kill9()
    wal = origin / "journal.sqlite3-wal"
    size = wal.stat().st_size
    assert size > 0
    rng = random.Random(5)
    offsets = sorted({size, *(rng.randrange(32, size) for _ in range(7))})
    counts = []
    for i, offset in enumerate(offsets):
        copy = tmp_path / f"copy{i}"
        shutil.copytree(origin, copy)
        (copy / "LOCK").unlink(missing_ok=True)
        with (copy / "journal.sqlite3-wal").open("r+b") as f:
            f.truncate(offset)
        restarted = ServerProcess(copy, ["--no-demo"]).start()
        try:
            reported = "journal recovery: torn write" in restarted.banner
            health = restarted.admin("GET", "/admin/v1/health")["result"]
            assert health["moneyConserved"] and health["accepting"]
            reply = restarted.admin("GET", f"/admin/v1/accounts/{trader['uid']}/orders")
            # a cut early enough loses the account itself (110018): nothing of it was recovered
            found = [o["orderId"] for o in reply["result"]["list"]] if reply["retCode"] == 0 else []
            assert found == ids[:len(found)], "the recovered orders are not a prefix of the acknowledged ones"
            counts.append(len(found))
            if offset == size:
                assert found == ids and not reported
            elif len(found) < len(ids):
                assert reported, f"a cut at {offset}/{size} lost orders without a report"
        finally:
            restarted.stop()
    assert counts == sorted(counts)  # a longer log never recovers less
    assert counts[0] < len(ids) and counts[-1] == len(ids)  # the cuts did lose something, the full log nothing


class Load:
    """Several clients placing, cancelling and (on purpose) mis-placing orders until the server dies."""

    def __init__(self, server: ServerProcess, traders: list[dict], trial: int) -> None:
        self.acked: dict[str, str] = {}  # orderLinkId -> status we were told (New / Cancelled)
        self.rejected: set[str] = set()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.client, args=(server, t, trial, n), daemon=True)
                        for n, t in enumerate(traders)]

    def client(self, server: ServerProcess, trader: dict, trial: int, n: int) -> None:
        session = pybit_http(server, trader["apiKey"], trader["apiSecret"], timeout=3)
        rng = random.Random(trial * 100 + n)
        i = 0
        mine: list[str] = []
        while True:
            i += 1
            link = f"t{trial}c{n}o{i}"
            bad = rng.random() < 0.2
            try:
                if mine and rng.random() < 0.25:
                    target = mine.pop(rng.randrange(len(mine)))
                    session.cancel_order(category="linear", symbol="ETHUSDT", orderLinkId=target)
                    with self.lock:
                        self.acked[target] = "Cancelled"
                    continue
                session.place_order(category="linear", symbol="ETHUSDT", side="Buy", orderType="Limit",
                                    qty="0.01", price="3000.005" if bad else str(2900 + rng.randrange(50)),
                                    orderLinkId=link)
                with self.lock:
                    self.acked[link] = "New"
                mine.append(link)
            except InvalidRequestError:
                with self.lock:
                    self.rejected.add(link)
            except Exception:  # the server is gone
                return

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        for t in self.threads:
            t.join(10)


def test_acknowledged_orders_survive_kill_9_under_load(tmp_path) -> None:
    trials = 20
    server = ServerProcess(tmp_path, ["--no-demo", "--snapshot-every", "300"]).start()
    traders = []
    for _ in range(3):
        uid = server.create_account({"USDT": "1000000"})
        traders.append({"uid": uid, **server.create_key(uid)})
    acked: dict[str, str] = {}
    rejected: set[str] = set()
    rng = random.Random(11)
    for trial in range(trials):
        load = Load(server, traders, trial)
        load.start()
        time.sleep(rng.uniform(0.2, 0.8))
        server.kill9()
        load.join()
        acked.update(load.acked)
        rejected |= load.rejected
        server = ServerProcess(tmp_path, ["--no-demo", "--snapshot-every", "300"]).start()
        health = server.admin("GET", "/admin/v1/health")["result"]
        assert health["moneyConserved"] and health["accepting"]
        stored = {}
        for t in traders:
            for row in server.admin("GET", f"/admin/v1/accounts/{t['uid']}/orders")["result"]["list"]:
                stored[row["orderLinkId"]] = row["orderStatus"]
        for link, status in acked.items():
            assert link in stored, f"trial {trial}: acknowledged order {link} was lost"
            if status == "Cancelled":
                assert stored[link] == "Cancelled", f"trial {trial}: acknowledged cancel of {link} was lost"
        assert not rejected & set(stored), "a rejected order exists"
    server.stop()
    assert len(acked) > 100 and rejected  # the load really ran


def test_postgres_journal_server_survives_kill_9(postgres, tmp_path) -> None:
    url = postgres.new_database()
    server = ServerProcess(tmp_path / "a", ["--no-demo", "--journal", url]).start()
    trader, ids = place_orders(server, 10)
    with pytest.raises(RuntimeError, match="another paperex server"):
        ServerProcess(tmp_path / "b", ["--no-demo", "--journal", url]).start()
    server.kill9()
    again = ServerProcess(tmp_path / "a", ["--no-demo", "--journal", url]).start()
    try:
        orders = again.admin("GET", f"/admin/v1/accounts/{trader['uid']}/orders")["result"]["list"]
        assert [o["orderId"] for o in orders] == ids
    finally:
        again.stop()


def test_export_then_import_into_sqlite_and_postgres(postgres, tmp_path) -> None:
    import subprocess
    import sys

    def paperex(*args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "paperex", *args], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout

    source = tmp_path / "source"
    server = ServerProcess(source, ["--no-demo"]).start()
    place_orders(server, 12)
    digest = server.admin("GET", "/admin/v1/health")["result"]["stateDigest"]
    server.stop()
    export = tmp_path / "backup.paperex"
    assert "exported" in paperex("export", "--data-dir", str(source), "--out", str(export))
    url = postgres.new_database()
    paperex("import", "--in", str(export), "--data-dir", str(tmp_path / "copy"))
    paperex("import", "--in", str(export), "--data-dir", str(tmp_path / "pgcopy"), "--journal", url)
    for target, extra in ((tmp_path / "copy", []), (tmp_path / "pgcopy", ["--journal", url])):
        copy = ServerProcess(target, ["--no-demo", *extra]).start()
        try:
            assert copy.admin("GET", "/admin/v1/health")["result"]["stateDigest"] == digest
        finally:
            copy.stop()
    # an import into a journal that is not empty, and a cut file, are refused
    out = subprocess.run([sys.executable, "-m", "paperex", "import", "--in", str(export), "--data-dir",
                          str(tmp_path / "copy")], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "not empty" in out.stderr
    cut = tmp_path / "cut.paperex"
    cut.write_bytes(export.read_bytes()[:-7])
    out = subprocess.run([sys.executable, "-m", "paperex", "import", "--in", str(cut), "--data-dir",
                          str(tmp_path / "other")], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and ("cut short" in out.stderr or "incomplete" in out.stderr)


def test_export_header_is_checked(tmp_path) -> None:
    from paperex.journal.export import import_journal

    bogus = tmp_path / "x.paperex"
    data = msgspec.msgpack.encode({"format": "paperex-export", "version": 99, "schema": 2})
    bogus.write_bytes(len(data).to_bytes(4, "big") + data)
    with pytest.raises(JournalError, match="newer paperex"):
        import_journal(bogus, SqliteJournal(tmp_path / "j.sqlite3"))
