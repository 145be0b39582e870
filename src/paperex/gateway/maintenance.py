"""Scheduled maintenance (admin ``/admin/v1/maintenance``), shown by ``GET /v5/system/status`` and enforced
while it is ongoing. Times are on the exchange clock (virtual time aware); the schedule lives in memory, like
injected faults (a restart forgets it).

Bybit's enums (docs/v5/enum.mdx, system-status): ``serviceTypes`` 1 trading service, 2 HTTP trading API,
3 WebSocket trading API, 4 private WebSocket stream, 5 market data service; ``product`` 1 futures, 2 spot,
3 option, 4 spread; ``maintainType`` 1 planned, 2 temporary, 3 incident; ``env`` 1 production.
Bybit documents no error answer for a maintenance: while one is ongoing paperex answers what its API
answers when a service is down, 10016 (``Server error``: on ``/v5/trade`` also "service restarting"):
- 1 or 2: every order and position request over REST (reads and writes of ``/v5/order/*``,
  ``/v5/position/*``, ``/v5/execution/*``) for the products named; 1 or 3: the same ops on ``/v5/trade``;
- 4: the private stream refuses new connections (HTTP 503) and drops those open when it begins;
- 5: ``/v5/market/*`` (but the time) answers 10016 and the public streams refuse and drop connections likewise.
``uidSuffix`` (the affected UIDs' last digits; empty: everyone) narrows the private services to those UIDs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from paperex.errors import ApiError, Code

SERVICE_TYPES = (1, 2, 3, 4, 5)
PRODUCTS = (1, 2, 3, 4)
MAINTAIN_TYPES = (1, 2, 3)
CATEGORY_PRODUCT = {"linear": 1, "inverse": 1, "spot": 2, "option": 3}
TRADING_PREFIXES = ("/v5/order/", "/v5/position/", "/v5/execution/")
STATES = ("scheduled", "ongoing", "completed", "canceled")


@dataclass
class Maintenance:
    id: str
    title: str
    begin: int  # exchange ms
    end: int
    service_types: list[int]
    product: list[int]
    uid_suffix: list[int] = field(default_factory=list)
    maintain_type: int = 1
    env: int = 1
    href: str = ""
    stopped: str = ""  # "canceled" (before it began) or "completed" (ended early by the admin API)
    stopped_at: int = 0  # exchange ms

    def stop(self, now: int) -> None:
        self.stopped, self.stopped_at = ("canceled" if now < self.begin else "completed"), now

    def state(self, now: int) -> str:
        if self.stopped:
            return self.stopped
        if now < self.begin:
            return "scheduled"
        return "ongoing" if now < self.end else "completed"

    def row(self, now: int) -> dict[str, Any]:
        state = self.state(now)
        end = self.stopped_at if self.stopped == "completed" else self.end  # after completion: the actual end
        return {"id": self.id, "title": self.title, "state": state, "begin": str(self.begin), "end": str(end),
                "href": self.href, "serviceTypes": list(self.service_types), "product": list(self.product),
                "uidSuffix": list(self.uid_suffix), "maintainType": self.maintain_type, "env": self.env}

    def affects(self, now: int, service: int, category: Any = None, uid: int | None = None) -> bool:
        if self.state(now) != "ongoing" or service not in self.service_types:
            return False
        product = CATEGORY_PRODUCT.get(category) if isinstance(category, str) else None
        if product is not None and product not in self.product:
            return False
        return not (uid is not None and self.uid_suffix and uid % 10 not in self.uid_suffix)


class Schedule:
    def __init__(self) -> None:
        self.items: list[Maintenance] = []

    def add(self, item: Maintenance) -> Maintenance:
        self.items.append(item)
        return item

    def find(self, mid: str) -> Maintenance | None:
        return next((m for m in self.items if m.id == mid), None)

    def rows(self, now: int) -> list[dict[str, Any]]:
        return [m.row(now) for m in sorted(self.items, key=lambda m: m.begin, reverse=True)]

    def ongoing(self, now: int, services: tuple[int, ...], category: Any = None,
                uid: int | None = None) -> Maintenance | None:
        return next((m for m in self.items
                     if any(m.affects(now, s, category, uid) for s in services)), None)

    def check_rest(self, now: int, method: str, path: str, category: Any, uid: int | None) -> None:
        """10016 for a REST request an ongoing maintenance covers."""
        if not self.items:
            return
        if path.startswith("/v5/market/") and path != "/v5/market/time":  # the clock is no market data
            hit = self.ongoing(now, (5,), category)
        elif path.startswith(TRADING_PREFIXES):
            hit = self.ongoing(now, (1, 2), category, uid)
        else:
            return
        if hit is not None:
            raise down(hit)

    def check_ws_trade(self, now: int, category: Any, uid: int) -> None:
        if self.items:
            hit = self.ongoing(now, (1, 3), category, uid)
            if hit is not None:
                raise down(hit)


def down(item: Maintenance) -> ApiError:
    return ApiError(Code.SERVER_ERROR, f"the service is under maintenance until {item.end}")


def new_id() -> str:
    return str(uuid.uuid1())  # Bybit's ids are time-based UUIDs


_SCHEDULES: WeakKeyDictionary[Any, Schedule] = WeakKeyDictionary()


def schedule_of(sequencer: Any) -> Schedule:
    """The schedule of the exchange a sequencer runs (one per server)."""
    found = _SCHEDULES.get(sequencer)
    if found is None:
        found = _SCHEDULES[sequencer] = Schedule()
    return found
