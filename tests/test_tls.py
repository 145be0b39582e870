"""``paperex serve --tls``: HTTPS and WSS on one port with a local CA made once in the data dir (or the user's own
certificate), used by unmodified pybit, ccxt and ccxt.pro clients that trust that CA and by nothing else."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import ccxt
import orjson
import pytest
import requests
from ccxt.test.exchange.base.test_order import test_order as ccxt_test_order
from cryptography import x509

from paperex.tls import local_certificates
from tests.conftest import ccxt_config, ccxt_pro_urls, ccxt_sync, make_trader, pybit_http
from tests.serverproc import ServerProcess

S = "BTCUSDT"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("tls") / "data", ["--no-demo"], tls=True).start()
    yield server
    server.stop()


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def san_names(cert_file: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {*san.get_values_for_type(x509.DNSName), *(str(ip) for ip in san.get_values_for_type(x509.IPAddress))}


def test_the_ca_is_printed_and_kept_like_the_rest_of_the_data_dir(tls_server) -> None:
    assert tls_server.base_url.startswith("https://127.0.0.1:")
    assert tls_server.log_contains(f"trust the CA at {tls_server.ca}")
    tls_dir = tls_server.ca.parent
    assert stat.S_IMODE(tls_dir.stat().st_mode) == 0o700
    files = sorted(p.name for p in tls_dir.iterdir())
    assert files == ["ca.key", "ca.pem", "server.key", "server.pem"]
    assert all(stat.S_IMODE((tls_dir / f).stat().st_mode) == 0o600 for f in files)
    assert san_names(tls_dir / "server.pem") == {"localhost", "127.0.0.1", "::1"}


def test_pybit_over_https_trusting_the_ca_and_not_without(tls_server) -> None:
    me = make_trader(tls_server)  # the admin API over HTTPS too
    untrusting = pybit_http(tls_server, me.api_key, me.api_secret)
    with pytest.raises(requests.exceptions.SSLError):
        untrusting.get_server_time()  # the system's roots do not vouch for paperex's CA
    session = pybit_http(tls_server, me.api_key, me.api_secret)
    session.client.verify = str(tls_server.ca)
    assert session.get_server_time()["retCode"] == 0
    placed = session.place_order(category="linear", symbol=S, side="Buy", orderType="Limit", qty="0.01",
                                 price="60000", orderLinkId="tls-pybit")
    assert placed["retCode"] == 0
    (row,) = session.get_open_orders(category="linear", symbol=S)["result"]["list"]
    assert (row["orderId"], row["orderLinkId"], row["orderStatus"]) == (placed["result"]["orderId"], "tls-pybit",
                                                                        "New")
    # the same host by name: localhost is in the certificate
    by_name = pybit_http(tls_server, me.api_key, me.api_secret)
    by_name.endpoint = tls_server.base_url.replace("127.0.0.1", "localhost")
    by_name.client.verify = str(tls_server.ca)
    assert by_name.get_wallet_balance(accountType="UNIFIED")["retCode"] == 0


def test_ccxt_over_https_with_the_ca_bundle(tls_server, monkeypatch) -> None:
    me = make_trader(tls_server)
    symbol = "BTC/USDT:USDT"
    # ccxt's sync client sends verify=True per request, so requests takes the bundle from the environment,
    # which ccxt's session reads only when told to
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_server.ca))
    untrusting = ccxt_sync(tls_server, me.api_key, me.api_secret)
    with pytest.raises(ccxt.NetworkError):
        untrusting.fetch_time()
    ex = ccxt.bybit({**ccxt_config(tls_server, me.api_key, me.api_secret), "requests_trust_env": True})
    ex.load_markets()
    created = ex.create_order(symbol, "limit", "buy", 0.01, 60000, {"clientOrderId": "tls-ccxt"})
    fetched = ex.fetch_order(created["id"], symbol, {"acknowledged": True})
    ccxt_test_order(ex, {"fees": True}, "fetchOrder", fetched, symbol, ex.milliseconds())
    assert (fetched["clientOrderId"], fetched["status"], fetched["amount"]) == ("tls-ccxt", "open", 0.01)
    assert ex.fetch_balance()["USDT"]["total"] == 100000.0


def test_wss_with_pybit_and_ccxt_pro(tls_server, monkeypatch) -> None:
    import ccxt.pro
    import pybit.unified_trading as ut

    me = make_trader(tls_server)
    rest = pybit_http(tls_server, me.api_key, me.api_secret)
    rest.client.verify = str(tls_server.ca)
    wss = tls_server.base_url.replace("https://", "wss://")
    # pybit's WebSocket is websocket-client's, which takes the CA bundle from its own variable
    monkeypatch.setenv("WEBSOCKET_CLIENT_CA_BUNDLE", str(tls_server.ca))
    monkeypatch.setattr(ut, "PUBLIC_WSS", wss + "/v5/public/{CHANNEL_TYPE}")
    got: list[dict] = []
    lock = threading.Lock()

    def keep(message: dict) -> None:
        with lock:
            got.append(orjson.loads(orjson.dumps(message)))

    ws = ut.WebSocket(testnet=False, channel_type="linear")
    try:
        ws.ticker_stream(S, keep)
        wait_for(lambda: any(m.get("topic") == f"tickers.{S}" for m in got))
    finally:
        ws.exit()

    async def private_stream() -> dict:
        ex = ccxt.pro.bybit({"urls": {"api": ccxt_pro_urls(tls_server)}, "apiKey": me.api_key, "secret": me.api_secret,
                             "cafile": str(tls_server.ca),  # ccxt.pro's REST and WebSocket both
                             "options": {"fetchMarkets": {"types": ["spot", "linear", "inverse"]}}})
        try:
            await ex.load_markets()
            watch = asyncio.ensure_future(ex.watch_orders("BTC/USDT:USDT"))
            await asyncio.sleep(1.0)  # the private socket authenticates and subscribes
            await asyncio.to_thread(rest.place_order, category="linear", symbol=S, side="Sell", orderType="Limit",
                                    qty="0.01", price="70000", orderLinkId="tls-wss")
            orders = await asyncio.wait_for(watch, 10)
            return orders[-1]
        finally:
            await ex.close()

    order = asyncio.run(private_stream())
    assert (order["clientOrderId"], order["side"], order["price"]) == ("tls-wss", "sell", 70000.0)


def test_plain_http_to_the_tls_port_fails_cleanly(tls_server) -> None:
    plain = tls_server.base_url.replace("https://", "http://")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(plain + "/v5/market/time", timeout=10)
    answer = requests.get(tls_server.base_url + "/v5/market/time", timeout=10, verify=str(tls_server.ca))
    assert answer.json()["retCode"] == 0  # the server is still there, and said nothing alarming
    assert not tls_server.log_contains("Traceback") and not tls_server.log_contains("ERROR")


def test_a_restart_reuses_the_ca_and_a_new_name_gets_a_new_certificate(tmp_path) -> None:
    data = tmp_path / "data"
    first = ServerProcess(data, ["--no-demo"], tls=True).start()
    ca, cert = first.ca.read_bytes(), (data / "tls" / "server.pem").read_bytes()
    first.stop()
    again = ServerProcess(data, ["--no-demo"], tls=True).start()
    try:
        assert again.ca.read_bytes() == ca and (data / "tls" / "server.pem").read_bytes() == cert
        assert requests.get(again.base_url + "/v5/market/time", verify=str(again.ca), timeout=10).ok
    finally:
        again.stop()
    named = ServerProcess(data, ["--no-demo", "--tls-name", "paperex"], tls=True).start()
    try:
        assert named.ca.read_bytes() == ca  # clients that trust the CA keep trusting the server
        assert (data / "tls" / "server.pem").read_bytes() != cert
        assert san_names(data / "tls" / "server.pem") == {"localhost", "127.0.0.1", "::1", "paperex"}
        assert requests.get(named.base_url + "/v5/market/time", verify=str(named.ca), timeout=10).ok
    finally:
        named.stop()


def test_the_users_own_certificate(tmp_path) -> None:
    (tmp_path / "elsewhere").mkdir()
    own = local_certificates(tmp_path / "elsewhere", ["localhost", "127.0.0.1"])  # any cert/key pair will do
    data = tmp_path / "data"
    server = ServerProcess(data, ["--no-demo", "--tls-cert", str(own.cert), "--tls-key", str(own.key)],
                           ca_file=own.ca).start()
    try:
        assert server.base_url.startswith("https://")
        assert server.log_contains(f"TLS: serving HTTPS and WSS with {own.cert}")
        assert requests.get(server.base_url + "/v5/market/time", verify=str(own.ca), timeout=10).json()["retCode"] == 0
        assert not (data / "tls").exists()  # no local CA was made
    finally:
        server.stop()


@pytest.mark.parametrize(("args", "says"), [
    (["--tls-cert", "{dir}/missing.pem"], "--tls-cert and --tls-key go together"),
    (["--tls-cert", "{dir}/junk.pem", "--tls-key", "{dir}/junk.pem"], "are not a PEM certificate"),
    (["--tls-cert", "{dir}/missing.pem", "--tls-key", "{dir}/missing.key"], "No such file"),
])
def test_a_bad_certificate_is_a_clear_refusal(tmp_path, args, says) -> None:
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    cmd = [sys.executable, "-m", "paperex", "serve", "--no-market", "--no-demo", "--port", "0",
           "--data-dir", str(tmp_path / "data"), *(a.format(dir=tmp_path) for a in args)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and says in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_the_cli_talks_to_a_tls_server_and_never_falls_back_to_a_data_dir(tls_server, tmp_path) -> None:
    def account_create(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "paperex", "account", "create", "--balance", "USDT=7",
                               "--url", tls_server.base_url, *args], capture_output=True, text=True, timeout=60)

    same_dir = account_create("--data-dir", str(tls_server.data_dir))  # finds the server's CA there
    assert same_dir.returncode == 0, same_dir.stderr
    elsewhere = tmp_path / "elsewhere"
    untrusted = account_create("--data-dir", str(elsewhere))
    assert untrusted.returncode != 0 and "--ca FILE" in untrusted.stderr, untrusted.stderr
    assert not elsewhere.exists()  # a server answered: nothing was written offline
    trusted = account_create("--data-dir", str(elsewhere), "--ca", str(tls_server.ca))
    assert trusted.returncode == 0, trusted.stderr
    for uid in (same_dir.stdout.strip(), trusted.stdout.strip()):
        assert tls_server.admin("GET", f"/admin/v1/accounts/{uid}")["result"]["balances"] == {"USDT": "7"}


def test_the_demo_banner_snippets_work_over_tls_when_pasted(tmp_path) -> None:
    import textwrap

    server = ServerProcess(tmp_path / "data", tls=True).start()
    try:
        banner = server.banner
        pybit_snippet = textwrap.dedent(banner.split("pybit:\n")[1].split("\nccxt:")[0])
        ccxt_snippet = textwrap.dedent(banner.split("ccxt:\n")[1])
        clean = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
        for snippet, expect in ((pybit_snippet, "'totalEquity': '100000'"), (ccxt_snippet, "'total': 100000.0")):
            assert str(server.ca) in snippet and len(snippet.strip().splitlines()) <= 5
            out = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, timeout=60,
                                 env=clean)
            assert out.returncode == 0, out.stderr
            assert expect in out.stdout
    finally:
        server.stop()
