"""Every odd byte gets a clean answer: integers spelt oddly ("--5", "²", "-") are 10001 on REST and /v5/trade,
and an odd WebSocket topic is refused with a reply while the connection stays open."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import requests

from paperex.gateway.params import ascii_int
from tests.signing import signed_request

ODD_INTEGERS = ["--5", "²", "-", "5-", "+5", "1_000", "５", " -"]


def test_the_wire_integer_parser() -> None:
    assert ascii_int("123") == 123 and ascii_int("-7", signed=True) == -7 and ascii_int("0") == 0
    for text in [*ODD_INTEGERS, "-7", "", "1" * 21]:
        assert ascii_int(text) is None, text
    assert ascii_int("--5", signed=True) is None and ascii_int("-", signed=True) is None


@pytest.mark.parametrize("odd", ODD_INTEGERS)
def test_odd_integers_on_public_endpoints_are_parameter_errors(server, odd) -> None:
    for path in ("/v5/market/kline?category=linear&symbol=BTCUSDT&interval=1&limit=",
                 "/v5/market/recent-trade?category=linear&symbol=BTCUSDT&limit=",
                 "/v5/market/orderbook?category=linear&symbol=BTCUSDT&limit=",
                 "/v5/market/kline?category=linear&symbol=BTCUSDT&interval=1&start="):
        reply = requests.get(server.base_url + path + requests.utils.quote(odd), timeout=10)
        assert reply.status_code == 200 and reply.json()["retCode"] == 10001, (path, odd, reply.text)


def test_odd_integers_in_signed_requests_and_headers(server, trader) -> None:
    for odd in ("--1", "²"):
        reply = signed_request(server.base_url, "POST", "/v5/order/create", trader.api_key, trader.api_secret,
                               body={"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
                                     "qty": "0.001", "price": "60000", "positionIdx": odd})
        assert reply.json()["retCode"] == 10001, reply.text
        reply = signed_request(server.base_url, "GET", "/v5/account/wallet-balance", trader.api_key,
                               trader.api_secret, query="accountType=UNIFIED", recv_window=odd)
        assert reply.status_code == 200 and reply.json()["retCode"] == 10001, reply.text
        reply = signed_request(server.base_url, "GET", "/v5/account/wallet-balance", trader.api_key,
                               trader.api_secret, query="accountType=UNIFIED", ts=odd)
        assert reply.status_code == 200 and reply.json()["retCode"] == 10002, reply.text
    for header, value in (("X-BAPI-TIMESTAMP", b"\xff"), ("X-BAPI-SIGN", "é".encode())):  # raw bytes
        headers = {"X-BAPI-API-KEY": trader.api_key, "X-BAPI-TIMESTAMP": str(int(time.time() * 1000)),
                   "X-BAPI-SIGN": "00" * 32, "X-BAPI-RECV-WINDOW": "5000", header: value}
        reply = requests.get(server.base_url + "/v5/account/wallet-balance?accountType=UNIFIED", headers=headers,
                             timeout=10)
        assert reply.status_code == 200 and reply.json()["retCode"] in (10002, 10004), reply.text
    reply = requests.get(server.base_url + "/admin/v1/health", headers={"X-Admin-Token": "é".encode()}, timeout=10)
    assert reply.status_code == 200 and reply.json()["retCode"] == 0, reply.text  # no token configured here


def test_odd_topics_and_headers_over_websockets(server, trader) -> None:
    import aiohttp

    from tests.signing import sign

    ws_base = server.base_url.replace("http", "ws")

    async def run() -> None:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(ws_base + "/v5/public/linear") as ws:
                await ws.send_str(json.dumps({"op": "subscribe", "req_id": "odd", "args": ["orderbook.².BTCUSDT"]}))
                reply = json.loads((await ws.receive(timeout=5)).data)
                assert reply["success"] is False and reply["req_id"] == "odd"
                await ws.send_str('{"op":"ping","req_id":"p"}')  # still open, still answering
                assert json.loads((await ws.receive(timeout=5)).data)["ret_msg"] == "pong"
            async with session.ws_connect(ws_base + "/v5/trade") as ws:
                expires = int(time.time() * 1000) + 10_000
                signature = sign(trader.api_secret, f"GET/realtime{expires}")
                await ws.send_str(json.dumps({"op": "auth", "args": [trader.api_key, expires, signature]}))
                assert json.loads((await ws.receive(timeout=5)).data)["retCode"] == 0
                for header, code in (({"X-BAPI-TIMESTAMP": "²"}, 10002),
                                     ({"X-BAPI-TIMESTAMP": str(int(time.time() * 1000)),
                                       "X-BAPI-RECV-WINDOW": "--5"}, 10001)):
                    await ws.send_str(json.dumps({"reqId": f"r{code}", "header": header, "op": "order.create",
                                                  "args": [{"category": "linear", "symbol": "BTCUSDT", "side": "Buy",
                                                            "orderType": "Limit", "qty": "0.001", "price": "60000"}]}))
                    reply = json.loads((await ws.receive(timeout=5)).data)
                    assert reply["retCode"] == code, reply

    asyncio.run(run())


def test_a_non_ascii_admin_token_is_refused_cleanly(tmp_path) -> None:
    from tests.serverproc import ServerProcess

    server = ServerProcess(tmp_path, ["--admin-token", "s3cret", "--no-demo"]).start()
    try:
        for token in ("é".encode(), b"\xff", b"wrong"):
            reply = requests.get(server.base_url + "/admin/v1/health", headers={"X-Admin-Token": token}, timeout=10)
            assert reply.status_code in (401, 403) and reply.status_code != 500, reply.text
        ok = requests.get(server.base_url + "/admin/v1/health", headers={"X-Admin-Token": "s3cret"}, timeout=10)
        assert ok.status_code == 200 and ok.json()["retCode"] == 0
    finally:
        server.stop()


def test_resubscribing_never_uses_up_a_connection(server) -> None:
    """Bybit caps a public connection's topics at 21,000 characters; unsubscribing gives them back."""
    import aiohttp

    from paperex.core.candles import INTERVALS

    args = [f"kline.{i}.{s}" for i in INTERVALS for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT")]
    assert 25 * sum(map(len, args)) > 21_000  # what 25 rounds would use if nothing were given back

    async def run() -> None:
        async with aiohttp.ClientSession() as session, session.ws_connect(
                server.base_url.replace("http", "ws") + "/v5/public/linear") as ws:
            for i in range(25):  # the batch, then one more topic while the batch is on, then neither
                for op, topics in (("subscribe", args), ("subscribe", ["publicTrade.BTCUSDT"]),
                                   ("unsubscribe", args), ("unsubscribe", ["publicTrade.BTCUSDT"])):
                    await ws.send_str(json.dumps({"op": op, "req_id": f"{op}{i}{len(topics)}", "args": topics}))
                    while True:
                        frame = json.loads((await ws.receive(timeout=5)).data)
                        if frame.get("req_id") == f"{op}{i}{len(topics)}":
                            assert frame["success"], frame
                            break

    asyncio.run(run())


def test_health_is_cheap_and_the_digest_is_on_request(server) -> None:
    plain = server.admin("GET", "/admin/v1/health")["result"]
    assert "stateDigest" not in plain and plain["moneyConserved"] and plain["accepting"]
    full = server.admin("GET", "/admin/v1/health?digest=1")["result"]
    assert len(full["stateDigest"]) == 64


def test_a_client_gone_mid_body_is_not_an_error(tmp_path) -> None:
    import socket

    from tests.serverproc import ServerProcess

    server = ServerProcess(tmp_path, ["--no-demo"]).start()
    try:
        for path in ("/v5/order/create", "/admin/v1/accounts") * 10:
            with socket.create_connection(("127.0.0.1", server.port)) as s:
                s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                          "Content-Length: 1000\r\n\r\n{\"a\":".encode())
        time.sleep(0.5)
        assert requests.get(server.base_url + "/v5/market/time", timeout=10).json()["retCode"] == 0
        assert not server.log_contains("Traceback") and not server.log_contains("Connection lost")
    finally:
        server.stop()


