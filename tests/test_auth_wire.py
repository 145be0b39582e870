"""Authentication and transport failures, each with Bybit's exact code and message, through real clients
where a client can produce the situation and raw requests where only a broken client could."""

from __future__ import annotations

import time

import ccxt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pybit.exceptions import FailedRequestError, InvalidRequestError

from paperex.errors import MESSAGES
from tests.conftest import ccxt_sync, dated, make_trader, pybit_http
from tests.signing import signed_request


def rsa_pair() -> tuple[str, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private_pem, public_pem


def pybit_error(call) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as info:
        call()
    return info.value


# -- keys that work --------------------------------------------------------------------------------
def test_hmac_key_with_pybit_and_ccxt_sync_and_async(server, trader) -> None:
    session = pybit_http(server, trader.api_key, trader.api_secret)
    assert session.get_wallet_balance(accountType="UNIFIED")["retCode"] == 0
    assert ccxt_sync(server, trader.api_key, trader.api_secret).fetch_balance()["USDT"]["total"] == 100000

    import asyncio

    import ccxt.async_support as ccxt_async

    from tests.conftest import ccxt_config

    async def run() -> tuple:
        ex = ccxt_async.bybit(ccxt_config(server, trader.api_key, trader.api_secret))
        try:
            markets = await ex.load_markets()
            balance = await ex.fetch_balance()  # also runs query-api and account/info (account discovery)
            fee = await ex.fetch_trading_fee("ETH/USDT:USDT")
            server_time = await ex.fetch_time()
            return len(markets), balance["USDT"]["total"], fee["taker"], server_time
        finally:
            await ex.close()

    n_markets, total, taker, server_time = asyncio.run(run())
    assert (n_markets, total, taker) == (9 + dated(), 100000, 0.00055)  # perpetuals, spot and dated futures
    assert abs(server_time - time.time() * 1000) < 5000


def test_rsa_key_with_pybit_and_ccxt(server) -> None:
    private_pem, public_pem = rsa_pair()
    uid = server.create_account({"USDT": "42"})
    key = server.create_key(uid, rsaPublicKey=public_pem)
    assert "apiSecret" not in key  # Bybit shows no secret for self-generated RSA keys
    session = pybit_http(server, key["apiKey"], private_pem, rsa_authentication=True)
    assert session.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]["totalEquity"] == "42"
    info = session.get_api_key_information()["result"]
    assert info["rsaPublicKey"] == public_pem
    ex = ccxt_sync(server, key["apiKey"], private_pem)
    assert ex.fetch_balance()["USDT"]["total"] == 42
    # the same request signed with another RSA key fails
    other_private, _ = rsa_pair()
    err = pybit_error(lambda: pybit_http(server, key["apiKey"], other_private, rsa_authentication=True)
                      .get_wallet_balance(accountType="UNIFIED"))
    assert (err.status_code, err.message) == (10004, MESSAGES[10004])


def test_signature_checked_against_raw_and_unquoted_query(server, trader) -> None:
    # signed unquoted, sent quoted (what requests does to characters it must escape)
    r = signed_request(server.base_url, "GET", "/v5/account/wallet-balance", trader.api_key, trader.api_secret,
                       query="accountType=UNIFIED&coin=USDT%2CBTC", sign_payload="accountType=UNIFIED&coin=USDT,BTC")
    assert r.json()["retCode"] == 0
    # signed exactly as sent
    r = signed_request(server.base_url, "GET", "/v5/account/wallet-balance", trader.api_key, trader.api_secret,
                       query="accountType=UNIFIED&coin=USDT%2CBTC")
    assert r.json()["retCode"] == 0
    # parameter order is the sender's: a re-sorted string does not verify
    r = signed_request(server.base_url, "GET", "/v5/account/fee-rate", trader.api_key, trader.api_secret,
                       query="symbol=BTCUSDT&category=linear", sign_payload="category=linear&symbol=BTCUSDT")
    assert r.json()["retCode"] == 10004


# -- HTTP-level failures ---------------------------------------------------------------------------
@pytest.mark.parametrize("missing", ["X-BAPI-API-KEY", "X-BAPI-TIMESTAMP", "X-BAPI-SIGN"])
def test_missing_auth_header_is_http_401(server, trader, missing) -> None:
    headers = {"X-BAPI-API-KEY": trader.api_key, "X-BAPI-TIMESTAMP": str(int(time.time() * 1000)),
               "X-BAPI-SIGN": "00", "X-BAPI-RECV-WINDOW": "5000"}
    del headers[missing]
    r = requests.get(server.base_url + "/v5/account/wallet-balance?accountType=UNIFIED", headers=headers, timeout=5)
    assert (r.status_code, r.text) == (401, MESSAGES[401])


