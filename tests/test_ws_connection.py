"""WebSocket connection rules shared by all three endpoints: idle timeout and ``max_active_time``, a slow
consumer disconnected without stalling anyone else, depth-1 snapshots re-sent when the book is quiet."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import make_mocked_request

from paperex.gateway.ws_client import WsSettings, alive_time
from tests.serverproc import ServerProcess


@pytest.fixture()
def strict(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server with a 1 s idle timeout and room for only 64 queued frames per connection."""
    config = tmp_path / "ws.toml"
    config.write_text("[websocket]\nidle_timeout_s = 1.0\nmax_queued_frames = 64\n")
    server = ServerProcess(tmp_path / "data", ["--no-demo", "--config", str(config)]).start()
    yield server
    server.stop()


def ws_url(server: ServerProcess, path: str) -> str:
    return server.base_url.replace("http", "ws") + path


def test_max_active_time_is_read_like_bybit() -> None:
    settings = WsSettings(idle_timeout_s=600)

    def alive(query: str) -> float:
        return alive_time(make_mocked_request("GET", f"/v5/private{query}"), settings)

    assert alive("") == 600
    assert alive("?max_active_time=45s") == 45
    assert alive("?max_active_time=2m") == 120
    assert alive("?max_active_time=5s") == 30  # Bybit's lowest value
    assert alive("?max_active_time=20m") == 600  # and highest
    assert alive("?max_active_time=soon") == 600  # unreadable: the default


def test_idle_connections_are_closed_and_pinging_ones_kept(strict) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as http:
            silent = await http.ws_connect(ws_url(strict, "/v5/public/linear"), autoping=True)
            pinging = await http.ws_connect(ws_url(strict, "/v5/public/linear"))
            # max_active_time overrides the server's 1 s idle timeout on the private endpoint
            private = await http.ws_connect(ws_url(strict, "/v5/private?max_active_time=30s"))
            started = time.monotonic()
            pongs = 0
            while time.monotonic() - started < 2.5:
                await pinging.send_str('{"op":"ping","req_id":"p"}')
                msg = await pinging.receive(timeout=1)
                pongs += orjson.loads(msg.data)["ret_msg"] == "pong"
                await asyncio.sleep(0.3)
            closed = await silent.receive(timeout=1)
            assert (closed.type, closed.data, closed.extra) == (aiohttp.WSMsgType.CLOSE, 1001, "idle")
            assert pongs >= 6 and not pinging.closed
            assert not private.closed
            await private.send_str('{"op":"ping","req_id":"x"}')
            assert orjson.loads((await private.receive(timeout=1)).data)["op"] == "pong"
            for ws in (pinging, private):
                await ws.close()

    asyncio.run(scenario())


