"""``/v5/account/upgrade-to-uta``: a classic account becomes a unified one (UTA 2.0), a UTA 2.0 account UTA 2.0 Pro.

Classic -> UTA 2.0 refuses, in this order (Bybit's prerequisites and codes):
- 110071 when upgrades are disabled for the account (admin rule ``upgrade_disabled``);
- 3400054 with open or waiting USDT-perpetual orders;
- 3400208 with hedge-mode or isolated-margin USDT-perpetual positions;
- 3400209 with USDT-perpetual positions within 10 minutes of the hour (the exchange clock: virtual time makes
  it testable);
- 3400071 when the account's net assets (wallets + unrealised PnL, in USD) are not positive;
- 3400210 when the derivatives positions need more initial margin than the account's equity in their settle coin
  (paperex's measure of a risk rate that is too high);
- 3400211 when, valued as a unified account does (every coin at its USD price x collateral ratio), the equity
  would not cover the positions' initial margin;
and otherwise upgrades for ``UPGRADE_MS`` of exchange time, during which the account's requests answer 3100197.
UTA 2.0 -> Pro needs a VIP or PRO level (rate_level), no open orders, and not the 50th minute to the 5th of the
next hour; the reply says FAIL with the reasons otherwise (Bybit's ``unifiedUpdateMsg``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from paperex.core import margin
from paperex.core.numbers import MONEY_SCALE
from paperex.errors import ApiError, Code

if TYPE_CHECKING:
    from paperex.core.accounts import Account
    from paperex.core.commands import UpgradeToUta
    from paperex.core.engine import Exchange
    from paperex.core.events import Event

UPGRADE_MS = 60_000  # how long the upgrade takes (exchange time)
UTA2, UTA2_PRO = 5, 6


def _usdt_perp(ex: Exchange, category: str, symbol: str) -> bool:
    inst = ex.symbols[(category, symbol)].inst
    return category == "linear" and inst.settle_coin == "USDT"


def _minute(ts: int) -> int:
    return ts // 60_000 % 60


def upgrade(ex: Exchange, cmd: UpgradeToUta, ts: int) -> list[Event]:
    account = ex.account(cmd.uid)
    if account.upgrading_until > ts:
        raise ApiError(Code.BANNED_UTA_UPGRADE, "the upgrade is in progress")
    if not account.classic:
        return _to_pro(account, ts)
    if account.rules.get("upgrade_disabled"):
        raise ApiError(Code.UMA_UPGRADE_DISABLED)
    if any(_usdt_perp(ex, o.category, o.symbol) for pool in (account.open_orders, account.conditionals)
           for o in pool.values() if o.category != "spot"):
        raise ApiError(Code.UPGRADE_OPEN_USDT_PERP_ORDERS)
    held = [p for p in account.positions.values() if p.size]
    perps = [p for p in held if _usdt_perp(ex, p.category, p.symbol)]
    if any(p.idx or account.margin_mode == margin.ISOLATED for p in perps):
        raise ApiError(Code.UPGRADE_HEDGE_OR_ISOLATED)
    if perps and (_minute(ts) >= 50 or _minute(ts) < 10):
        raise ApiError(Code.UPGRADE_AROUND_THE_HOUR)
    equity_usd = Decimal(0)
    uta_equity_usd = Decimal(0)
    im_usd = Decimal(0)
    coins = set(account.balances) | {ex.symbols[p.key[:2]].inst.settle_coin for p in held}
    for coin in sorted(coins):
        price = ex.coin_usd_price(coin)
        equity = account.balance(coin) + sum(margin.unrealised(ex.symbols[p.key[:2]], p) for p in held
                                              if ex.symbols[p.key[:2]].inst.settle_coin == coin)
        im = sum(margin.position_im(ex.symbols[p.key[:2]], p) for p in held
                 if ex.symbols[p.key[:2]].inst.settle_coin == coin)
        if im > equity:
            raise ApiError(Code.UPGRADE_RISK_RATE_HIGH, f"the {coin} positions need more margin than the equity")
        value = Decimal(equity) / MONEY_SCALE * price
        equity_usd += value
        spec = ex.coins.get(coin)
        uta_equity_usd += value * (spec.collateral_ratio if spec is not None else Decimal(0))
        im_usd += Decimal(im) / MONEY_SCALE * price
    if equity_usd <= 0:
        raise ApiError(Code.UPGRADE_NET_ASSET)
    if im_usd > uta_equity_usd:
        raise ApiError(Code.UPGRADE_EST_RISK_RATE_HIGH,
                       "valued at collateral ratios, the equity would not cover the initial margin")
    account.unified_margin_status = UTA2
    account.upgrading_until = ts + UPGRADE_MS
    account.updated_at = ts
    return []


def _to_pro(account: Account, ts: int) -> list[Event]:
    """UTA 2.0 -> Pro: what Bybit checks for it is answered in the reply, not as an error code."""
    if account.unified_margin_status == UTA2_PRO:
        raise ApiError(Code.PARAM_ERROR, "the account is UTA 2.0 Pro already")
    reasons = []
    if not account.rules.get("rate_level"):
        reasons.append("only VIP or PRO level accounts can upgrade to UTA 2.0 Pro")
    if account.open_orders or account.conditionals:
        reasons.append("cancel every open order first")
    if _minute(ts) >= 50 or _minute(ts) < 5:
        reasons.append("avoid the 50th minute to the 5th minute of the next hour")
    if reasons:
        raise UpgradeRefused(reasons)
    account.unified_margin_status = UTA2_PRO
    account.updated_at = ts
    return []


class UpgradeRefused(ApiError):
    """Not an error on the wire: retCode 0 with ``unifiedUpdateStatus`` FAIL and the reasons."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(Code.OK)
        self.reasons = reasons