def test_ccxt_maps_http_401_to_authentication_error(server) -> None:
    ex = ccxt_sync(server)
    ex.check_required_credentials = lambda *a, **k: True  # let ccxt send the private call unsigned
    ex.sign = lambda path, api="public", method="GET", params={}, headers=None, body=None: {
        "url": server.base_url + "/v5/account/wallet-balance?accountType=UNIFIED", "method": "GET",
        "body": None, "headers": {}}
    with pytest.raises(ccxt.AuthenticationError):
        ex.privateGetV5AccountWalletBalance({"accountType": "UNIFIED"})


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
def test_method_other_than_get_post_is_http_400(server, method) -> None:
    r = requests.request(method, server.base_url + "/v5/market/time", timeout=5)
    assert (r.status_code, r.text) == (400, MESSAGES[400])


def test_get_with_json_body_is_http_403(server) -> None:
    r = requests.get(server.base_url + "/v5/market/time", data="{}", headers={"Content-Type": "application/json"},
                     timeout=5)
    assert (r.status_code, r.text) == (403, MESSAGES[403])


def test_unknown_path_and_unserved_category_are_http_404(server) -> None:
    for url in ("/v5/market/nope", "/v4/market/time", "/index.html", "/v5/market/risk-limit?category=spot",
                "/v5/market/instruments-info?category=futures"):
        r = requests.get(server.base_url + url, timeout=5)
        assert (r.status_code, r.text) == (404, MESSAGES[404]), url
    with pytest.raises(FailedRequestError) as info:
        pybit_http(server).get_instruments_info(category="LINEAR")
    assert info.value.status_code == 404
    with pytest.raises(ccxt.ExchangeNotAvailable):
        ccxt_sync(server).publicGetV5MarketRiskLimit({"category": "spot"})


def test_known_path_with_other_method_is_10017(server) -> None:
    body = requests.post(server.base_url + "/v5/market/time", json={}, timeout=5).json()
    assert body["retCode"] == 10017 and body["retMsg"].startswith(MESSAGES[10017])


# -- retCode failures --------------------------------------------------------------------------------
def test_unknown_key_is_10003(server) -> None:
    err = pybit_error(lambda: pybit_http(server, "NoSuchKey12345678", "s").get_wallet_balance(accountType="UNIFIED"))
    assert (err.status_code, err.message) == (10003, "API key is invalid.")
    with pytest.raises(ccxt.AuthenticationError, match="API key is invalid"):
        ccxt_sync(server, "NoSuchKey12345678", "s").fetch_balance()


def test_wrong_secret_is_10004(server, trader) -> None:
    err = pybit_error(lambda: pybit_http(server, trader.api_key, "wrong").get_wallet_balance(accountType="UNIFIED"))
    assert (err.status_code, err.message) == (10004, MESSAGES[10004])
    with pytest.raises(ccxt.AuthenticationError, match="Error sign"):
        ccxt_sync(server, trader.api_key, "wrong").fetch_balance()


@pytest.mark.parametrize(
    ("offset_ms", "recv_window", "accepted"),
    [(-4_000, "5000", True), (-6_000, "5000", False), (-6_000, "10000", True), (500, "5000", True),
     (1_500, "5000", False), (-60_000, "5000", False)],
)
def test_timestamp_window(server, trader, offset_ms, recv_window, accepted) -> None:
    ts = int(time.time() * 1000) + offset_ms
    r = signed_request(server.base_url, "GET", "/v5/account/wallet-balance", trader.api_key, trader.api_secret,
                       query="accountType=UNIFIED", ts=ts, recv_window=recv_window)
    body = r.json()
    if accepted:
        assert body["retCode"] == 0
    else:
        assert body["retCode"] == 10002
        assert body["retMsg"].startswith(MESSAGES[10002] + ": req_timestamp[")


def test_malformed_timestamp_and_recv_window(server, trader) -> None:
    r = signed_request(server.base_url, "GET", "/v5/account/info", trader.api_key, trader.api_secret, ts="soon")
    assert r.json()["retCode"] == 10002
    r = signed_request(server.base_url, "GET", "/v5/account/info", trader.api_key, trader.api_secret,
                       recv_window="-5")
    assert r.json() | {"time": 0} == {"retCode": 10001, "retMsg": "Request parameter error: invalid X-BAPI-RECV-WINDOW",
                                      "result": {}, "retExtInfo": {}, "time": 0}


