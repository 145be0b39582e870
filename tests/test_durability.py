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
    again = Node(tmp_path)  # 6 commands: the first is the Tick that starts the funding clock
    assert again.core.digest() == digest and again.sequencer.snapshot_seq == 6
    asyncio.run(again.close(snapshot=False))
    db = sqlite3.connect(tmp_path / "journal.sqlite3")
    db.execute("UPDATE snapshots SET body = x'00' WHERE seq = 6")
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
        refused_start = False
        if offset < size:  # acknowledged commands are gone: the start is refused, naming the problem and the way out
            try:
                ServerProcess(copy, ["--no-demo"]).start()
            except RuntimeError as refused:
                assert "acknowledged commands are missing" in str(refused) and "DURABLE" in str(refused)
                (copy / "LOCK").unlink(missing_ok=True)
                (copy / "DURABLE").unlink()  # the way out: start from what is there
                refused_start = True
            else:
                raise AssertionError(f"a cut at {offset}/{size} started without a word")
        restarted = ServerProcess(copy, ["--no-demo"]).start()
        try:
            reported = refused_start or "journal recovery: torn write" in restarted.banner
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
            # 10 % cannot pass the core's margin check (110007): rejected by the core, never journaled
            too_big = rng.random() < 0.1
            try:
                if mine and rng.random() < 0.25:
                    target = mine.pop(rng.randrange(len(mine)))
                    try:
                        session.cancel_order(category="linear", symbol="ETHUSDT", orderLinkId=target)
                    except InvalidRequestError:
                        continue  # a cancel refused (e.g. 110079) changes nothing we track
                    with self.lock:
                        self.acked[target] = "Cancelled"
                    continue
                session.place_order(category="linear", symbol="ETHUSDT", side="Buy", orderType="Limit",
                                    qty="500" if too_big else "0.01", price=str(2900 + rng.randrange(50)),
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


class StreamWatcher:
    """A bot's private stream during a crash trial: every order state it was shown (orderLinkId -> status)."""

    def __init__(self, server: ServerProcess, trader: dict) -> None:
        self.seen: dict[str, str] = {}
        self.ready = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._watch(server, trader)), daemon=True)

    async def _watch(self, server: ServerProcess, trader: dict) -> None:
        import aiohttp

        from tests.signing import sign

        try:
            async with aiohttp.ClientSession() as session, session.ws_connect(
                    server.base_url.replace("http", "ws") + "/v5/private") as ws:
                expires = int(time.time() * 1000) + 10_000
                await ws.send_json({"op": "auth", "args": [trader["apiKey"], expires,
                                                           sign(trader["apiSecret"], f"GET/realtime{expires}")]})
                await ws.receive(timeout=5)
                await ws.send_json({"op": "subscribe", "args": ["order"]})
                await ws.receive(timeout=5)
                self.ready.set()
                async for msg in ws:
                    frame = msg.json()
                    for row in frame.get("data", []) if frame.get("topic") == "order" else []:
                        self.seen[row["orderLinkId"]] = row["orderStatus"]
        except Exception:  # the server was killed
            pass
        finally:
            self.ready.set()

    def start(self) -> None:
        self.thread.start()
        assert self.ready.wait(10)


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
    seen: dict[str, str] = {}  # what the private streams showed
    for trial in range(trials):
        watchers = [StreamWatcher(server, t) for t in traders]
        for w in watchers:
            w.start()
        load = Load(server, traders, trial)
        load.start()
        time.sleep(rng.uniform(0.2, 0.8))
        server.kill9()
        load.join()
        for w in watchers:
            w.thread.join(10)
            seen.update(w.seen)
        acked.update(load.acked)
        rejected |= load.rejected
        server = ServerProcess(tmp_path, ["--no-demo", "--snapshot-every", "300"]).start()
        health = server.admin("GET", "/admin/v1/health")["result"]
        assert health["moneyConserved"] and health["accepting"]
        stored = {}
        for t in traders:
            for row in server.admin("GET", f"/admin/v1/accounts/{t['uid']}/orders")["result"]["list"]:
                stored[row["orderLinkId"]] = row["orderStatus"]
        for link, status in seen.items():  # nothing a stream showed runs ahead of the journal
            assert link in stored, f"trial {trial}: order {link} was seen on the private stream, then lost"
            if status == "Cancelled":
                assert stored[link] == "Cancelled", f"trial {trial}: a cancel of {link} seen, then lost"
        for link, status in acked.items():
            assert link in stored, f"trial {trial}: acknowledged order {link} was lost"
            if status == "Cancelled":
                assert stored[link] == "Cancelled", f"trial {trial}: acknowledged cancel of {link} was lost"
        assert not rejected & set(stored), "a rejected order exists"
    server.stop()
    assert len(acked) > 100 and rejected and len(seen) > 100  # the load really ran, the streams really watched


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
    digest = server.admin("GET", "/admin/v1/health?digest=1")["result"]["stateDigest"]
    server.stop()
    export = tmp_path / "backup.paperex"
    assert "exported" in paperex("export", "--data-dir", str(source), "--out", str(export))
    url = postgres.new_database()
    paperex("import", "--in", str(export), "--data-dir", str(tmp_path / "copy"))
    paperex("import", "--in", str(export), "--data-dir", str(tmp_path / "pgcopy"), "--journal", url)
    for target, extra in ((tmp_path / "copy", []), (tmp_path / "pgcopy", ["--journal", url])):
        copy = ServerProcess(target, ["--no-demo", *extra]).start()
        try:
            assert copy.admin("GET", "/admin/v1/health?digest=1")["result"]["stateDigest"] == digest
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


