"""Snapshots taken while clients stream requests: every request is answered, the snapshots are serialised in a
forked child (the event loop goes on), and a restart after kill -9 restores from the newest one to the same
state. In process: a child that dies costs only its snapshot, a snapshot requested while one is at work is
skipped and retried, shutdown ends a child still at work, and no child is left behind."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
import time
from pathlib import Path

import pytest

from paperex import background_snapshot
from paperex.core import snapshot
from paperex.core.commands import CreateAccount, Deposit
from paperex.journal.sqlite import SqliteJournal
from paperex.server import Node
from tests.conftest import pybit_http
from tests.serverproc import ServerProcess

pytestmark = pytest.mark.skipif(not background_snapshot.fork_available(), reason="snapshots fork on Linux only")

VIRTUAL = """
seed = 3
[clock]
mode = "virtual"
start = "2026-03-02T00:00:00Z"
[market]
history_days = 1
"""


def reaped(pid: int) -> bool:
    """Was our child ``pid`` waited for (no zombie left)? waitpid refuses a pid that is no longer our child."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_snapshots_under_streamed_requests_then_restart_from_the_newest(tmp_path) -> None:
    config = tmp_path / "virtual.toml"
    config.write_text(VIRTUAL)  # the living market (its books make the state big enough to fork), time still
    data = tmp_path / "data"
    server = ServerProcess(data, ["--config", str(config), "--snapshot-every", "25"], market=True).start()
    try:
        uid = server.create_account({"USDT": "1000000"})
        key = server.create_key(uid)
        session = pybit_http(server, key["apiKey"], key["apiSecret"])
        stop = threading.Event()
        answered = {"time": 0, "orders": 0, "open": 0}
        errors: list[BaseException] = []

        def reads() -> None:
            try:
                while not stop.is_set():
                    assert session.get_server_time()["retCode"] == 0
                    answered["time"] += 1
                    reply = session.get_open_orders(category="linear", symbol="BTCUSDT", limit=5)
                    assert reply["retCode"] == 0
                    answered["open"] += 1
            except BaseException as exc:
                errors.append(exc)

        reader = threading.Thread(target=reads)
        reader.start()
        sent, snapshot_seqs = 0, set()
        deadline = time.monotonic() + 60
        try:  # orders until several snapshots were stored while the reads went on
            while (len(snapshot_seqs - {0}) < 4 or sent < 150) and time.monotonic() < deadline:
                reply = session.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit",
                                            qty="0.001", price=str(30_000 + sent))
                assert reply["retCode"] == 0, reply
                sent += 1
                answered["orders"] += 1
                if sent % 10 == 0:
                    snapshot_seqs.add(server.admin("GET", "/admin/v1/health")["result"]["snapshotSeq"])
        finally:
            stop.set()
            reader.join(30)
        assert not errors, errors
        assert answered["orders"] == sent >= 150 and answered["time"] > 0 and answered["open"] > 0
        stored = [int(m) for m in re.findall(r"snapshot at seq (\d+) stored: .* forked child", "".join(server.output))]
        assert len(stored) >= 4, server.output[-20:]
        assert not server.log_contains("skipped") and not server.log_contains("Traceback")
        health = server.admin("GET", "/admin/v1/health?digest=1")["result"]
        newest = health["snapshotSeq"]
        assert newest == max(stored) > 0 and health["journalSeq"] >= newest
    finally:
        server.kill9()  # no final snapshot: the restart must use the ones taken under load
    again = ServerProcess(data, ["--config", str(config), "--snapshot-every", "0"], market=True).start()
    try:
        after = again.admin("GET", "/admin/v1/health?digest=1")["result"]
        restored = re.search(r"restored to journal seq (\d+) \(snapshot at (\d+)", "".join(again.output))
        assert restored is not None and int(restored.group(2)) >= newest  # a child still at work may have finished
        assert int(restored.group(1)) == health["journalSeq"]
        assert after["stateDigest"] == health["stateDigest"]
        orders = pybit_http(again, key["apiKey"], key["apiSecret"]).get_open_orders(
            category="linear", symbol="BTCUSDT", limit=50)["result"]["list"]
        assert len(orders) == 50  # the orders placed under load are all there
    finally:
        again.stop()


def big_node(path: Path, snapshot_every: int = 0) -> Node:
    node = Node(path, snapshot_every=snapshot_every)
    node.sequencer.fork_above = 0  # fork for every snapshot, however small the state
    return node


