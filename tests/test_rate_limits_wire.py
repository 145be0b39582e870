"""Bybit's rate limits through real clients: per-UID limits and their headers, 10006 and pybit's back-off, ccxt's
RateLimitExceeded, batches counted per order, VIP/PRO levels, /v5/trade sharing the quota, the IP limit (HTTP
403 and a ban) and the /v5/trade IP cap (10018). A server of its own: the other tests run without limits."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import ccxt
import orjson
import pytest
import requests

from tests.conftest import ccxt_sync, make_trader, pybit_http
from tests.serverproc import ServerProcess

ORDER = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001",
         "price": "50000"}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("limits"), rate_limits=True).start()
    yield proc
    proc.stop()


def signed_post(server: ServerProcess, key, path: str, body: dict) -> requests.Response:
    ts = str(int(time.time() * 1000))
    raw = orjson.dumps(body).decode()
    sign = hmac.new(key.api_secret.encode(), f"{ts}{key.api_key}5000{raw}".encode(), hashlib.sha256).hexdigest()
    return requests.post(server.base_url + path, data=raw, timeout=10, headers={
        "X-BAPI-API-KEY": key.api_key, "X-BAPI-TIMESTAMP": ts, "X-BAPI-RECV-WINDOW": "5000", "X-BAPI-SIGN": sign,
        "Content-Type": "application/json"})


def wait_for_next_second() -> None:
    time.sleep(1.05)  # the rolling window empties


def test_headers_and_10006_per_uid_and_endpoint(limited) -> None:
    me = make_trader(limited)
    wait_for_next_second()
    replies = [signed_post(limited, me, "/v5/order/create", ORDER) for _ in range(11)]
    codes = [r.json()["retCode"] for r in replies]
    assert codes == [0] * 10 + [10006]
    first, tenth, limited_reply = replies[0], replies[9], replies[10]
    assert (first.headers["X-Bapi-Limit"], first.headers["X-Bapi-Limit-Status"]) == ("10", "9")
    assert tenth.headers["X-Bapi-Limit-Status"] == "0"
    assert limited_reply.json()["retMsg"] == "Too many visits. Exceeded the API Rate Limit."
    assert int(limited_reply.headers["X-Bapi-Limit-Reset-Timestamp"]) > time.time() * 1000 - 50
    # spot has a bucket of its own, with 20/s; reading endpoints have theirs
    spot = signed_post(limited, me, "/v5/order/create", {**ORDER, "category": "spot", "symbol": "BTCUSDT"})
    assert spot.headers["X-Bapi-Limit"] == "20"
    session = pybit_http(limited, me.api_key, me.api_secret, return_response_headers=True)
    _, _, headers = session.get_positions(category="linear", symbol="BTCUSDT")
    assert headers["X-Bapi-Limit"] == "50"


def test_pybit_backs_off_and_ccxt_raises(limited) -> None:
    me = make_trader(limited)
    session = pybit_http(limited, me.api_key, me.api_secret, retry_delay=0, max_retries=3)
    wait_for_next_second()
    started = time.monotonic()
    ids = [session.place_order(**ORDER)["result"]["orderId"] for _ in range(14)]
    assert len(set(ids)) == 14  # every one placed: pybit slept until X-Bapi-Limit-Reset-Timestamp on 10006
    assert time.monotonic() - started > 0.3
    trader = ccxt_sync(limited, me.api_key, me.api_secret, enableRateLimit=False)
    trader.load_markets()
    wait_for_next_second()
    with pytest.raises(ccxt.RateLimitExceeded):
        for _ in range(11):
            trader.create_order("BTC/USDT:USDT", "limit", "buy", 0.001, 50000)


def test_batches_count_each_order_and_levels_raise_limits(limited) -> None:
    me = make_trader(limited)
    wait_for_next_second()
    first = signed_post(limited, me, "/v5/order/create-batch", {"category": "linear", "request": [ORDER] * 7})
    assert first.headers["X-Bapi-Limit-Status"] == "3"
    straddling = signed_post(limited, me, "/v5/order/create-batch", {"category": "linear", "request": [ORDER] * 5})
    body = straddling.json()
    assert body["retCode"] == 0
    assert [x["code"] for x in body["retExtInfo"]["list"]] == [0, 0, 0, 10006, 10006]
    assert [bool(x["orderId"]) for x in body["result"]["list"]] == [True, True, True, False, False]
    assert signed_post(limited, me, "/v5/order/create-batch",
                       {"category": "linear", "request": [ORDER]}).json()["retCode"] == 10006
    assert signed_post(limited, me, "/v5/order/create", ORDER).json()["retCode"] == 0  # not the batch bucket

    reply = limited.admin("POST", f"/admin/v1/accounts/{me.uid}/rules", {"rate_level": "PRO1"})
    assert reply["result"]["rules"] == {"rate_level": "PRO1"}
    assert signed_post(limited, me, "/v5/order/create", ORDER).headers["X-Bapi-Limit"] == "200"
    assert limited.admin("POST", f"/admin/v1/accounts/{me.uid}/rules", {"rate_level": "VIP9"})["retCode"] == 10001


def test_ws_trade_shares_the_quota_and_has_an_ip_cap(limited) -> None:
    import aiohttp

    me = make_trader(limited)
    expires = int(time.time() * 1000) + 10_000
    signature = hmac.new(me.api_secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()

    async def run() -> tuple[dict, list[dict]]:
        async with aiohttp.ClientSession() as s, s.ws_connect(limited.base_url + "/v5/trade") as ws:
            async def ask(frame: dict) -> dict:
                await ws.send_str(orjson.dumps(frame).decode())
                return orjson.loads((await ws.receive(timeout=5)).data)

            await ask({"op": "auth", "args": [me.api_key, expires, signature]})
            header = {"X-BAPI-TIMESTAMP": str(int(time.time() * 1000))}
            for _ in range(10):  # the REST bucket...
                assert signed_post(limited, me, "/v5/order/create", ORDER).json()["retCode"] == 0
            over = await ask({"op": "order.create", "header": header, "args": [ORDER]})  # ...is the WS one
            limited.admin("POST", "/admin/v1/rate-limits", {"ws_trade_ip_limit": 3})
            capped = [await ask({"op": "order.cancel", "header": header,
                                 "args": [{"category": "linear", "symbol": "BTCUSDT", "orderId": "1"}]})
                      for _ in range(4)]
            return over, capped

    wait_for_next_second()
    try:
        over, capped = asyncio.run(run())
    finally:
        limited.admin("POST", "/admin/v1/rate-limits", {"ws_trade_ip_limit": 3000})
    assert over["retCode"] == 10006 and over["header"]["X-Bapi-Limit"] == "10"
    assert over["header"]["X-Bapi-Limit-Status"] == "0"
    assert [c["retCode"] for c in capped][3] == 10018
    assert capped[3]["retMsg"].startswith("Exceeded the IP Rate Limit.")


def test_the_ip_limit_answers_403_and_bans(limited) -> None:
    limited.admin("POST", "/admin/v1/rate-limits", {"ip_limit": 20, "ip_ban_s": 1.0, "unban": True})
    try:
        statuses = []
        for _ in range(22):
            try:
                with urllib.request.urlopen(limited.base_url + "/v5/market/time", timeout=5) as r:
                    statuses.append(r.status)
            except urllib.error.HTTPError as err:
                statuses.append(err.code)
                body = err.read().decode()
        assert statuses == [200] * 20 + [403, 403]  # banned: even the next request
        assert body.startswith("Forbidden request. Possible causes: 1. IP rate limit breached")
        time.sleep(1.1)
        with urllib.request.urlopen(limited.base_url + "/v5/market/time", timeout=5) as r:
            assert r.status == 200  # the ban lifts
    finally:
        limited.admin("POST", "/admin/v1/rate-limits", {"ip_limit": 600, "ip_ban_s": 600, "unban": True})
