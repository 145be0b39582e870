"""``Venue``: a paperex exchange for a test, started in one call and steered through a typed handle.

    from paperex.testing import Venue

    with Venue.start() as venue:                      # virtual time, no living market, in this process
        alice = venue.account(balances={"USDT": "10000"})
        session = alice.pybit()                       # pybit's HTTP, pointed at the venue
        venue.set_price("BTCUSDT", index="65000")
        venue.advance(minutes=5)
        print(venue.requests())                       # what the bot asked and what it got

Two ways to run: **in-process** (default: the server runs on an event loop in a thread of this process; a fresh
venue is ready in a few milliseconds once the first has imported the server, ~0.4 s) or **subprocess**
(``process=True``: ``paperex serve`` in a child process — isolation from the test's own process, e.g. for crash
tests, at about 0.4 s a start). Measured figures: docs/testing.md. Both bind 127.0.0.1 on a free port, use an
in-memory journal unless given a data dir, and protect the admin API with a random token only this handle knows.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

VIRTUAL_START = "2026-01-01T00:00:00Z"
_URL = re.compile(r"serving the Bybit V5 API at (https?://\S+)")


class VenueError(RuntimeError):
    """The admin API refused a request (its retCode and retMsg), or the venue did not start."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Account:
    """An account on the venue and its API key (full permissions unless asked otherwise)."""

    venue: Venue = field(repr=False)
    uid: int
    api_key: str
    api_secret: str = field(repr=False)  # kept out of failure reports, which print a test's arguments

    # -- clients, pointed at the venue ---------------------------------------------------------
    def pybit(self, **options: Any) -> Any:
        """pybit's ``unified_trading.HTTP`` for this account (``max_retries`` 1: an error is an answer)."""
        from pybit.unified_trading import HTTP

        options.setdefault("max_retries", 1)
        session = HTTP(api_key=self.api_key, api_secret=self.api_secret, **options)
        session.endpoint = self.venue.base_url
        return session

    def pybit_websocket(self, channel_type: str = "private", **options: Any) -> Any:
        """pybit's ``unified_trading.WebSocket`` (``private``, ``linear``, ``inverse`` or ``spot``) on the venue."""
        return self.venue.pybit_websocket(channel_type, api_key=self.api_key, api_secret=self.api_secret, **options)

    def ccxt(self, **config: Any) -> Any:
        import ccxt

        return ccxt.bybit(self.venue.ccxt_config(self.api_key, self.api_secret, **config))

    def ccxt_async(self, **config: Any) -> Any:
        import ccxt.async_support as ccxt_async

        return ccxt_async.bybit(self.venue.ccxt_config(self.api_key, self.api_secret, **config))

    def ccxt_pro(self, **config: Any) -> Any:
        import ccxt.pro as ccxt_pro

        return ccxt_pro.bybit(self.venue.ccxt_config(self.api_key, self.api_secret, **config))

    # -- steering ------------------------------------------------------------------------------
    def deposit(self, coin: str, amount: str | Decimal | int, account_type: str = "UNIFIED") -> None:
        self.venue.admin("POST", "/admin/v1/deposit", {"uid": str(self.uid), "coin": coin, "amount": str(amount),
                                                        "accountType": account_type})

    def restrict(self, **rules: Any) -> None:
        """Account rules (docs/admin.md): ``frozen``/``banned`` status, ``trading_banned``, ``rate_level``…;
        None removes one."""
        self.venue.admin("POST", f"/admin/v1/accounts/{self.uid}/rules", rules)

    def state(self) -> dict[str, Any]:
        """The admin view of the account (balances, positions, orders)."""
        return self.venue.admin("GET", f"/admin/v1/accounts/{self.uid}")

    def requests(self) -> list[dict[str, Any]]:
        """The requests this account's key made (oldest first) and what each got."""
        return self.venue.requests(uid=self.uid)


