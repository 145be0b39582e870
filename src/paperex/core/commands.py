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
    classic: bool = False  # a classic (non-unified) account: unifiedMarginStatus 1, until upgraded


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
    """Admin: money arrives from outside (an on-chain deposit, shown by ``/v5/asset/deposit/query-record``)."""

    uid: int
    coin: str
    amount: int  # units of 1e-8, > 0
    account_type: str = "UNIFIED"  # the wallet it lands in: UNIFIED (paperex's default, see docs/admin.md) or FUND
    chain: str = ""  # one of the coin's chains ("": its first)


class InterTransfer(Command):
    """``/v5/asset/transfer/inter-transfer``: between the account's own wallets (UNIFIED, FUND)."""

    uid: int
    transfer_id: str
    coin: str
    amount: int
    from_type: str
    to_type: str


class UniversalTransfer(Command):
    """``/v5/asset/transfer/universal-transfer``: between a master and its sub-accounts (``uid``: the caller)."""

    uid: int
    transfer_id: str
    coin: str
    amount: int
    from_uid: int
    to_uid: int
    from_type: str
    to_type: str


class Withdraw(Command):
    """``/v5/asset/withdraw/create``: money leaves the exchange (simulated: it succeeds at once)."""

    uid: int
    coin: str
    chain: str
    address: str
    amount: int
    account_type: str  # FUND, UTA, or FUND,UTA (funding wallet first)
    fee_type: int = 0  # 0: amount is what arrives, the fee comes on top; 1: the fee comes out of the amount
    tag: str = ""
    request_id: str = ""


class CreateSubMember(Command):
    """``/v5/user/create-sub-member``: a sub-account of ``uid`` (an ordinary account with a parent)."""

    uid: int
    username: str
    member_type: int = 1
    note: str = ""



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
    is_leverage: bool = False  # spot margin trading (isLeverage=1)
    # a conditional order: waits (Untriggered) until the trigger price is reached
    trigger_price: int = 0  # ticks; 0: an ordinary order
    trigger_direction: int = 0  # 1: when the price rises to it, 2: falls to it
    trigger_by: str = "LastPrice"
    # take profit / stop loss for the whole position, set when the order fills (Full mode)
    take_profit: int = 0  # ticks, 0: none
    stop_loss: int = 0
    tp_trigger_by: str = "LastPrice"
    sl_trigger_by: str = "LastPrice"
    # Full, or Partial: a TP and SL leg of each fill's size, market or at tp_limit / sl_limit; "": the symbol's
    # mode (set-tpsl-mode), Full unless set
    tpsl_mode: str = ""
    tp_limit: int = 0
    sl_limit: int = 0


class AmendOrder(Command):
    uid: int
    category: str
    symbol: str
    order_id: int | None = None
    order_link_id: str | None = None
    qty: int | None = None  # lots
    price: int | None = None  # ticks
    trigger_price: int | None = None  # ticks (conditional orders not yet triggered)
    # the order's TP/SL (None: unchanged, 0: removed)
    take_profit: int | None = None
    stop_loss: int | None = None
    tp_trigger_by: str | None = None
    sl_trigger_by: str | None = None
    tp_limit: int | None = None
    sl_limit: int | None = None

    def changes_tpsl(self) -> bool:
        return any(v is not None for v in (self.take_profit, self.stop_loss, self.tp_trigger_by, self.sl_trigger_by,
                                           self.tp_limit, self.sl_limit))


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
    order_filter: str = ""  # "": every order, "Order": active ones, "StopOrder": conditional ones


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
    position_idx: int = 0


class SetTradingStop(Command):
    """``/v5/position/trading-stop`` in Full mode: None leaves a price as it is, 0 removes it."""

    uid: int
    category: str
    symbol: str
    take_profit: int | None = None
    stop_loss: int | None = None
    tp_trigger_by: str = "LastPrice"
    sl_trigger_by: str = "LastPrice"
    trailing_stop: int | None = None  # distance in ticks; 0 removes it
    active_price: int = 0  # ticks: the trailing starts when the last price reaches it (0: at once)
    # Partial mode: take_profit / stop_loss add legs of tp_size / sl_size lots (limit orders at *_limit > 0)
    partial: bool | None = None  # None: the symbol's TP/SL mode (set-tpsl-mode; Full unless set)
    tp_size: int = 0
    sl_size: int = 0
    tp_limit: int = 0
    sl_limit: int = 0
    position_idx: int = 0


class SetMarginMode(Command):
    """``/v5/account/set-margin-mode``: REGULAR_MARGIN (cross) or ISOLATED_MARGIN, for the whole account."""

    uid: int
    mode: str


