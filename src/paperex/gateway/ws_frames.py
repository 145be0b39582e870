"""What every paperex WebSocket endpoint reads: JSON objects sent as text frames (anything else is ignored)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import WSMsgType, web


async def json_frames(ws: web.WebSocketResponse) -> AsyncIterator[dict[str, Any]]:
    async for msg in ws:
        if msg.type != WSMsgType.TEXT:
            continue
        try:
            frame = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            continue
        if isinstance(frame, dict):
            yield frame


# pybit sends a subscribe frame and only then records its req_id; its reader thread looks the req_id up
# when the reply arrives, so a reply faster than that (a local server answers in microseconds) makes
# pybit raise and drop the connection. Bybit is a network away; answer subscriptions a round trip later.
SUBSCRIBE_REPLY_DELAY_S = 0.02


async def after_a_round_trip() -> None:
    await asyncio.sleep(SUBSCRIBE_REPLY_DELAY_S)
