"""Data files shipped with the package: the market (instruments, risk tiers, coins) and the error table."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from paperex.core.instruments import OWN_KEYS, MarketSpec, parse_market


def read_text(name: str) -> str:
    return resources.files("paperex").joinpath("data", name).read_text(encoding="utf-8")


@cache
def _market_file() -> dict[str, Any]:
    return json.loads(read_text("market.json"))


def load_market() -> MarketSpec:
    """The default market: ``paperex/data/market.json``."""
    return parse_market(_market_file())


@cache
def load_listings() -> dict[tuple[str, str], dict[str, Any]]:
    """Bybit's listing fields of each instrument as the data file has them, for the gateway to render.
    Shared and cached: callers copy before changing anything."""
    return {(raw["category"], raw["symbol"]): {k: v for k, v in raw.items() if k not in OWN_KEYS}
            for raw in _market_file()["instruments"]}


def error_table() -> list[tuple[str, int, str]]:
    """Rows (kind, code, message) of the bundled ``error-codes.tsv``."""
    rows = []
    for line in read_text("error-codes.tsv").splitlines()[1:]:
        if line.strip():
            kind, code, msg = line.split("\t", 2)
            rows.append((kind, int(code), msg))
    return rows
