"""WebSocket fan-out and order-to-execution latency of one ``paperex serve`` process.

Fan-out: N clients subscribe to ``orderbook.50.BTCUSDT`` and ``publicTrade.BTCUSDT`` while a taker sends
market orders (alternately buy and sell, against the market maker's quotes) at a steady rate, so every
20 ms flush has a book delta and a trade frame to deliver. Reported: frames delivered per second to all
clients, what one client received (every client should receive the same), and disconnections.

Latency: a taker subscribed to ``execution`` sends a market order that fills at once against a resting
bid, over REST (``POST /v5/order/create``) and over ``/v5/trade`` (``order.create``); measured from just
before the request is sent until its ``execution`` frame is read.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.serverproc import ServerProcess

from bench.common import pct, table

CONFIG = """
[market]
enabled = true
takers = false     # the bench's own taker is the only flow
history_days = 0
[market_maker]
levels = 50
[[symbols]]
category = "linear"
symbol = "BTCUSDT"
feed = "fixed"
"""


def _signed_headers(key: str, secret: str, body: bytes) -> dict[str, str]:
    ts = str(int(time.time() * 1000))
    sig = hmac.new(secret.encode(), ts.encode() + f"{key}5000".encode() + body, hashlib.sha256).hexdigest()
    return {"X-BAPI-API-KEY": key, "X-BAPI-TIMESTAMP": ts, "X-BAPI-RECV-WINDOW": "5000", "X-BAPI-SIGN": sig,
            "Content-Type": "application/json"}


def _auth_frame(key: str, secret: str) -> str:
    expires = int(time.time() * 1000) + 60_000
    sig = hmac.new(secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
    return orjson.dumps({"op": "auth", "args": [key, expires, sig]}).decode()


# -- fan-out -------------------------------------------------------------------------------------------
async def _subscribers(ws_url: str, count: int, warmup: float, seconds: float) -> tuple[list[int], int]:
    """Open ``count`` subscribers; return the frames each read during the window, and how many closed."""
    counts = [0] * count
    closed = [0]
    window = [False]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:  # no pool cap

        async def one(i: int) -> None:
            async with http.ws_connect(ws_url, max_msg_size=0) as ws:
                await ws.send_str('{"op":"subscribe","args":["orderbook.50.BTCUSDT","publicTrade.BTCUSDT"]}')
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    if window[0]:
                        counts[i] += 1
                closed[0] += 1

        tasks = [asyncio.ensure_future(one(i)) for i in range(count)]
        await asyncio.sleep(warmup)
        window[0] = True
        await asyncio.sleep(seconds)
        window[0] = False
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return counts, closed[0]


def _subscriber_process(ws_url: str, count: int, warmup: float, seconds: float, out: multiprocessing.Queue) -> None:
    import uvloop

    out.put(uvloop.run(_subscribers(ws_url, count, warmup, seconds)))


async def _taker(base: str, key: str, secret: str, rate: float, seconds: float) -> int:
    sent = 0
    async with aiohttp.ClientSession() as http:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            side = "Buy" if sent % 2 == 0 else "Sell"
            body = orjson.dumps({"category": "linear", "symbol": "BTCUSDT", "side": side, "orderType": "Market",
                                 "qty": "0.001"})
            async with http.post(base + "/v5/order/create", data=body, headers=_signed_headers(key, secret, body)) as r:
                assert (await r.json())["retCode"] == 0
            sent += 1
            await asyncio.sleep(1 / rate)
    return sent


def fan_out(server: ServerProcess, key: str, secret: str, clients: int, seconds: float, rate: float,
            processes: int) -> list[str]:
    ws_url = server.base_url.replace("http", "ws") + "/v5/public/linear"
    warmup = 2.0 + clients / 500
    out: multiprocessing.Queue = multiprocessing.Queue()
    per = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    procs = [multiprocessing.Process(target=_subscriber_process, args=(ws_url, n, warmup, seconds, out))
             for n in per if n]
    for p in procs:
        p.start()
    assert server.proc is not None
    stat = Path(f"/proc/{server.proc.pid}/stat")

    def cpu() -> float:  # the server's user + system CPU seconds
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / 100

    before = [0.0]

    async def load() -> int:
        async def mark() -> None:
            await asyncio.sleep(warmup)
            before[0] = cpu()
        marker = asyncio.ensure_future(mark())
        sent = await _taker(server.base_url, key, secret, rate, warmup + seconds)
        await marker
        return sent

    sent = asyncio.run(load())
    busy = (cpu() - before[0]) / seconds
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join()
    counts = [c for r in results for c in r[0]]
    closed = sum(r[1] for r in results)
    total = sum(counts)
    return [f"{clients:,}", f"{sent / (warmup + seconds):,.0f}", f"{total / seconds:,.0f}",
            f"{min(counts) / seconds:,.1f}", f"{max(counts) / seconds:,.1f}", str(sum(1 for c in counts if not c)),
            str(closed), f"{busy:.0%}"]


# -- latency -------------------------------------------------------------------------------------------
async def _latency(base: str, maker: tuple[str, str], taker: tuple[str, str], orders: int) -> list[list[str]]:
    ws_base = base.replace("http", "ws")
    rows = []
    async with aiohttp.ClientSession() as http:
        bid = orjson.dumps({"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
                            "qty": "100", "price": "64990"})
        async with http.post(base + "/v5/order/create", data=bid, headers=_signed_headers(*maker, bid)) as r:
            assert (await r.json())["retCode"] == 0, "resting bid"
        private = await http.ws_connect(ws_base + "/v5/private")
        await private.send_str(_auth_frame(*taker))
        await private.receive()
        await private.send_str('{"op":"subscribe","args":["execution"]}')
        await private.receive()
        trade = await http.ws_connect(ws_base + "/v5/trade")
        await trade.send_str(_auth_frame(*taker))
        await trade.receive()
        sell = {"category": "linear", "symbol": "BTCUSDT", "side": "Sell", "orderType": "Market", "qty": "0.001"}
        body = orjson.dumps(sell)

        async def until_execution() -> None:
            while True:
                frame = orjson.loads((await private.receive()).data)
                if frame.get("topic") == "execution":
                    return

        async def over_rest() -> None:
            async with http.post(base + "/v5/order/create", data=body, headers=_signed_headers(*taker, body)) as r:
                assert (await r.json())["retCode"] == 0

        async def over_ws(i: int) -> None:
            await trade.send_str(orjson.dumps({"reqId": f"r{i}", "op": "order.create", "args": [sell],
                                               "header": {"X-BAPI-TIMESTAMP": str(int(time.time() * 1000))}})
                                 .decode())

        for name, send in (("POST /v5/order/create -> execution frame", lambda i: over_rest()),
                           ("/v5/trade order.create -> execution frame", over_ws)):
            lat = []
            for i in range(orders):
                waiter = asyncio.ensure_future(until_execution())
                t0 = time.perf_counter()
                await send(i)
                await waiter
                lat.append(time.perf_counter() - t0)
            if name.startswith("/v5/trade"):  # drain the replies
                while not trade.closed:
                    try:
                        await trade.receive(timeout=0.2)
                    except TimeoutError:
                        break
            rows.append([name, str(orders), f"{pct(lat, 0.5) * 1000:.2f}", f"{pct(lat, 0.99) * 1000:.2f}"])
        await private.close()
        await trade.close()
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rate", type=float, default=100.0, help="taker market orders per second")
    ap.add_argument("--processes", type=int, default=2, help="subscriber processes")
    ap.add_argument("--orders", type=int, default=300, help="orders per latency row")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench.toml"
        config.write_text(CONFIG)
        server = ServerProcess(Path(tmp) / "data", ["--no-demo", "--config", str(config)], market=True).start()
        try:
            uid = server.create_account({"USDT": "100000000"})
            key = server.create_key(uid)
            creds = (key["apiKey"], key["apiSecret"])
            maker_uid = server.create_account({"USDT": "100000000"})
            maker_key = server.create_key(maker_uid)
            rows = [fan_out(server, *creds, n, args.seconds, args.rate, args.processes) for n in args.clients]
            lat_rows = asyncio.run(_latency(server.base_url, (maker_key["apiKey"], maker_key["apiSecret"]), creds,
                                            args.orders))
        finally:
            server.stop()
    print(table(f"WebSocket fan-out, one server process: orderbook.50 + publicTrade of BTCUSDT, taker at "
                f"{args.rate:g} market orders/s, {args.seconds:g} s window, subscribers in {args.processes} "
                f"processes on the same machine",
                ["clients", "taker orders/s", "frames/s delivered (all)", "min per client/s", "max per client/s",
                 "clients starved", "disconnected", "server CPU"], rows))
    print(table("Order to own execution frame (one taker, sequential orders, SQLite journal, durable before the "
                "reply)", ["path", "orders", "p50 ms", "p99 ms"], lat_rows))


if __name__ == "__main__":
    main()
