"""Fuzzing the auth and parameter layer of a running server: whatever arrives, the reply is never a 5xx,
always either a transport-level 4xx with the catalog text or the V5 envelope with an integer retCode."""

from __future__ import annotations

import time

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperex.errors import MESSAGES
from tests.signing import sign

PATHS = ["/v5/market/time", "/v5/market/instruments-info", "/v5/market/risk-limit", "/v5/user/query-api",
         "/v5/account/info", "/v5/account/wallet-balance", "/v5/account/fee-rate", "/v5/asset/coin/query-info",
         "/v5/order/create", "/v5/unknown", "/admin/v1/accounts", "/admin/v1/deposit"]
PARAM_NAMES = ["category", "symbol", "limit", "cursor", "status", "baseCoin", "accountType", "coin", "uid",
               "balances", "amount", "permissions", "ips", "rsaPublicKey", "readOnly", "x"]
values = st.one_of(
    st.sampled_from(["linear", "inverse", "spot", "option", "BTCUSDT", "UNIFIED", "USDT", "p1", "-1", "0", "",
                     "1000", "99999999999999999999999"]),
    st.text(max_size=20),
)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10)
                           | st.sampled_from(["1", "0.5", "1e12", "100000000000000", "-3", "USDT", "BTC"]),
                           lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                           max_leaves=8)
header_values = st.one_of(st.sampled_from(["", "0", "5000", "-1", "abc", "1" * 30]), st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=20))


@st.composite
def requests_(draw):
    method = draw(st.sampled_from(["GET", "GET", "POST", "POST", "PUT", "DELETE"]))
    path = draw(st.sampled_from(PATHS))
    query = draw(st.dictionaries(st.sampled_from(PARAM_NAMES), values, max_size=4))
    body = draw(st.one_of(st.none(), st.dictionaries(st.sampled_from(PARAM_NAMES), json_values, max_size=4),
                          json_values, st.binary(max_size=30)))
    headers = draw(st.dictionaries(st.sampled_from(["X-BAPI-API-KEY", "X-BAPI-TIMESTAMP", "X-BAPI-SIGN",
                                                    "X-BAPI-RECV-WINDOW", "X-BAPI-SIGN-TYPE"]),
                                   header_values, max_size=5))
    sign_it = draw(st.booleans())
    if isinstance(body, dict) and draw(st.booleans()):
        body["uid"] = "TRADER"  # replaced by a real uid: reach past the uid check into the commands
    return method, path, query, body, headers, sign_it


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(req=requests_())
def test_never_a_5xx_always_the_envelope(server, trader, req) -> None:
    import json as jsonlib
    from urllib.parse import urlencode

    method, path, query, body, headers, sign_it = req
    if isinstance(body, dict) and body.get("uid") == "TRADER":
        body = {**body, "uid": trader.uid}
    qs = urlencode(query)
    if isinstance(body, bytes):
        data = body
    elif body is None:
        data = b""
    else:
        data = jsonlib.dumps(body).encode()
    if sign_it:
        ts = str(int(time.time() * 1000))
        payload = qs if method == "GET" else data.decode(errors="replace")
        headers = {"X-BAPI-API-KEY": trader.api_key, "X-BAPI-TIMESTAMP": ts, "X-BAPI-RECV-WINDOW": "5000",
                   "X-BAPI-SIGN": sign(trader.api_secret, ts + trader.api_key + "5000" + payload)}
    r = requests.request(method, server.base_url + path + ("?" + qs if qs else ""), data=data or None,
                         headers=headers, timeout=10)
    assert r.status_code in (200, 400, 401, 403, 404), (r.status_code, r.text)
    if r.status_code != 200:
        assert r.text == MESSAGES[r.status_code]
        return
    envelope = r.json()
    assert list(envelope) == ["retCode", "retMsg", "result", "retExtInfo", "time"]
    assert isinstance(envelope["retCode"], int) and isinstance(envelope["time"], int)
    assert envelope["retCode"] != 10016, envelope  # an unexpected server error is a bug
    if envelope["retCode"] != 0:
        code = envelope["retCode"]
        assert envelope["retMsg"] == MESSAGES[code] or envelope["retMsg"].startswith(MESSAGES[code] + ": ")
