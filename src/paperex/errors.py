"""The one error catalog: every Bybit V5 code paperex can answer with, and its exact message.

It lives outside ``gateway`` so that the pure core can reject a command with a catalog code without
importing an outer layer. ``tests/test_error_catalog.py`` compares it with ``data/error-codes.tsv``
(and with ``../shared/reference/error-codes.tsv`` when that exists), so the two cannot drift.
"""

from __future__ import annotations

from enum import IntEnum


class HttpError(IntEnum):
    """Transport-level failures: answered with this HTTP status and a plain-text body."""

    BAD_METHOD = 400
    UNAUTHORIZED = 401
    FORBIDDEN = 403
    NOT_FOUND = 404


class Code(IntEnum):
    """``retCode`` values (HTTP 200, JSON envelope)."""

    OK = 0
    SERVER_TIMEOUT = 10000
    PARAM_ERROR = 10001
    TIMESTAMP_OUT_OF_WINDOW = 10002
    INVALID_API_KEY = 10003
    BAD_SIGNATURE = 10004
    PERMISSION_DENIED = 10005
    RATE_LIMITED = 10006
    USER_AUTH_FAILED = 10007
    ACCOUNT_BANNED = 10008
    IP_BANNED = 10009
    IP_MISMATCH = 10010
    DUPLICATE_REQUEST = 10014
    SERVER_ERROR = 10016
    ROUTE_NOT_FOUND = 10017
    IP_RATE_LIMITED = 10018
    COMPLIANCE_RULES = 10024
    TRADING_BANNED = 10027
    SYMBOL_NOT_WHITELISTED = 10029
    LEVERAGE_ABOVE_TIER = 30150
    LEVERAGE_ABOVE_INS_LOAN = 30151
    REDUCE_ONLY_BOTH_SIDES = 30153
    REPLACE_IN_PROGRESS = 40004
    ORDER_NOT_EXISTS = 110001
    PRICE_OUT_OF_RANGE = 110003
    WALLET_INSUFFICIENT = 110004
    POSITION_STATUS = 110005
    CANNOT_COVER_POSITION_MARGIN = 110006
    AVAILABLE_INSUFFICIENT = 110007
    ORDER_FINISHED = 110008
    TOO_MANY_STOP_ORDERS = 110009
    ORDER_CANCELLED = 110010
    ADJUSTMENT_LIQUIDATES = 110011
    INSUFFICIENT_AVAILABLE = 110012
    LEVERAGE_RISK_LIMIT = 110013
    ADD_MARGIN_INSUFFICIENT = 110014
    POSITION_CROSS_MODE = 110015
    QTY_EXCEEDS_RISK_LIMIT = 110016
    REDUCE_ONLY_RULE = 110017
    ILLEGAL_USER_ID = 110018
    ILLEGAL_ORDER_ID = 110019
    TOO_MANY_ACTIVE_ORDERS = 110020
    OPEN_INTEREST_LIMIT = 110021
    QTY_RESTRICTED = 110022
    SYMBOL_REDUCE_ONLY = 110023
    SWITCH_MODE_HAS_POSITION = 110024
    POSITION_MODE_NOT_MODIFIED = 110025
    MARGIN_MODE_NOT_MODIFIED = 110026
    MARGIN_NOT_MODIFIED = 110027
    SWITCH_MODE_HAS_ORDERS = 110028
    HEDGE_MODE_UNSUPPORTED = 110029
    DUPLICATE_ORDER_ID = 110030
    RISK_LIMIT_NOT_FOUND = 110031
    ILLEGAL_ORDER = 110032
    SET_MARGIN_WITHOUT_POSITION = 110033
    NO_NET_POSITION = 110034
    CANCEL_BEFORE_LIQUIDATION = 110035
    LEVERAGE_CROSS_MODE = 110036
    SYMBOL_NOT_IN_SETTINGS = 110037
    LEVERAGE_PORTFOLIO_MODE = 110038
    MMR_TOO_HIGH = 110039
    ORDER_TRIGGERS_LIQUIDATION = 110040
    SKIP_LIQUIDATION_NOT_ALLOWED = 110041
    LEVERAGE_NOT_MODIFIED = 110043
    AVAILABLE_MARGIN_INSUFFICIENT = 110044
    WALLET_BALANCE_INSUFFICIENT = 110045
    ADJUSTMENT_LIQUIDATES_NOW = 110046
    RISK_LIMIT_MARGIN_INSUFFICIENT = 110047
    RISK_LIMIT_VALUE_EXCEEDED = 110048
    TICK_NOTES_NUMBERS = 110049
    INVALID_COIN = 110050
    CANNOT_COVER_LOWEST_PRICE = 110051
    CANNOT_SET_PRICE = 110052
    CANNOT_COVER_MARKET_PRICE = 110053
    TPSL_SWITCH_HAS_TP = 110054
    TPSL_SWITCH_HAS_SL = 110055
    TPSL_SWITCH_HAS_TRAILING = 110056
    TPSL_PARAMS_NOT_ALLOWED = 110057
    TPSL_POSITION_TOO_SMALL = 110058
    TPSL_PARTIALLY_FILLED = 110059
    TPSL_FULL_MODE = 110060
    TPSL_PARTIAL_LIMIT = 110061
    NO_MMP_PROFILE = 110062
    SETTLEMENT_IN_PROGRESS = 110063
    AMEND_QTY_LE_FILLED = 110064
    TRADING_NOT_ALLOWED = 110066
    LEVERAGED_TRADING_NOT_ALLOWED = 110068
    INS_LOAN_CANNOT_TRADE = 110069
    ETP_NOT_TRADABLE = 110070
    UMA_UPGRADE_DISABLED = 110071
    DUPLICATE_ORDER_LINK_ID = 110072
    SET_MARGIN_MODE_FAILED = 110073
    RISK_ID_NOT_MODIFIED = 110075
    AUTO_ADD_MARGIN_ISOLATED_ONLY = 110076
    PM_MODE_UNSUPPORTED = 110077
    ADDED_MARGIN_ABOVE_MAX = 110078
    ORDER_PROCESSING = 110079
    BANNED_UTA_UPGRADE = 3100197
    ISOLATED_CANNOT_CREATE = 3200403
    UPGRADE_HEDGE_OR_ISOLATED = 3400208
    UPGRADE_AROUND_THE_HOUR = 3400209
    UPGRADE_RISK_RATE_HIGH = 3400210
    UPGRADE_EST_RISK_RATE_HIGH = 3400211
    UPGRADE_OPEN_USDT_PERP_ORDERS = 3400054
    UPGRADE_SERVER_ERROR = 3400214
    UPGRADE_NET_ASSET = 3400071