class FlakyStore(SqliteJournal):
    """A journal whose second batch fails (a full disk, say)."""

    def __init__(self, path) -> None:
        super().__init__(path)
        self.batches = 0

    def append_batch(self, rows) -> None:
        self.batches += 1
        if self.batches == 2:
            raise OSError("No space left on device")
        super().append_batch(rows)


def test_a_failed_batch_fails_everything_queued_behind_it(tmp_path) -> None:
    from paperex.core.engine import Exchange
    from paperex.data import load_market
    from paperex.journal.group_commit import GroupCommitWriter
    from paperex.market.clock import WallClock
    from paperex.sequencer import Sequencer, restore

    store = FlakyStore(tmp_path / "journal.sqlite3")
    writer = GroupCommitWriter(store)
    seq = Sequencer(Exchange(load_market()), writer, WallClock())

    async def go() -> list:
        writer.start()
        await seq.submit(CreateAccount())  # batch 1: durable
        outcomes = await asyncio.gather(*(seq.submit(CreateAccount()) for _ in range(5)), return_exceptions=True)
        later = await asyncio.gather(seq.submit(CreateAccount()), return_exceptions=True)
        await writer.stop()
        return [*outcomes, *later]

    outcomes = asyncio.run(go())
    assert all(isinstance(o, ApiError) and o.code == 10016 for o in outcomes)  # none acknowledged
    core, last, _ = restore(load_market(), store)
    # only what was acknowledged (the Tick that started the funding clock, then one account), and no gap
    assert last == 2 and len(core.accounts) == 1


def test_a_gap_in_the_journal_refuses_the_start(tmp_path) -> None:
    journal = SqliteJournal(tmp_path / "journal.sqlite3")
    journal.append_batch([(1, 5, encode_command(CreateAccount())), (3, 6, encode_command(CreateAccount()))])
    journal.close()
    with pytest.raises(JournalError, match="gap"):
        Node(tmp_path)


def test_a_broken_core_is_not_snapshotted(tmp_path, monkeypatch) -> None:
    from paperex.core.commands import Deposit

    node = Node(tmp_path)

    async def go() -> None:
        node.start()
        await node.sequencer.submit(CreateAccount(balances={"USDT": 5}))

        def half_done(cmd, ts):  # a bug: changes the state, then raises
            node.core.accounts[100_000_001].balances["USDT"] += 10**9
            raise RuntimeError("bug")

        monkeypatch.setitem(node.core._handlers, Deposit, half_done)
        with pytest.raises(ApiError):
            await node.sequencer.submit(Deposit(uid=100_000_001, coin="USDT", amount=1))
        await node.close()

    asyncio.run(go())
    again = Node(tmp_path)
    try:
        assert again.core.accounts[100_000_001].balance("USDT") == 5
        assert all(row["conserved"] for row in again.core.money_check().values())
    finally:
        asyncio.run(again.close(snapshot=False))


