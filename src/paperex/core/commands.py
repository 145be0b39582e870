"""Commands: the only way the core's state changes. Every one is journaled before it is acknowledged.

Values are already validated and converted to core units by the gateway or the admin layer; the core
still checks everything that depends on its state.
"""

from __future__ import annotations

import msgspec


class Command(msgspec.Struct, tag=True, frozen=True, kw_only=True):
    """Base of every command. ``tag=True`` makes the class name the wire tag in the journal."""


class CreateAccount(Command):
    balances: dict[str, int] = msgspec.field(default_factory=dict)  # coin -> units of 1e-8
    uid: int | None = None  # None: the core assigns the next uid


class CreateApiKey(Command):
    uid: int
    api_key: str
    secret: str | None = None
    rsa_public_key: str | None = None
    read_only: bool = False
    permissions: dict[str, list[str]] = msgspec.field(default_factory=dict)
    ips: list[str] = msgspec.field(default_factory=lambda: ["*"])
    note: str = ""


class Deposit(Command):
    uid: int
    coin: str
    amount: int  # units of 1e-8, > 0


AnyCommand = CreateAccount | CreateApiKey | Deposit
