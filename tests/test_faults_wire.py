"""Fault injection and scripted guard rails: injected timeouts (carried out or not), server errors and latency over
REST, dropped and stalled WebSockets, and restrictions, faults and classic accounts from the config file."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
import pytest
from pybit.exceptions import InvalidRequestError

from tests.conftest import make_trader, pybit_http
from tests.serverproc import ServerProcess
from tests.test_trading_wire import client, ex, rejected  # noqa: F401  (ex is the fixture)

LIMIT = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001",
         "price": "60000"}


def open_orders(session) -> int:
    return len(session.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"])


def test_injected_timeouts_errors_and_latency(ex) -> None:  # noqa: F811
    session = client(ex, make_trader(ex))
    try:
        ex.admin("POST", "/admin/v1/faults", {"path": "/v5/order/create", "code": 10000, "count": 1})
        assert rejected(lambda: session.place_order(**LIMIT)) == (10000, "Server Timeout")
        assert open_orders(session) == 1  # carried out: the client has to look
        ex.admin("POST", "/admin/v1/faults", {"path": "/v5/order/create", "code": 10000, "count": 1,
                                              "applied": False})
        assert rejected(lambda: session.place_order(**LIMIT))[0] == 10000
        assert open_orders(session) == 1  # dropped this time
        ex.admin("POST", "/admin/v1/faults", {"path": "*", "code": 10016, "count": 2})
        assert ex.admin("GET", "/admin/v1/faults")["result"]["faults"][0]["count"] == 2
        assert rejected(lambda: session.get_wallet_balance(accountType="UNIFIED")) == (10016, "Server error.")
        assert rejected(lambda: session.place_order(**LIMIT))[0] == 10016
        assert open_orders(session) == 1  # the count is spent: the next ones go through
        ex.admin("POST", "/admin/v1/faults", {"path": "/v5/account/wallet-balance", "latency_ms": 300,
                                              "seconds": 30})
        started = time.monotonic()
        assert session.get_wallet_balance(accountType="UNIFIED")["retCode"] == 0
        assert time.monotonic() - started >= 0.3
        assert ex.admin("POST", "/admin/v1/faults", {"path": "*", "code": 110001, "count": 1})["retCode"] == 10001
        assert ex.admin("POST", "/admin/v1/faults", {"path": "*", "code": 10016})["retCode"] == 10001  # how long?
    finally:
        ex.admin("POST", "/admin/v1/faults/clear")
    assert ex.admin("GET", "/admin/v1/faults")["result"]["faults"] == []


def test_dropped_and_stalled_websockets(ex) -> None:  # noqa: F811
    import aiohttp

    async def run() -> tuple[float, bool]:
        async with aiohttp.ClientSession() as s:
            ws = await s.ws_connect(ex.base_url + "/v5/public/linear")
            await ws.send_str(orjson.dumps({"op": "subscribe", "args": ["orderbook.1.BTCUSDT"]}).decode())
            await ws.receive(timeout=5)  # the subscribe answer
            await ws.receive(timeout=5)  # the snapshot
            await asyncio.to_thread(ex.admin, "POST", "/admin/v1/faults/ws-stall", {"ms": 600})
            started = time.monotonic()
            await ws.send_str(orjson.dumps({"op": "ping"}).decode())
            await ws.receive(timeout=5)  # the pong waits for the stall
            stalled_for = time.monotonic() - started
            reply = await asyncio.to_thread(ex.admin, "POST", "/admin/v1/faults/ws-drop")
            assert reply["result"]["dropped"] >= 1
            msg = await ws.receive(timeout=5)
            return stalled_for, msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSE,
                                             aiohttp.WSMsgType.ERROR)

    stalled_for, dropped = asyncio.run(run())
    assert stalled_for >= 0.5 and dropped


def scripted_start(tmp_path: Path, config: Path) -> int:
    """Start on the config file, check what it scripted, stop; the journal position it ended at."""
    server = ServerProcess(tmp_path / "data", ["--no-demo", "--config", str(config)]).start()
    try:
        restricted = pybit_http(server, "restrictedkey0000001", "restrictedsecret00000000000000000001")
        assert rejected(lambda: restricted.place_order(**LIMIT))[0] == 10027
        old = pybit_http(server, "classickey000000001", "classicsecret000000000000000000000001")
        assert old.get_account_info()["result"]["unifiedMarginStatus"] == 1
        trader = make_trader(server)
        session = pybit_http(server, trader.api_key, trader.api_secret)
        eth = {**LIMIT, "symbol": "ETHUSDT", "qty": "0.01", "price": "3000"}
        assert rejected(lambda: session.place_order(**eth))[0] == 110066
        with pytest.raises(InvalidRequestError) as info:  # the file's fault, once per start
            pybit_http(server).get_tickers(category="linear", symbol="BTCUSDT")
        assert info.value.status_code == 10016
        assert pybit_http(server).get_tickers(category="linear", symbol="BTCUSDT")["retCode"] == 0
        return server.admin("GET", "/admin/v1/health")["result"]["journalSeq"]
    finally:
        server.stop()


def test_the_config_file_scripts_rules_faults_and_classic_accounts(tmp_path: Path) -> None:
    config = tmp_path / "scenario.toml"
    config.write_text('''
[market]
enabled = false

[[accounts]]
label = "restricted"
balances = { USDT = "10000" }
rules = { trading_banned = true }
[[accounts.api_keys]]
api_key = "restrictedkey0000001"
api_secret = "restrictedsecret00000000000000000001"

[[accounts]]
label = "old"
classic = true
balances = { USDT = "10000" }
[[accounts.api_keys]]
api_key = "classickey000000001"
api_secret = "classicsecret000000000000000000000001"

[[symbol_rules]]
category = "linear"
symbol = "ETHUSDT"
rules = { halted = true }

[[faults]]
path = "/v5/market/tickers"
code = 10016
count = 1
''')
    journal = [scripted_start(tmp_path, config) for _ in range(2)]  # a restart with the same file:
    assert journal[1] == journal[0] + 2  # nothing journaled again but the account and key this test creates
    bad = tmp_path / "bad.toml"
    bad.write_text('[[faults]]\npath = "*"\ncode = 110001\ncount = 1\n')
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "paperex", "serve", "--config", str(bad), "--data-dir",
                          str(tmp_path / "bad")], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "[[faults]] #1" in out.stderr + out.stdout


def test_a_slow_order_entry_op_holds_up_no_other(ex) -> None:  # noqa: F811
    import hashlib
    import hmac

    import aiohttp

    me = make_trader(ex)

    async def run() -> list[str]:
        expires = int(time.time() * 1000) + 10_000
        sign = hmac.new(me.api_secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
        async with aiohttp.ClientSession() as s, s.ws_connect(ex.base_url + "/v5/trade") as ws:
            await ws.send_str(orjson.dumps({"op": "auth", "args": [me.api_key, expires, sign]}).decode())
            await ws.receive(timeout=5)
            header = {"X-BAPI-TIMESTAMP": str(int(time.time() * 1000))}
            await ws.send_str(orjson.dumps({"op": "order.create", "reqId": "slow", "header": header,
                                            "args": [LIMIT]}).decode())
            await ws.send_str(orjson.dumps({"op": "ping"}).decode())
            await ws.send_str(orjson.dumps({"op": "order.cancel", "reqId": "fast", "header": header,
                                            "args": [{**LIMIT, "orderLinkId": "none"}]}).decode())
            return [orjson.loads((await ws.receive(timeout=5)).data).get("reqId", "pong") for _ in range(3)]

    ex.admin("POST", "/admin/v1/faults", {"path": "/v5/order/create", "latency_ms": 800, "count": 1})
    try:
        order = asyncio.run(run())
    finally:
        ex.admin("POST", "/admin/v1/faults/clear")
    assert order == ["pong", "fast", "slow"]  # answered as they are done, not as they came
