"""``paperex serve --config FILE``: one TOML file that scripts a whole exchange. Every key is documented
in docs/configuration.md; without a file the defaults apply (real time, every instrument on a random
walk from its listed price, the market maker quoting all of them)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from paperex.core.background import MAX_LEVELS
from paperex.core.rules import ACCOUNT_RULES, SYMBOL_RULES, merge
from paperex.errors import ApiError
from paperex.gateway.faults import Fault, FaultInjector
from paperex.gateway.rate_limits import DEFAULT_LIMITS, LEVELS, RateLimitSettings
from paperex.gateway.ws_client import WsSettings


class ConfigError(ValueError):
    pass


@dataclass
class SymbolConfig:
    category: str
    symbol: str
    feed: str = "random_walk"  # random_walk | fixed | trades | klines
    price: Decimal | None = None  # start price; default: the instrument's listed price
    drift: float = 0.0  # annualised
    volatility: float = 0.6  # annualised
    file: Path | None = None  # feed = "trades": Bybit public trade-history CSV (.csv or .csv.gz)
    replay: bool = True  # feed = "trades": re-print the trades on the tape (else the index only follows them)
    quote: bool = True  # does the market maker quote it
    levels: int | None = None
    spread_bps: Decimal | None = None
    step_bps: Decimal | None = None
    size: Decimal | None = None
    trade_rate: float | None = None  # background taker orders per second (None: the symbol's default)
    taker_size: Decimal | None = None  # their median size, in the symbol's qty (None: ~2,000 / 500 USD)


@dataclass
class KeyConfig:
    api_key: str
    api_secret: str | None = None
    rsa_public_key: str | None = None
    read_only: bool = False
    ips: list[str] = field(default_factory=lambda: ["*"])
    permissions: dict[str, list[str]] | None = None


@dataclass
class AccountConfig:
    label: str
    balances: dict[str, Decimal] = field(default_factory=dict)
    api_keys: list[KeyConfig] = field(default_factory=list)
    classic: bool = False
    rules: dict[str, Any] = field(default_factory=dict)  # core.rules, as POST /admin/v1/accounts/{uid}/rules


@dataclass
class SymbolRulesConfig:
    category: str
    symbol: str
    rules: dict[str, Any]


@dataclass
class FaultConfig:
    path: str = "*"
    code: int = 0
    latency_ms: int = 0
    count: int = 0
    seconds: float = 0.0
    applied: bool = True


@dataclass
class Config:
    clock: str = "real"  # real | virtual
    start_ms: int = 1_767_225_600_000  # virtual clock start: 2026-01-01T00:00:00Z
    tick_ms: int = 1000
    seed: int = 1
    market: bool = True
    history_days: int = 30  # the past every symbol has on a new data dir (market.history)
    takers: bool = True  # background takers trade every symbol
    maker: bool = True
    levels: int | None = None  # None: 200 a side on derivatives, 50 on spot
    spread_bps: Decimal | None = None  # None: 1 bp on BTC and ETH, 2.5 on the others
    step_bps: Decimal = Decimal(1)
    symbols: list[SymbolConfig] | None = None  # None: every instrument, with the defaults
    accounts: list[AccountConfig] = field(default_factory=list)
    websocket: WsSettings = field(default_factory=WsSettings)
    http_idle_timeout_s: float = 75.0  # an HTTP connection with no request (or half a request) this long is closed
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    symbol_rules: list[SymbolRulesConfig] = field(default_factory=list)
    faults: list[FaultConfig] = field(default_factory=list)


def _dec(value: Any, where: str) -> Decimal:
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(f"{where}: {value!r} is not a number") from None
    if not d.is_finite():
        raise ConfigError(f"{where}: {value!r} is not a number")
    return d


def _num(value: Any, kind: type, where: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: {value!r} is not a number")
    if kind is int and not isinstance(value, int):
        raise ConfigError(f"{where}: {value!r} is not a whole number")
    return kind(value)


def _rate_limits(table: dict[str, Any]) -> RateLimitSettings:
    where = "[rate_limits]"
    _take(table, {"enabled", "ip_limit", "ip_window_s", "ip_ban_s", "ws_trade_ip_limit", "endpoints"}, where)
    d = RateLimitSettings()
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where} enabled must be true or false")
    endpoints = table.get("endpoints", {})
    if not isinstance(endpoints, dict):
        raise ConfigError(f"{where} endpoints must be a table of path = limit")
    _take(endpoints, set(DEFAULT_LIMITS), f"{where} endpoints")
    out = RateLimitSettings(
        enabled=enabled,
        ip_limit=_num(table.get("ip_limit", d.ip_limit), int, f"{where} ip_limit"),
        ip_window_s=_num(table.get("ip_window_s", d.ip_window_s), float, f"{where} ip_window_s"),
        ip_ban_s=_num(table.get("ip_ban_s", d.ip_ban_s), float, f"{where} ip_ban_s"),
        ws_trade_ip_limit=_num(table.get("ws_trade_ip_limit", d.ws_trade_ip_limit), int,
                               f"{where} ws_trade_ip_limit"),
        endpoints={path: _num(v, int, f"{where} endpoints.{path}") for path, v in endpoints.items()})
    if min(out.ip_limit, out.ws_trade_ip_limit, *out.endpoints.values()) < 1 or out.ip_window_s <= 0 \
            or out.ip_ban_s < 0:
        raise ConfigError(f"{where} limits and windows must be positive")
    return out


def _levels(value: Any, where: str) -> int:
    levels = _num(value, int, where)
    if not 0 <= levels <= MAX_LEVELS:
        raise ConfigError(f"{where} must be 0 to {MAX_LEVELS} (two sides stay under 500 open orders a symbol)")
    return levels


def _take(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")


def parse(data: dict[str, Any], base: Path = Path()) -> Config:
    _take(data, {"seed", "clock", "market", "market_maker", "symbols", "accounts", "websocket", "http", "rate_limits",
                 "symbol_rules", "faults"}, "config")
    cfg = Config(seed=_num(data.get("seed", 1), int, "seed"))
    clock = data.get("clock", {})
    _take(clock, {"mode", "start", "tick_ms"}, "[clock]")
    cfg.clock = clock.get("mode", "real")
    if cfg.clock not in ("real", "virtual"):
        raise ConfigError("[clock] mode must be real or virtual")
    if "start" in clock:
        start = clock["start"]
        if isinstance(start, str):
            start = datetime.fromisoformat(start.replace("Z", "+00:00"))
        if not isinstance(start, datetime) or start.tzinfo is None:
            raise ConfigError("[clock] start must be a date-time with a time zone, e.g. 2026-01-01T00:00:00Z")
        cfg.start_ms = int(start.timestamp() * 1000)
    cfg.tick_ms = _num(clock.get("tick_ms", 1000), int, "[clock] tick_ms")
    if cfg.tick_ms < 10:
        raise ConfigError("[clock] tick_ms must be at least 10")
    market = data.get("market", {})
    _take(market, {"enabled", "history_days", "takers"}, "[market]")
    cfg.market = bool(market.get("enabled", True))
    cfg.takers = bool(market.get("takers", True))
    cfg.history_days = _num(market.get("history_days", 30), int, "[market] history_days")
    if not 0 <= cfg.history_days <= 400:
        raise ConfigError("[market] history_days must be 0 to 400")
    maker = data.get("market_maker", {})
    _take(maker, {"enabled", "levels", "spread_bps", "step_bps"}, "[market_maker]")
    cfg.maker = bool(maker.get("enabled", True))
    if "levels" in maker:
        cfg.levels = _levels(maker["levels"], "[market_maker] levels")
    if "spread_bps" in maker:
        cfg.spread_bps = _dec(maker["spread_bps"], "[market_maker] spread_bps")
    cfg.step_bps = _dec(maker.get("step_bps", 1), "[market_maker] step_bps")
    if (cfg.spread_bps is not None and cfg.spread_bps < 0) or cfg.step_bps <= 0:
        raise ConfigError("[market_maker] spread_bps must not be negative, step_bps must be positive")
    ws = data.get("websocket", {})
    _take(ws, {"idle_timeout_s", "max_queued_frames"}, "[websocket]")
    cfg.websocket = WsSettings(
        idle_timeout_s=_num(ws.get("idle_timeout_s", WsSettings.idle_timeout_s), float, "[websocket] idle_timeout_s"),
        max_queued_frames=_num(ws.get("max_queued_frames", WsSettings.max_queued_frames), int,
                               "[websocket] max_queued_frames"))
    if cfg.websocket.idle_timeout_s <= 0 or cfg.websocket.max_queued_frames < 1:
        raise ConfigError("[websocket] idle_timeout_s and max_queued_frames must be positive")
    http = data.get("http", {})
    _take(http, {"idle_timeout_s"}, "[http]")
    cfg.http_idle_timeout_s = _num(http.get("idle_timeout_s", 75.0), float, "[http] idle_timeout_s")
    if not 0 < cfg.http_idle_timeout_s <= 86_400:
        raise ConfigError("[http] idle_timeout_s must be more than 0 and at most a day")
    cfg.rate_limits = _rate_limits(data.get("rate_limits", {}))
    if "symbols" in data:
        cfg.symbols = []
        for i, row in enumerate(data["symbols"]):
            where = f"[[symbols]] #{i + 1}"
            _take(row, {"category", "symbol", "feed", "price", "drift", "volatility", "file", "replay", "quote",
                        "levels", "spread_bps", "step_bps", "size", "trade_rate", "taker_size"}, where)
            if "category" not in row or "symbol" not in row:
                raise ConfigError(f"{where}: category and symbol are required")
            s = SymbolConfig(category=row["category"], symbol=row["symbol"], feed=row.get("feed", "random_walk"),
                             drift=_num(row.get("drift", 0.0), float, f"{where} drift"),
                             volatility=_num(row.get("volatility", 0.6), float, f"{where} volatility"),
                             quote=bool(row.get("quote", True)), replay=bool(row.get("replay", True)))
            if s.feed not in ("random_walk", "fixed", "trades", "klines"):
                raise ConfigError(f"{where}: feed must be random_walk, fixed, trades or klines")
            if "price" in row:
                s.price = _dec(row["price"], f"{where} price")
            if s.feed in ("trades", "klines"):
                if "file" not in row:
                    raise ConfigError(f"{where}: feed = {s.feed} needs a file")
                s.file = (base / row["file"]).resolve()
                if not s.file.is_file():
                    raise ConfigError(f"{where}: no file {s.file}")
            for name in ("spread_bps", "step_bps", "size", "taker_size"):
                if name in row:
                    value = _dec(row[name], f"{where} {name}")
                    if value < 0 or (value == 0 and name != "spread_bps"):
                        raise ConfigError(f"{where} {name} must be positive")
                    setattr(s, name, value)
            if "levels" in row:
                s.levels = _levels(row["levels"], f"{where} levels")
            if "trade_rate" in row:
                s.trade_rate = _num(row["trade_rate"], float, f"{where} trade_rate")
                if not 0 <= s.trade_rate <= 1000:
                    raise ConfigError(f"{where} trade_rate must be 0 to 1000 orders a second")
            if not 0 <= s.volatility <= 10 or not -10 <= s.drift <= 10:
                raise ConfigError(f"{where}: volatility 0 to 10, drift -10 to 10 (annualised)")
            cfg.symbols.append(s)
    for i, row in enumerate(data.get("accounts", [])):
        where = f"[[accounts]] #{i + 1}"
        _take(row, {"label", "balances", "api_keys", "classic", "rules"}, where)
        if not row.get("label"):
            raise ConfigError(f"{where}: label is required (it finds the account again after a restart)")
        if not isinstance(row.get("rules", {}), dict) or not isinstance(row.get("classic", False), bool):
            raise ConfigError(f"{where}: rules is a table, classic true or false")
        acc = AccountConfig(label=row["label"],
                            balances={c.upper(): _dec(v, f"{where} balance {c}")
                                      for c, v in row.get("balances", {}).items()},
                            classic=row.get("classic", False), rules=dict(row.get("rules", {})))
        try:  # the admin API's checks
            merge({}, acc.rules, ACCOUNT_RULES, "account")
        except ApiError as err:
            raise ConfigError(f"{where} rules: {err.detail}") from None
        if acc.rules.get("status") not in (None, "frozen", "banned") or acc.rules.get("rate_level") not in (
                None, *LEVELS):
            raise ConfigError(f"{where} rules: status is frozen or banned, rate_level one of Bybit's levels")
        for k in row.get("api_keys", []):
            _take(k, {"api_key", "api_secret", "rsa_public_key", "read_only", "ips", "permissions"}, f"{where} key")
            if not k.get("api_key") or (not k.get("api_secret") and not k.get("rsa_public_key")):
                raise ConfigError(f"{where}: an api key needs api_key and api_secret (or rsa_public_key)")
            acc.api_keys.append(KeyConfig(api_key=k["api_key"], api_secret=k.get("api_secret"),
                                          rsa_public_key=k.get("rsa_public_key"),
                                          read_only=bool(k.get("read_only", False)), ips=k.get("ips", ["*"]),
                                          permissions=k.get("permissions")))
        cfg.accounts.append(acc)
    for i, row in enumerate(data.get("symbol_rules", [])):
        where = f"[[symbol_rules]] #{i + 1}"
        _take(row, {"category", "symbol", "rules"}, where)
        if not isinstance(row.get("category"), str) or not isinstance(row.get("symbol"), str) or not isinstance(
                row.get("rules"), dict):
            raise ConfigError(f"{where}: category, symbol and a rules table are required")
        try:
            merge({}, {k: v for k, v in row["rules"].items() if k != "max_open_interest"}, SYMBOL_RULES, "symbol")
        except ApiError as err:
            raise ConfigError(f"{where} rules: {err.detail}") from None
        cfg.symbol_rules.append(SymbolRulesConfig(row["category"], row["symbol"], dict(row["rules"])))
    for i, row in enumerate(data.get("faults", [])):
        where = f"[[faults]] #{i + 1}"
        _take(row, {"path", "code", "latency_ms", "count", "seconds", "applied"}, where)
        fault = FaultConfig(path=row.get("path", "*"), code=_num(row.get("code", 0), int, f"{where} code"),
                            latency_ms=_num(row.get("latency_ms", 0), int, f"{where} latency_ms"),
                            count=_num(row.get("count", 0), int, f"{where} count"),
                            seconds=_num(row.get("seconds", 0), float, f"{where} seconds"),
                            applied=row.get("applied", True))
        if not isinstance(fault.path, str) or not isinstance(fault.applied, bool):
            raise ConfigError(f"{where}: path is a string, applied true or false")
        if not fault.count and not fault.seconds:
            raise ConfigError(f"{where}: give count (requests) or seconds (how long from the start)")
        try:  # the admin API's checks
            FaultInjector().add(Fault(path=fault.path, code=fault.code, latency_ms=fault.latency_ms,
                                      count=fault.count, applied=fault.applied))
        except ApiError as err:
            raise ConfigError(f"{where}: {err.detail}") from None
        cfg.faults.append(fault)
    return cfg


def load(path: Path) -> Config:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return parse(data, path.parent)
