"""The endpoint table: one transport-neutral handler per V5 operation.

A handler receives a ``Call`` (parameters, the authenticated principal, the exchange) and returns the
``result`` object, or raises ``ApiError`` / ``HttpFailure``. REST uses it now; the WebSocket order-entry
transport will call the very same handlers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from paperex.core.accounts import Account
from paperex.core.engine import Exchange
from paperex.gateway.auth import READ, Permission, Principal
from paperex.gateway.params import Params
from paperex.sequencer import Sequencer


@dataclass(slots=True)
class Reply:
    """A result with ``retExtInfo`` content (batch endpoints) or a non-default ``retMsg``."""

    result: Any
    ext: Any = None
    msg: str = "OK"


@dataclass(slots=True)
class Call:
    params: Params
    principal: Principal | None
    now_ms: int
    now_ns: int
    sequencer: Sequencer
    allowance: int | None = None  # batch endpoints: how many of the orders the rate limit lets through

    @property
    def core(self) -> Exchange:
        return self.sequencer.core

    @property
    def account(self) -> Account:
        """The authenticated account (only for endpoints declared with auth)."""
        assert self.principal is not None, "endpoint declared auth=False"
        return self.principal.account


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    auth: bool
    permission: Permission


class EndpointTable:
    def __init__(self) -> None:
        self.endpoints: dict[tuple[str, str], Endpoint] = {}
        self.paths: set[str] = set()

    def route(self, method: str, path: str, *, auth: bool,
              permission: Permission = READ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if (method, path) in self.endpoints:
                raise ValueError(f"duplicate endpoint {method} {path}")
            self.endpoints[(method, path)] = Endpoint(method, path, handler, auth, permission)
            self.paths.add(path)
            return handler

        return register

    def get(self, path: str, *, auth: bool = True, permission: Permission = READ) -> Callable[[Handler], Handler]:
        return self.route("GET", path, auth=auth, permission=permission)

    def post(self, path: str, *, auth: bool = True, permission: Permission = READ) -> Callable[[Handler], Handler]:
        return self.route("POST", path, auth=auth, permission=permission)

    def find(self, method: str, path: str) -> Endpoint | None:
        return self.endpoints.get((method, path))


V5 = EndpointTable()