def test_ccxt_clock_skew_is_invalid_nonce(server, trader) -> None:
    ex = ccxt_sync(server, trader.api_key, trader.api_secret)
    ex.options["timeDifference"] = 30_000  # the client's clock runs 30 s behind
    with pytest.raises(ccxt.InvalidNonce):
        ex.fetch_balance()


def test_key_without_wallet_permission_is_10005_on_asset_endpoints(server) -> None:
    trader = make_trader(server, permissions={"ContractTrade": ["Order", "Position"]})
    session = pybit_http(server, trader.api_key, trader.api_secret)
    assert session.get_wallet_balance(accountType="UNIFIED")["retCode"] == 0
    err = pybit_error(lambda: session.get_coin_info())
    assert err.status_code == 10005 and err.message.startswith(MESSAGES[10005])
    ex = ccxt_sync(server, trader.api_key, trader.api_secret)
    ex.has["fetchCurrencies"] = True
    with pytest.raises(ccxt.PermissionDenied):
        ex.fetch_currencies()


def test_ip_binding_is_10010(server) -> None:
    bound_elsewhere = make_trader(server, ips=["10.20.30.40"])
    err = pybit_error(lambda: pybit_http(server, bound_elsewhere.api_key, bound_elsewhere.api_secret)
                      .get_wallet_balance(accountType="UNIFIED"))
    assert (err.status_code, err.message) == (10010, MESSAGES[10010])
    with pytest.raises(ccxt.PermissionDenied):
        ccxt_sync(server, bound_elsewhere.api_key, bound_elsewhere.api_secret).fetch_balance()
    bound_here = make_trader(server, ips=["10.20.30.40", "127.0.0.1"])
    assert pybit_http(server, bound_here.api_key, bound_here.api_secret).get_account_info()["retCode"] == 0


@pytest.mark.parametrize(
    ("query", "detail"),
    [("", "category is required"), ("category=linear&limit=0", "limit must be between 1 and 1000"),
     ("category=linear&limit=abc", "limit must be an integer"), ("category=linear&cursor=zzz", "cursor is invalid"),
     ("category=linear&status=Open", "status must be one of PreLaunch, Trading, Delivering, Closed"),
     ("category=linear&symbol=btcusdt", "symbol must be uppercase")],
)
def test_parameter_errors_are_10001_with_detail(server, query, detail) -> None:
    body = requests.get(server.base_url + "/v5/market/instruments-info?" + query, timeout=5).json()
    assert (body["retCode"], body["retMsg"]) == (10001, f"Request parameter error: {detail}")
    assert body["result"] == {} and isinstance(body["time"], int)


def test_ccxt_maps_10001_to_bad_request(server) -> None:
    with pytest.raises(ccxt.BadRequest):
        ccxt_sync(server).publicGetV5MarketInstrumentsInfo({"category": "linear", "limit": "0"})


@pytest.mark.parametrize("method", [b"get", b"Get", b"post"])
def test_lowercase_method_is_http_400_with_catalog_text(server, method) -> None:
    import socket

    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(method + b" /v5/market/time HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].split(b" ")[1] == b"400"
    assert body.decode() == MESSAGES[400]


def test_get_with_large_or_streamed_body_is_http_403(server) -> None:
    def chunks():
        for _ in range(40):
            yield b"x" * 50_000

    r = requests.get(server.base_url + "/v5/market/time", data=chunks(), timeout=10)  # chunked, 2 MB
    assert (r.status_code, r.text) == (403, MESSAGES[403])


def test_oversized_post_body_is_10001(server) -> None:
    r = requests.post(server.base_url + "/admin/v1/accounts", data=b"{" + b" " * 1_200_000 + b"}", timeout=10)
    assert r.json()["retCode"] == 10001 and r.json()["retMsg"].endswith("the body is too large")


def test_key_with_no_permissions(server) -> None:
    trader = make_trader(server, permissions={})
    session = pybit_http(server, trader.api_key, trader.api_secret)
    info = session.get_api_key_information()
    assert info["retMsg"] == ""  # Bybit answers query-api with an empty retMsg
    perms = info["result"]["permissions"]
    assert all(v == [] for v in perms.values())
    assert {"Earn", "FiatP2P", "Affiliate", "NFT", "CopyTrading"} <= set(perms)
    assert info["result"]["deadlineDay"] > 80 and info["result"]["expiredAt"].endswith("Z")
    err = pybit_error(lambda: session.get_coin_info())
    assert err.status_code == 10005
    for change in (lambda: session.set_margin_mode(setMarginMode="ISOLATED_MARGIN"),
                   lambda: session.upgrade_to_unified_trading_account()):  # account-wide settings: not with no rights
        assert pybit_error(change).status_code == 10005
