"""``/v5/account/*``: account mode, wallet balance and fee rates."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from paperex.core.commands import SetLimitPriceAction, SetMarginMode, SetMmp, UpgradeToUta
from paperex.core.orders import SIDE_NAMES
from paperex.core.upgrade import UpgradeRefused
from paperex.errors import ApiError, Code
from paperex.gateway import ids, serializers
from paperex.gateway import trade_serializers as tser
from paperex.gateway.auth import Permission
from paperex.gateway.endpoints import V5, Call
from paperex.gateway.handlers.market import page
from paperex.gateway.params import ALL_CATEGORIES, param_error
from paperex.gateway.trade_serializers import money


@V5.get("/v5/account/info")
async def account_info(call: Call) -> dict[str, Any]:
    return serializers.account_info(call.account)


@V5.get("/v5/account/wallet-balance")
async def wallet_balance(call: Call) -> dict[str, Any]:
    p = call.params
    account_type = p.str("accountType", required=True)
    if call.account.classic:  # a classic account's V5 wallet: the contract account (spot is not served)
        if account_type != "CONTRACT":
            raise param_error("accountType only support CONTRACT for a classic account")
    elif account_type != "UNIFIED":
        raise param_error("accountType only support UNIFIED")
    coins = p.coins("coin")
    result = serializers.wallet_balance(call.core, call.account, coins)
    result["list"][0]["accountType"] = account_type
    return result


@V5.get("/v5/account/fee-rate")
async def fee_rate(call: Call) -> dict[str, Any]:
    """Without ``category`` (the docs' own example, ``?symbol=ETHUSDT``, and ccxt's fetch_trading_fees) Bybit
    answers as the endpoint first did, for derivatives only: the linear and inverse symbols, no category field."""
    p = call.params
    category = p.category(ALL_CATEGORIES, required=False, default="")
    symbol = p.symbol()
    base_coin = p.str("baseCoin", max_len=20)
    categories = (category,) if category else ("linear", "inverse")
    rows = []
    for cat in categories:
        instruments = sorted(
            (i for i in call.core.instruments_of(cat) if symbol is None or i.symbol == symbol),
            key=lambda i: i.symbol,
        )
        if instruments or (cat == "option" and symbol is None):
            rows += serializers.fee_rate_rows(call.account, cat, instruments, base_coin)
        if symbol is not None and rows:
            break  # a symbol listed in both linear and inverse is answered once
    if symbol is not None and not rows:
        raise param_error(f"symbol {symbol} does not exist")
    result: dict[str, Any] = {"list": rows}
    if category in ("spot", "option"):  # derivatives replies carry no category field
        result = {"category": category, "list": rows}
    return result


LOG_TYPES = frozenset({"TRANSFER_IN", "TRANSFER_OUT", "TRADE", "SETTLEMENT", "DELIVERY", "LIQUIDATION", "ADL",
                        "AIRDROP", "BONUS", "BONUS_RECOLLECT", "FEE_REFUND", "INTEREST", "CURRENCY_BUY",
                        "CURRENCY_SELL", "BORROWED_AMOUNT_INS_LOAN", "PRINCIPLE_REPAYMENT_INS_LOAN",
                        "INTEREST_REPAYMENT_INS_LOAN", "AUTO_SOLD_COLLATERAL_INS_LOAN",
                        "AUTO_BUY_LIABILITY_INS_LOAN", "AUTO_PRINCIPLE_REPAYMENT_INS_LOAN",
                        "AUTO_INTEREST_REPAYMENT_INS_LOAN", "TRANSFER_IN_INS_LOAN", "TRANSFER_OUT_INS_LOAN",
                        "SPOT_REPAYMENT_SELL", "SPOT_REPAYMENT_BUY", "TOKENS_SUBSCRIPTION", "TOKENS_REDEMPTION",
                        "AUTO_DEDUCTION", "FLEXIBLE_STAKING_SUBSCRIPTION", "FLEXIBLE_STAKING_REDEMPTION",
                        "FIXED_STAKING_SUBSCRIPTION", "FLEXIBLE_STAKING_REFUND", "FIXED_STAKING_REFUND",
                        "PREMARKET_TRANSFER_OUT", "PREMARKET_DELIVERY_SELL_NEW_COIN",
                        "PREMARKET_DELIVERY_BUY_NEW_COIN", "PREMARKET_DELIVERY_PLEDGE_PAY_SELLER",
                        "PREMARKET_DELIVERY_PLEDGE_BACK", "PREMARKET_ROLLBACK_PLEDGE_BACK",
                        "PREMARKET_ROLLBACK_PLEDGE_PENALTY_TO_BUYER", "CUSTODY_NETWORK_FEE", "CUSTODY_SETTLE_FEE",
                        "CUSTODY_LOCK", "CUSTODY_UNLOCK", "CUSTODY_UNLOCK_REFUND", "LOANS_BORROW_FUNDS",
                        "LOANS_PLEDGE_ASSET", "BONUS_TRANSFER_IN", "BONUS_TRANSFER_OUT", "PEF_TRANSFER_IN",
                        "PEF_TRANSFER_OUT", "PEF_PROFIT_SHARE", "ONCHAINEARN_SUBSCRIPTION", "ONCHAINEARN_REDEMPTION",
                        "ONCHAINEARN_REFUND", "STRUCTURE_PRODUCT_SUBSCRIPTION", "STRUCTURE_PRODUCT_REFUND",
                        "CLASSIC_WEALTH_MANAGEMENT_SUBSCRIPTION", "PREMIMUM_WEALTH_MANAGEMENT_SUBSCRIPTION",
                        "PREMIMUM_WEALTH_MANAGEMENT_REFUND", "LIQUIDITY_MINING_SUBSCRIPTION",
                        "LIQUIDITY_MINING_REFUND", "PWM_SUBSCRIPTION", "PWM_REFUND", "DEFI_INVESTMENT_SUBSCRIPTION",
                        "DEFI_INVESTMENT_REFUND", "DEFI_INVESTMENT_REDEMPTION", "INSTITUTION_LOAN_IN",
                        "INSTITUTION_PAYBACK_PRINCIPAL_OUT", "INSTITUTION_PAYBACK_INTEREST_OUT",
                        "INSTITUTION_EXCHANGE_SELL", "INSTITUTION_EXCHANGE_BUY", "INSTITUTION_LIQ_PRINCIPAL_OUT",
                        "INSTITUTION_LIQ_INTEREST_OUT", "INSTITUTION_LOAN_TRANSFER_IN",
                        "INSTITUTION_LOAN_TRANSFER_OUT", "INSTITUTION_LOAN_WITHOUT_WITHDRAW",
                        "INSTITUTION_LOAN_RESERVE_IN", "INSTITUTION_LOAN_RESERVE_OUT", "SPREAD_FEE_OUT",
                        "PLATFORM_TOKEN_MNT_LIQRECALLEDMMNT", "PLATFORM_TOKEN_MNT_LIQRETURNEDMNT", "BORROW", "REPAY",
                        "CONVERT", "BROKER_ABACCOUNT_FEE", "EARNING_REDEMPTION_SELL", "EARNING_REDEMPTION_BUY",
                        "DBS_CASH_OUT", "DBS_CASH_IN", "DBS_CASH_OUT_TR", "DBS_CASH_IN_TR",
                        "CUSTODY_CASH_RECOVER_TR", "ALPHA_SMALL_TOKEN_REFUND", "TWAP_BUDGET_AIRDROP",
                        "TWAP_BUDGET_RECALL", "FLOATING_TO_FIXED_BORROW", "FLOATING_TO_FIXED_REPAY",
                        "IDN_CONVERT_IN", "IDN_CONVERT_OUT"})  # Bybit's type(uta-translog) enum
DAY_MS, WEEK_MS = 86_400_000, 7 * 86_400_000


@V5.get("/v5/account/transaction-log")
async def transaction_log(call: Call) -> dict[str, Any]:
    """Every change of the account's wallet balances, newest first (core.ledger)."""
    p = call.params
    if p.enum("accountType", ("UNIFIED",)) is None and p.raw("accountType") not in (None, ""):
        raise param_error("accountType only support UNIFIED")
    category = p.enum("category", ALL_CATEGORIES)
    currency = p.str("currency", max_len=20)
    base_coin = p.str("baseCoin", max_len=20)
    kind = p.str("type", max_len=64)
    if kind is not None and kind not in LOG_TYPES:
        raise param_error(f"type {kind} is not a transaction-log type")
    start = p.int("startTime", lo=0, hi=10**15)
    end = p.int("endTime", lo=0, hi=10**15)
    if start is None and end is None:
        end = call.now_ms
    if start is None:
        assert end is not None
        start = end - DAY_MS
    elif end is None:
        end = start + DAY_MS
    if end < start or end - start > WEEK_MS:
        raise param_error("the time range must be within 7 days, endTime not before startTime")
    core = call.core
    rows = []
    for entry in reversed(call.account.ledger):
        (eid, ts, typ, coin, cat, symbol, side, qty, size_after, price, cash_flow, funding, fee, fee_rate, balance,
         trade_id, order_id, link_id) = entry
        if not start <= ts <= end or (kind is not None and typ != kind) or (currency and coin != currency):
            continue
        if (category is not None and cat != category) or (base_coin is not None and (
                not symbol or core.symbols[(cat, symbol)].inst.base_coin != base_coin)):
            continue
        st = core.symbols.get((cat, symbol)) if symbol else None
        rows.append({
            "id": str(eid), "symbol": symbol, "category": cat,
            "side": SIDE_NAMES.get(side, "None"), "transactionTime": str(ts), "type": typ, "transSubType": "",
            "qty": (money(qty) if cat == "spot" else tser.qty(st, qty)) if st else "0",
            "size": tser.qty(st, abs(size_after)) if st and cat != "spot" else "0",
            "currency": coin, "tradePrice": tser.price(st, price) if st and price else "",
            "funding": money(funding), "fee": money(fee), "cashFlow": money(cash_flow),
            "change": money(cash_flow + funding - fee), "cashBalance": money(balance),
            "feeRate": money(fee_rate) if fee_rate else "", "bonusChange": "",
            "tradeId": ids.exec_id(trade_id, cat) if trade_id and cat else "",
            "orderId": ids.order_id(order_id, cat) if order_id and cat else "", "orderLinkId": link_id,
            "extraFees": "",
        })
        if rows[-1]["size"] != "0" and size_after < 0:
            rows[-1]["size"] = "-" + rows[-1]["size"]
    chunk, cursor = page(rows, p, default_limit=20, max_limit=50)
    return {"list": chunk, "nextPageCursor": cursor}


