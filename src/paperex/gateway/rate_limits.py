"""Bybit's rate limits (bybit-v5.md §2.2-2.3), on the wall clock whatever the exchange clock.

- Per UID and endpoint: a rolling one-second window (one minute for the transfer endpoints) with Bybit's
  default limits, per product for the trade endpoints (linear/inverse 10/s, spot 20/s...), raised by the
  account's VIP/PRO level. Beyond it: ``10006`` and ``X-Bapi-Limit-Reset-Timestamp`` = when a unit frees.
  Every reply of a limited endpoint carries ``X-Bapi-Limit``, ``X-Bapi-Limit-Status`` (what is left) and
  ``X-Bapi-Limit-Reset-Timestamp``. Batch endpoints have buckets of their own and count each order; a batch
  that straddles the quota runs its first orders and answers 10006 for the rest. REST and ``/v5/trade``
  share the buckets.
- Per IP, HTTP: 600 requests per rolling 5 s; beyond it HTTP 403 and a ban of 10 minutes (Bybit: "stop all
  sessions and wait at least 10 minutes").
- Per IP, ``/v5/trade``: Bybit caps order entry at 3,000 requests/s per IP with its code 10403, which the
  error table does not have; paperex answers ``10018`` "Exceeded the IP Rate Limit" there.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from aiohttp import web

from paperex.errors import ApiError, Code, HttpError
from paperex.gateway.envelope import HttpFailure

SECOND, MINUTE = 1000, 60_000
SWEEP_EVERY = 10_000  # counted requests between two sweeps of the idle buckets

# path -> (window ms, limits by product: linear/inverse share "futures"); "*" applies to every product
TRADE_PATHS = {"/v5/order/create", "/v5/order/amend", "/v5/order/cancel", "/v5/order/cancel-all",
               "/v5/order/create-batch", "/v5/order/amend-batch", "/v5/order/cancel-batch", "/v5/order/pre-check"}
BATCH_PATHS = {"/v5/order/create-batch", "/v5/order/amend-batch", "/v5/order/cancel-batch"}
DEFAULT_LIMITS: dict[str, tuple[int, dict[str, int]]] = {
    "/v5/order/create": (SECOND, {"futures": 10, "option": 10, "spot": 20}),
    "/v5/order/amend": (SECOND, {"futures": 10, "option": 10, "spot": 10}),
    "/v5/order/cancel": (SECOND, {"futures": 10, "option": 10, "spot": 20}),
    "/v5/order/cancel-all": (SECOND, {"futures": 10, "option": 1, "spot": 20}),
    "/v5/order/create-batch": (SECOND, {"futures": 10, "option": 10, "spot": 20}),
    "/v5/order/amend-batch": (SECOND, {"futures": 10, "option": 10, "spot": 20}),
    "/v5/order/cancel-batch": (SECOND, {"futures": 10, "option": 10, "spot": 20}),
    "/v5/order/pre-check": (SECOND, {"futures": 10, "option": 10, "spot": 20}),
    "/v5/order/disconnected-cancel-all": (SECOND, {"*": 5}),
    "/v5/order/realtime": (SECOND, {"*": 50}),
    "/v5/order/history": (SECOND, {"*": 50}),
    "/v5/execution/list": (SECOND, {"*": 50}),
    "/v5/position/list": (SECOND, {"*": 50}),
    "/v5/position/closed-pnl": (SECOND, {"*": 50}),
    "/v5/position/set-leverage": (SECOND, {"*": 10}),
    "/v5/position/add-margin": (SECOND, {"*": 10}),
    "/v5/position/switch-mode": (SECOND, {"*": 10}),
    "/v5/position/set-auto-add-margin": (SECOND, {"*": 10}),
    "/v5/position/trading-stop": (SECOND, {"*": 10}),
    "/v5/account/wallet-balance": (SECOND, {"*": 50}),
    "/v5/account/collateral-info": (SECOND, {"*": 50}),
    "/v5/account/info": (SECOND, {"*": 50}),
    "/v5/account/borrow-history": (SECOND, {"*": 50}),
    "/v5/account/transaction-log": (SECOND, {"*": 25}),
    "/v5/account/fee-rate": (SECOND, {"*": 5}),
    "/v5/account/set-margin-mode": (SECOND, {"*": 5}),
    "/v5/account/mmp-modify": (SECOND, {"*": 5}),
    "/v5/account/mmp-reset": (SECOND, {"*": 5}),
    "/v5/account/upgrade-to-uta": (SECOND, {"*": 1}),
    "/v5/account/set-limit-px-action": (SECOND, {"*": 10}),
    "/v5/account/user-setting-config": (SECOND, {"*": 50}),
    "/v5/asset/coin/query-info": (SECOND, {"*": 5}),
    "/v5/asset/transfer/query-account-coins-balance": (SECOND, {"*": 5}),
    "/v5/asset/transfer/query-account-coin-balance": (SECOND, {"*": 450}),
    "/v5/asset/transfer/inter-transfer": (MINUTE, {"*": 60}),
    "/v5/asset/transfer/query-inter-transfer-list": (MINUTE, {"*": 60}),
    "/v5/user/query-api": (SECOND, {"*": 10}),
}
# the trade endpoints' limits by VIP/PRO level: (futures, option, spot) per second
LEVELS: dict[str, tuple[int, int, int]] = {
    "": (10, 10, 20), "VIP1": (20, 20, 25), "VIP2": (40, 40, 30), "VIP3": (60, 60, 40), "VIP4": (60, 60, 40),
    "VIP5": (60, 60, 40), "SUPREME": (60, 60, 40), "PRO1": (200, 200, 200), "PRO2": (400, 400, 400),
    "PRO3": (600, 600, 600), "PRO4": (800, 800, 800), "PRO5": (1000, 1000, 1000), "PRO6": (1200, 1200, 1200),
    "MM1": (600, 600, 600), "MM2": (800, 800, 800), "MM3": (1000, 1000, 1000),
}


@dataclass
class RateLimitSettings:
    enabled: bool = True
    ip_limit: int = 600  # HTTP requests per IP per ip_window_s
    ip_window_s: float = 5.0
    ip_ban_s: float = 600.0
    ws_trade_ip_limit: int = 3000  # /v5/trade requests per IP per second
    endpoints: dict[str, int] = field(default_factory=dict)  # path -> per-UID limit, replacing the default
    banned_ips: list[str] = field(default_factory=list)  # every request from them: 10009 "IP has been banned."


@dataclass(slots=True)
class Quota:
    """What one request got: ``granted`` units of the ``wanted``, and the headers to send."""

    limit: int
    remaining: int
    reset_ms: int
    granted: int

    def headers(self) -> dict[str, str]:
        return {"X-Bapi-Limit": str(self.limit), "X-Bapi-Limit-Status": str(self.remaining),
                "X-Bapi-Limit-Reset-Timestamp": str(self.reset_ms)}


def product(category: object) -> str:
    if category in ("linear", "inverse"):
        return "futures"
    return category if category in ("option", "spot") else "futures"


class RateLimiter:
    def __init__(self, settings: RateLimitSettings | None = None) -> None:
        self.settings = settings or RateLimitSettings()
        self.buckets: dict[tuple[int, str, str], deque[int]] = {}
        self.ip_hits: dict[str, deque[int]] = {}
        self.ws_ip_hits: dict[str, deque[int]] = {}
        self.banned_until: dict[str, int] = {}
        self._since_sweep = 0

    def reset(self) -> None:
        """Forget every count and ban (the admin API, after changing the settings)."""
        self.buckets.clear()
        self.ip_hits.clear()
        self.ws_ip_hits.clear()
        self.banned_until.clear()

    def limit_of(self, path: str, category: object, level: str) -> tuple[int, int, str] | None:
        """(limit, window ms, bucket product) of a per-UID limited endpoint, None when it has none."""
        spec = DEFAULT_LIMITS.get(path)
        if spec is None:
            return None
        window, by_product = spec
        prod = "*" if "*" in by_product else product(category)
        limit = by_product[prod]
        if path in TRADE_PATHS and level in LEVELS and level:
            futures, option, spot = LEVELS[level]
            limit = max(limit, {"futures": futures, "option": option, "spot": spot}[prod])
        limit = self.settings.endpoints.get(path, limit)
        return limit, window, prod

    def take(self, uid: int, path: str, category: object, level: str, now_ms: int, units: int = 1) -> Quota | None:
        """Count ``units`` against the UID's bucket: None for an endpoint without a limit (or limits off).
        Raises 10006 when nothing is left; a batch gets what is left (``Quota.granted``)."""
        if not self.settings.enabled:
            return None
        spec = self.limit_of(path, category, level)
        if spec is None:
            return None
        limit, window, prod = spec
        self._since_sweep += 1
        if self._since_sweep >= SWEEP_EVERY:
            self.sweep(now_ms)
        hits = self.buckets.setdefault((uid, path, prod), deque())
        while hits and hits[0] <= now_ms - window:
            hits.popleft()
        granted = min(units, limit - len(hits))
        if granted <= 0:
            reset = hits[0] + window if hits else now_ms + window
            raise RateLimited(Quota(limit, 0, reset, 0))
        hits.extend([now_ms] * granted)
        remaining = limit - len(hits)
        reset = hits[0] + window if remaining == 0 else now_ms
        return Quota(limit, remaining, reset, granted)

    def sweep(self, now_ms: int) -> None:
        """Forget the counts whose window has passed (buckets of accounts gone quiet, IPs that went away)."""
        self._since_sweep = 0
        for table, window in ((self.buckets, MINUTE), (self.ip_hits, int(self.settings.ip_window_s * 1000)),
                              (self.ws_ip_hits, SECOND)):
            for key in [k for k, hits in table.items() if not hits or hits[-1] <= now_ms - window]:
                del table[key]  # type: ignore[attr-defined]
        for ip in [ip for ip, until in self.banned_until.items() if until <= now_ms]:
            del self.banned_until[ip]

    def check_ip(self, ip: str, now_ms: int) -> None:
        """HTTP: 10009 for an IP banned by the admin API; 403 while an IP that passed the limit is banned (the
        request that passes it starts the ban)."""
        if ip in self.settings.banned_ips:
            raise ApiError(Code.IP_BANNED, ip)
        if not self.settings.enabled:
            return
        until = self.banned_until.get(ip)
        if until is not None:
            if now_ms < until:
                raise HttpFailure(HttpError.FORBIDDEN)
            del self.banned_until[ip]
        hits = self.ip_hits.setdefault(ip, deque())
        window = int(self.settings.ip_window_s * 1000)
        while hits and hits[0] <= now_ms - window:
            hits.popleft()
        if len(hits) >= self.settings.ip_limit:
            hits.clear()
            self.banned_until[ip] = now_ms + int(self.settings.ip_ban_s * 1000)
            raise HttpFailure(HttpError.FORBIDDEN)
        hits.append(now_ms)

    def check_ws_trade_ip(self, ip: str, now_ms: int) -> None:
        if not self.settings.enabled:
            return
        hits = self.ws_ip_hits.setdefault(ip, deque())
        while hits and hits[0] <= now_ms - SECOND:
            hits.popleft()
        if len(hits) >= self.settings.ws_trade_ip_limit:
            raise ApiError(Code.IP_RATE_LIMITED, f"at most {self.settings.ws_trade_ip_limit} requests/s per IP")
        hits.append(now_ms)


class RateLimited(ApiError):
    """10006, with the quota whose headers go with it."""

    def __init__(self, quota: Quota) -> None:
        super().__init__(Code.RATE_LIMITED)
        self.quota = quota


RATE_LIMITER: web.AppKey[RateLimiter] = web.AppKey("rate_limiter", RateLimiter)
