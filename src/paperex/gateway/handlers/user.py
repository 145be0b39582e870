"""``/v5/user/*``: API key information."""

from __future__ import annotations

from typing import Any

from paperex.gateway import serializers
from paperex.gateway.endpoints import V5, Call, Reply


@V5.get("/v5/user/query-api")  # any permission can read its own key
async def query_api(call: Call) -> Reply:
    assert call.principal is not None
    info: dict[str, Any] = serializers.api_key_info(call.principal.key, call.account, call.now_ms)
    return Reply(info, msg="")  # Bybit answers this endpoint with an empty retMsg
