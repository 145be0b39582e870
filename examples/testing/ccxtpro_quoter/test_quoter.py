"""The quoting bot under pytest-asyncio: ``apaperex`` is the test's venue with coroutine methods, so the test
steers the exchange without blocking the bot's event loop. (Explicit ``pytest_asyncio`` markers, so that it
runs in pytest-asyncio's default strict mode; with ``asyncio_mode = auto`` they may go.)"""

import asyncio

import pytest
import pytest_asyncio
from quoter import Quoter

SYMBOL = "BTC/USDT:USDT"


async def eventually(condition, timeout=5.0):
    """Wait for the bot to react to what the test made happen (streams are asynchronous)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


@pytest_asyncio.fixture()
async def exchange(apaperex):
    account = await apaperex.account({"USDT": "10000"})
    exchange = account.ccxt_pro(options={"fetchMarkets": {"types": ["linear"]}})
    yield exchange
    await exchange.close()


@pytest_asyncio.fixture()
async def seller(apaperex):
    account = await apaperex.account({"USDT": "1000000"})
    exchange = account.ccxt_async(options={"fetchMarkets": {"types": ["linear"]}})
    yield exchange
    await exchange.close()


@pytest.mark.asyncio
async def test_quotes_under_the_mark_requotes_when_it_moves_and_stops_when_filled(apaperex, exchange, seller,
                                                                                   caplog):
    bot = Quoter(exchange)
    running = asyncio.create_task(bot.run())

    await eventually(lambda: bot.order is not None)
    assert bot.order["price"] == 64350  # 1% under the mark (65,000)

    await apaperex.set_price("BTCUSDT", index="66000")  # the mark moves 1.5%: more than the tolerance
    await eventually(lambda: bot.order["price"] == 65340)
    first = await exchange.fetch_order(bot.canceled[0], SYMBOL, {"acknowledged": True})
    assert first["status"] == "canceled"
    assert [o["price"] for o in await exchange.fetch_open_orders(SYMBOL)] == [65340]  # one bid at a time

    await apaperex.set_price("BTCUSDT", index="65800")  # a small move (0.3%): the bid stays
    await asyncio.sleep(0.3)
    assert len(bot.canceled) == 1

    await apaperex.drop_websockets()  # the network fails: every stream is cut, no close frame
    await apaperex.set_price("BTCUSDT", index="66600")  # and the mark moves meanwhile
    await eventually(lambda: bot.order["price"] == 65934)  # the bot reconnected, saw it, requoted
    assert "ticker stream" in caplog.text  # (it did see the drop)

    await seller.create_order(SYMBOL, "market", "sell", 0.01)  # someone sells at market: into the bid
    filled = await asyncio.wait_for(running, 5)  # the bot saw its fill on watch_orders and stopped

    assert filled["id"] == bot.order["id"] and filled["filled"] == 0.01 and filled["average"] == 65934
    [position] = await exchange.fetch_positions([SYMBOL])
    assert position["side"] == "long" and position["contracts"] == 0.01 and position["entryPrice"] == 65934
    [fill] = await exchange.fetch_my_trades(SYMBOL)
    assert fill["takerOrMaker"] == "maker" and fill["fee"]["cost"] == pytest.approx(659.34 * 0.0002)
