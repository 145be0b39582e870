"""The container image: built from the repository's Dockerfile and run the way docs/container.md says, then
driven from the host (the admin API with the token, pybit for trading) — when a container runtime is here.
Without one the test is skipped, visibly (``pytest -rs``); ``-m 'not container'`` deselects it.

What goes into the image is also checked without a runtime: its healthcheck against HTTP and HTTPS servers,
the compose example's bot against the compose example's config, and the build context the Dockerfile needs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from pybit.unified_trading import HTTP

from tests.serverproc import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[1]
IMAGE = "paperex:test"
TOKEN = "container-test-token"
# what a build says when it cannot reach the base image's registry or PyPI
NETWORK_TROUBLE = ("failed to resolve", "dial tcp", "no such host", "tls handshake timeout", "i/o timeout",
                   "temporary failure in name resolution", "network is unreachable", "could not fetch url",
                   "newconnectionerror", "max retries exceeded", "failed to do request", "proxyerror",
                   "connection refused", "no matching distribution found", "failed to fetch oauth token")


def container_runtime() -> str:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no container runtime: docker is not on PATH")
    info = subprocess.run([docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                          timeout=60)
    if info.returncode != 0:
        why = (info.stderr.strip().splitlines() or ["no reason given"])[-1]
        pytest.skip(f"no container runtime: `docker info` failed: {why}")
    return docker


def build_image(docker: str) -> None:
    done = subprocess.run([docker, "build", "--tag", IMAGE, str(ROOT)], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        output = done.stdout + done.stderr
        if any(sign in output.lower() for sign in NETWORK_TROUBLE):
            pytest.skip(f"the image build needs the network, which is not reachable: {output.strip()[-300:]}")
        pytest.fail(f"docker build failed:\n{output[-4000:]}")


def docker_out(docker: str, *args: str, timeout: float = 60) -> str:
    done = subprocess.run([docker, *args], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"docker {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def wait_healthy(docker: str, name: str, timeout: float = 150) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = docker_out(docker, "inspect", "--format", "{{.State.Status}} {{.State.Health.Status}}", name)
        if state == "running healthy":
            return
        if not state.startswith("running"):
            break
        time.sleep(1)
    logs = subprocess.run([docker, "logs", name], capture_output=True, text=True, timeout=60)
    pytest.fail(f"the container never became healthy ({state}):\n{logs.stdout[-3000:]}{logs.stderr[-3000:]}")


@pytest.mark.container
@pytest.mark.timeout(1200)
def test_the_image_serves_bybit_and_the_admin_api_behind_the_token() -> None:
    docker = container_runtime()
    build_image(docker)
    name = f"paperex-test-{uuid.uuid4().hex[:10]}"
    docker_out(docker, "run", "--detach", "--name", name, "--publish", "127.0.0.1::8080",
               "--env", f"PAPEREX_ADMIN_TOKEN={TOKEN}", "--env", "PAPEREX_ADMIN_REMOTE=1",
               "--env", "PAPEREX_NO_MARKET=1", "--health-interval", "1s", IMAGE)
    try:
        wait_healthy(docker, name)
        host_port = docker_out(docker, "port", name, "8080/tcp").splitlines()[0]
        base = f"http://{host_port}"
        assert requests.get(base + "/v5/market/time", timeout=10).json()["retCode"] == 0
        # the host is not loopback to the container: the admin API answers it only with the token
        assert requests.post(base + "/admin/v1/accounts", json={}, timeout=10).status_code == 401
        admin = {"X-Admin-Token": TOKEN}
        uid = requests.post(base + "/admin/v1/accounts", json={"balances": {"USDT": "5000"}}, headers=admin,
                            timeout=10).json()["result"]["uid"]
        key = requests.post(base + "/admin/v1/api-keys", json={"uid": uid}, headers=admin, timeout=10).json()["result"]
        session = HTTP(api_key=key["apiKey"], api_secret=key["apiSecret"], max_retries=1)
        session.endpoint = base
        placed = session.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit",
                                     qty="0.01", price="60000", orderLinkId="from-the-host")
        (row,) = session.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"]
        assert (row["orderId"], row["orderLinkId"]) == (placed["result"]["orderId"], "from-the-host")
        # not root, and the data dir is its user's alone
        assert docker_out(docker, "exec", name, "id", "-u") != "0"
        assert docker_out(docker, "exec", name, "stat", "-c", "%a", "/data") == "700"
        docker_out(docker, "stop", "--time", "30", name, timeout=90)
        assert docker_out(docker, "inspect", "--format", "{{.State.ExitCode}}", name) == "0"  # a clean SIGTERM
        assert "paperex stopped" in subprocess.run([docker, "logs", name], capture_output=True, text=True,
                                                   timeout=60).stderr
    finally:
        subprocess.run([docker, "rm", "--force", "--volumes", name], capture_output=True, timeout=120)


# -- what goes into the image, checked without a container runtime ----------------------------------------------

def healthcheck(*args: str, env: dict[str, str] | None = None) -> int:
    return subprocess.run([sys.executable, "-m", "paperex.healthcheck", *args], env={**os.environ, **(env or {})},
                          capture_output=True, timeout=60).returncode


def test_the_healthcheck_over_http_and_https(tmp_path) -> None:
    plain = ServerProcess(tmp_path / "plain", ["--no-demo"]).start()
    secure = ServerProcess(tmp_path / "secure", ["--no-demo"], tls=True).start()
    try:
        assert healthcheck(env={"PAPEREX_PORT": str(plain.port)}) == 0
        assert healthcheck(env={"PAPEREX_PORT": str(secure.port)}) == 0  # plain HTTP fails, HTTPS answers
        assert healthcheck(plain.base_url) == 0
        nobody = free_port()
        assert healthcheck(env={"PAPEREX_PORT": str(nobody)}) == 1
        assert healthcheck(f"http://127.0.0.1:{nobody}") == 1
    finally:
        plain.stop()
        secure.stop()


def test_the_compose_examples_bot_trades_on_the_compose_examples_exchange(tmp_path) -> None:
    server = ServerProcess(tmp_path, ["--no-demo", "--config", str(ROOT / "examples" / "paperex.toml")],
                           market=True).start()
    try:
        done = subprocess.run([sys.executable, str(ROOT / "examples" / "bot.py")], capture_output=True, text=True,
                              env={**os.environ, "PAPEREX_URL": server.base_url}, timeout=120)
        assert done.returncode == 0 and "round trip OK" in done.stdout, done.stdout + done.stderr
    finally:
        server.stop()


def test_the_build_context_holds_what_the_dockerfile_copies() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    ignore = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert ignore[0] == "*"  # nothing but what is let back in: no .venv, data dirs or tests in the image
    assert {"!pyproject.toml", "!README.md", "!src/"} <= set(ignore)
    assert "COPY pyproject.toml README.md ./" in dockerfile and "COPY src ./src" in dockerfile
    # the image configures `paperex serve` through variables it really reads
    serve_help = subprocess.run([sys.executable, "-m", "paperex", "serve", "--help"], capture_output=True,
                                text=True, timeout=60).stdout
    for variable in ("PAPEREX_HOST", "PAPEREX_PORT", "PAPEREX_DATA_DIR"):
        assert f"{variable}=" in dockerfile and variable in serve_help, variable
    assert "USER paperex" in dockerfile and 'VOLUME ["/data"]' in dockerfile and "EXPOSE 8080" in dockerfile
    assert 'CMD ["python", "-m", "paperex.healthcheck"]' in dockerfile