# account-wide trading settings need a contract-trading permission (a key with none changes nothing; Bybit's docs
# do not name one: the position endpoints' group is the nearest)
ACCOUNT_SETTING = Permission(write=True, group="ContractTrade", any_of=("Order", "Position"))


@V5.post("/v5/account/set-margin-mode", permission=ACCOUNT_SETTING)
async def set_margin_mode(call: Call) -> dict[str, Any]:
    """Cross (REGULAR_MARGIN) or isolated margin for every derivatives position of the account."""
    mode = call.params.enum("setMarginMode", ("ISOLATED_MARGIN", "REGULAR_MARGIN", "PORTFOLIO_MARGIN"),
                            required=True)
    assert mode is not None
    if call.account.classic:
        raise param_error("set-margin-mode is for unified accounts; a classic account uses "
                          "/v5/position/switch-isolated")
    await call.sequencer.submit(SetMarginMode(uid=call.account.uid, mode=mode))
    return {"reasons": []}


@V5.post("/v5/account/upgrade-to-uta", permission=ACCOUNT_SETTING)
async def upgrade_to_uta(call: Call) -> dict[str, Any]:
    """Classic -> UTA 2.0 (PROCESS: the account answers 3100197 while it lasts), UTA 2.0 -> Pro (SUCCESS, or
    FAIL with the reasons)."""
    try:
        await call.sequencer.submit(UpgradeToUta(uid=call.account.uid))
    except UpgradeRefused as refused:
        return {"unifiedUpdateStatus": "FAIL", "unifiedUpdateMsg": {"msg": refused.reasons}}
    status = "PROCESS" if call.account.upgrading_until > call.now_ms else "SUCCESS"
    return {"unifiedUpdateStatus": status, "unifiedUpdateMsg": None}


