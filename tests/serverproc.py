"""Start and stop real ``paperex serve`` processes for the wire tests, the way a user runs it."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_URL = re.compile(r"serving the Bybit V5 API at (https?://\S+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServerProcess:
    data_dir: Path
    extra_args: list[str] = field(default_factory=list)
    market: bool = False  # most tests want a quiet exchange: static prices, empty books
    # Bybit's rate limits: off unless a test is about them (tests drive one account faster than Bybit allows)
    rate_limits: bool = False
    env: dict[str, str] = field(default_factory=dict)  # more environment for the server
    tls: bool = False  # --tls: HTTPS/WSS with the data dir's local CA (``ca``); admin() trusts it
    ca_file: Path | None = None  # the CA of a server given its own certificate (--tls-cert)
    port: int = 0
    proc: subprocess.Popen[str] | None = None
    base_url: str = ""
    banner: str = ""
    output: list[str] = field(default_factory=list)

    def start(self, timeout: float = 20.0) -> ServerProcess:
        if not self.port:
            self.port = free_port()
        cmd = [sys.executable, "-m", "paperex", "serve", "--port", str(self.port), "--data-dir", str(self.data_dir),
               *self.extra_args, *([] if self.market else ["--no-market"]), *(["--tls"] if self.tls else [])]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, **self.env, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + timeout
        lines: list[str] = []
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                if self.proc.poll() is not None:
                    raise RuntimeError("paperex serve exited:\n" + "".join(lines))
                continue
            lines.append(line)
            m = _URL.search(line)
            if m:
                self.base_url = m.group(1)
                break
        else:
            raise RuntimeError("paperex serve did not start:\n" + "".join(lines))
        if "--no-demo" not in self.extra_args:  # read the rest of the banner (ends with the ccxt snippet)
            while not lines[-1].startswith("  print(ex.fetch_balance"):
                lines.append(self.proc.stdout.readline())
        self.banner = "".join(lines)
        self.output = lines
        # keep reading what the server prints, so its logging can never block on a full pipe
        threading.Thread(target=self._drain, args=(self.proc.stdout, lines), daemon=True).start()
        if not self.rate_limits and "--admin-token" not in self.extra_args and "PAPEREX_ADMIN_TOKEN" not in self.env:
            assert self.admin("POST", "/admin/v1/rate-limits", {"enabled": False})["retCode"] == 0
        return self

    @staticmethod
    def _drain(stream: Any, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)

    @property
    def ca(self) -> Path:
        """The CA that vouches for an https server: ``ca_file``, or the local CA ``--tls`` made in its data dir."""
        return self.ca_file or Path(self.data_dir) / "tls" / "ca.pem"

    def log_contains(self, text: str) -> bool:
        return any(text in line for line in list(self.output))

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill9(self) -> None:
        self.stop(signal.SIGKILL)

    # -- admin API ------------------------------------------------------------------------------
    def admin(self, method: str, path: str, body: dict[str, Any] | None = None,
              headers: dict[str, str] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
        context = ssl.create_default_context(cafile=str(self.ca)) if self.base_url.startswith("https") else None
        with urllib.request.urlopen(req, timeout=10, context=context) as resp:
            return json.loads(resp.read())

    def create_account(self, balances: dict[str, str] | None = None) -> str:
        default = {"USDT": "100000"}
        reply = self.admin("POST", "/admin/v1/accounts", {"balances": default if balances is None else balances})
        assert reply["retCode"] == 0, reply
        return reply["result"]["uid"]

    def create_key(self, uid: str, **options: Any) -> dict[str, str]:
        reply = self.admin("POST", "/admin/v1/api-keys", {"uid": uid, **options})
        assert reply["retCode"] == 0, reply
        return reply["result"]
