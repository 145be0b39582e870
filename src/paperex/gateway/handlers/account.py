"""``/v5/account/*``: account mode, wallet balance and fee rates."""

from __future__ import annotations

from typing import Any

from paperex.gateway import serializers
from paperex.gateway.endpoints import V5, Call
from paperex.gateway.params import ALL_CATEGORIES, param_error


@V5.get("/v5/account/info")
async def account_info(call: Call) -> dict[str, Any]:
    return serializers.account_info(call.account)


@V5.get("/v5/account/wallet-balance")
async def wallet_balance(call: Call) -> dict[str, Any]:
    p = call.params
    account_type = p.str("accountType", required=True)
    if account_type != "UNIFIED":
        raise param_error("accountType only support UNIFIED")
    coins = p.coins("coin")
    return serializers.wallet_balance(call.core, call.account, coins)


@V5.get("/v5/account/fee-rate")
async def fee_rate(call: Call) -> dict[str, Any]:
    p = call.params
    category = p.category(ALL_CATEGORIES)
    symbol = p.symbol()
    base_coin = p.str("baseCoin", max_len=20)
    instruments = sorted(
        (i for i in call.core.market.by_category(category) if symbol is None or i.symbol == symbol),
        key=lambda i: i.symbol,
    )
    if symbol is not None and not instruments:
        raise param_error(f"symbol {symbol} does not exist")
    rows = serializers.fee_rate_rows(call.account, category, instruments, base_coin)
    result: dict[str, Any] = {"list": rows}
    if category in ("spot", "option"):  # derivatives replies carry no category field
        result = {"category": category, "list": rows}
    return result
