"""Data files shipped with the package: the market (instruments, risk tiers, coins) and the error table."""

from __future__ import annotations

import json
from importlib import resources

from paperex.core.instruments import MarketSpec, parse_market


def read_text(name: str) -> str:
    return resources.files("paperex").joinpath("data", name).read_text(encoding="utf-8")


def load_market() -> MarketSpec:
    """The default market: ``paperex/data/market.json``."""
    return parse_market(json.loads(read_text("market.json")))


def error_table() -> list[tuple[str, int, str]]:
    """Rows (kind, code, message) of the bundled ``error-codes.tsv``."""
    rows = []
    for line in read_text("error-codes.tsv").splitlines()[1:]:
        if line.strip():
            kind, code, msg = line.split("\t", 2)
            rows.append((kind, int(code), msg))
    return rows
