"""Wire ids. The core numbers orders and executions 1, 2, 3...; Bybit shows derivatives order ids and all
execution ids as UUIDs and spot order ids as 19-digit numbers. The mapping is a bijection, so ids are
deterministic (replay gives the same ids) and parse back without a lookup table."""

from __future__ import annotations

import re

from paperex.errors import ApiError, Code

_ORDER_PREFIX = "5eed0000-0000-4000-8"
_EXEC_PREFIX = "e8ec0000-0000-4000-8"
_SPOT_BASE = 1_900_000_000_000_000_000
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _uuid(prefix: str, n: int) -> str:
    return f"{prefix}{n >> 48 & 0xFFF:03x}-{n & 0xFFFFFFFFFFFF:012x}"


def order_id(n: int, category: str) -> str:
    return str(_SPOT_BASE + n) if category == "spot" else _uuid(_ORDER_PREFIX, n)


_SPOT_EXEC_BASE = 2_100_000_000_000_000_000


def exec_id(n: int, category: str) -> str:
    """One id per fill, shared by both parties' executions and the public trade."""
    return str(_SPOT_EXEC_BASE + n) if category == "spot" else _uuid(_EXEC_PREFIX, n)


def parse_order_id(text: str, category: str) -> int:
    """The core id of a wire order id. Malformed -> 110019; well-formed but not ours -> id 0 (no order)."""
    if category == "spot":
        if not (text.isascii() and text.isdigit()) or len(text) > 19:
            raise ApiError(Code.ILLEGAL_ORDER_ID)
        n = int(text) - _SPOT_BASE
        return n if n > 0 else 0
    if not _UUID.match(text):
        raise ApiError(Code.ILLEGAL_ORDER_ID)
    if not text.startswith(_ORDER_PREFIX):
        return 0
    return int(text[20:23], 16) << 48 | int(text[24:], 16)
