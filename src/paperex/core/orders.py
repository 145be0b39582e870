"""Orders as the core holds them: integer ticks and lots, money in 1e-8 units, Bybit's status vocabulary."""

from __future__ import annotations

from paperex.core.book import BUY, SELL

SIDES = {"Buy": BUY, "Sell": SELL}
SIDE_NAMES = {BUY: "Buy", SELL: "Sell"}
ORDER_TYPES = ("Limit", "Market")
TIME_IN_FORCE = ("GTC", "IOC", "FOK", "PostOnly")
SMP_TYPES = ("None", "CancelMaker", "CancelTaker", "CancelBoth")

# orderStatus
NEW = "New"
PARTIALLY_FILLED = "PartiallyFilled"
FILLED = "Filled"
CANCELLED = "Cancelled"
PARTIALLY_FILLED_CANCELED = "PartiallyFilledCanceled"  # spot only
REJECTED = "Rejected"
UNTRIGGERED = "Untriggered"  # conditional orders waiting for their trigger price
TRIGGERED = "Triggered"
DEACTIVATED = "Deactivated"  # a conditional order cancelled before it triggered
OPEN_STATUSES = (NEW, PARTIALLY_FILLED)
# Bybit's "closed status" (enum.mdx#orderstatus): what /v5/order/history lists for a unified account
CLOSED_STATUSES = frozenset({REJECTED, PARTIALLY_FILLED_CANCELED, FILLED, CANCELLED, TRIGGERED, DEACTIVATED})

MAX_ACTIVE_ORDERS = 500  # per symbol per account (derivatives) / per account (spot)
ORDER_LINK_ID_MAX = 36


class Order:
    """One order. ``price`` of a market order is its protection cap (what Bybit echoes as its price)."""

    __slots__ = (
        "cancel_type",
        "category",
        "close_on_trigger",
        "create_type",
        "created_ts",
        "cum_fee",
        "cum_inv",
        "cum_qty",
        "cum_value",
        "fee_coin",
        "hold",
        "hold_coin",
        "last_price_on_created",
        "leaves",
        "market_unit",
        "order_id",
        "order_link_id",
        "order_type",
        "parent",
        "position_idx",
        "price",
        "qty",
        "quote_qty",
        "quote_spent",
        "reduce_only",
        "reject_reason",
        "seq",
        "side",
        "sl_limit",
        "sl_trigger_by",
        "smp_order_id",
        "smp_type",
        "status",
        "stop_loss",
        "stop_order_type",
        "symbol",
        "take_profit",
        "tif",
        "tp_limit",
        "tp_trigger_by",
        "tpsl_mode",
        "trail",
        "trail_active",
        "trigger_by",
        "trigger_direction",
        "trigger_price",
        "uid",
        "updated_ts",
    )

    def __init__(self, *, order_id: int, uid: int, category: str, symbol: str, side: int, order_type: str,
                 tif: str, price: int, qty: int, order_link_id: str, reduce_only: bool, close_on_trigger: bool,
                 smp_type: str, position_idx: int, ts: int, last_price_on_created: int | None,
                 market_unit: str = "", quote_qty: int = 0) -> None:
        self.order_id = order_id
        self.uid = uid
        self.category = category
        self.symbol = symbol
        self.side = side
        self.order_type = order_type
        self.tif = tif
        self.price = price
        self.qty = qty
        self.leaves = qty
        self.cum_qty = 0
        self.cum_value = 0
        self.cum_fee = 0
        self.fee_coin = ""
        self.status = NEW
        self.order_link_id = order_link_id
        self.reduce_only = reduce_only
        self.close_on_trigger = close_on_trigger
        self.smp_type = smp_type
        self.position_idx = position_idx
        self.created_ts = ts
        self.updated_ts = ts
        self.cancel_type = "UNKNOWN"
        self.reject_reason = "EC_NoError"
        self.last_price_on_created = last_price_on_created
        self.hold = 0  # margin (derivatives) or coin (spot) reserved for the leaves, 1e-8 units of hold_coin
        self.hold_coin = ""
        self.market_unit = market_unit  # spot market orders: "baseCoin" or "quoteCoin"
        self.quote_qty = quote_qty  # spot market buy in quote units: the amount to spend
        self.quote_spent = 0
        self.seq = 0
        self.smp_order_id = 0  # the counterparty order of a self-match prevention
        self.cum_inv = 0  # sum of lots * 10**20 // price ticks: the exact average price of inverse fills
        self.create_type = "CreateByUser"  # CreateByStopOrder, CreateByTakeProfit, CreateByTakeOver_PassThrough...
        self.trigger_price = 0  # conditional orders: ticks
        self.trigger_direction = 0  # 1 rise, 2 fall
        self.trigger_by = ""
        self.stop_order_type = ""  # Stop (conditional), TakeProfit, StopLoss (position TP/SL)
        self.take_profit = 0  # set on the position when the order fills
        self.stop_loss = 0
        self.tp_trigger_by = ""
        self.sl_trigger_by = ""
        self.trail = 0  # trailing stop: distance (ticks); its trigger price follows the best price since start
        self.trail_active = 0  # trailing stop: the price that starts it (0: at once)
        self.tpsl_mode = ""  # the order's TP/SL: "Full" (the whole position) or "Partial" (legs of its fills)
        self.tp_limit = 0  # Partial mode: the limit price of the TP / SL leg (0: a market leg)
        self.sl_limit = 0
        self.parent = 0  # a Partial TP/SL leg created by an order's fills: that order's id

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def state(self) -> tuple:
        """Everything mutable, for state digests."""
        return tuple(getattr(self, name) for name in self.__slots__)


