"""The pytest plugin (registered by ``pip install paperex`` through the ``pytest11`` entry point).

Fixtures:
- ``paperex``: a fresh ``Venue`` for the test (virtual time from 2026-01-01, no living market, Bybit's rate
  limits, in this process: a few milliseconds a start), stopped after it.
- ``paperex_session``: one venue for the whole session (faster still; tests share its state: give each its own
  accounts). Its request log in a failure report holds only the failing test's requests.
- ``apaperex``: the test's venue with coroutine methods (``AsyncVenue``), for asyncio bots under pytest-asyncio
  or anyio.

``@pytest.mark.paperex(config=..., market=..., virtual=..., start=..., rate_limits=..., process=...)`` passes
``Venue.start`` options to the test's venue (``config``: a TOML file, TOML text or a dict). ``--paperex-process``
runs every venue as a ``paperex serve`` subprocess instead.

When a test that used a venue fails, its report gets a section "paperex requests": every request the bot made,
its parameters, and what the exchange answered (the refusals are what usually explains the failure).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from paperex.testing.venue import Account, Venue

VENUE = pytest.StashKey[tuple[Venue, int]]()  # the test's venue, and the request-log id before the test began
SHOWN = 60  # requests shown in a failure report (the last ones)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("paperex")
    group.addoption("--paperex-process", action="store_true", default=False,
                    help="run each paperex venue as a `paperex serve` subprocess (default: in this process)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "paperex(config=None, market=False, virtual=True, start=..., rate_limits=True, process=False): "
                   "options of the test's paperex venue")


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    options: dict[str, Any] = {}
    marker = request.node.get_closest_marker("paperex")
    if marker is not None:
        if marker.args:
            options["config"] = marker.args[0]
        options.update(marker.kwargs)
    if request.config.getoption("--paperex-process"):
        options.setdefault("process", True)
    return options


@pytest.fixture()
def paperex(request: pytest.FixtureRequest) -> Iterator[Venue]:
    """A fresh exchange for this test (``@pytest.mark.paperex(...)`` for options)."""
    venue = Venue.start(**_options(request))
    request.node.stash[VENUE] = (venue, 0)
    try:
        yield venue
    finally:
        venue.stop()


@pytest.fixture(scope="session")
def _paperex_shared(request: pytest.FixtureRequest) -> Iterator[Venue]:
    venue = Venue.start(process=bool(request.config.getoption("--paperex-process")))
    try:
        yield venue
    finally:
        venue.stop()


@pytest.fixture()
def paperex_session(request: pytest.FixtureRequest, _paperex_shared: Venue) -> Venue:
    """The session's exchange (one for every test that asks: make your own accounts)."""
    log = _paperex_shared.admin("GET", "/admin/v1/requests?limit=1")
    request.node.stash[VENUE] = (_paperex_shared, int(log["lastId"]))
    return _paperex_shared


class AsyncVenue:
    """A venue whose steering methods are coroutines (the admin calls run in a worker thread), for asyncio
    tests; the clients and attributes are the venue's own (``venue``)."""

    def __init__(self, venue: Venue) -> None:
        self.venue = venue
        self.base_url = venue.base_url

    async def account(self, balances: dict[str, Any] | None = None, **options: Any) -> Account:
        return await asyncio.to_thread(self.venue.account, balances, **options)

    async def set_price(self, symbol: str, index: Any = None, mark: Any = None, category: str = "linear") -> None:
        await asyncio.to_thread(self.venue.set_price, symbol, index, mark, category)

    async def advance(self, ms: int = 0, **units: float) -> int:
        return await asyncio.to_thread(self.venue.advance, ms, **units)

    async def now(self) -> int:
        return await asyncio.to_thread(self.venue.now)

    async def fault(self, path: str = "*", **options: Any) -> None:
        await asyncio.to_thread(self.venue.fault, path, **options)

    async def clear_faults(self) -> None:
        await asyncio.to_thread(self.venue.clear_faults)

    async def drop_websockets(self) -> None:
        await asyncio.to_thread(self.venue.drop_websockets)

    async def restrict_symbol(self, symbol: str, category: str = "linear", **rules: Any) -> None:
        await asyncio.to_thread(self.venue.restrict_symbol, symbol, category, **rules)

    async def health(self) -> dict[str, Any]:
        return await asyncio.to_thread(self.venue.health)

    async def digest(self) -> str:
        return await asyncio.to_thread(self.venue.digest)

    async def requests(self, **options: Any) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.venue.requests, **options)

    async def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return await asyncio.to_thread(self.venue.admin, method, path, body)


@pytest.fixture()
def apaperex(paperex: Venue) -> AsyncVenue:
    """The test's venue for asyncio bots: ``await apaperex.account(...)``, ``account.ccxt_async()``…"""
    return AsyncVenue(paperex)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if not report.failed or VENUE not in item.stash:
        return
    venue, after = item.stash[VENUE]
    try:
        entries = venue.requests(after=after)
    except Exception as exc:  # the venue may be what failed
        report.sections.append(("paperex requests", f"(the request log could not be read: {exc!r})"))
        return
    report.sections.append(("paperex requests", format_requests(entries)))


def format_requests(entries: list[dict[str, Any]]) -> str:
    """One line a request: time, account, method and path, parameters, and the answer."""
    if not entries:
        return "(no requests reached the exchange)"
    lines = []
    if len(entries) > SHOWN:
        lines.append(f"... {len(entries) - SHOWN} earlier requests not shown")
    for e in entries[-SHOWN:]:
        answer = (f"{e['retCode']} {e['retMsg']}" if e["retCode"] is not None
                  else f"HTTP {e['status']} {e['retMsg']}").strip()
        mark = "  " if e["retCode"] == 0 else "!!"
        who = f"uid {e['uid']}" if e["uid"] is not None else "public"
        params = e["params"] if len(e["params"]) <= 200 else e["params"][:200] + "…"
        lines.append(f"{mark} #{e['id']} {e['ts']} {who} {e['transport']} {e['method']} {e['path']} "
                     f"{params} -> {answer}")
        if e.get("reason"):  # why, in the exchange's own numbers (the dashboard's inspector shows it too)
            lines.append(f"     why: {e['reason']}")
    return "\n".join(lines)