@pytest.mark.parametrize("damage", ["zeroes", "flip", "cut", "boundary"])
def test_wal_damage_is_reported(tmp_path, damage) -> None:
    path = tmp_path / "journal.sqlite3"
    journal = SqliteJournal(path)
    for seq in range(1, 5):
        journal.append_batch([(seq, seq, encode_command(CreateAccount()))])
    # the last batch spans several pages: a cut between two of its frames loses its commit frame
    big = encode_command(CreateAccount(balances={f"C{i}": 1 for i in range(200)}))
    journal.append_batch([(seq, seq, big) for seq in range(5, 40)])
    wal = Path(f"{path}-wal")
    data = bytearray(wal.read_bytes())
    page = int.from_bytes(data[8:12], "big")
    frame = 24 + page
    last = len(data) - frame
    shutil.copy(wal, tmp_path / "wal.copy")  # the journal is still open: damage a copy, then swap it in
    journal.close()
    if damage == "zeroes":
        data[last:] = bytes(frame)
    elif damage == "flip":
        data[last + 100] ^= 0xFF
    elif damage == "cut":
        data = data[: last + frame // 2]
    else:  # a cut exactly between two frames, inside the last transaction: its commit frame is lost
        data = data[:last]
    wal.write_bytes(bytes(data))
    node = Node(tmp_path)  # (no DURABLE mark: the journal was written without a server)
    assert node.recovery_report is not None and "torn write" in node.recovery_report
    assert node.admin.recovery == node.recovery_report  # GET /admin/v1/health shows it as "recovery"
    assert node.journal.last_seq() == 4  # the whole last batch is dropped, never a part of it
    asyncio.run(node.close(snapshot=False))


def test_a_cut_export_imports_nothing(tmp_path) -> None:
    from paperex.journal.export import export_journal, import_journal

    source = SqliteJournal(tmp_path / "a.sqlite3")
    source.append_batch([(i, i, encode_command(CreateAccount())) for i in range(1, 25_001)])
    export = tmp_path / "x.paperex"
    export_journal(source, export)
    export.write_bytes(export.read_bytes()[:-300])
    target = SqliteJournal(tmp_path / "b.sqlite3")
    with pytest.raises(JournalError):
        import_journal(export, target)
    assert target.last_seq() == 0  # nothing half-imported: a retry with a good file works
    export_journal(source, export)
    assert import_journal(export, target) == 25_000


def test_snapshot_with_candle_sums_beyond_64_bits(tmp_path) -> None:
    node = Node(tmp_path)

    async def go() -> str:
        node.start()
        await node.sequencer.submit(CreateAccount())
        node.core.symbols[("linear", "BTCUSDT")].candles.add(60_000, 650_000, 10**19, 2**70)
        node.sequencer.take_snapshot()
        await node.close()
        return node.core.digest()

    digest = asyncio.run(go())
    again = Node(tmp_path)
    assert again.sequencer.snapshot_seq == 2 and again.core.digest() == digest  # a Tick, then the account
    asyncio.run(again.close(snapshot=False))


def test_an_emptied_or_deleted_journal_is_refused_not_started_empty(tmp_path) -> None:
    origin = tmp_path / "origin"
    server = ServerProcess(origin, ["--no-demo"]).start()
    place_orders(server, 3)
    server.stop()
    for damage in ("zeroed", "deleted"):  # (a wal cut short: test_torn_journal_tail_recovers_a_prefix_and_reports)
        copy = tmp_path / damage.replace(" ", "-")
        shutil.copytree(origin, copy)
        (copy / "LOCK").unlink(missing_ok=True)
        journal = copy / "journal.sqlite3"
        if damage == "zeroed":
            journal.write_bytes(b"")
        elif damage == "deleted":
            journal.unlink()
        for side in ("-wal", "-shm"):
            (copy / f"journal.sqlite3{side}").unlink(missing_ok=True)
        try:
            ServerProcess(copy, ["--no-demo"]).start()
        except RuntimeError as refused:
            assert "acknowledged commands are missing" in str(refused), damage
        else:
            raise AssertionError(f"a {damage} journal started an empty exchange")
    fresh = tmp_path / "zeroed"
    (fresh / "LOCK").unlink(missing_ok=True)
    (fresh / "DURABLE").unlink()  # the way out: start from what is there
    ServerProcess(fresh, ["--no-demo"]).start().stop()


def test_export_from_a_running_server(tmp_path) -> None:
    """A backup without stopping the exchange: a consistent prefix of its journal, importable elsewhere."""
    import subprocess
    import sys

    source = tmp_path / "running"
    server = ServerProcess(source, ["--no-demo"]).start()
    try:
        trader, ids = place_orders(server, 8)
        out = subprocess.run([sys.executable, "-m", "paperex", "export", "--data-dir", str(source), "--out",
                              str(tmp_path / "live.paperex")], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and "from the running server's journal" in out.stdout, out.stderr
        digest = server.admin("GET", "/admin/v1/health?digest=1")["result"]["stateDigest"]
        assert server.admin("GET", "/admin/v1/health")["result"]["accepting"]  # the server went on undisturbed
    finally:
        server.stop()
    subprocess.run([sys.executable, "-m", "paperex", "import", "--in", str(tmp_path / "live.paperex"), "--data-dir",
                    str(tmp_path / "copy")], check=True, capture_output=True, timeout=60)
    copy = ServerProcess(tmp_path / "copy", ["--no-demo"]).start()
    try:
        orders = copy.admin("GET", f"/admin/v1/accounts/{trader['uid']}/orders")["result"]["list"]
        assert [o["orderId"] for o in orders] == ids
        assert copy.admin("GET", "/admin/v1/health?digest=1")["result"]["stateDigest"] == digest
    finally:
        copy.stop()


def test_a_journal_that_cannot_be_written_refuses_the_start(tmp_path) -> None:
    import subprocess
    import sys

    data = tmp_path / "data"
    ServerProcess(data, ["--no-demo"]).start().stop()
    journal = data / "journal.sqlite3"
    for side in ("-wal", "-shm"):
        (data / f"journal.sqlite3{side}").unlink(missing_ok=True)
    if subprocess.run(["chattr", "+i", str(journal)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here: cannot make a file unwritable for root")
    try:
        out = subprocess.run([sys.executable, "-m", "paperex", "serve", "--no-demo", "--data-dir", str(data),
                              "--port", "0"], capture_output=True, text=True, timeout=60)
        assert out.returncode != 0 and "cannot be written" in out.stderr and "Traceback" not in out.stderr
    finally:
        subprocess.run(["chattr", "-i", str(journal)], check=True)
