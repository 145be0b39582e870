"""``paperex serve`` configured by the environment (a container's ``-e``, a compose file, a CI ``services:`` entry)
and ``--admin-remote``: the admin API reachable from other hosts only behind the token, never from a web page."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import pybit_http
from tests.serverproc import ServerProcess, free_port

KEY, SECRET = "envkey00000000000001", "envsecret0000000000000000000000000001"
CONFIG = f"""
[[accounts]]
label = "bot"
balances = {{ USDT = "2500" }}

[[accounts.api_keys]]
api_key = "{KEY}"
api_secret = "{SECRET}"
"""


def serve_env(env: dict[str, str], *args: str, timeout: float = 30.0) -> tuple[subprocess.Popen[str], list[str]]:
    """``paperex serve`` with only the environment (and ``args``); returns once it prints its URL."""
    proc = subprocess.Popen([sys.executable, "-m", "paperex", "serve", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, **env, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        lines.append(line)
        if "serving the Bybit V5 API at" in line:
            return proc, lines
    proc.kill()
    raise AssertionError("paperex serve did not start:\n" + "".join(lines))


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait(timeout=15)


def test_every_serve_option_from_the_environment(tmp_path) -> None:
    (tmp_path / "paperex.toml").write_text(CONFIG)
    port, data = free_port(), tmp_path / "env-data"
    proc, lines = serve_env({"PAPEREX_PORT": str(port), "PAPEREX_DATA_DIR": str(data), "PAPEREX_NO_MARKET": "1",
                             "PAPEREX_NO_DEMO": "true", "PAPEREX_CONFIG": str(tmp_path / "paperex.toml"),
                             "PAPEREX_SNAPSHOT_EVERY": "0", "PAPEREX_HOST": "127.0.0.1"})
    try:
        assert f"serving the Bybit V5 API at http://127.0.0.1:{port}\n" in lines[-1]
        assert not any("API secret" in line for line in lines)  # no demo account
        assert (data / "journal.sqlite3").exists()
        base = f"http://127.0.0.1:{port}"
        session = pybit_http(ServerProcess(data, base_url=base), KEY, SECRET)  # the config file's account
        coins = session.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]["coin"]
        assert [(c["coin"], c["walletBalance"]) for c in coins] == [("USDT", "2500")]
        book = session.get_orderbook(category="linear", symbol="BTCUSDT")["result"]
        assert book["b"] == [] and book["a"] == []  # no market
    finally:
        stop(proc)


def test_a_flag_wins_over_the_environment(tmp_path) -> None:
    port = free_port()
    proc, lines = serve_env({"PAPEREX_PORT": "1", "PAPEREX_DATA_DIR": str(tmp_path / "ignored")},
                            "--port", str(port), "--data-dir", str(tmp_path / "flag"), "--no-market", "--no-demo")
    try:
        assert f"http://127.0.0.1:{port}" in lines[-1]
        assert (tmp_path / "flag").is_dir() and not (tmp_path / "ignored").exists()
    finally:
        stop(proc)


@pytest.mark.parametrize(("env", "says"), [
    ({"PAPEREX_PORT": "eighty"}, "$PAPEREX_PORT must be a whole number"),
    ({"PAPEREX_NO_MARKET": "maybe"}, "$PAPEREX_NO_MARKET must be one of"),
    ({"PAPEREX_ADMIN_REMOTE": "1"}, "--admin-remote needs an admin token"),
    ({"PAPEREX_TLS_CERT": "/nonexistent.pem"}, "--tls-cert and --tls-key go together"),
])
def test_a_bad_environment_is_a_clear_refusal(tmp_path, env, says) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PAPEREX_")}
    done = subprocess.run([sys.executable, "-m", "paperex", "serve", "--data-dir", str(tmp_path / "d")],
                          env={**clean, "PAPEREX_PORT": "0", "PAPEREX_NO_MARKET": "1", **env},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and says in done.stderr and "Traceback" not in done.stderr, done.stderr


def outward_address() -> str:
    """An address of this machine that is not loopback (what a container's published port or a compose
    network looks like to the server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
        except OSError as exc:
            pytest.skip(f"no non-loopback IPv4 address: {exc}")
        address = s.getsockname()[0]
    if address.startswith("127.") or address == "0.0.0.0":
        pytest.skip("no non-loopback IPv4 address")
    return address


@pytest.mark.parametrize("remote", [False, True])
def test_the_admin_api_from_another_host_only_with_admin_remote_and_the_token(tmp_path, remote) -> None:
    address = outward_address()
    env = {"PAPEREX_ADMIN_TOKEN": "s3cret", **({"PAPEREX_ADMIN_REMOTE": "1"} if remote else {})}
    server = ServerProcess(tmp_path, ["--host", "0.0.0.0", "--no-demo"], env=env).start()
    try:
        assert server.base_url == f"http://127.0.0.1:{server.port}"  # a wildcard is printed as a reachable URL
        assert server.log_contains("listening on every interface") and server.log_contains(
            "with the admin token" if remote else "not the admin API (loopback only)")
        outside = f"http://{address}:{server.port}/admin/v1/clock"
        inside = f"http://127.0.0.1:{server.port}/admin/v1/clock"
        token = {"X-Admin-Token": "s3cret"}
        assert requests.get(inside, headers=token, timeout=10).json()["retCode"] == 0  # loopback as before
        assert requests.get(inside, timeout=10).status_code == 401
        # the V5 API answers everyone either way
        assert requests.get(f"http://{address}:{server.port}/v5/market/time", timeout=10).json()["retCode"] == 0
        from_outside = requests.get(outside, headers=token, timeout=10)
        if not remote:
            assert from_outside.status_code == 403
            return
        assert from_outside.json()["retCode"] == 0
        assert requests.get(outside, timeout=10).status_code == 401
        assert requests.get(outside, headers={"X-Admin-Token": "wrong"}, timeout=10).status_code == 401
        # a compose service name is fine; a web page is not, token or not
        named = requests.get(outside, headers={**token, "Host": f"paperex:{server.port}"}, timeout=10)
        assert named.json()["retCode"] == 0
        assert requests.get(outside, headers={**token, "Origin": "http://evil.example"}, timeout=10).status_code == 403
        assert requests.get(outside, headers={**token, "Sec-Fetch-Site": "cross-site"}, timeout=10).status_code == 403
        created = requests.post(f"http://{address}:{server.port}/admin/v1/accounts", json={"balances": {"USDT": "1"}},
                                headers=token, timeout=10).json()
        assert created["retCode"] == 0 and int(created["result"]["uid"]) > 0
    finally:
        server.stop()


def test_the_admin_cli_reaches_a_remote_server_with_the_token_from_the_environment(tmp_path) -> None:
    address = outward_address()
    server = ServerProcess(tmp_path, ["--host", "0.0.0.0", "--no-demo", "--admin-remote"],
                           env={"PAPEREX_ADMIN_TOKEN": "s3cret"}).start()
    try:
        done = subprocess.run([sys.executable, "-m", "paperex", "account", "create", "--balance", "USDT=5",
                               "--url", f"http://{address}:{server.port}", "--data-dir", str(tmp_path / "unused")],
                              env={**os.environ, "PAPEREX_ADMIN_TOKEN": "s3cret"}, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        uid = done.stdout.strip()
        account = server.admin("GET", f"/admin/v1/accounts/{uid}", headers={"X-Admin-Token": "s3cret"})
        assert account["result"]["balances"] == {"USDT": "5"}
        assert not Path(tmp_path / "unused").exists()  # it went over the wire, not to a data dir
    finally:
        server.stop()