async def fill(node: Node, n: int) -> None:
    for _ in range(n):
        await node.sequencer.submit(Deposit(uid=uid_of(node), coin="USDT", amount=1))


def uid_of(node: Node) -> int:
    return max(node.core.accounts)


def test_forked_snapshot_equals_the_state_at_its_seq_and_restores(tmp_path) -> None:
    node = big_node(tmp_path, snapshot_every=0)
    states: dict[int, str] = {}
    pids: list[int] = []

    async def go() -> None:
        node.start()
        await node.sequencer.submit(CreateAccount(balances={"USDT": 5}))
        await fill(node, 10)
        seq = node.sequencer.seq
        states[seq] = node.core.digest()
        assert node.sequencer.take_snapshot() is None  # in the background
        child = node.sequencer.snapshot_child
        assert child is not None
        pids.append(child.pid)
        await fill(node, 5)  # commands after the fork are not in the snapshot
        while node.sequencer.snapshot_seq != seq:
            await asyncio.sleep(0.01)
        assert node.sequencer.snapshot_child is None
        await node.close(snapshot=False)

    asyncio.run(go())
    assert reaped(pids[0])
    journal = SqliteJournal(tmp_path / "journal.sqlite3")
    snap = journal.latest_snapshot()
    journal.close()
    assert snap is not None and snap.seq in states
    import msgspec

    from paperex.data import load_market

    assert snapshot.load(load_market(), msgspec.msgpack.decode(snap.body)).digest() == states[snap.seq]
    again = Node(tmp_path)
    assert again.sequencer.snapshot_seq == snap.seq and again.sequencer.seq == snap.seq + 5
    asyncio.run(again.close(snapshot=False))


def test_a_dying_child_costs_only_its_snapshot(tmp_path, monkeypatch, caplog) -> None:
    node = big_node(tmp_path, snapshot_every=0)
    pids: list[int] = []

    def boom(core):  # runs in the child: it exits with status 1, nothing is stored
        raise RuntimeError("serialiser broke")

    async def go() -> None:
        node.start()
        await node.sequencer.submit(CreateAccount(balances={"USDT": 5}))
        with monkeypatch.context() as m:
            m.setattr(snapshot, "dump", boom)
            node.sequencer.take_snapshot()
            task = node.sequencer._snapshot_task
            assert task is not None and node.sequencer.snapshot_child is not None
            pids.append(node.sequencer.snapshot_child.pid)
            await fill(node, 3)  # commands go on meanwhile
            await task
        assert node.sequencer.snapshot_seq == 0 and node.sequencer.snapshot_child is None
        node.sequencer.take_snapshot()  # the next one works
        await node.sequencer._snapshot_task
        assert node.sequencer.snapshot_seq == node.sequencer.seq
        await node.close(snapshot=False)

    with caplog.at_level(logging.WARNING, logger="paperex.sequencer"):
        asyncio.run(go())
    assert "skipped: the snapshot process exited with status 1" in caplog.text
    assert reaped(pids[0])


def test_one_child_at_a_time_and_shutdown_ends_it(tmp_path, monkeypatch) -> None:
    node = big_node(tmp_path, snapshot_every=2)
    real_dump = snapshot.dump
    pids: list[int] = []

    def slow(core):  # the child takes its time: requests keep coming, the next snapshots are skipped
        time.sleep(30)
        return real_dump(core)

    async def go() -> int:
        node.start()
        monkeypatch.setattr(snapshot, "dump", slow)
        await node.sequencer.submit(CreateAccount(balances={"USDT": 5}))  # a Tick, then this: the child forks
        child = node.sequencer.snapshot_child
        assert child is not None
        pids.append(child.pid)
        await fill(node, 6)  # each asks for a snapshot: skipped while the child works
        assert node.sequencer.snapshot_child is child and node.sequencer.work >= 6
        monkeypatch.setattr(snapshot, "dump", real_dump)
        t0 = time.monotonic()
        await node.close()  # ends the child, then the final snapshot (on the loop)
        assert time.monotonic() - t0 < 10
        assert node.sequencer.snapshot_child is None
        return node.core.digest()

    digest = asyncio.run(go())
    assert reaped(pids[0])
    again = Node(tmp_path)
    assert again.sequencer.snapshot_seq == again.sequencer.seq and again.core.digest() == digest
    asyncio.run(again.close(snapshot=False))
