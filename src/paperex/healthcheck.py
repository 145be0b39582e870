"""``python -m paperex.healthcheck [URL]``: exit 0 when a paperex server answers ``GET /v5/market/time``, 1 if not.

The container image's HEALTHCHECK (slim images have no curl). Without a URL it asks this machine on
$PAPEREX_PORT (default 8080), over HTTP and, if that fails, HTTPS: a ``--tls`` server's certificate is not
checked here, since this only asks whether our own process on loopback is up.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import sys
import urllib.request


def answers(url: str, timeout: float = 3.0) -> bool:
    context = ssl._create_unverified_context() if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/v5/market/time", timeout=timeout, context=context) as resp:
            return resp.status == 200 and json.loads(resp.read()).get("retCode") == 0
    except (OSError, ValueError, http.client.HTTPException):
        return False


def main(argv: list[str]) -> int:
    if argv:
        return 0 if answers(argv[0]) else 1
    port = os.environ.get("PAPEREX_PORT", "").strip() or "8080"
    return 0 if any(answers(f"{scheme}://127.0.0.1:{port}") for scheme in ("http", "https")) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
