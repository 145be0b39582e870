"""In virtual time a client may sync its clock to the server's (ccxt's adjustForTimeDifference, pybit's advice)
or keep its own: signed requests, /v5/trade headers and WebSocket auth accept either clock."""

from __future__ import annotations

import asyncio
import json
import time

from tests.conftest import ccxt_sync, pybit_http
from tests.signing import sign, signed_request
from tests.test_market import BOT_KEY, BOT_SECRET, VIRTUAL, start


def test_a_client_synced_to_the_virtual_clock_is_accepted(tmp_path) -> None:
    server = start(tmp_path, VIRTUAL, "virtual")
    try:
        exchange_ms = int(pybit_http(server).get_server_time()["result"]["timeNano"]) // 1_000_000
        assert abs(exchange_ms - time.time() * 1000) > 86_400_000  # the clocks are far apart (2026-01-01)
        for ts in (exchange_ms, int(time.time() * 1000)):  # synced to the server, or to the wall
            reply = signed_request(server.base_url, "GET", "/v5/account/wallet-balance", BOT_KEY, BOT_SECRET,
                                   query="accountType=UNIFIED", ts=ts)
            assert reply.json()["retCode"] == 0, reply.text
        stale = signed_request(server.base_url, "GET", "/v5/account/wallet-balance", BOT_KEY, BOT_SECRET,
                               query="accountType=UNIFIED", ts=exchange_ms - 60_000)
        assert stale.json()["retCode"] == 10002  # still a window around each clock
        ex = ccxt_sync(server, BOT_KEY, BOT_SECRET, adjustForTimeDifference=True)
        ex.load_time_difference()
        assert abs(ex.nonce() - exchange_ms) < 60_000  # ccxt signs with the server's (virtual) time
        assert ex.fetch_balance()["USDT"]["total"] == 100000

        async def websockets() -> None:
            import aiohttp

            async with aiohttp.ClientSession() as session:
                for path in ("/v5/private", "/v5/trade"):
                    async with session.ws_connect(server.base_url.replace("http", "ws") + path) as ws:
                        expires = exchange_ms + 10_000  # in the exchange's time: long past on the wall clock
                        await ws.send_str(json.dumps({"op": "auth", "args": [
                            BOT_KEY, expires, sign(BOT_SECRET, f"GET/realtime{expires}")]}))
                        reply = json.loads((await ws.receive(timeout=5)).data)
                        assert reply.get("success") is True or reply.get("retCode") == 0, reply
                        if path == "/v5/trade":
                            await ws.send_str(json.dumps({
                                "reqId": "t", "header": {"X-BAPI-TIMESTAMP": str(exchange_ms)}, "op": "order.create",
                                "args": [{"category": "linear", "symbol": "BTCUSDT", "side": "Buy",
                                          "orderType": "Limit", "qty": "0.001", "price": "60000"}]}))
                            assert json.loads((await ws.receive(timeout=5)).data)["retCode"] == 0

        asyncio.run(websockets())
    finally:
        server.stop()
