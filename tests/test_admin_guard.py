"""The admin API answers this machine's own scripts, never a web page: cross-site requests (CSRF), requests under
a foreign host name (DNS rebinding) and non-JSON posts are refused, token or not; the token can come from the
environment and can never be empty."""

from __future__ import annotations

import subprocess
import sys

import requests

from tests.serverproc import ServerProcess


def test_a_web_page_cannot_drive_the_admin_api(server) -> None:
    base = server.base_url
    before = requests.get(base + "/admin/v1/health", timeout=10).json()["result"]["money"]
    refused = [
        requests.post(base + "/admin/v1/deposit", data='{"uid": "100000001", "coin": "USDT", "amount": "1000000"}',
                      headers={"Content-Type": "text/plain"}, timeout=10),  # a simple cross-site POST
        requests.post(base + "/admin/v1/accounts", json={}, headers={"Origin": "http://evil.example"}, timeout=10),
        requests.post(base + "/admin/v1/api-keys", json={"uid": "100000001"},
                      headers={"Host": "rebound.evil.example"}, timeout=10),  # DNS rebinding
        requests.get(base + "/admin/v1/health", headers={"Sec-Fetch-Site": "cross-site"}, timeout=10),
        requests.get(base + "/admin/v1/health", headers={"Origin": "null"}, timeout=10),
    ]
    assert refused[0].json()["retCode"] == 10001  # not JSON: not taken
    assert [r.status_code for r in refused[1:]] == [403, 403, 403, 403]
    assert requests.get(base + "/admin/v1/health", timeout=10).json()["result"]["money"] == before  # nothing moved
    for headers in ({"Host": f"localhost:{server.port}"}, {"Origin": server.base_url, "Sec-Fetch-Site": "same-origin"},
                    {"Host": f"[::1]:{server.port}"}):
        assert requests.get(base + "/admin/v1/clock", headers=headers, timeout=10).json()["retCode"] == 0, headers


def test_the_admin_token_from_the_environment_and_never_empty(tmp_path) -> None:
    server = ServerProcess(tmp_path / "a", ["--no-demo"], env={"PAPEREX_ADMIN_TOKEN": "from-env"}).start()
    try:
        assert requests.get(server.base_url + "/admin/v1/clock", timeout=10).status_code == 401
        ok = requests.get(server.base_url + "/admin/v1/clock", headers={"X-Admin-Token": "from-env"}, timeout=10)
        assert ok.json()["retCode"] == 0
    finally:
        server.stop()
    empty = subprocess.run([sys.executable, "-m", "paperex", "serve", "--admin-token", "", "--data-dir",
                            str(tmp_path / "b")], capture_output=True, text=True, timeout=60)
    assert empty.returncode != 0 and "must not be empty" in empty.stderr


def test_a_new_data_dir_is_its_users_alone(tmp_path) -> None:
    import stat

    data = tmp_path / "fresh" / "data"
    server = ServerProcess(data, ["--no-demo"]).start()
    server.stop()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = [p for p in data.iterdir() if p.is_file()]
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files), [
        (p.name, oct(p.stat().st_mode)) for p in files]
