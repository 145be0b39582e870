"""REST throughput and latency of one ``paperex serve`` process, measured by an aiohttp load client.

Rows: the public ceiling (GET /v5/market/time), a signed private read (GET /v5/account/wallet-balance),
and a journaled command (POST /admin/v1/deposit: applied, group-committed to SQLite, then answered).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.serverproc import ServerProcess

from bench.common import closed_loop, pct, table


async def measure(base: str, api_key: str, secret: str, uid: str, concurrency: int, seconds: float) -> list[list[str]]:
    rows = []
    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as http:

        async def public_time() -> None:
            async with http.get(base + "/v5/market/time") as r:
                assert (await r.json())["retCode"] == 0

        async def signed_wallet() -> None:
            ts = str(int(time.time() * 1000))
            q = "accountType=UNIFIED"
            sig = hmac.new(secret.encode(), f"{ts}{api_key}5000{q}".encode(), hashlib.sha256).hexdigest()
            headers = {"X-BAPI-API-KEY": api_key, "X-BAPI-TIMESTAMP": ts, "X-BAPI-RECV-WINDOW": "5000",
                       "X-BAPI-SIGN": sig}
            async with http.get(base + "/v5/account/wallet-balance?" + q, headers=headers) as r:
                assert (await r.json())["retCode"] == 0

        async def journaled_deposit() -> None:
            async with http.post(base + "/admin/v1/deposit", json={"uid": uid, "coin": "USDT", "amount": "1"}) as r:
                assert (await r.json())["retCode"] == 0

        ceiling = None
        for name, fn in (("GET /v5/market/time (public ceiling)", public_time),
                         ("GET /v5/account/wallet-balance (signed)", signed_wallet),
                         ("POST /admin/v1/deposit (journaled, durable)", journaled_deposit)):
            await closed_loop(fn, concurrency, 0.5)  # warm-up
            n, lat = await closed_loop(fn, concurrency, seconds)
            rps = n / seconds
            ceiling = ceiling or rps
            rows.append([name, f"{rps:,.0f}", f"{rps / ceiling:.0%}", f"{pct(lat, 0.5) * 1000:.2f}",
                         f"{pct(lat, 0.99) * 1000:.2f}"])
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp), ["--no-demo"]).start()
        try:
            uid = server.create_account({"USDT": "1000"})
            key = server.create_key(uid)
            rows = asyncio.run(measure(server.base_url, key["apiKey"], key["apiSecret"], uid, args.concurrency,
                                       args.seconds))
        finally:
            server.stop()
    print(table(f"REST, one server process, {args.concurrency} connections, {args.seconds:g} s each "
                "(load client on the same machine)",
                ["request", "req/s", "of ceiling", "p50 ms", "p99 ms"], rows))


if __name__ == "__main__":
    main()