@dataclass
class Venue:
    """A running paperex exchange. Build it with ``Venue.start()``; stop it with ``stop()`` (or ``with``)."""

    base_url: str
    admin_token: str = field(repr=False)
    virtual: bool
    _stop: Any = field(default=None, repr=False)  # how to stop it
    _data_dir: Path | None = field(default=None, repr=False)  # a temporary data dir to remove at stop
    accounts: list[Account] = field(default_factory=list, repr=False)
    started_in_ms: float = 0.0  # how long the start took

    # -- life ----------------------------------------------------------------------------------
    @classmethod
    def start(cls, config: str | Path | dict[str, Any] | None = None, *, market: bool = False,
              virtual: bool = True, start: str = VIRTUAL_START, rate_limits: bool = True,
              data_dir: str | Path | None = None, process: bool = False, timeout: float = 30.0) -> Venue:
        """Start an exchange. ``config``: a TOML file, TOML text or an already parsed dict (docs/configuration.md);
        its ``[clock]`` wins over ``virtual``/``start``. ``market``: the living market (a past, a book, background
        trades); off by default, so a test sees only what it does. ``rate_limits``: Bybit's (on, as on Bybit).
        ``data_dir``: keep the journal there (SQLite) instead of in memory."""
        began = time.perf_counter()
        data = _config_dict(config)
        clock = data.setdefault("clock", {})
        if virtual:
            clock.setdefault("mode", "virtual")
            clock.setdefault("start", start)
        token = secrets.token_urlsafe(24)
        temp = Path(tempfile.mkdtemp(prefix="paperex-"))  # the config file, and the data dir unless given
        data_path = Path(data_dir) if data_dir is not None else temp / "data"
        journal = None if data_dir is not None else "memory"
        try:
            if process:
                venue = cls._start_process(data, temp, data_path, journal, market, token, timeout)
            else:
                venue = cls._start_thread(data, temp, data_path, journal, market, token, timeout)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
        venue._data_dir = temp
        venue.virtual = data["clock"].get("mode") == "virtual"
        if not rate_limits:
            venue.admin("POST", "/admin/v1/rate-limits", {"enabled": False})
        venue.started_in_ms = (time.perf_counter() - began) * 1000
        return venue

    @classmethod
    def _start_thread(cls, data: dict[str, Any], root: Path, data_path: Path, journal: str | None, market: bool,
                      token: str, timeout: float) -> Venue:
        from paperex.config import parse
        from paperex.server import Embedded, ServeOptions, serve

        options = ServeOptions(port=0, data_dir=data_path, demo=False, admin_token=token, journal=journal,
                               config=parse(data, root), market=market)
        embedded = Embedded()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(serve(options, embedded))
            except BaseException as exc:  # reported to the starter, or at stop
                failure.append(exc)
                embedded.started.set()

        thread = threading.Thread(target=run, name="paperex-venue", daemon=True)
        thread.start()
        if not embedded.started.wait(timeout) or failure:
            raise VenueError(f"paperex did not start: {failure[0]!r}" if failure else "paperex did not start")
        loop_stop = embedded.stop
        assert loop_stop is not None
        loop = embedded.loop
        assert loop is not None

        def stop() -> None:
            loop.call_soon_threadsafe(loop_stop.set)
            thread.join(timeout=30)
            if failure:
                raise VenueError(f"paperex stopped with an error: {failure[0]!r}")

        return cls(base_url=embedded.base_url, admin_token=token, virtual=True, _stop=stop)

    @classmethod
    def _start_process(cls, data: dict[str, Any], root: Path, data_path: Path, journal: str | None, market: bool,
                       token: str, timeout: float) -> Venue:
        path = root / "paperex.toml"
        path.write_text(_toml(data))
        port = _free_port()
        cmd = [sys.executable, "-m", "paperex", "serve", "--port", str(port), "--data-dir", str(data_path),
               "--no-demo", "--config", str(path), *([] if market else ["--no-market"]),
               *(["--journal", journal] if journal else [])]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, "PAPEREX_ADMIN_TOKEN": token, "PYTHONUNBUFFERED": "1"})
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        base_url = ""
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                if proc.poll() is not None:
                    raise VenueError("paperex serve exited:\n" + "".join(lines))
                continue
            lines.append(line)
            m = _URL.search(line)
            if m:
                base_url = m.group(1)
                break
        if not base_url:
            proc.kill()
            raise VenueError("paperex serve did not start:\n" + "".join(lines))
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # type: ignore[union-attr]

        def stop() -> None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

        return cls(base_url=base_url, admin_token=token, virtual=True, _stop=stop)

    def stop(self) -> None:
        if self._stop is not None:
            stop, self._stop = self._stop, None
            try:
                stop()
            finally:
                if self._data_dir is not None:
                    shutil.rmtree(self._data_dir, ignore_errors=True)

    def __enter__(self) -> Venue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the admin API -------------------------------------------------------------------------
    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One admin call (docs/admin.md); its ``result``, or ``VenueError`` with the retCode and retMsg."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers={
            "Content-Type": "application/json", "X-Admin-Token": self.admin_token})
        try:
            with urllib.request.urlopen(request, timeout=60) as resp:
                reply = json.loads(resp.read())
        except urllib.error.HTTPError as err:
            raise VenueError(f"{method} {path}: HTTP {err.code}") from None
        if reply.get("retCode") != 0:
            raise VenueError(f"{method} {path}: {reply.get('retCode')} {reply.get('retMsg')}", reply.get("retCode"))
        return reply["result"]

    def account(self, balances: dict[str, str | int | Decimal] | None = None, *, classic: bool = False,
                read_only: bool = False, permissions: dict[str, list[str]] | None = None,
                ips: list[str] | None = None, api_key: str | None = None, api_secret: str | None = None) -> Account:
        """A new account with these balances (default: 10,000 USDT) and an API key (HMAC): random, or the given
        ``api_key``/``api_secret`` (letters and digits), so two runs of the same test reach equal digests."""
        wanted = {"USDT": "10000"} if balances is None else balances
        uid = self.admin("POST", "/admin/v1/accounts", {"balances": {c: str(v) for c, v in wanted.items()},
                                                        "classic": classic})["uid"]
        body: dict[str, Any] = {"uid": uid, "readOnly": 1 if read_only else 0}
        if permissions is not None:
            body["permissions"] = permissions
        if ips is not None:
            body["ips"] = ips
        if api_key is not None:
            body["apiKey"] = api_key
        if api_secret is not None:
            body["apiSecret"] = api_secret
        key = self.admin("POST", "/admin/v1/api-keys", body)
        account = Account(self, int(uid), key["apiKey"], key["apiSecret"])
        self.accounts.append(account)
        return account

    def set_price(self, symbol: str, index: str | Decimal | None = None, mark: str | Decimal | None = None,
                  category: str = "linear") -> None:
        """Move a symbol's index and/or mark price (the mark follows the index unless given): liquidations,
        conditional orders and TP/SL react as they would to the market."""
        body: dict[str, Any] = {"category": category, "symbol": symbol}
        if index is not None:
            body["indexPrice"] = str(index)
        if mark is not None:
            body["markPrice"] = str(mark)
        self.admin("POST", "/admin/v1/prices", body)

    def now(self) -> int:
        """The exchange clock (ms)."""
        return int(self.admin("GET", "/admin/v1/clock")["time"])

    def advance(self, ms: int = 0, *, seconds: float = 0, minutes: float = 0, hours: float = 0,
                days: float = 0) -> int:
        """Move virtual time forward (funding, deliveries, the living market's steps happen on the way);
        returns the new time."""
        total = int(ms + seconds * 1000 + minutes * 60_000 + hours * 3_600_000 + days * 86_400_000)
        return int(self.admin("POST", "/admin/v1/clock/advance", {"ms": total})["time"])

    def restrict_symbol(self, symbol: str, category: str = "linear", **rules: Any) -> None:
        """Symbol rules (docs/admin.md): ``halted``, ``settling``, ``reduce_only``, ``max_open_interest``…"""
        self.admin("POST", f"/admin/v1/symbols/{category}/{symbol}/rules", rules)

    def fault(self, path: str = "*", *, code: int = 0, latency_ms: int = 0, count: int = 0, seconds: float = 0,
              applied: bool = True) -> None:
        """Inject a fault on a REST path (or ``*``): answer ``code`` (e.g. 10000 a timeout, 10016) and/or wait
        ``latency_ms``, for ``count`` requests or ``seconds``; ``applied``: whether the request still takes
        effect (the client sees a failure for an order that was placed)."""
        body: dict[str, Any] = {"path": path, "code": code, "latency_ms": latency_ms, "count": count,
                                "applied": applied}
        if seconds:
            body["seconds"] = seconds
        if not count and not seconds:
            body["count"] = 1
        self.admin("POST", "/admin/v1/faults", body)

    def clear_faults(self) -> None:
        self.admin("POST", "/admin/v1/faults/clear", {})

    def drop_websockets(self) -> None:
        """Cut every WebSocket connection at once, as a network failure would."""
        self.admin("POST", "/admin/v1/faults/ws-drop", {})

    def health(self) -> dict[str, Any]:
        """Health: accepting writes, money conservation per coin, journal state."""
        return self.admin("GET", "/admin/v1/health")

    def digest(self) -> str:
        """A hash of the whole exchange state: equal digests, equal states (replays are reproducible)."""
        return str(self.admin("GET", "/admin/v1/health?digest=1")["stateDigest"])

    def requests(self, *, uid: int | None = None, after: int = 0) -> list[dict[str, Any]]:
        """The request log: every REST and WebSocket order-entry request the venue answered (oldest first),
        with its parameters and the retCode/retMsg it got."""
        query = f"?after={after}" + (f"&uid={uid}" if uid is not None else "")
        return list(self.admin("GET", "/admin/v1/requests" + query)["list"])

    # -- clients -------------------------------------------------------------------------------
    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http", "ws", 1)

    def ccxt_urls(self) -> dict[str, Any]:
        """ccxt's ``urls['api']`` for the venue: REST and WebSocket (public, private, trade)."""
        private = f"{self.ws_url}/v5/private"
        urls: dict[str, Any] = {k: self.base_url for k in ("spot", "futures", "v2", "public", "private")}
        urls["ws"] = {"public": {c: f"{self.ws_url}/v5/public/{c}" for c in ("spot", "linear", "inverse", "option")},
                      "private": {"contract": private, "usdc": private, "trade": f"{self.ws_url}/v5/trade",
                                  "spot": {"unified": private, "nonUnified": private}}}
        return urls

    def ccxt_config(self, api_key: str = "", secret: str = "", **config: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"apiKey": api_key, "secret": secret, "urls": {"api": self.ccxt_urls()}}
        out.update(config)
        return out

    def ccxt(self, **config: Any) -> Any:
        """A public (keyless) ccxt client; ``account.ccxt()`` for a private one."""
        import ccxt

        return ccxt.bybit(self.ccxt_config(**config))

    def pybit(self, **options: Any) -> Any:
        """A public (keyless) pybit HTTP session; ``account.pybit()`` for a private one."""
        from pybit.unified_trading import HTTP

        options.setdefault("max_retries", 1)
        session = HTTP(**options)
        session.endpoint = self.base_url
        return session

    def pybit_websocket(self, channel_type: str, **options: Any) -> Any:
        """pybit's ``WebSocket`` on the venue. pybit reads its stream addresses from module globals: they are
        pointed here (one venue's streams at a time per process)."""
        import pybit.unified_trading as unified

        unified.PUBLIC_WSS = self.ws_url + "/v5/public/{CHANNEL_TYPE}"
        unified.PRIVATE_WSS = self.ws_url + "/v5/private"
        return unified.WebSocket(testnet=False, channel_type=channel_type, **options)