class AddMargin(Command):
    """``/v5/position/add-margin`` (isolated margin): ``amount`` > 0 adds, < 0 reduces (1e-8 units)."""

    uid: int
    category: str
    symbol: str
    amount: int
    position_idx: int = 0


class SetAutoAddMargin(Command):
    uid: int
    category: str
    symbol: str
    enabled: bool
    position_idx: int = 0


class SetTpslMode(Command):
    """``/v5/position/set-tpsl-mode``: the symbol's default TP/SL mode for ``trading-stop``."""

    uid: int
    category: str
    symbol: str
    mode: str


class SwitchPositionMode(Command):
    """``/v5/position/switch-mode``: one symbol, or (``symbol`` empty) every symbol settled in ``coin``."""

    uid: int
    category: str
    mode: int
    symbol: str = ""
    coin: str = ""


class SetAccountRules(Command):
    """Admin: set (None: remove) an account's rules (core.rules)."""

    uid: int
    rules: dict[str, bool | int | str | list[str] | None]


class SetMmp(Command):
    """``/v5/account/mmp-modify`` (``reset``: ``/v5/account/mmp-reset``, only ``base_coin`` counts)."""

    uid: int
    base_coin: str
    window: str = ""
    frozen_period: str = ""
    qty_limit: str = ""
    delta_limit: str = ""
    vega_limit: str = "500000"
    reset: bool = False


class SetLimitPriceAction(Command):
    """``/v5/account/set-limit-px-action``: clamp (``modify_enable``) or refuse an out-of-band limit price;
    ``linear`` or ``inverse`` sets every futures category, ``spot`` spot."""

    uid: int
    category: str
    modify_enable: bool


class UpgradeToUta(Command):
    """``/v5/account/upgrade-to-uta``: classic -> UTA 2.0, or UTA 2.0 -> UTA 2.0 Pro."""

    uid: int


class SetSymbolRules(Command):
    """Admin: set (None: remove) a symbol's rules (core.rules)."""

    category: str
    symbol: str
    rules: dict[str, bool | int | str | list[str] | None]


class Tick(Command):
    """Time passed with nothing else happening (a virtual-clock advance): the journal keeps the time."""


class SimSymbol(msgspec.Struct, frozen=True, kw_only=True):
    """How the living market drives one symbol (core.background). Prices in ticks, sizes in lots."""

    category: str
    symbol: str
    walk: bool = True  # the index follows a seeded geometric Brownian walk
    walk_from: int = 0  # ms: from when (a data file's recording plays until then)
    drift: float = 0.0  # annualised
    volatility: float = 0.6  # annualised
    levels: int = 0  # the liquidity provider's orders per side (0: it does not quote)
    spacing: int = 1  # ticks between its price levels
    half_spread: int = 1  # ticks from the book's centre to its first level
    lots: int = 1  # its size at the touch (sizes grow away from the touch, with noise)
    trade_rate: float = 0.0  # background taker orders per second (Poisson)
    taker_lots: int = 1  # their median size (heavy-tailed)
    max_taker_lots: int = 1  # their largest size


class HistorySpec(msgspec.Struct, frozen=True, kw_only=True):
    """What the market's past is derived from (market.history): fixed when the data dir is new."""

    seed: int
    end_ms: int  # the past ends here: the exchange's first start
    days: int
    anchors: dict[str, int] = msgspec.field(default_factory=dict)  # "category:symbol" -> index ticks at end_ms
    files: dict[str, str] = msgspec.field(default_factory=dict)  # "category:symbol" -> "path|sha256|shift ms"
    symbols: list[SimSymbol] = msgspec.field(default_factory=list)  # every symbol's market when the past ended


class ConfigureMarket(Command):
    """The living market's configuration (journaled once, and again when the config file changes it)."""

    seed: int
    tick_ms: int
    maker_uid: int  # the liquidity provider: an ordinary account
    taker_uid: int  # the background takers: an ordinary account
    symbols: list[SimSymbol]
    history: HistorySpec


class MarketStep(Command):
    """One tick of the living market (core.background): index walk, quotes, background takers, mark price.
    With a symbol: only that symbol's quotes and mark follow its index (a replayed trade just moved it)."""

    category: str = ""
    symbol: str = ""


AnyCommand = (CreateAccount | CreateApiKey | Deposit | InterTransfer | UniversalTransfer | Withdraw | CreateSubMember
              | PlaceOrder | AmendOrder | CancelOrder | CancelAll
              | SetPrices | SetLeverage | SetRiskLimit | SetTradingStop | SetMarginMode | AddMargin | SetAutoAddMargin
              | SwitchPositionMode | SetTpslMode | SetAccountRules | SetSymbolRules | SetMmp
              | UpgradeToUta | SetLimitPriceAction | Tick | ConfigureMarket | MarketStep)
