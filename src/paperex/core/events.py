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


class Withdrawn(Event):
    """A withdrawal left the exchange (core.funds): its record id."""

    uid: int
    withdraw_id: int


class OrderAccepted(Event):
    """A new order passed every check and got its id (it may still end at once: IOC, FOK, PostOnly)."""

    uid: int
    order_id: int


class OrderChanged(Event):
    """An order was created or changed state; the order itself is in the core's state."""

    uid: int
    order_id: int
    status: str


class Executed(Event):
    uid: int
    order_id: int
    exec_id: int


class PositionChanged(Event):
    uid: int
    category: str
    symbol: str
    idx: int = -1  # the positionIdx that changed; -1: any of the symbol's


class Liquidated(Event):
    """An account's position was taken over by the insurance fund at its bankruptcy price."""

    uid: int
    category: str
    symbol: str


class FundingSettled(Event):
    category: str
    symbol: str
    rate: int  # 1e-8 units


class BookChanged(Event):
    category: str
    symbol: str
    update_id: int


class PricesChanged(Event):
    category: str
    symbol: str
    mark: int
    index: int


AnyEvent = (AccountCreated | ApiKeyCreated | BalanceChanged | OrderAccepted | OrderChanged | Executed | PositionChanged
            | BookChanged | PricesChanged | Liquidated | FundingSettled | Withdrawn)
