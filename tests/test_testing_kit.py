"""The testing kit: ``paperex.testing.Venue`` driven directly, and the pytest plugin run by ``pytester`` the way a
user's suite runs it (fixtures isolate tests, the config marker, the request log in a failure report, the
session and async fixtures)."""

from __future__ import annotations

import pytest
from pybit.exceptions import InvalidRequestError

from paperex.testing import Venue, VenueError

pytest_plugins = ["pytester"]

BTC = {"category": "linear", "symbol": "BTCUSDT"}


def test_venue_accounts_clients_prices_time_faults_and_the_request_log() -> None:
    with Venue.start(rate_limits=False) as venue:
        assert venue.virtual and venue.now() == 1_767_225_600_000  # virtual time from 2026-01-01
        alice, bob = venue.account({"USDT": "50000"}), venue.account()
        assert alice.uid != bob.uid and alice.api_key != bob.api_key
        session = alice.pybit()
        wallet = session.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]
        assert wallet["totalEquity"] == "50000"
        venue.set_price("BTCUSDT", index="60000")
        ticker = venue.pybit().get_tickers(**BTC)["result"]["list"][0]
        assert ticker["indexPrice"] == "60000" and ticker["markPrice"] == "60000"
        # a resting sell from bob, a market buy from alice through ccxt
        bob.pybit().place_order(**BTC, side="Sell", orderType="Limit", qty="0.01", price="60000")
        order = alice.ccxt().create_order("BTC/USDT:USDT", "market", "buy", 0.01)
        assert order["id"]
        assert float(session.get_positions(**BTC)["result"]["list"][0]["size"]) == 0.01
        # time: a funding settlement on the way
        before = venue.now()
        assert venue.advance(hours=8) == before + 8 * 3_600_000
        funding = session.get_executions(category="linear", execType="Funding")["result"]["list"]
        assert len(funding) == 1
        # faults: the next create answers 10000 (a timeout) without placing anything
        venue.fault("/v5/order/create", code=10000, count=1, applied=False)
        with pytest.raises(InvalidRequestError) as err:
            session.place_order(**BTC, side="Buy", orderType="Limit", qty="0.01", price="50000")
        assert err.value.status_code == 10000
        # restrictions
        bob.restrict(trading_banned=True)
        with pytest.raises(InvalidRequestError) as err:
            bob.pybit().place_order(**BTC, side="Buy", orderType="Limit", qty="0.01", price="50000")
        assert err.value.status_code == 10027
        # the request log: each account's requests, what they got
        mine = alice.requests()
        assert {e["uid"] for e in mine} == {alice.uid}
        refused = [e for e in mine if e["retCode"] == 10000]
        assert refused and refused[0]["path"] == "/v5/order/create" and '"price": "50000"' in refused[0]["params"]
        assert [e["retCode"] for e in bob.requests()][-1] == 10027
        assert all(e["retCode"] in (0, 10000) for e in mine)
        assert venue.health()["moneyConserved"]
        digest = venue.digest()
        assert len(digest) == 64 and digest == venue.digest()
        with pytest.raises(VenueError) as refused_admin:
            venue.set_price("NOPE")
        assert refused_admin.value.code == 10001


def test_every_venue_starts_empty_and_apart() -> None:
    """Two venues at once: their own accounts, books and clocks (start-up cost: bench/kit_bench.py)."""
    with Venue.start() as one, Venue.start(start="2028-01-01T00:00:00Z") as two:
        assert one.base_url != two.base_url
        assert one.account().uid == two.account().uid == 100_000_001  # every venue starts empty
        one.set_price("BTCUSDT", index="61000")
        assert two.pybit().get_tickers(**BTC)["result"]["list"][0]["indexPrice"] != "61000"
        assert two.now() - one.now() > 365 * 86_400_000


def test_the_same_test_twice_reaches_the_same_digest() -> None:
    """Given keys (not random ones), two runs of one scenario end in equal states."""
    digests = []
    for _ in range(2):
        with Venue.start(rate_limits=False) as venue:
            alice = venue.account({"USDT": "5000"}, api_key="alicekey0001", api_secret="alicesecret00000000000001")
            bob = venue.account(api_key="bobkey0001", api_secret="bobsecret000000000000000001")
            bob.pybit().place_order(**BTC, side="Sell", orderType="Limit", qty="0.01", price="60000")
            venue.set_price("BTCUSDT", index="60000")
            alice.pybit().place_order(**BTC, side="Buy", orderType="Market", qty="0.01")
            venue.advance(hours=9)
            digests.append(venue.digest())
    assert digests[0] == digests[1]
    with Venue.start() as venue:
        venue.account(api_key="samekey0001")
        with pytest.raises(VenueError) as err:
            venue.account(api_key="samekey0001")
        assert err.value.code == 10001


