"""V5 request authentication: HMAC-SHA256 (hex) and RSA-SHA256 (base64) signatures, the recv window,
IP binding and key permissions.

The signature is checked against the bytes as received (raw query string or raw body), and for GET
also against the unquoted query, because clients sign before their HTTP library re-quotes the URL.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from paperex.core.accounts import Account, ApiKey
from paperex.core.engine import Exchange
from paperex.errors import ApiError, Code, HttpError
from paperex.gateway.envelope import HttpFailure
from paperex.gateway.params import ascii_int, printable

DEFAULT_RECV_WINDOW = 5000
FUTURE_TOLERANCE_MS = 1000


@dataclass(frozen=True, slots=True)
class Principal:
    key: ApiKey
    account: Account


@dataclass(frozen=True, slots=True)
class Permission:
    """What an endpoint needs: write access (not read-only), and/or one permission of a group."""

    write: bool = False
    group: str | None = None
    any_of: tuple[str, ...] = ()

    def check(self, key: ApiKey) -> None:
        if self.write and key.read_only:
            raise ApiError(Code.PERMISSION_DENIED, "the api key is read-only")
        if self.group is not None and not any(key.allows(self.group, p) for p in self.any_of):
            raise ApiError(Code.PERMISSION_DENIED, f"the api key lacks {self.group} permission")


READ = Permission()

_rsa_cache: dict[str, rsa.RSAPublicKey | None] = {}


def load_rsa_public_key(pem: str) -> rsa.RSAPublicKey | None:
    if pem not in _rsa_cache:
        try:
            key: Any = serialization.load_pem_public_key(pem.encode())
        except (ValueError, TypeError):
            key = None
        _rsa_cache[pem] = key if isinstance(key, rsa.RSAPublicKey) else None
    return _rsa_cache[pem]


def signature_matches(key: ApiKey, payload: bytes, signature: str) -> bool:
    if key.secret is not None:
        expected = hmac.new(key.secret.encode(), payload, hashlib.sha256).hexdigest()
        # bytes: compare_digest refuses a str with non-ASCII characters (TypeError, once a 10016)
        return hmac.compare_digest(expected.encode(), signature.lower().encode("utf-8", "surrogateescape"))
    public = load_rsa_public_key(key.rsa_public_key or "")
    if public is None:
        return False
    try:
        public.verify(base64.b64decode(signature, validate=True), payload, padding.PKCS1v15(),
                      hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def sign_payload_candidates(method: str, raw_query: str, raw_body: bytes) -> list[bytes]:
    if method == "POST":
        return [raw_body]
    candidates = [raw_query.encode()]
    unquoted = unquote(raw_query)
    if unquoted != raw_query:
        candidates.append(unquoted.encode())
    return candidates


def in_window(ts: int, recv_window: int, now_ms: int, also_ms: int | None = None) -> bool:
    """Bybit's rule server - recv <= ts < server + 1 s, against our clock or, in virtual time, either clock: a
    client may sync to /v5/market/time (the exchange clock, ccxt's adjustForTimeDifference) or to its own."""
    return any(now - recv_window <= ts < now + FUTURE_TOLERANCE_MS for now in (now_ms, also_ms) if now is not None)


def virtual_now(sequencer: Any) -> int | None:
    """The exchange clock when it is virtual (a client may follow it as well as its own), else None."""
    return sequencer.now_ms() if getattr(sequencer.clock, "virtual", False) else None


def authenticate(
    core: Exchange,
    headers: Any,
    method: str,
    raw_query: str,
    raw_body: bytes,
    client_ip: str,
    now_ms: int,
    also_ms: int | None = None,
) -> Principal:
    api_key = headers.get("X-BAPI-API-KEY")
    timestamp = headers.get("X-BAPI-TIMESTAMP")
    signature = headers.get("X-BAPI-SIGN")
    if not api_key or not timestamp or not signature:
        raise HttpFailure(HttpError.UNAUTHORIZED)
    recv_text = headers.get("X-BAPI-RECV-WINDOW")
    recv_window = DEFAULT_RECV_WINDOW
    if recv_text is not None:
        parsed = ascii_int(recv_text, max_len=12)
        if not parsed:
            raise ApiError(Code.PARAM_ERROR, "invalid X-BAPI-RECV-WINDOW")
        recv_window = parsed

    key = core.api_keys.get(api_key)
    if key is None:
        raise ApiError(Code.INVALID_API_KEY)

    ts = ascii_int(timestamp, max_len=16)
    if ts is None or not in_window(ts, recv_window, now_ms, also_ms):
        raise ApiError(
            Code.TIMESTAMP_OUT_OF_WINDOW,
            f"req_timestamp[{printable(timestamp)}],server_timestamp[{now_ms}],recv_window[{recv_window}]",
        )

    prefix = f"{timestamp}{api_key}{recv_text or ''}".encode()
    payloads = sign_payload_candidates(method, raw_query, raw_body)
    if not any(signature_matches(key, prefix + p, signature) for p in payloads):
        raise ApiError(Code.BAD_SIGNATURE)

    if not key.ip_allowed(client_ip):
        raise ApiError(Code.IP_MISMATCH)
    account = core.accounts.get(key.uid)
    if account is None:
        raise ApiError(Code.USER_AUTH_FAILED)
    check_account_status(account)
    return Principal(key=key, account=account)


def check_account_status(account: Account) -> None:
    """Frozen (10007) and banned (10008) accounts, as the admin API set them (core.rules): on every signed
    request, REST or WebSocket."""
    status = account.rules.get("status")
    if status == "frozen":
        raise ApiError(Code.USER_AUTH_FAILED, "the account is frozen")
    if status == "banned":
        raise ApiError(Code.ACCOUNT_BANNED)
