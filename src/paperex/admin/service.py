"""Admin operations, shared by the HTTP admin API and the CLI. Each is a command through the sequencer.

Randomness (API keys and secrets) is drawn here, at the edge, and travels inside the command, so the
core stays deterministic and a replay recreates the very same keys.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from paperex.core.accounts import PERMISSION_GROUPS
from paperex.core.commands import CreateAccount, CreateApiKey, Deposit, SetPrices
from paperex.core.events import AccountCreated
from paperex.core.grid import OffGrid
from paperex.core.numbers import MAX_AMOUNT, to_units
from paperex.core.symbol import SymbolState
from paperex.errors import ApiError, Code
from paperex.gateway.auth import load_rsa_public_key
from paperex.sequencer import Sequencer

_ALPHABET = string.ascii_letters + string.digits
DEMO_NOTE = "paperex demo"


def random_token(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def parse_amount(value: Any, what: str) -> int:
    try:
        units = to_units(str(value))
    except ValueError:
        raise ApiError(Code.PARAM_ERROR, f"{what} must be a decimal with at most 8 decimals") from None
    if abs(units) > MAX_AMOUNT:
        raise ApiError(Code.PARAM_ERROR, f"{what} must not exceed {MAX_AMOUNT // 10**8} coins")
    return units


def parse_balances(balances: Any) -> dict[str, int]:
    if balances is None:
        return {}
    if not isinstance(balances, dict):
        raise ApiError(Code.PARAM_ERROR, "balances must be an object of coin -> amount")
    out = {}
    for coin, amount in balances.items():
        units = parse_amount(amount, f"balance of {coin}")
        if units < 0:
            raise ApiError(Code.PARAM_ERROR, f"balance of {coin} must not be negative")
        out[str(coin).upper()] = units
    return out


def parse_permissions(permissions: Any) -> dict[str, list[str]] | None:
    """None (omitted) means every permission; an explicit ``{}`` means none."""
    if permissions is None:
        return None
    if not isinstance(permissions, dict) or not all(
        isinstance(g, str) and isinstance(p, list) and all(isinstance(x, str) for x in p)
        for g, p in permissions.items()
    ):
        raise ApiError(Code.PARAM_ERROR, "permissions must be an object of group -> list of permissions")
    for group, perms in permissions.items():
        known = PERMISSION_GROUPS.get(group)
        if known is None:
            raise ApiError(Code.PARAM_ERROR, f"unknown permission group {group}")
        unknown = [p for p in perms if p not in known]
        if unknown:
            raise ApiError(Code.PARAM_ERROR, f"unknown permission {unknown[0]} in {group}")
    return permissions


@dataclass(frozen=True)
class NewKey:
    uid: int
    api_key: str
    api_secret: str | None


def _token(text: object, longest: int) -> bool:
    return isinstance(text, str) and 0 < len(text) <= longest and text.isascii() and text.isalnum()


class AdminService:
    def __init__(self, sequencer: Sequencer, recovery: str | None = None) -> None:
        self.sequencer = sequencer
        self.recovery = recovery  # what opening the journal had to recover (a torn write), shown in health

    async def create_account(self, balances: dict[str, int], classic: bool = False) -> int:
        events = await self.sequencer.submit(CreateAccount(balances=balances, classic=classic))
        return next(e.uid for e in events if isinstance(e, AccountCreated))

    async def create_api_key(self, uid: int, *, read_only: bool = False,
                             permissions: dict[str, list[str]] | None = None, ips: list[str] | None = None,
                             rsa_public_key: str | None = None, note: str = "", api_key: str | None = None,
                             api_secret: str | None = None) -> NewKey:
        """A new key: random, or the given ``api_key``/``api_secret`` (reproducible runs: equal digests)."""
        if rsa_public_key is not None and load_rsa_public_key(rsa_public_key) is None:
            raise ApiError(Code.PARAM_ERROR, "rsaPublicKey is not a PEM RSA public key")
        if api_key is not None and not (_token(api_key, 64) and (api_secret is None or _token(api_secret, 128))):
            raise ApiError(Code.PARAM_ERROR, "apiKey and apiSecret are letters and digits (at most 64 and 128)")
        if api_secret is not None and (api_key is None or rsa_public_key is not None):
            raise ApiError(Code.PARAM_ERROR, "apiSecret goes with apiKey, and not with rsaPublicKey")
        api_key = api_key or random_token(18)
        secret = None if rsa_public_key else (api_secret or random_token(36))
        await self.sequencer.submit(CreateApiKey(
            uid=uid, api_key=api_key, secret=secret, rsa_public_key=rsa_public_key, read_only=read_only,
            permissions=permissions, ips=ips or ["*"], note=note,
        ))
        return NewKey(uid=uid, api_key=api_key, api_secret=secret)

    async def deposit(self, uid: int, coin: str, amount: int, account_type: str = "UNIFIED", chain: str = "") -> None:
        await self.sequencer.submit(Deposit(uid=uid, coin=coin, amount=amount, account_type=account_type,
                                            chain=chain))

    async def set_prices(self, category: str, symbol: str, index: Any, mark: Any) -> SymbolState:
        st = self.sequencer.core.symbols.get((category, symbol))
        if st is None:
            raise ApiError(Code.PARAM_ERROR, f"symbol {symbol} does not exist in {category}")

        def ticks(value: Any, name: str) -> int | None:
            if value is None:
                return None
            try:
                d = Decimal(str(value))
                if not d.is_finite() or d <= 0 or d.adjusted() > 15:
                    raise OffGrid
                return st.grid.ticks(d)
            except (InvalidOperation, OffGrid):
                raise ApiError(Code.PARAM_ERROR, f"{name} must be a positive multiple of {st.grid.tick}") from None

        await self.sequencer.submit(SetPrices(category=category, symbol=symbol, index=ticks(index, "indexPrice"),
                                              mark=ticks(mark, "markPrice")))
        return st

    def demo_key(self) -> NewKey | None:
        for key in self.sequencer.core.api_keys.values():
            if key.note == DEMO_NOTE:
                return NewKey(uid=key.uid, api_key=key.api_key, api_secret=key.secret)
        return None

    async def ensure_demo(self, usdt: str = "100000") -> NewKey:
        """The demo account and its full-permission key: created on first start, found afterwards."""
        existing = self.demo_key()
        if existing is not None:
            return existing
        uid = await self.create_account({"USDT": to_units(usdt)})
        return await self.create_api_key(uid, note=DEMO_NOTE)


def symbol_rule_changes(st: SymbolState, changes: dict[str, Any]) -> dict[str, Any]:
    """Symbol rules as the admin API and the config file give them: ``max_open_interest`` in the symbol's
    quantity, turned into lots."""
    out = dict(changes)
    if out.get("max_open_interest") is not None:
        try:
            out["max_open_interest"] = st.grid.lots(Decimal(str(out["max_open_interest"])))
        except (ValueError, ArithmeticError):
            raise ApiError(Code.PARAM_ERROR, "max_open_interest must be a quantity on the symbol's step") from None
    return out
