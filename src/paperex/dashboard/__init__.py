"""The web dashboard ``paperex serve`` answers at ``/``: static files shipped in the wheel (a vanilla-JS app and
TradingView's lightweight-charts), no build step. The page reads the exchange through its own public WebSocket
and V5 market endpoints, and through the admin API (accounts, the request log, scenario controls), so it is
served on the admin API's terms: to loopback clients, or to anyone once an admin token guards the admin API.
Other clients get what an unknown path gets (HTTP 404). docs/dashboard.md.
"""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from paperex.admin.api import ADMIN_TOKEN, is_loopback
from paperex.errors import HttpError
from paperex.gateway.envelope import http_failure_response

# name -> (content type, cache lifetime in seconds): an allow-list, so no path ever reaches the file system
ASSETS = {
    "index.html": ("text/html; charset=utf-8", 0),
    "app.js": ("text/javascript; charset=utf-8", 0),
    "market.js": ("text/javascript; charset=utf-8", 0),
    "accounts.js": ("text/javascript; charset=utf-8", 0),
    "inspector.js": ("text/javascript; charset=utf-8", 0),
    "scenario.js": ("text/javascript; charset=utf-8", 0),
    "util.js": ("text/javascript; charset=utf-8", 0),
    "reasons.js": ("text/javascript; charset=utf-8", 0),
    "style.css": ("text/css; charset=utf-8", 0),
    "vendor/lightweight-charts.standalone.production.js": ("text/javascript; charset=utf-8", 86400),
}
# style attributes: lightweight-charts sizes its canvases with them (no <style> element, no inline script)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


def _read(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", *name.split("/")).read_bytes()


def _allowed(request: web.Request) -> bool:
    return is_loopback(request.remote) or bool(request.app[ADMIN_TOKEN])


async def _serve(request: web.Request, name: str) -> web.StreamResponse:
    if name not in ASSETS or not _allowed(request):
        return http_failure_response(HttpError.NOT_FOUND)
    content_type, max_age = ASSETS[name]
    cache = f"public, max-age={max_age}" if max_age else "no-cache"
    return web.Response(body=_read(name), headers={
        "Content-Type": content_type, "Cache-Control": cache, "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
    })


async def index(request: web.Request) -> web.StreamResponse:
    return await _serve(request, "index.html")


async def asset(request: web.Request) -> web.StreamResponse:
    return await _serve(request, request.match_info["name"])


def add_dashboard_routes(app: web.Application) -> None:
    """``GET /`` (the page) and ``GET /dashboard/<asset>``; register before the V5 catch-all."""
    app.router.add_get("/", index, allow_head=False)
    app.router.add_get("/dashboard/{name:.+}", asset, allow_head=False)
