"""A minimal Bybit V5 signer for raw requests (the clients cannot send deliberately broken requests)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import requests


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def signed_request(base_url: str, method: str, path: str, api_key: str, secret: str, *, query: str = "",
                   body: dict[str, Any] | None = None, ts: int | str | None = None, recv_window: str = "5000",
                   sign_payload: str | None = None) -> requests.Response:
    ts = str(int(time.time() * 1000) if ts is None else ts)
    raw_body = json.dumps(body) if body is not None else ""
    payload = query if method == "GET" else raw_body
    signature = sign(secret, ts + api_key + recv_window + (payload if sign_payload is None else sign_payload))
    headers = {"X-BAPI-API-KEY": api_key, "X-BAPI-TIMESTAMP": ts, "X-BAPI-SIGN": signature,
               "X-BAPI-RECV-WINDOW": recv_window, "Content-Type": "application/json"}
    url = base_url + path + ("?" + query if query else "")
    return requests.request(method, url, headers=headers, data=raw_body or None, timeout=10)
