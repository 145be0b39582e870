"""``/v5/asset/*``: coin information. Asset endpoints need the key's Wallet permission, as on Bybit."""

from __future__ import annotations

from paperex.errors import ApiError, Code
from paperex.gateway import serializers
from paperex.gateway.auth import Permission
from paperex.gateway.endpoints import V5, Call, Reply

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