class StalledClient:
    """A raw WebSocket client with a tiny receive buffer that writes but never reads."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect((host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                          f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                          .encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def send_text(self, text: str) -> None:
        payload, mask = text.encode(), os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert len(payload) < 126
        self.sock.sendall(struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask + masked)


def test_a_slow_consumer_is_disconnected_and_stalls_nobody(strict) -> None:
    host, port = strict.base_url.removeprefix("http://").split(":")
    stalled = StalledClient(host, int(port), "/v5/public/linear")

    async def scenario() -> None:
        async with aiohttp.ClientSession() as http:
            healthy = await http.ws_connect(ws_url(strict, "/v5/public/linear"))
            cut_after = None
            for i in range(200_000):  # every ping queues a pong the stalled client never reads
                try:
                    stalled.send_text(orjson.dumps({"op": "ping", "req_id": str(i % 1000)}).decode())
                except OSError:
                    cut_after = i
                    break
                if i % 2000 == 0:  # meanwhile the other client is answered at once
                    await healthy.send_str('{"op":"ping","req_id":"h"}')
                    reply = orjson.loads((await healthy.receive(timeout=2)).data)
                    assert reply["ret_msg"] == "pong" and reply["req_id"] == "h"
            assert cut_after is not None, "the stalled client was never disconnected"
            for _ in range(100):  # the server's log line reaches us through a pipe
                if strict.log_contains("slow consumer: 64 frames queued"):
                    break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError("no slow-consumer disconnect in the server log")
            # the server is healthy and the client can come back
            again = await http.ws_connect(ws_url(strict, "/v5/public/linear"))
            await again.send_str('{"op":"subscribe","req_id":"s","args":["orderbook.50.BTCUSDT"]}')
            frames = [orjson.loads((await again.receive(timeout=2)).data) for _ in range(2)]
            assert frames[0]["success"] is True
            assert frames[1]["type"] == "snapshot" and frames[1]["topic"] == "orderbook.50.BTCUSDT"
            await again.close()
            await healthy.close()

    try:
        asyncio.run(scenario())
    finally:
        stalled.sock.close()


def test_depth_one_snapshot_is_resent_while_the_book_is_quiet(tmp_path) -> None:
    server = ServerProcess(tmp_path, ["--no-demo"]).start()

    async def scenario() -> list[dict]:
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(ws_url(server, "/v5/public/linear"))
            await ws.send_str('{"op":"subscribe","req_id":"1","args":["orderbook.1.BTCUSDT"]}')
            frames: list[dict] = []
            deadline = time.monotonic() + 4.5
            while time.monotonic() < deadline:
                try:
                    msg = await ws.receive(timeout=0.5)
                except TimeoutError:
                    await ws.send_str('{"op":"ping"}')
                    continue
                frame = orjson.loads(msg.data)
                if frame.get("topic"):
                    frames.append(frame)
            await ws.close()
            return frames

    try:
        frames = asyncio.run(scenario())
    finally:
        server.stop()
    assert len(frames) == 2, frames  # the snapshot at subscribe, then the same book again after 3 s
    assert all(f["type"] == "snapshot" for f in frames)
    assert frames[0]["data"] == frames[1]["data"]
    assert 2_900 <= frames[1]["ts"] - frames[0]["ts"] <= 3_200


def test_subscribe_requests_are_checked_like_bybit(tmp_path) -> None:
    import hashlib
    import hmac

    from tests.conftest import make_trader

    server = ServerProcess(tmp_path, ["--no-demo"]).start()
    trader = make_trader(server)
    expires = int(time.time() * 1000) + 10_000
    signature = hmac.new(trader.api_secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()

    async def scenario() -> dict[str, dict]:
        out: dict[str, dict] = {}
        async with aiohttp.ClientSession() as http:
            async def ask(ws, name: str, frame: dict) -> None:
                await ws.send_str(orjson.dumps(frame).decode())
                out[name] = orjson.loads((await ws.receive(timeout=5)).data)

            private = await http.ws_connect(ws_url(server, "/v5/private"))
            await ask(private, "auth", {"op": "auth", "args": [trader.api_key, expires, signature]})
            await ask(private, "object", {"op": "subscribe", "req_id": "o", "args": [{"x": 1}]})
            await ask(private, "mixed", {"op": "subscribe", "req_id": "m", "args": ["order", "order.linear"]})
            await ask(private, "unknown_op", {"op": "teleport", "req_id": "u"})
            await ask(private, "fine", {"op": "subscribe", "req_id": "f", "args": ["order.linear", "wallet"]})
            public = await http.ws_connect(ws_url(server, "/v5/public/linear"))
            await ask(public, "first", {"op": "subscribe", "req_id": "1", "args": ["publicTrade.BTCUSDT"]})
            await ask(public, "twice", {"op": "subscribe", "req_id": "2", "args": ["publicTrade.BTCUSDT"]})
            spot = await http.ws_connect(ws_url(server, "/v5/public/spot"))
            await ask(spot, "eleven", {"op": "subscribe", "req_id": "3",
                                       "args": [f"kline.{i}.BTCUSDT" for i in (1, 3, 5, 15, 30, 60, 120, 240, 360,
                                                                              720, "D")]})
            for ws in (private, public, spot):
                await ws.close()
        return out

    try:
        out = asyncio.run(scenario())
    finally:
        server.stop()
    assert out["auth"]["success"] is True
    assert out["object"]["success"] is False and out["object"]["ret_msg"].startswith("Invalid topic")
    assert out["mixed"]["success"] is False  # Bybit: all-in-one and categorised topics in one request
    assert out["unknown_op"]["success"] is False and out["unknown_op"]["req_id"] == "u"
    assert out["fine"]["success"] is True  # the connection survived the bad requests
    assert out["first"]["success"] is True
    assert out["twice"] == {**out["twice"], "success": False,
                            "ret_msg": "error:already subscribed,topic:publicTrade.BTCUSDT"}
    assert out["eleven"]["success"] is False  # spot: at most 10 args per request


def test_stopping_the_server_closes_websockets_at_once(tmp_path) -> None:
    server = ServerProcess(tmp_path, ["--no-demo"]).start()

    async def scenario() -> tuple[aiohttp.WSMessage, float]:
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(ws_url(server, "/v5/public/linear"))
            await ws.send_str('{"op":"subscribe","args":["kline.1.BTCUSDT"]}')
            await ws.receive(timeout=5)
            started = time.monotonic()
            assert server.proc is not None
            server.proc.terminate()
            while True:
                msg = await ws.receive(timeout=15)
                if msg.type != aiohttp.WSMsgType.TEXT:
                    return msg, time.monotonic() - started

    msg, waited = asyncio.run(scenario())
    assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1001) and waited < 5
    assert server.proc is not None and server.proc.wait(timeout=10) == 0
    server.proc = None