class Execution:
    """One account's side of one fill."""

    __slots__ = ("category", "closed_qty", "entry_closed", "entry_inv_closed", "exec_id", "exec_type", "fee",
                 "fee_coin", "fee_rate", "is_maker", "leaves", "mark_price", "open_fee", "order_id", "order_link_id",
                 "order_price", "order_qty", "order_type", "pnl", "price", "qty", "seq", "side", "symbol", "ts",
                 "uid", "value")

    def __init__(self, exec_id: int, order: Order, price: int, qty: int, value: int, fee: int, fee_coin: str,
                 fee_rate: int, is_maker: bool, ts: int, seq: int, mark_price: int, closed_qty: int,
                 pnl: int = 0, open_fee: int = 0) -> None:
        self.exec_id = exec_id
        self.uid = order.uid
        self.category = order.category
        self.symbol = order.symbol
        self.order_id = order.order_id
        self.order_link_id = order.order_link_id
        self.order_type = order.order_type
        self.order_price = order.price
        self.order_qty = order.qty
        self.side = order.side
        self.leaves = order.leaves
        self.price = price
        self.qty = qty
        self.value = value
        self.fee = fee
        self.fee_coin = fee_coin
        self.fee_rate = fee_rate
        self.is_maker = is_maker
        self.ts = ts
        self.seq = seq
        self.mark_price = mark_price
        self.closed_qty = closed_qty
        self.pnl = pnl  # realised PnL of the part that closed a position, before the fee
        self.open_fee = open_fee  # the fees once paid to open the lots this fill closed
        self.entry_closed = 0  # the entry value of the lots this fill closed
        self.entry_inv_closed = 0  # and their exact inverse entry record (lots * 10**20 // ticks)
        self.exec_type = "Trade"  # BustTrade (liquidation), Funding

    def state(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)


class PublicTrade:
    __slots__ = ("exec_id", "price", "qty", "seq", "side", "tick_direction", "ts")

    def __init__(self, exec_id: int, price: int, qty: int, side: int, ts: int, seq: int, tick_direction: str):
        self.exec_id = exec_id
        self.price = price
        self.qty = qty
        self.side = side
        self.ts = ts
        self.seq = seq
        self.tick_direction = tick_direction