def test_a_non_ascii_websocket_signature_gets_a_reply(server, trader) -> None:
    import aiohttp

    async def run() -> None:
        async with aiohttp.ClientSession() as session:
            for path in ("/v5/private", "/v5/trade"):
                async with session.ws_connect(server.base_url.replace("http", "ws") + path) as ws:
                    expires = int(time.time() * 1000) + 10_000
                    await ws.send_str(json.dumps({"op": "auth", "args": [trader.api_key, expires, "é" * 64]}))
                    reply = json.loads((await ws.receive(timeout=5)).data)
                    assert reply.get("success") is False or reply.get("retCode") not in (None, 0), reply
                    await ws.send_str(json.dumps({"op": "ping", "req_id": "p"}))
                    assert "pong" in json.dumps(json.loads((await ws.receive(timeout=5)).data))  # still open

    asyncio.run(run())


def test_idle_and_half_open_http_connections_are_closed(tmp_path) -> None:
    import socket

    from tests.serverproc import ServerProcess

    config = tmp_path / "idle.toml"
    config.write_text("[http]\nidle_timeout_s = 1.0\n")
    server = ServerProcess(tmp_path / "data", ["--no-demo", "--config", str(config)]).start()
    try:
        silent = socket.create_connection(("127.0.0.1", server.port))  # connects, never sends
        half = socket.create_connection(("127.0.0.1", server.port))
        half.sendall(b"GET /v5/market/time HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # half a request, then nothing
        for s in (silent, half):
            s.settimeout(5)  # a server that never closes it fails the test with a timeout
            started = time.monotonic()
            while s.recv(1024):  # whatever it says, it then closes the connection (EOF)
                pass
            assert time.monotonic() - started < 4
            s.close()
        assert requests.get(server.base_url + "/v5/market/time", timeout=10).json()["retCode"] == 0
    finally:
        server.stop()
