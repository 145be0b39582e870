"""Assembly: market data + journal replay -> core, sequencer, aiohttp app (V5 REST + admin)."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

import paperex.gateway.handlers  # noqa: F401  (registers the V5 endpoints)
from paperex.admin.api import ADMIN, ADMIN_REMOTE, ADMIN_TOKEN, DRIVER, add_admin_routes
from paperex.admin.service import AdminService, NewKey
from paperex.config import Config
from paperex.core.commands import Tick
from paperex.dashboard import add_dashboard_routes
from paperex.data import load_market
from paperex.errors import ApiError
from paperex.gateway.faults import FAULTS, Fault, FaultInjector
from paperex.gateway.rate_limits import RATE_LIMITER, RateLimiter, RateLimitSettings
from paperex.gateway.request_log import REQUEST_LOG, RequestLog
from paperex.gateway.rest import MAX_BODY, SEQUENCER, dispatch
from paperex.gateway.transport import answer_parse_errors_with_catalog
from paperex.gateway.ws_client import WS_CLIENTS, WS_SETTINGS, WsSettings, close_all
from paperex.gateway.ws_private import PRIVATE, PrivateStreams, private_socket
from paperex.gateway.ws_public import STREAMS, PublicStreams, public_socket
from paperex.gateway.ws_trade import trade_socket
from paperex.journal.group_commit import GroupCommitWriter
from paperex.journal.lock import DataDirLock
from paperex.journal.marker import DurableMarker
from paperex.journal.sqlite import SqliteJournal
from paperex.journal.store import JournalError, JournalStore
from paperex.market.clock import Clock, VirtualClock, WallClock
from paperex.sequencer import Sequencer, restore
from paperex.tls import WILDCARD_HOSTS, TlsFiles, local_certificates, server_context, server_names

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


DEFAULT_SNAPSHOT_EVERY = 100_000


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("paperex-data")
    demo: bool = True
    admin_token: str | None = None
    journal: str | None = None  # None: SQLite in the data dir; or a postgresql:// URL
    snapshot_every: int = DEFAULT_SNAPSHOT_EVERY
    config: Config | None = None  # None: the defaults (docs/configuration.md)
    market: bool = True  # False: no feeds and no market maker (a static, empty exchange)
    admin_remote: bool = False  # admin API for clients on other hosts too (needs admin_token)
    tls: bool = False  # HTTPS and WSS: the data dir's local CA, or tls_cert/tls_key
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_names: tuple[str, ...] = ()  # more names for the local CA's server certificate (e.g. a compose service)


def open_journal(data_dir: Path, url: str | None) -> JournalStore:
    if url == "memory":
        from paperex.journal.memory import MemoryJournal

        return MemoryJournal()
    if url is None or url.startswith("sqlite:"):
        path = Path(url.removeprefix("sqlite:")) if url else Path(data_dir) / JOURNAL_FILE
        return SqliteJournal(path)
    if url.startswith(("postgresql://", "postgres://")):
        from paperex.journal.postgres import PostgresJournal

        return PostgresJournal(url)
    raise ValueError(f"unknown journal {url!r}: use a postgresql:// URL, 'memory', or leave it out for SQLite")


class Node:
    """One running exchange: the core behind its sequencer, with its journal."""

    def __init__(self, data_dir: Path, journal: str | None = None,
                 snapshot_every: int = DEFAULT_SNAPSHOT_EVERY, clock: Clock | None = None) -> None:
        self.lock = DataDirLock(data_dir)  # raises DataDirBusy if another process has it
        try:
            self.journal = open_journal(Path(data_dir), journal)
            self.core, last_seq, snap_seq = restore(load_market(), self.journal)
        except BaseException:
            self.lock.release()
            raise
        marker = DurableMarker(data_dir) if journal is None or journal.startswith("sqlite:") else None
        problem = marker.check(last_seq) if marker is not None else None
        if problem is not None:
            self.journal.close()
            self.lock.release()
            raise JournalError(problem)
        self.recovery_report = self.journal.recovery_report
        log.info("restored to journal seq %d (snapshot at %d, %d commands replayed)", last_seq, snap_seq,
                 last_seq - snap_seq)
        self.writer = GroupCommitWriter(self.journal)
        self.marker = marker
        if marker is not None:
            self.writer.on_durable = marker.write
        clock = clock or WallClock()
        if isinstance(clock, VirtualClock):  # virtual time resumes where the journal stopped
            clock.set(max(clock.ms, self.core.last_ts))
        self.sequencer = Sequencer(self.core, self.writer, clock, last_seq, snapshot_every, snap_seq)
        self.admin = AdminService(self.sequencer, self.recovery_report)

    def start(self) -> None:
        self.writer.start()

    async def close(self, snapshot: bool = True) -> None:
        """Stop cleanly: a snapshot of the final state (if anything changed since the last one), then the
        journal is drained and closed."""
        await self.sequencer.stop_snapshots()  # a snapshot child still at work is ended (and reaped)
        healthy = self.writer.failed is None and self.sequencer.broken is None  # never snapshot a broken core
        if snapshot and healthy and self.sequencer.seq > self.sequencer.snapshot_seq:
            self.writer.start()  # idempotent: a node that never served still writes its final snapshot
            try:
                self.sequencer.take_snapshot(background=False)  # at close: on the loop, nothing else to serve
            except Exception:
                log.exception("final snapshot failed; the journal still holds everything")
        await self.writer.stop()
        if self.marker is not None:
            self.marker.close()
        self.journal.close()
        self.lock.release()


def build_app(node: Node, admin_token: str | None = None, ws: WsSettings | None = None,
              limits: RateLimitSettings | None = None, admin_remote: bool = False) -> web.Application:
    if admin_remote and not admin_token:
        raise ValueError("the admin API is open to other hosts only behind an admin token (--admin-token or "
                         "$PAPEREX_ADMIN_TOKEN)")
    app = web.Application(client_max_size=MAX_BODY)
    app[WS_SETTINGS] = ws or WsSettings()
    app[WS_CLIENTS] = set()
    app[RATE_LIMITER] = RateLimiter(limits)
    app[FAULTS] = FaultInjector()
    app[REQUEST_LOG] = RequestLog()
    app.on_shutdown.append(close_all)
    app[SEQUENCER] = node.sequencer
    app[ADMIN] = node.admin
    app[ADMIN_TOKEN] = admin_token
    app[ADMIN_REMOTE] = admin_remote
    app[DRIVER] = None
    add_admin_routes(app)
    app[STREAMS] = streams = PublicStreams(node.sequencer)
    app[PRIVATE] = PrivateStreams(node.sequencer)
    app.router.add_get("/v5/public/{category}", public_socket)
    app.router.add_get("/v5/private", private_socket)
    app.router.add_get("/v5/trade", trade_socket)
    add_dashboard_routes(app)  # the web dashboard at / (paperex.dashboard)
    app.router.add_route("*", "/{tail:.*}", dispatch)

    async def start_streams(app: web.Application) -> None:
        streams.start()

    async def stop_streams(app: web.Application) -> None:
        await streams.stop()

    app.on_startup.append(start_streams)
    app.on_cleanup.append(stop_streams)
    return app


async def funding_times(sequencer: Sequencer) -> None:
    """Real time: settle each funding time (and list, deliver, close dated futures) when it comes, even when no
    other command arrives (the sequencer journals a Tick for it). Virtual time settles them as the clock is advanced."""
    while True:
        wait_ms = sequencer.core.next_timed_check() - sequencer.now_ms()
        await asyncio.sleep(min(max(wait_ms, 0) / 1000 + 0.01, 60))
        if sequencer.now_ms() >= sequencer.core.next_timed_check():
            try:
                await sequencer.submit(Tick())
            except ApiError:
                log.exception("funding tick failed")


def url_host(host: str) -> str:
    """The host part of the URL to print: a wildcard (every interface) is reached here as 127.0.0.1, which the
    local CA's certificate names too; an IPv6 address goes in brackets."""
    if host in WILDCARD_HOSTS:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def tls_note(files: TlsFiles) -> str:
    if files.ca is None:
        return f"TLS: serving HTTPS and WSS with {files.cert}"
    return (f"TLS: serving HTTPS and WSS with a certificate from paperex's local CA; trust the CA at {files.ca}\n"
            f"  (pybit HTTP: session.client.verify; ccxt: REQUESTS_CA_BUNDLE={files.ca} with "
            f"requests_trust_env=True; ccxt.pro: cafile; pybit WebSocket: WEBSOCKET_CLIENT_CA_BUNDLE={files.ca}; "
            "docs/container.md#tls)")


