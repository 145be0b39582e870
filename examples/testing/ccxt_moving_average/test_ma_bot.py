"""The moving-average bot on a living market in virtual time: the venue's past gives it candles from the first
step, its liquidity provider a book to trade with, and ``advance`` walks the market minute by minute."""

import pytest
from ma_bot import MovingAverageBot

SYMBOL = "BTC/USDT:USDT"
MINUTE = 60_000

# A living market (a past, a book, background trades) in virtual time (it moves only by advance). One day of
# past is plenty for 200 one-minute candles and starts faster than the default 30 days.
pytestmark = pytest.mark.paperex(market=True, config={"market": {"history_days": 1}})


@pytest.fixture()
def exchange(paperex):
    # a linear-only bot: ccxt loads only linear markets (ccxt paces its own requests; loading every market
    # type, options included, costs it about a second)
    return paperex.account({"USDT": "10000"}).ccxt(options={"fetchMarkets": {"types": ["linear"]}})


def test_the_first_step_reads_the_past_and_follows_the_signal(paperex, exchange):
    bot = MovingAverageBot(exchange)
    bot.step()

    assert len(bot.candles) == 200  # the venue has a past (one day here) from the first second
    times = [c[0] for c in bot.candles]
    assert times[-1] == paperex.now() // MINUTE * MINUTE  # ... up to the current minute
    assert times == list(range(times[0], times[-1] + MINUTE, MINUTE))  # one a minute, none missing
    expected = 0.01 if bot.fast_ma > bot.slow_ma else 0.0
    assert bot.position() == expected
    assert len(bot.trades) == (1 if expected else 0)


def test_a_crash_makes_it_sell_and_a_rally_makes_it_buy(paperex, exchange):
    bot = MovingAverageBot(exchange)
    bot.step()  # long or flat, as the past says
    start = exchange.fetch_ticker(SYMBOL)["last"]

    paperex.set_price("BTCUSDT", index=round(start * 0.97))  # 3% down at once: the market walks on from there
    for _ in range(5):
        paperex.advance(minutes=1)  # the living market steps second by second to the new time
        bot.step()
    assert bot.fast_ma < bot.slow_ma and bot.position() == 0.0

    paperex.set_price("BTCUSDT", index=round(start * 1.03))  # then 6% up
    for _ in range(5):
        paperex.advance(minutes=1)
        bot.step()
    assert bot.fast_ma > bot.slow_ma and bot.position() == 0.01
    [long] = exchange.fetch_positions([SYMBOL])
    assert long["side"] == "long" and long["entryPrice"] > start * 1.02  # bought after the rally

    # every order filled in full against the venue's book: buy, sell, buy, ... ending long
    fills = exchange.fetch_my_trades(SYMBOL)
    assert [f["side"] for f in fills] == ["buy", "sell"] * (len(fills) // 2) + ["buy"]
    assert all(f["amount"] == 0.01 for f in fills)
    # and the wallet holds the deposit, plus what the closed round trips made, minus every fee
    realized = sum(f["cost"] if f["side"] == "sell" else -f["cost"] for f in fills[:-1])
    fees = sum(f["fee"]["cost"] for f in fills)
    [usdt] = [c for c in exchange.fetch_balance()["info"]["result"]["list"][0]["coin"] if c["coin"] == "USDT"]
    assert float(usdt["walletBalance"]) == pytest.approx(10000 + realized - fees)
