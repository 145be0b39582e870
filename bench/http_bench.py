"""REST throughput and latency of one ``paperex serve`` process, measured by an aiohttp load client.

Rows: the public ceiling (GET /v5/market/time), a signed private read (GET /v5/account/wallet-balance),
a journaled admin command (POST /admin/v1/deposit), and signed order entry (POST /v5/order/create, an
IOC limit order that finds no liquidity: validated, margin-checked, applied, journaled with group commit,
answered; and a resting limit order alternated with its cancel).
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


async def measure(base: str, api_key: str, secret: str, uid: str, concurrency: int, seconds: float,
                  rounds: int, only: str = "") -> list[list[str]]:
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

        def signed_post(path: str, body: bytes) -> dict[str, str]:
            ts = str(int(time.time() * 1000))
            sig = hmac.new(secret.encode(), ts.encode() + f"{api_key}5000".encode() + body, hashlib.sha256)
            return {"X-BAPI-API-KEY": api_key, "X-BAPI-TIMESTAMP": ts, "X-BAPI-RECV-WINDOW": "5000",
                    "X-BAPI-SIGN": sig.hexdigest(), "Content-Type": "application/json"}

        ioc = (b'{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001",'
               b'"price":"60000","timeInForce":"IOC"}')

        async def order_create_ioc() -> None:
            async with http.post(base + "/v5/order/create", data=ioc, headers=signed_post("", ioc)) as r:
                assert (await r.json())["retCode"] == 0

        n = [0]

        async def order_create_and_cancel() -> None:
            n[0] += 1
            i = n[0]
            body = (b'{"category":"linear","symbol":"ETHUSDT","side":"Buy","orderType":"Limit","qty":"0.01",'
                    b'"price":"3000","orderLinkId":"b%d"}' % i)
            async with http.post(base + "/v5/order/create", data=body, headers=signed_post("", body)) as r:
                assert (await r.json())["retCode"] == 0
            cancel = b'{"category":"linear","symbol":"ETHUSDT","orderLinkId":"b%d"}' % i
            async with http.post(base + "/v5/order/cancel", data=cancel, headers=signed_post("", cancel)) as r:
                assert (await r.json())["retCode"] == 0

        async def journaled_deposit() -> None:
            async with http.post(base + "/admin/v1/deposit", json={"uid": uid, "coin": "USDT", "amount": "1"}) as r:
                assert (await r.json())["retCode"] == 0

        ceiling = None
        for name, fn, per_call in (
                ("GET /v5/market/time (public ceiling)", public_time, 1),
                ("GET /v5/account/wallet-balance (signed)", signed_wallet, 1),
                ("POST /admin/v1/deposit (journaled, durable)", journaled_deposit, 1),
                ("POST /v5/order/create (signed, IOC, durable)", order_create_ioc, 1),
                ("POST /v5/order/create + /cancel (resting order)", order_create_and_cancel, 2)):
            if only and only not in name and "ceiling" not in name:
                continue
            await closed_loop(fn, concurrency, 0.5)  # warm-up
            runs = []
            for _ in range(rounds):  # the median round: the load client shares the machine, so runs vary
                calls, lat = await closed_loop(fn, concurrency, seconds)
                runs.append((calls * per_call / seconds, [x / per_call for x in lat]))
            rps, lat = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
            ceiling = ceiling or rps
            rows.append([name, f"{rps:,.0f}", f"{rps / ceiling:.0%}", f"{pct(lat, 0.5) * 1000:.2f}",
                         f"{pct(lat, 0.99) * 1000:.2f}"])
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--journal", default=None, help="pass --journal to the server (e.g. memory)")
    ap.add_argument("--only", default="", help="run only the rows whose name contains this (and the ceiling)")
    ap.add_argument("--rate-limits", action="store_true",
                    help="count every request against Bybit's rate limits (limits raised so none refuses)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        extra = ["--journal", args.journal] if args.journal else []
        server = ServerProcess(Path(tmp), ["--no-demo", *extra]).start()
        try:
            uid = server.create_account({"USDT": "100000000"})
            key = server.create_key(uid)
            if args.rate_limits:  # the limiter's cost without its refusals
                raised = {path: 10**9 for path in ("/v5/order/create", "/v5/order/cancel", "/v5/position/list",
                                                   "/v5/account/wallet-balance", "/v5/order/realtime")}
                server.admin("POST", "/admin/v1/rate-limits", {"enabled": True, "ip_limit": 10**9,
                                                              "endpoints": raised})
            rows = asyncio.run(measure(server.base_url, key["apiKey"], key["apiSecret"], uid, args.concurrency,
                                       args.seconds, args.rounds, args.only))
        finally:
            server.stop()
    journal = args.journal or "SQLite"
    counted = ", rate limits counted" if args.rate_limits else ""
    print(table(f"REST, one server process (uvloop, {journal} journal{counted}), {args.concurrency} connections, "
                f"median of "
                f"{args.rounds} rounds of {args.seconds:g} s (load client on the same machine)",
                ["request", "req/s", "of ceiling", "p50 ms", "p99 ms"], rows))


if __name__ == "__main__":
    main()
