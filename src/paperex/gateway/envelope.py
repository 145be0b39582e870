"""The V5 reply envelope and the transport-level (HTTP 4xx) failures."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from paperex.errors import MESSAGES, Code, HttpError


class HttpFailure(Exception):
    """A failure Bybit answers with an HTTP status and no JSON envelope."""

    def __init__(self, status: HttpError) -> None:
        super().__init__(MESSAGES[status])
        self.status = status


def envelope(code: int, msg: str, result: Any, time_ms: int, ext: Any = None) -> bytes:
    return orjson.dumps(
        {"retCode": int(code), "retMsg": msg, "result": {} if result is None else result,
         "retExtInfo": {} if ext is None else ext, "time": time_ms}
    )


def ok_response(result: Any, time_ms: int, ext: Any = None, msg: str = "OK") -> web.Response:
    return web.Response(body=envelope(Code.OK, msg, result, time_ms, ext), content_type="application/json")


def error_response(code: int, msg: str, time_ms: int) -> web.Response:
    return web.Response(body=envelope(code, msg, {}, time_ms), content_type="application/json")


def http_failure_response(status: HttpError) -> web.Response:
    return web.Response(status=int(status), text=MESSAGES[status], content_type="text/plain")