def _mmp_decimal(call: Call, name: str, *, required: bool = True) -> str:
    value = call.params.decimal(name, required=required)
    if value is None:
        return ""
    if value < 0 or value != value.quantize(Decimal("0.01")):
        raise param_error(f"{name} must be positive with at most 2 decimals")
    return format(value.normalize(), "f")


def _base_coin(call: Call) -> str:
    coin = call.params.str("baseCoin", required=True, max_len=20)
    assert coin is not None
    if coin != coin.upper():
        raise param_error("baseCoin must be upper case")
    return coin


@V5.post("/v5/account/mmp-modify", permission=Permission(write=True))
async def mmp_modify(call: Call) -> dict[str, Any]:
    """Market maker protection settings of a base coin (an institution's; 110062 without the profile)."""
    coin = _base_coin(call)
    window, frozen = call.params.int("window", required=True, lo=1, hi=10**9), call.params.int(
        "frozenPeriod", required=True, lo=0, hi=10**10)
    await call.sequencer.submit(SetMmp(uid=call.account.uid, base_coin=coin, window=str(window),
                                       frozen_period=str(frozen), qty_limit=_mmp_decimal(call, "qtyLimit"),
                                       delta_limit=_mmp_decimal(call, "deltaLimit"),
                                       vega_limit=_mmp_decimal(call, "vegaLimit", required=False) or "500000"))
    return {}