MESSAGES: dict[int, str] = {
    HttpError.BAD_METHOD: "Bad request. Need to send the request with GET / POST (must be capitalized)",
    HttpError.UNAUTHORIZED: (
        "Invalid request. 1. Need to use the correct key to access; "
        "2. Need to put authentication params in the request header"
    ),
    HttpError.FORBIDDEN: (
        "Forbidden request. Possible causes: 1. IP rate limit breached; "
        "2. You send GET request with an empty json body"
    ),
    HttpError.NOT_FOUND: (
        "Cannot find path. Possible causes: 1. Wrong path; 2. Category value does not match account mode"
    ),
    Code.OK: "OK",
    Code.SERVER_TIMEOUT: "Server Timeout",
    Code.PARAM_ERROR: "Request parameter error",
    Code.TIMESTAMP_OUT_OF_WINDOW: "The request time exceeds the time window range.",
    Code.INVALID_API_KEY: "API key is invalid.",
    Code.BAD_SIGNATURE: "Error sign, please check your signature generation algorithm.",
    Code.PERMISSION_DENIED: "Permission denied, please check your API key permissions.",
    Code.RATE_LIMITED: "Too many visits. Exceeded the API Rate Limit.",
    Code.USER_AUTH_FAILED: "User authentication failed.",
    Code.ACCOUNT_BANNED: "Common banned, please check your account mode",
    Code.IP_BANNED: "IP has been banned.",
    Code.IP_MISMATCH: "Unmatched IP, please check your API key's bound IP addresses.",
    Code.DUPLICATE_REQUEST: "Invalid duplicate request.",
    Code.SERVER_ERROR: "Server error.",
    Code.ROUTE_NOT_FOUND: "Route not found.",
    Code.IP_RATE_LIMITED: "Exceeded the IP Rate Limit.",
    Code.COMPLIANCE_RULES: "Compliance rules triggered",
    Code.TRADING_BANNED: "Transactions are banned.",
    Code.SYMBOL_NOT_WHITELISTED: "The requested symbol is invalid, please check symbol whitelist",
    Code.LEVERAGE_ABOVE_TIER: (
        "Current order leverage exceeds the maximum available for your current Risk Limit tier. "
        "Please lower leverage before placing an order."
    ),
    Code.LEVERAGE_ABOVE_INS_LOAN: (
        "Leverage for Perpetual or Futures contracts cannot exceed the maximum allowed for your "
        "Institutional Loan."
    ),
    Code.REDUCE_ONLY_BOTH_SIDES: (
        "Reduce-Only restrictions must be lifted for both Long and Short positions at the same time."
    ),
    Code.REPLACE_IN_PROGRESS: (
        "the order is modified during the process of replacing , please check the order status again"
    ),
    Code.ORDER_NOT_EXISTS: "Order does not exist",
    Code.PRICE_OUT_OF_RANGE: "Order price exceeds the allowable range.",
    Code.WALLET_INSUFFICIENT: "Wallet balance is insufficient",
    Code.POSITION_STATUS: "position status",
    Code.CANNOT_COVER_POSITION_MARGIN: "The assets are estimated to be unable to cover the position margin",
    Code.AVAILABLE_INSUFFICIENT: "Available balance is insufficient",
    Code.ORDER_FINISHED: "The order has been completed or cancelled.",
    Code.TOO_MANY_STOP_ORDERS: (
        "The number of stop orders exceeds the maximum allowable limit. "
        "You can find references from our Open API doc."
    ),
    Code.ORDER_CANCELLED: "The order has been cancelled",
    Code.ADJUSTMENT_LIQUIDATES: "Liquidation will be triggered immediately by this adjustment",
    Code.INSUFFICIENT_AVAILABLE: "Insufficient available balance.",
    Code.LEVERAGE_RISK_LIMIT: "Cannot set leverage due to risk limit level.",
    Code.ADD_MARGIN_INSUFFICIENT: "Insufficient available balance to add additional margin.",
    Code.POSITION_CROSS_MODE: "The position is in cross margin mode.",
    Code.QTY_EXCEEDS_RISK_LIMIT: (
        "The quantity of contracts requested exceeds the risk limit, "
        "please adjust your risk limit level before trying again"
    ),
    Code.REDUCE_ONLY_RULE: "Unmatch the ReduceOnly rules.",
    Code.ILLEGAL_USER_ID: "User ID is illegal.",
    Code.ILLEGAL_ORDER_ID: "Order ID is illegal.",
    Code.TOO_MANY_ACTIVE_ORDERS: "Not allowed to have more than 500 active orders.",
    Code.OPEN_INTEREST_LIMIT: "Not allowed to exceeded position limits due to Open Interest.",
    Code.QTY_RESTRICTED: "Quantity has been restricted and orders cannot be modified to increase the quantity.",
    Code.SYMBOL_REDUCE_ONLY: (
        "Currently you can only reduce your position on this contract. please check our announcement "
        "or contact customer service for details."
    ),
    Code.SWITCH_MODE_HAS_POSITION: "You have an existing position, so the position mode cannot be switched.",
    Code.POSITION_MODE_NOT_MODIFIED: "Position mode has not been modified.",
    Code.MARGIN_MODE_NOT_MODIFIED: "Cross/isolated margin mode has not been modified.",
    Code.MARGIN_NOT_MODIFIED: "Margin has not been modified.",
    Code.SWITCH_MODE_HAS_ORDERS: "You have existing open orders, so the position mode cannot be switched.",
    Code.HEDGE_MODE_UNSUPPORTED: "Hedge mode is not supported for this symbol.",
    Code.DUPLICATE_ORDER_ID: "Duplicate orderId",
    Code.RISK_LIMIT_NOT_FOUND: "Non-existing risk limit info, please check the risk limit rules.",
    Code.ILLEGAL_ORDER: "Order is illegal",
    Code.SET_MARGIN_WITHOUT_POSITION: "You can't set margin without an open position",
    Code.NO_NET_POSITION: "There is no net position",
    Code.CANCEL_BEFORE_LIQUIDATION: "Cancellation of orders was not completed before liquidation",
    Code.LEVERAGE_CROSS_MODE: "You are not allowed to change leverage due to cross margin mode.",
    Code.SYMBOL_NOT_IN_SETTINGS: "User setting list does not have this symbol",
    Code.LEVERAGE_PORTFOLIO_MODE: "You are not allowed to change leverage due to portfolio margin mode.",
    Code.MMR_TOO_HIGH: "Maintenance margin rate is too high. This may trigger liquidation.",
    Code.ORDER_TRIGGERS_LIQUIDATION: "The order will trigger a forced liquidation, please re-submit the order.",
    Code.SKIP_LIQUIDATION_NOT_ALLOWED: "Skip liquidation is not allowed when a position or maker order exists",
    Code.LEVERAGE_NOT_MODIFIED: "Set leverage has not been modified.",
    Code.AVAILABLE_MARGIN_INSUFFICIENT: "Available margin is insufficient.",
    Code.WALLET_BALANCE_INSUFFICIENT: "Wallet balance is insufficient.",
    Code.ADJUSTMENT_LIQUIDATES_NOW: "Liquidation will be triggered immediately by this adjustment.",
    Code.RISK_LIMIT_MARGIN_INSUFFICIENT: (
        "Risk limit cannot be adjusted due to insufficient available margin."
    ),
    Code.RISK_LIMIT_VALUE_EXCEEDED: (
        "Risk limit cannot be adjusted as the current/expected position value exceeds the revised risk limit."
    ),
    Code.TICK_NOTES_NUMBERS: "Tick notes can only be numbers",
    Code.INVALID_COIN: "Invalid coin",
    Code.CANNOT_COVER_LOWEST_PRICE: (
        "The user's available balance cannot cover the lowest price of the current market"
    ),
    Code.CANNOT_SET_PRICE: "Your available balance is insufficient to set the price",
    Code.CANNOT_COVER_MARKET_PRICE: (
        "The user's available balance cannot cover the current market price and upper limit price"
    ),
    Code.TPSL_SWITCH_HAS_TP: (
        "This position has at least one take profit link order, "
        "so the take profit and stop loss mode cannot be switched"
    ),
    Code.TPSL_SWITCH_HAS_SL: (
        "This position has at least one stop loss link order, "
        "so the take profit and stop loss mode cannot be switched"
    ),
    Code.TPSL_SWITCH_HAS_TRAILING: (
        "This position has at least one trailing stop link order, "
        "so the take profit and stop loss mode cannot be switched"
    ),
    Code.TPSL_PARAMS_NOT_ALLOWED: "Conditional order or limit order contains TP/SL related params",
    Code.TPSL_POSITION_TOO_SMALL: (
        "You can't set take profit and stop loss due to insufficient size of remaining position size."
    ),
    Code.TPSL_PARTIALLY_FILLED: "Not allowed to modify the TP/SL of a partially filled open order",
    Code.TPSL_FULL_MODE: "Under full TP/SL mode, it is not allowed to modify TP/SL",
    Code.TPSL_PARTIAL_LIMIT: "Not allowed to have more than 20 TP/SLs under Partial tpSlMode",
    Code.NO_MMP_PROFILE: "There is no MMP information of the institution found.",
    Code.SETTLEMENT_IN_PROGRESS: "Settlement in progress! {{key0}} not available for trading.",
    Code.AMEND_QTY_LE_FILLED: "The modified contract quantity cannot be less than or equal to the filled quantity.",
    Code.TRADING_NOT_ALLOWED: "Trading is currently not allowed.",
    Code.LEVERAGED_TRADING_NOT_ALLOWED: "Leveraged trading is not allowed.",
    Code.INS_LOAN_CANNOT_TRADE: "Ins lending customer is not allowed to trade.",
    Code.ETP_NOT_TRADABLE: "ETP symbols cannot be traded.",
    Code.UMA_UPGRADE_DISABLED: (
        "Sorry, we're revamping the Unified Margin Account! Currently, new upgrades are not supported. "
        "If you have any questions, please contact our 24/7 customer support."
    ),
    Code.DUPLICATE_ORDER_LINK_ID: "OrderLinkedID is duplicate",
    Code.SET_MARGIN_MODE_FAILED: "Set margin mode failed",
    Code.RISK_ID_NOT_MODIFIED: "RiskId not modified",
    Code.AUTO_ADD_MARGIN_ISOLATED_ONLY: "Only isolated mode can set auto-add-margin",
    Code.PM_MODE_UNSUPPORTED: "Pm mode cannot support",
    Code.ADDED_MARGIN_ABOVE_MAX: "Added margin more than max can reduce margin",
    Code.ORDER_PROCESSING: "The order is processing and can not be operated, please try again later",
    Code.BANNED_UTA_UPGRADE: "Temporary banned due to the upgrade to UTA",
    Code.ISOLATED_CANNOT_CREATE: "isolated margin can not create order",
    Code.UPGRADE_HEDGE_OR_ISOLATED: "You have unclosed hedge mode or isolated mode USDT perpetual positions",
    Code.UPGRADE_AROUND_THE_HOUR: (
        "You have USDT perpetual positions, so upgrading is prohibited for 10 minutes before and after "
        "the hour every hour"
    ),
    Code.UPGRADE_RISK_RATE_HIGH: "The risk rate of your Derivatives account is too high",
    Code.UPGRADE_EST_RISK_RATE_HIGH: "Once upgraded, the estimated risk rate will be too high",
    Code.UPGRADE_OPEN_USDT_PERP_ORDERS: "You have uncancelled USDT perpetual orders",
    Code.UPGRADE_SERVER_ERROR: "Server error, please try again later",
    Code.UPGRADE_NET_ASSET: "The net asset is not satisfied",
}


def message(code: int, detail: str | None = None) -> str:
    """The catalog message for ``code``, optionally followed by ``: detail``; a message with a ``{{key0}}``
    placeholder (110063) takes the detail there instead."""
    text = MESSAGES[code]
    if "{{key0}}" in text:
        return text.replace("{{key0}}", detail or "")
    return f"{text}: {detail}" if detail else text


class ApiError(Exception):
    """A request or command rejected with a catalog code; the gateway renders it on the wire."""

    def __init__(self, code: int, detail: str | None = None, reason: str | None = None) -> None:
        super().__init__(message(code, detail))
        self.code = int(code)
        self.detail = detail
        # the rule that refused, with its numbers, in plain words: for the request log and the dashboard only
        # (Bybit's retMsg carries no such numbers, so the wire never shows it)
        self.reason = reason

    @property
    def msg(self) -> str:
        return message(self.code, self.detail)
