"""A small bot for examples/docker-compose.yml: it trades a BTCUSDT perpetual on paperex with an unmodified pybit,
exactly as it would on Bybit, and exits 0 when the round trip went as expected.

    PAPEREX_URL=http://127.0.0.1:8080 BOT_API_KEY=... BOT_API_SECRET=... python examples/bot.py

PAPEREX_CA: the CA to trust when paperex serves HTTPS (``paperex serve --tls`` prints its path).
"""

from __future__ import annotations

import os
import sys
import time
from decimal import Decimal

from pybit.unified_trading import HTTP

SYMBOL = "BTCUSDT"


def connect() -> HTTP:
    session = HTTP(api_key=os.environ.get("BOT_API_KEY", "composebotkey0000001"),
                   api_secret=os.environ.get("BOT_API_SECRET", "composebotsecret00000000000000000001"),
                   max_retries=1)
    session.endpoint = os.environ.get("PAPEREX_URL", "http://127.0.0.1:8080")  # the one change from Bybit
    if os.environ.get("PAPEREX_CA"):
        session.client.verify = os.environ["PAPEREX_CA"]
    deadline = time.monotonic() + 60
    while True:  # compose starts the bot once paperex is healthy; this covers running it by hand too
        try:
            session.get_server_time()
            return session
        except Exception as exc:
            if time.monotonic() > deadline:
                raise SystemExit(f"paperex does not answer at {session.endpoint}: {exc}") from None
            time.sleep(1)


def position_size(session: HTTP) -> Decimal:
    rows = session.get_positions(category="linear", symbol=SYMBOL)["result"]["list"]
    return sum((Decimal(r["size"]) for r in rows), Decimal(0))


def main() -> int:
    s = connect()
    usdt = s.get_wallet_balance(accountType="UNIFIED", coin="USDT")["result"]["list"][0]["coin"][0]
    print(f"wallet: {usdt['walletBalance']} USDT")
    last = Decimal(s.get_tickers(category="linear", symbol=SYMBOL)["result"]["list"][0]["lastPrice"])
    print(f"{SYMBOL} last price {last}")

    bid = (last * Decimal("0.98")).quantize(Decimal("0.1"))  # a resting bid 2 % under the market
    resting = s.place_order(category="linear", symbol=SYMBOL, side="Buy", orderType="Limit", qty="0.001",
                            price=str(bid), orderLinkId=f"bot-bid-{int(time.time())}")["result"]["orderId"]
    print(f"resting bid {resting} at {bid}")

    s.place_order(category="linear", symbol=SYMBOL, side="Buy", orderType="Market", qty="0.002")
    size = position_size(s)
    print(f"bought at market: position {size}")

    s.cancel_order(category="linear", symbol=SYMBOL, orderId=resting)
    s.place_order(category="linear", symbol=SYMBOL, side="Sell", orderType="Market", qty=str(size), reduceOnly=True)
    closed = position_size(s)
    fills = s.get_executions(category="linear", symbol=SYMBOL)["result"]["list"]
    print(f"closed: position {closed}, {len(fills)} fills")
    ok = size == Decimal("0.002") and closed == 0 and len(fills) >= 2
    print("round trip OK" if ok else "round trip FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