def test_a_subprocess_venue_with_a_config_and_a_data_dir(tmp_path) -> None:
    config = """
[clock]
mode = "virtual"
start = "2027-03-01T00:00:00Z"

[[accounts]]
label = "bot"
balances = { USDT = "1234" }
[[accounts.api_keys]]
api_key = "kitkey00000000000001"
api_secret = "kitsecret000000000000000000000000001"
"""
    with Venue.start(config, process=True, data_dir=tmp_path / "data") as venue:
        assert venue.now() == 1_803_859_200_000
        from pybit.unified_trading import HTTP

        session = HTTP(api_key="kitkey00000000000001", api_secret="kitsecret000000000000000000000000001",
                       max_retries=1)
        session.endpoint = venue.base_url
        assert session.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]["totalEquity"] == "1234"
    assert (tmp_path / "data" / "journal.sqlite3").is_file()  # the journal stays where it was asked to be


PLUGIN_TESTS = '''
import pytest


def test_one(paperex):
    alice = paperex.account({"USDT": "100"})
    assert alice.uid == 100000001
    alice.pybit().place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.001",
                              price="50000")


def test_two_sees_a_fresh_exchange(paperex):
    alice = paperex.account()
    assert alice.uid == 100000001
    assert alice.pybit().get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"] == []


@pytest.mark.paperex(config="""
[clock]
mode = "virtual"
start = "2030-06-01T00:00:00Z"
""", rate_limits=False)
def test_config_marker(paperex):
    assert paperex.now() == 1906502400000


def test_failing_bot(paperex):
    bob = paperex.account()
    for qty in ("0.0001", "10"):  # too small (10001), then more than the account can pay for (110007)
        try:
            bob.pybit().place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit",
                                    qty=qty, price="50000")
        except Exception:
            pass
    assert False, "the bot expected a fill"


def test_session_one(paperex_session):
    paperex_session.account()


def test_session_two_fails(paperex_session):
    carol = paperex_session.account()
    carol.pybit().get_positions(category="linear", symbol="NOPEUSDT")


async def test_async_bot(apaperex):
    dave = await apaperex.account({"USDT": "1000"})
    exchange = dave.ccxt_async()
    try:
        balance = await exchange.fetch_balance()
        assert balance["USDT"]["total"] == 1000
        await apaperex.set_price("BTCUSDT", index="70000")
        ticker = await exchange.fetch_ticker("BTC/USDT:USDT")
        assert ticker["indexPrice"] == 70000
        assert await apaperex.advance(minutes=1) == 1767225660000
    finally:
        await exchange.close()
'''


def test_the_pytest_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bot=PLUGIN_TESTS)
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest_subprocess("-p", "asyncio", "-rA")
    result.assert_outcomes(passed=5, failed=2)
    out = result.stdout.str()
    # the failing test's report holds its requests: the refused order, with the exchange's reason
    failing = out[out.index("_ test_failing_bot _"):]
    section = failing[failing.index("paperex requests"):]
    assert "/v5/order/create" in section and "10001" in section and "!!" in section
    assert '"qty": "0.0001"' in section
    assert "110007" in section and "why: available balance 10000 USDT < order cost" in section
    # the session venue's report shows only the failing test's own requests
    session = out[out.index("_ test_session_two_fails _"):]
    section = session[session.index("paperex requests"):]
    assert "/v5/position/list" in section and section.count("#") == 1


def test_a_config_file_with_a_relative_data_file(tmp_path) -> None:
    """A config file's data files are found next to it, whichever directory the test runs in."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "bars.csv").write_text("start,open,high,low,close,volume\n"
                                                "1767139200000,60000,60100,59900,60050,1\n"
                                                "1767139260000,60050,60200,60000,60100,2\n")
    (tmp_path / "bot.toml").write_text('[market]\nhistory_days = 1\n[[symbols]]\ncategory = "linear"\n'
                                       'symbol = "BTCUSDT"\nfeed = "klines"\nfile = "data/bars.csv"\n')
    with Venue.start(tmp_path / "bot.toml", market=True) as venue:
        bars = venue.pybit().get_kline(**BTC, interval="1", limit=5)["result"]["list"]
        assert ["60050", "60200", "60000", "60100", "2"] in [b[1:6] for b in bars]  # the file's last bar
