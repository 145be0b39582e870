"""``/v5/asset/*``: coin information. Asset endpoints need the key's Wallet permission, as on Bybit."""

from __future__ import annotations

from paperex.core import margin
from paperex.errors import ApiError, Code
from paperex.gateway import serializers
from paperex.gateway.auth import Permission
from paperex.gateway.endpoints import V5, Call, Reply
from paperex.gateway.params import param_error

WALLET = Permission(group="Wallet", any_of=("AccountTransfer", "SubMemberTransfer"))


@V5.get("/v5/asset/coin/query-info", permission=WALLET)
async def coin_query_info(call: Call) -> Reply:
    coin = call.params.str("coin", max_len=20)
    coins = call.core.market.coins
    if coin is not None:
        coins = tuple(c for c in coins if c.coin == coin.upper())
        if not coins:
            raise ApiError(Code.INVALID_COIN, coin)
    return Reply({"rows": [serializers.coin_info(c) for c in coins]}, msg="success")  # Bybit's retMsg here


@V5.get("/v5/asset/transfer/query-account-coins-balance", permission=WALLET)
async def account_coins_balance(call: Call) -> Reply:
    """The coins of one account type: UNIFIED (the trading wallet; ``transferBalance`` what is not tied up in
    orders and positions) or FUND (paperex keeps no funding wallet: zero). ``memberId`` names a sub-account on
    Bybit; paperex has none, so any other user id is illegal (110018)."""
    p = call.params
    account = call.account
    member = p.str("memberId", max_len=20)
    if member is not None and member != str(account.uid):
        raise ApiError(Code.ILLEGAL_USER_ID, f"{member} is not a sub-account of {account.uid}")
    account_type = p.enum("accountType", ("UNIFIED", "FUND", "CONTRACT", "SPOT"), required=True)
    if account_type in ("CONTRACT", "SPOT"):
        raise param_error(f"accountType {account_type} is for classic accounts; this one is unified")
    raw = p.str("coin", max_len=120)
    coins = [c for c in (raw or "").split(",") if c]
    if account_type == "UNIFIED" and not coins:
        raise param_error("coin is required for accountType UNIFIED")
    if len(coins) > 10:
        raise param_error("at most 10 coins")
    known = {c.coin for c in call.core.market.coins}
    for coin in coins:
        if coin not in known:
            raise ApiError(Code.INVALID_COIN, coin)
    rows = []
    for coin in coins or sorted(known):
        wallet = account.balance(coin) if account_type == "UNIFIED" else 0
        free = max(0, min(wallet, margin.available(call.core.symbols, account, coin))) if wallet else 0
        rows.append({"coin": coin, "walletBalance": serializers.format_units(wallet),
                     "transferBalance": serializers.format_units(free), "bonus": ""})
    return Reply({"memberId": str(account.uid), "accountType": account_type, "balance": rows}, msg="success")
