"""HTTP-parser failures answered the Bybit way.

aiohttp's parser refuses a request line with a method that is not an upper-case token (``get``, ``Get``)
before any handler runs, and answers with its own text. Bybit answers HTTP 400 with the catalog text
("... must be capitalized"), so the server's request handler is given that answer for this case. This
uses aiohttp's ``RequestHandler.handle_error`` hook; ``tests/test_auth_wire.py`` pins the behaviour.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod
from aiohttp.web_protocol import RequestHandler

from paperex.errors import MESSAGES, HttpError


class _CatalogRequestHandler(RequestHandler):
    def handle_error(self, request: Any, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if isinstance(exc, BadHttpMethod):
            resp = web.Response(status=int(HttpError.BAD_METHOD), text=MESSAGES[HttpError.BAD_METHOD],
                                content_type="text/plain")
            resp.force_close()
            return resp
        return super().handle_error(request, status, exc, message)


class _CatalogServer(web.Server):
    def __call__(self) -> RequestHandler:
        return _CatalogRequestHandler(self, loop=self._loop, **self._kwargs)


def answer_parse_errors_with_catalog(runner: web.BaseRunner) -> None:
    """Call after ``runner.setup()``: new connections get the catalog-aware request handler."""
    server = runner.server
    if server is not None and type(server) is web.Server:
        server.__class__ = _CatalogServer