def banner(base_url: str, key: NewKey, ca: Path | None = None) -> str:
    trust_pybit = f'\n  s.client.verify = "{ca}"  # trust paperex\'s local CA' if ca else ""
    trust_ccxt = (f'\n  import os; os.environ["REQUESTS_CA_BUNDLE"] = "{ca}"  # trust paperex\'s local CA'
                  if ca else "")
    trust_option = ', "requests_trust_env": True' if ca else ""
    return f"""paperex is serving the Bybit V5 API at {base_url}
demo account uid {key.uid}
  API key:    {key.api_key}
  API secret: {key.api_secret}

pybit:
  from pybit.unified_trading import HTTP
  s = HTTP(api_key="{key.api_key}", api_secret="{key.api_secret}")
  s.endpoint = "{base_url}"{trust_pybit}
  print(s.get_wallet_balance(accountType="UNIFIED"))

ccxt:
  import ccxt{trust_ccxt}
  ex = ccxt.bybit({{"apiKey": "{key.api_key}", "secret": "{key.api_secret}"{trust_option}}})
  ex.urls["api"] = {{k: "{base_url}" for k in ("spot", "futures", "v2", "public", "private")}}
  print(ex.fetch_balance()["USDT"])
"""


@dataclass
class Embedded:
    """A server run inside another program (paperex.testing): it says where it serves, and stops when asked,
    instead of printing a banner and waiting for a signal."""

    base_url: str = ""
    started: threading.Event = field(default_factory=threading.Event)
    stop: asyncio.Event | None = None  # set by the server's loop once it runs: ``stop.set()`` (thread-safely)
    loop: asyncio.AbstractEventLoop | None = None
    app: web.Application | None = None



