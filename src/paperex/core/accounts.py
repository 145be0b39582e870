"""Accounts (UIDs with wallets) and their API keys."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from paperex.core.numbers import to_units

if TYPE_CHECKING:
    from paperex.core.orders import Execution, Order
    from paperex.core.positions import Position

# Bybit's permission groups and the permissions in each (``/v5/user/query-api``).
PERMISSION_GROUPS: dict[str, tuple[str, ...]] = {
    "ContractTrade": ("Order", "Position"),
    "Spot": ("SpotTrade",),
    # SubMemberTransfer and Withdraw are a master's, SubMemberTransferList a sub-account's
    "Wallet": ("AccountTransfer", "SubMemberTransfer", "SubMemberTransferList", "Withdraw"),
    "Options": ("OptionsTrade",),
    "Derivatives": ("DerivativesTrade",),
    "CopyTrading": (),
    "BlockTrade": (),
    "Exchange": ("ExchangeHistory",),
    "NFT": (),
    "Earn": ("Earn",),
}
SUB_ONLY_PERMISSIONS = {"Wallet": ("SubMemberTransferList",)}
MASTER_ONLY_PERMISSIONS = {"Wallet": ("SubMemberTransfer", "Withdraw")}

# An API key created without explicit permissions gets every trading, position and wallet permission (a master's).
FULL_PERMISSIONS: dict[str, list[str]] = {
    g: [p for p in perms if p not in SUB_ONLY_PERMISSIONS.get(g, ())] for g, perms in PERMISSION_GROUPS.items()}

# Default fee rates (non-VIP): derivatives taker 0.055 %, maker 0.02 %; spot 0.1 % / 0.1 %.
DEFAULT_FEE_RATES: dict[str, tuple[int, int]] = {
    "linear": (to_units("0.00055"), to_units("0.0002")),
    "inverse": (to_units("0.00055"), to_units("0.0002")),
    "spot": (to_units("0.001"), to_units("0.001")),
    "option": (to_units("0.0003"), to_units("0.0003")),
}


@dataclass(slots=True)
class ApiKey:
    id: int
    api_key: str
    uid: int
    secret: str | None  # HMAC keys
    rsa_public_key: str | None  # self-generated RSA keys (PEM)
    read_only: bool
    permissions: dict[str, list[str]]
    ips: list[str]
    note: str
    created_at: int

    def allows(self, group: str, permission: str) -> bool:
        return permission in self.permissions.get(group, ())

    def ip_allowed(self, ip: str) -> bool:
        return not self.ips or "*" in self.ips or ip in self.ips


LEDGER_KEPT = 10_000  # transaction-log entries per account (Bybit keeps two years; memory is not free)


@dataclass(slots=True)
class Account:
    uid: int
    created_at: int
    updated_at: int
    balances: dict[str, int] = field(default_factory=dict)  # coin -> units of 1e-8
    margin_mode: str = "REGULAR_MARGIN"
    unified_margin_status: int = 5
    label: str = ""
    fee_rates: dict[str, tuple[int, int]] = field(default_factory=lambda: dict(DEFAULT_FEE_RATES))
    held: dict[str, int] = field(default_factory=dict)  # coin -> reserved for open orders (margin or spot hold)
    positions: dict[tuple[str, str, int], Position] = field(default_factory=dict)  # (category, symbol, idx)
    # position mode (``/v5/position/switch-mode``): 3 hedge, 0 one-way; per symbol, and per settle coin for the
    # symbols never set (Bybit: symbol > coin > one-way)
    symbol_modes: dict[str, int] = field(default_factory=dict)
    coin_modes: dict[str, int] = field(default_factory=dict)
    tpsl_modes: dict[tuple[str, str], str] = field(default_factory=dict)  # set-tpsl-mode: Full unless set
    # what the admin API set for the account (core.rules): restrictions, its rate-limit level...
    rules: dict[str, Any] = field(default_factory=dict)
    # market maker protection per base coin (/v5/account/mmp-modify): window, frozenPeriod, qtyLimit,
    # deltaLimit, vegaLimit as text, and the time it is frozen until (0: not frozen)
    mmp: dict[str, dict[str, Any]] = field(default_factory=dict)
    upgrading_until: int = 0  # /v5/account/upgrade-to-uta: the account is being upgraded until then (3100197)
    funding: dict[str, int] = field(default_factory=dict)  # the FUND wallet (core.funds): coin -> units
    # a sub-account (/v5/user/create-sub-member): its master's uid (0: a master), username, memberType, remark
    parent_uid: int = 0
    username: str = ""
    member_type: int = 0
    remark: str = ""
    # asset records (core.funds), oldest first: transfers it took part in, deposits, withdrawals
    transfers: list[tuple] = field(default_factory=list)
    deposit_log: list[tuple] = field(default_factory=list)
    withdrawals: list[tuple] = field(default_factory=list)
    # /v5/account/set-limit-px-action: an out-of-band limit price is moved to the band's edge (True) or refused
    # with 110003 (False); Bybit's defaults: futures clamp, spot refuses
    clamp_futures: bool = True
    clamp_spot: bool = False

    @property
    def classic(self) -> bool:
        return self.unified_margin_status == 1
    open_orders: dict[int, Order] = field(default_factory=dict)
    conditionals: dict[int, Order] = field(default_factory=dict)  # conditional orders not yet triggered
    # the transaction log (core.ledger): the newest entries; older ones leave it
    ledger: deque[tuple] = field(default_factory=lambda: deque(maxlen=LEDGER_KEPT))
    order_ids: list[int] = field(default_factory=list)  # every order, in creation order
    executions: list[Execution] = field(default_factory=list)  # in execution order
    active_count: dict[tuple[str, str], int] = field(default_factory=dict)  # open orders per symbol
    # derived from the open orders (rebuilt on load, not part of snapshots or digests):
    resting: dict[tuple[str, str, int], int] = field(default_factory=dict)  # (category, symbol, side) -> leaves
    reduce_only_ids: set[int] = field(default_factory=set)  # open reduce-only orders

    def clamps(self, category: str) -> bool:
        """Whether an out-of-band limit price in ``category`` is clamped to the band (else: 110003)."""
        return self.clamp_spot if category == "spot" else self.clamp_futures

    def held_positions(self, category: str, symbol: str) -> list[Position]:
        """The symbol's positions: one in one-way mode, the long and the short side in hedge mode."""
        get = self.positions.get
        return [p for p in (get((category, symbol, 0)), get((category, symbol, 1)), get((category, symbol, 2)))
                if p is not None]

    def rest(self, order: Order, lots: int) -> None:
        key = (order.category, order.symbol, order.side)
        self.resting[key] = self.resting.get(key, 0) + lots

    def balance(self, coin: str) -> int:
        return self.balances.get(coin, 0)

    def credit(self, coin: str, amount: int) -> None:
        self.balances[coin] = self.balances.get(coin, 0) + amount

    def hold(self, coin: str, amount: int) -> None:
        self.held[coin] = self.held.get(coin, 0) + amount