# -- helpers ---------------------------------------------------------------------------------------------
def _config_dict(config: str | Path | dict[str, Any] | None) -> dict[str, Any]:
    """The config as a dict the venue may add its clock to; a file's relative data-file paths made absolute
    (the venue writes or parses it elsewhere)."""
    if config is None:
        return {}
    if isinstance(config, dict):
        return json.loads(json.dumps(config, default=str))
    if isinstance(config, Path) or (isinstance(config, str) and "\n" not in config and config.endswith(".toml")):
        path = Path(config)
        data = tomllib.loads(path.read_text())
        for row in data.get("symbols", []):
            if isinstance(row, dict) and isinstance(row.get("file"), str):
                row["file"] = str((path.parent / row["file"]).resolve())
        return data
    return tomllib.loads(config)


def _toml(data: dict[str, Any], prefix: str = "") -> str:
    """A small TOML writer for what ``paperex.config`` reads: tables, arrays of tables, scalars and lists."""
    lines, tables = [], []
    for key, value in data.items():
        if isinstance(value, dict) or (isinstance(value, list) and value and all(isinstance(v, dict) for v in value)):
            tables.append((key, value))
        else:
            lines.append(f"{key} = {_scalar(value)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for key, value in tables:
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out += f"\n[{name}]\n" + _toml(value, name + ".")
        else:
            for item in value:
                out += f"\n[[{name}]]\n" + _toml(item, name + ".")
    return out


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_scalar(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