def tls_setup(options: ServeOptions) -> tuple[ssl.SSLContext, TlsFiles] | None:
    """The server's TLS context and files (None: plain HTTP)."""
    if options.tls_cert is not None or options.tls_key is not None:
        if options.tls_cert is None or options.tls_key is None:
            raise ValueError("--tls-cert and --tls-key go together")
        files = TlsFiles(cert=Path(options.tls_cert), key=Path(options.tls_key), ca=None)
    elif options.tls:
        files = local_certificates(options.data_dir, server_names(options.host, options.tls_names))
    else:
        return None
    return server_context(files), files


async def serve(options: ServeOptions, embedded: Embedded | None = None) -> None:
    from paperex.market.setup import build_market, ensure_accounts, ensure_symbol_rules

    if options.admin_remote and not options.admin_token:
        raise ValueError("--admin-remote needs an admin token (--admin-token or $PAPEREX_ADMIN_TOKEN): the admin "
                         "API moves money")
    config = options.config or Config()
    clock: Clock = VirtualClock(config.start_ms) if config.clock == "virtual" else WallClock()
    node = Node(options.data_dir, options.journal, options.snapshot_every, clock)
    try:  # under the data dir's lock: two servers never make the CA at once
        tls = tls_setup(options)
    except BaseException:
        await node.close(snapshot=False)
        raise
    if embedded is None:  # the host program's collector is its own business
        tune_gc()
    else:  # and its process is not ours to fork: snapshots (rare in a test) are taken on the loop
        node.sequencer.fork_above = None
    node.start()
    await ensure_accounts(node.sequencer, config)
    await ensure_symbol_rules(node.sequencer, config)
    driver = await build_market(node.sequencer, config) if options.market and config.market else None
    app = build_app(node, options.admin_token, config.websocket, config.rate_limits, options.admin_remote)
    for f in config.faults:  # the file's faults, from now (not journaled: the gateway's)
        app[FAULTS].add(Fault(path=f.path, code=f.code, latency_ms=f.latency_ms, count=f.count,
                              until_ms=int(time.time() * 1000 + f.seconds * 1000) if f.seconds else 0,
                              applied=f.applied))  # checked when the file was read
    app[DRIVER] = driver
    # an idle connection, or one that sent half a request and stopped, is closed (aiohttp's default is an hour)
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=config.http_idle_timeout_s)
    await runner.setup()
    answer_parse_errors_with_catalog(runner)
    site = web.TCPSite(runner, options.host, options.port, reuse_address=True,
                       ssl_context=tls[0] if tls is not None else None)
    await site.start()
    port = runner.addresses[0][1] if runner.addresses else options.port
    base_url = f"{'https' if tls is not None else 'http'}://{url_host(options.host)}:{port}"
    stop = asyncio.Event()
    if embedded is not None:
        embedded.base_url, embedded.stop, embedded.app = base_url, stop, app
        embedded.loop = asyncio.get_running_loop()
        if options.demo:
            await node.admin.ensure_demo()
        embedded.started.set()
    else:
        if node.recovery_report:
            print(f"paperex: journal recovery: {node.recovery_report}", flush=True)
        if tls is not None:
            print(tls_note(tls[1]), flush=True)
        if options.host in WILDCARD_HOSTS:
            admin = "with the admin token" if options.admin_remote else "not the admin API (loopback only)"
            print(f"paperex: listening on every interface ({options.host or '*'}:{port}): other hosts reach the V5 "
                  f"API, {admin}", flush=True)
        if options.demo:
            key = await node.admin.ensure_demo()
            print(banner(base_url, key, tls[1].ca if tls is not None else None), flush=True)
        else:
            print(f"paperex is serving the Bybit V5 API at {base_url}", flush=True)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    if driver is not None:
        driver.start()
    funding = None if config.clock == "virtual" else asyncio.get_running_loop().create_task(
        funding_times(node.sequencer), name="funding")
    try:
        await stop.wait()
    finally:
        if funding is not None:
            funding.cancel()
        if driver is not None:
            await driver.stop()
        await runner.cleanup()
        await node.close()
        log.info("paperex stopped")
