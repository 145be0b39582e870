"""Events: what the core says happened. The gateway turns them into replies and stream messages."""

from __future__ import annotations

import msgspec


class Event(msgspec.Struct, tag=True, frozen=True, kw_only=True):
    pass


class AccountCreated(Event):
    uid: int


class ApiKeyCreated(Event):
    uid: int
    api_key: str


class BalanceChanged(Event):
    uid: int
    coin: str
    change: int
    balance: int
    reason: str  # "deposit", ...


AnyEvent = AccountCreated | ApiKeyCreated | BalanceChanged
