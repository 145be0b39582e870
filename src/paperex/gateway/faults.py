"""Fault injection (``/admin/v1/faults``): make the exchange misbehave on purpose, as Bybit sometimes does.

A fault applies to one REST path (or ``*``: every endpoint), over REST and ``/v5/trade`` alike, for the
next ``count`` requests or until ``until_ms`` (wall clock):
- ``code`` 10000 (Server Timeout): by default the request *is* carried out and then answered 10000, so the
  client cannot know whether it took effect and must query (``applied: false`` drops it instead);
- ``code`` 10016 (Server error): the request is not carried out (3400214, the upgrade's own "server error,
  please try again later", likewise on ``/v5/account/upgrade-to-uta``);
- ``latency_ms``: the reply is delayed (alone, or before the code).
Dropping every WebSocket connection is an admin action of its own (``/admin/v1/faults/ws-drop``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from paperex.errors import ApiError, Code

CODES = (Code.SERVER_TIMEOUT, Code.SERVER_ERROR)


@dataclass
class Fault:
    path: str
    code: int = 0
    latency_ms: int = 0
    count: int = 0  # requests left (0: no count limit)
    until_ms: int = 0  # wall clock (0: no time limit)
    applied: bool = True  # 10000: the request takes effect before the timeout answer

    def describe(self) -> dict[str, object]:
        return {"path": self.path, "code": self.code, "latency_ms": self.latency_ms, "count": self.count,
                "until_ms": self.until_ms, "applied": self.applied}


class FaultInjector:
    def __init__(self) -> None:
        self.faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        upgrade_error = fault.code == Code.UPGRADE_SERVER_ERROR and fault.path == "/v5/account/upgrade-to-uta"
        if fault.code and fault.code not in CODES and not upgrade_error:
            raise ApiError(Code.PARAM_ERROR, "code must be 10000 or 10016 (3400214 on /v5/account/upgrade-to-uta)")
        if not fault.code and not fault.latency_ms:
            raise ApiError(Code.PARAM_ERROR, "a fault needs a code or a latency_ms")
        if fault.count < 0 or fault.latency_ms < 0 or fault.latency_ms > 600_000:
            raise ApiError(Code.PARAM_ERROR, "count and latency_ms must be positive (latency at most 10 minutes)")
        self.faults.append(fault)

    def take(self, path: str, wall_ms: int) -> Fault | None:
        """The fault for this request, counted; None when none applies."""
        self.faults = [f for f in self.faults if not f.until_ms or wall_ms < f.until_ms]
        for fault in self.faults:
            if fault.path in (path, "*"):
                if fault.count:
                    fault.count -= 1
                    if fault.count == 0:
                        self.faults.remove(fault)
                return fault
        return None


FAULTS: web.AppKey[FaultInjector] = web.AppKey("faults", FaultInjector)


async def run_with(fault: Fault | None, run: Callable[[], Awaitable[Any]]) -> Any:
    """Run a request's handler under ``fault`` (None: just run it)."""
    if fault is None:
        return await run()
    if fault.latency_ms:
        await asyncio.sleep(fault.latency_ms / 1000)
    if fault.code == Code.SERVER_TIMEOUT and fault.applied:
        with contextlib.suppress(ApiError):  # carried out (or refused): only the answer is lost
            await run()
    if fault.code:
        raise ApiError(fault.code)
    return await run()
