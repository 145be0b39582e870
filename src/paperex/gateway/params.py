"""Typed access to request parameters: every problem becomes 10001 with a precise detail.

GET parameters arrive as strings; POST bodies as JSON values. Both go through the same getters so a
handler never cares which transport carried the request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from paperex.errors import ApiError, Code, HttpError
from paperex.gateway.envelope import HttpFailure

ALL_CATEGORIES = ("spot", "linear", "inverse", "option")

_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)


def ascii_int(text: str, *, signed: bool = False, max_len: int = 20) -> int | None:
    """The integer an ASCII decimal string spells (one leading '-' when ``signed``), or None: the one
    integer parser of the wire (str.isdigit alone accepts '²' and int() then raises; '--5' passed
    lstrip('-'))."""
    digits = text[1:] if signed and text.startswith("-") else text
    if not digits or len(text) > max_len or not (digits.isascii() and digits.isdigit()):
        return None
    return int(text)


def printable(text: str, max_len: int = 64) -> str:
    """Client text quoted back in a message: what the header's bytes were (undecodable ones escaped), cut short,
    never a string the JSON encoder refuses (a raw 0xff byte arrives as a lone surrogate)."""
    raw = text[:max_len].encode("utf-8", "surrogateescape")
    return raw.decode("ascii", "backslashreplace")


def param_error(detail: str) -> ApiError:
    return ApiError(Code.PARAM_ERROR, detail)


class Params:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def raw(self, name: str) -> Any:
        return self.data.get(name)

    def str(self, name: str, *, required: bool = False, default: str | None = None,
            max_len: int = 200) -> str | None:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise param_error(f"{name} is required")
            return default
        if not isinstance(value, str):
            raise param_error(f"{name} must be a string")
        if len(value) > max_len:
            raise param_error(f"{name} is too long")
        return value

    def enum(self, name: str, allowed: Iterable[str], *, required: bool = False,
             default: str | None = None) -> str | None:
        value = self.str(name, required=required, default=default)
        if value is not None and value not in allowed:
            raise param_error(f"{name} must be one of {', '.join(allowed)}")
        return value

    def int(self, name: str, *, default: int | None = None, lo: int | None = None,
            hi: int | None = None, required: bool = False) -> int | None:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise param_error(f"{name} is required")
            return default
        if isinstance(value, bool):
            raise param_error(f"{name} must be an integer")
        if isinstance(value, str):
            parsed = ascii_int(value.strip(), signed=True)
            if parsed is None:
                raise param_error(f"{name} must be an integer")
            value = parsed
        if not isinstance(value, int):
            raise param_error(f"{name} must be an integer")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise param_error(f"{name} must be between {lo} and {hi}" if hi is not None else
                              f"{name} must be at least {lo}")
        return value

    def limit(self, default: int, hi: int) -> int:
        """A page size: below 1 is an error; above the endpoint's maximum is capped, as Bybit does."""
        value = self.int("limit", default=default)
        assert value is not None
        if value < 1:
            raise param_error(f"limit must be between 1 and {hi}")
        return min(value, hi)

    def decimal(self, name: str, *, required: bool = False) -> Decimal | None:
        value = self.str(name, required=required, max_len=64)
        if value is None:
            return None
        if not _PLAIN_NUMBER.fullmatch(value):  # Decimal would also take 5_000, full-width digits, NaN...
            raise param_error(f"{name} must be a decimal number")
        try:
            d = Decimal(value)
        except InvalidOperation:
            raise param_error(f"{name} must be a decimal number") from None
        if not d.is_finite() or (d and not -20 <= d.adjusted() <= 20):
            raise param_error(f"{name} must be a decimal number of a sensible size")
        return d

    def category(self, served: Iterable[str], *, required: bool = True, default: str | None = None) -> str:
        """The ``category``: missing -> 10001; a value this endpoint does not serve -> HTTP 404."""
        value = self.data.get("category")
        if value is None or value == "":
            if required or default is None:
                raise param_error("category is required")
            return default
        if not isinstance(value, str) or value not in served:
            raise HttpFailure(HttpError.NOT_FOUND)
        return value

    def symbol(self, *, required: bool = False) -> str | None:
        value = self.str("symbol", required=required, max_len=64)
        if value is not None and value != value.upper():
            raise param_error("symbol must be uppercase")
        return value

    def coins(self, name: str) -> list[str]:
        """A comma-separated list of coins (uppercase)."""
        value = self.str(name, max_len=1000)
        if value is None:
            return []
        coins = [c.strip() for c in value.split(",") if c.strip()]
        if any(c != c.upper() for c in coins):
            raise param_error(f"{name} must be uppercase")
        return coins