@V5.post("/v5/account/mmp-reset", permission=Permission(write=True))
async def mmp_reset(call: Call) -> dict[str, Any]:
    await call.sequencer.submit(SetMmp(uid=call.account.uid, base_coin=_base_coin(call), reset=True))
    return {}


@V5.get("/v5/account/mmp-state")
async def mmp_state(call: Call) -> dict[str, Any]:
    coin = _base_coin(call)
    account = call.account
    if not account.rules.get("mmp_institution"):
        raise ApiError(Code.NO_MMP_PROFILE)
    mmp = account.mmp.get(coin)
    if mmp is None:
        return {"result": []}
    return {"result": [{"baseCoin": coin, "mmpEnabled": True, "window": mmp["window"],
                        "frozenPeriod": mmp["frozen_period"], "qtyLimit": mmp["qty_limit"],
                        "deltaLimit": mmp["delta_limit"], "vegaLimit": mmp["vega_limit"],
                        "mmpFrozenUntil": str(mmp["frozen_until"]), "mmpFrozen": bool(mmp["frozen_until"])}]}


@V5.post("/v5/account/set-limit-px-action", permission=Permission(write=True))
async def set_limit_px_action(call: Call) -> dict[str, Any]:
    """What an out-of-band limit price does: ``modifyEnable`` true moves it to the band's edge, false refuses it
    (110003). ``linear`` or ``inverse`` sets every futures symbol (Bybit: account/set-price-limit.mdx)."""
    p = call.params
    category = p.enum("category", ("linear", "inverse", "spot"), required=True)
    assert category is not None
    enable = p.raw("modifyEnable")
    if enable is None or enable == "":
        raise param_error("modifyEnable is required")
    if not isinstance(enable, bool):
        raise param_error("modifyEnable must be a boolean")
    await call.sequencer.submit(SetLimitPriceAction(uid=call.account.uid, category=category, modify_enable=enable))
    return {}


@V5.get("/v5/account/user-setting-config")
async def user_setting_config(call: Call) -> dict[str, Any]:
    """The limit-price behaviour (account/get-user-setting-config.mdx): ``lpaSpot`` true = spot clamps, but
    ``lpaPerp`` true = futures refuse (the two flags have opposite senses); delta-neutral mode and MNT fee
    deduction do not exist in paperex (false)."""
    account = call.account
    return {"lpaSpot": account.clamp_spot, "lpaPerp": not account.clamp_futures, "deltaEnable": False,
            "smsef": False, "fmsef": False}
