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
    label: str = ""  # a name for accounts the exchange itself manages (the market maker, config accounts)


class CreateApiKey(Command):
    uid: int
    api_key: str
    secret: str | None = None
    rsa_public_key: str | None = None
    read_only: bool = False
    permissions: dict[str, list[str]] | None = None  # None: every permission; {}: none
    ips: list[str] = msgspec.field(default_factory=lambda: ["*"])
    note: str = ""


class Deposit(Command):
    uid: int
    coin: str
    amount: int  # units of 1e-8, > 0



class PlaceOrder(Command):
    """A new order. ``qty`` is in lots; for a spot market buy by quote amount (``market_unit`` quoteCoin)
    it is in 1e-8 units of the quote coin. ``price`` is in ticks (None for market orders)."""

    uid: int
    category: str
    symbol: str
    side: int
    order_type: str
    qty: int
    price: int | None = None
    tif: str = "GTC"
    order_link_id: str = ""
    reduce_only: bool = False
    close_on_trigger: bool = False
    smp_type: str = "None"
    position_idx: int = 0
    market_unit: str = ""


class AmendOrder(Command):
    uid: int
    category: str
    symbol: str
    order_id: int | None = None
    order_link_id: str | None = None
    qty: int | None = None  # lots
    price: int | None = None  # ticks


class CancelOrder(Command):
    uid: int
    category: str
    symbol: str
    order_id: int | None = None
    order_link_id: str | None = None


class CancelAll(Command):
    uid: int
    category: str
    symbol: str | None = None
    base_coin: str | None = None
    settle_coin: str | None = None


class SetPrices(Command):
    """Admin: move a symbol's index and/or mark price (ticks). Mark follows the index unless given."""

    category: str
    symbol: str
    index: int | None = None
    mark: int | None = None


class SetLeverage(Command):
    """``/v5/position/set-leverage`` (hundredths: 10x = 1000)."""

    uid: int
    category: str
    symbol: str
    buy_leverage: int
    sell_leverage: int


class SetRiskLimit(Command):
    """``/v5/position/set-risk-limit``: tiers follow the position's value automatically (Bybit since 2024),
    so this only checks the tier and lowers the leverage to what it allows."""

    uid: int
    category: str
    symbol: str
    risk_id: int


class Tick(Command):
    """Time passed with nothing else happening (a virtual-clock advance): the journal keeps the time."""


AnyCommand = (CreateAccount | CreateApiKey | Deposit | PlaceOrder | AmendOrder | CancelOrder | CancelAll
              | SetPrices | SetLeverage | SetRiskLimit | Tick)
