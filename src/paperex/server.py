"""Assembly: market data + journal replay -> core, sequencer, aiohttp app (V5 REST + admin)."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

import paperex.gateway.handlers  # noqa: F401  (registers the V5 endpoints)
from paperex.admin.api import ADMIN, ADMIN_TOKEN, add_admin_routes
from paperex.admin.service import AdminService, NewKey
from paperex.core.engine import Exchange
from paperex.data import load_market
from paperex.gateway.rest import MAX_BODY, SEQUENCER, dispatch
from paperex.gateway.transport import answer_parse_errors_with_catalog
from paperex.journal.group_commit import GroupCommitWriter
from paperex.journal.lock import DataDirLock
from paperex.journal.sqlite import SqliteJournal
from paperex.market.clock import WallClock
from paperex.sequencer import Sequencer, replay

log = logging.getLogger("paperex")

JOURNAL_FILE = "journal.sqlite3"


def tune_gc() -> None:
    """The exchange keeps many long-lived objects (orders, executions, candles) and makes few cycles.
    Collecting the young generation every 100k allocations instead of 700 costs a little memory and
    makes the core about 1.5x faster (bench/core_bench.py); freezing what startup built keeps the
    replayed state out of every later collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("paperex-data")
    demo: bool = True
    admin_token: str | None = None


class Node:
    """One running exchange: the core behind its sequencer, with its journal."""

    def __init__(self, data_dir: Path) -> None:
        self.lock = DataDirLock(data_dir)  # raises DataDirBusy if another process has it
        try:
            self.journal = SqliteJournal(Path(data_dir) / JOURNAL_FILE)
            self.core = Exchange(load_market())
            last_seq = replay(self.core, self.journal)
        except BaseException:
            self.lock.release()
            raise
        self.writer = GroupCommitWriter(self.journal)
        self.sequencer = Sequencer(self.core, self.writer, WallClock(), last_seq)
        self.admin = AdminService(self.sequencer)

    def start(self) -> None:
        self.writer.start()

    async def close(self) -> None:
        await self.writer.stop()
        self.journal.close()
        self.lock.release()


def build_app(node: Node, admin_token: str | None = None) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[SEQUENCER] = node.sequencer
    app[ADMIN] = node.admin
    app[ADMIN_TOKEN] = admin_token
    add_admin_routes(app)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app


def banner(base_url: str, key: NewKey) -> str:
    return f"""paperex is serving the Bybit V5 API at {base_url}
demo account uid {key.uid}
  API key:    {key.api_key}
  API secret: {key.api_secret}

pybit:
  from pybit.unified_trading import HTTP
  s = HTTP(api_key="{key.api_key}", api_secret="{key.api_secret}")
  s.endpoint = "{base_url}"
  print(s.get_wallet_balance(accountType="UNIFIED"))

ccxt:
  import ccxt
  ex = ccxt.bybit({{"apiKey": "{key.api_key}", "secret": "{key.api_secret}"}})
  ex.urls["api"] = {{k: "{base_url}" for k in ("spot", "futures", "v2", "public", "private")}}
  print(ex.fetch_balance()["USDT"])
"""


async def serve(options: ServeOptions, ready: asyncio.Event | None = None) -> None:
    node = Node(options.data_dir)
    tune_gc()
    node.start()
    runner = web.AppRunner(build_app(node, options.admin_token), access_log=None)
    await runner.setup()
    answer_parse_errors_with_catalog(runner)
    site = web.TCPSite(runner, options.host, options.port, reuse_address=True)
    await site.start()
    port = runner.addresses[0][1] if runner.addresses else options.port
    base_url = f"http://{options.host}:{port}"
    if options.demo:
        key = await node.admin.ensure_demo()
        print(banner(base_url, key), flush=True)
    else:
        print(f"paperex is serving the Bybit V5 API at {base_url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await node.close()
        log.info("paperex stopped")
