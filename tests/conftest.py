"""Fixtures: a real ``paperex serve`` process per test session, accounts and keys made through the admin
API, and real pybit / ccxt clients pointed at it exactly as the README tells users to."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ccxt
import pytest
from pybit.unified_trading import HTTP

from paperex.core import calendar
from paperex.data import load_market
from tests.serverproc import ServerProcess

SHARED_REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"


def dated(category: str | None = None) -> int:
    """How many dated futures the calendar lists now (12 most weeks: 2+2 inverse quarterlies, a weekly and two
    quarterlies on BTC and ETH in USDT, one USDC quarterly each; fewer the week a weekly is also a quarterly)."""
    now = int(time.time() * 1000)
    return sum(len(calendar.live(s, now)) for s in load_market().series if category in (None, s.category))


@dataclass
class Trader:
    uid: str
    api_key: str
    api_secret: str


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("paperex-data")).start()
    yield proc
    proc.stop()


def make_trader(server: ServerProcess, balances: dict[str, str] | None = None, **key_options) -> Trader:
    uid = server.create_account(balances)
    key = server.create_key(uid, **key_options)
    return Trader(uid=uid, api_key=key["apiKey"], api_secret=key.get("apiSecret", ""))


@pytest.fixture()
def trader(server: ServerProcess) -> Trader:
    return make_trader(server)


def pybit_http(server: ServerProcess, api_key: str = "", api_secret: str = "", **options) -> HTTP:
    options.setdefault("max_retries", 1)  # an error is an answer to look at, not a reason to send again
    session = HTTP(api_key=api_key or None, api_secret=api_secret or None, **options)
    session.endpoint = server.base_url
    return session


def ccxt_config(server: ServerProcess, api_key: str = "", secret: str = "", **options) -> dict:
    urls = {k: server.base_url for k in ("spot", "futures", "v2", "public", "private")}
    return {
        "apiKey": api_key,
        "secret": secret,
        "urls": {"api": urls},
        "options": {"fetchMarkets": {"types": ["spot", "linear", "inverse"]}, **options},
    }


def ccxt_sync(server: ServerProcess, api_key: str = "", secret: str = "", **options) -> ccxt.bybit:
    ex = ccxt.bybit(ccxt_config(server, api_key, secret, **options))
    ex.has["option"] = False  # paperex lists no options (dated futures it does: ccxt's has["future"] holds)
    return ex


@pytest.fixture()
def pybit_session(server: ServerProcess, trader: Trader) -> HTTP:
    return pybit_http(server, trader.api_key, trader.api_secret)


@pytest.fixture()
def exchange(server: ServerProcess, trader: Trader) -> ccxt.bybit:
    return ccxt_sync(server, trader.api_key, trader.api_secret)


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL cluster of our own; skipped (visibly) only where the server cannot be had.
    Its directory is outside pytest's private tmp tree: the postgres user must be able to reach it."""
    import shutil
    import tempfile

    from tests.pg import PostgresCluster

    root = Path(tempfile.mkdtemp(prefix="paperex-pg-"))
    try:
        cluster = PostgresCluster(root).start()
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"PostgreSQL is not available on this machine ({exc}); install Debian's postgresql package")
    yield cluster
    cluster.stop()
    shutil.rmtree(root, ignore_errors=True)


def ccxt_pro_urls(server: ServerProcess) -> dict:
    """ccxt's ``urls['api']`` pointed at a paperex server, REST and WebSocket (clients.md §B5)."""
    ws_url = server.base_url.replace("http", "ws")
    private = f"{ws_url}/v5/private"
    urls: dict = {k: server.base_url for k in ("spot", "futures", "v2", "public", "private")}
    urls["ws"] = {"public": {c: f"{ws_url}/v5/public/{c}" for c in ("spot", "linear", "inverse", "option")},
                  "private": {"contract": private, "usdc": private, "trade": f"{ws_url}/v5/trade",
                              "spot": {"unified": private, "nonUnified": private}}}
    return urls
