"""``/v5/system/status``: platform maintenance (gateway.maintenance; empty unless the admin API schedules one)."""

from __future__ import annotations

from paperex.gateway.endpoints import V5, Call, Reply
from paperex.gateway.maintenance import STATES, schedule_of


@V5.get("/v5/system/status", auth=False)
async def system_status(call: Call) -> Reply:
    p = call.params
    wanted_id = p.str("id", max_len=64)
    state = p.enum("state", STATES)
    rows = [r for r in schedule_of(call.sequencer).rows(call.now_ms)
            if (wanted_id is None or r["id"] == wanted_id) and (state is None or r["state"] == state)]
    return Reply({"list": rows}, msg="")  # Bybit answers this endpoint with an empty retMsg
