"""What every paperex WebSocket endpoint reads: JSON objects sent as text frames (anything else is ignored)."""

from __future__ import annotations

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
