"""Core objects -> V5 JSON. The only place where Bybit's response field names are written."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from paperex.core import margin
from paperex.core.accounts import Account, ApiKey
from paperex.core.engine import Exchange
from paperex.core.instruments import Coin, Instrument, RiskTier
from paperex.core.numbers import MONEY_DP, format_decimal, format_units, from_units, to_units

UNBOUND_KEY_LIFETIME_DAYS = 90
_DAY_MS = 86_400_000


def _usd(value: Decimal) -> str:
    """USD amounts are reported with up to 8 decimals."""
    return format_units(to_units(value.quantize(Decimal(1).scaleb(-MONEY_DP), rounding=ROUND_DOWN)))


def _rate(value: Decimal) -> str:
    return format_decimal(value.quantize(Decimal("0.0001"), rounding=ROUND_DOWN).normalize()) if value else "0"


def instrument(i: Instrument, listing: dict[str, Any], status: str) -> dict[str, Any]:
    """The V5 instrument: the listing's descriptive fields in Bybit's order, the specs from the core."""
    out = dict(listing)
    out["symbol"] = i.symbol
    out["status"] = status
    out["priceFilter"] = price_filter = dict(listing.get("priceFilter", {}))
    price_filter["tickSize"] = format_decimal(i.tick_size)
    lot = out["lotSizeFilter"] = dict(listing.get("lotSizeFilter", {}))
    lot["minOrderQty"] = format_decimal(i.min_order_qty)
    if i.category == "spot":
        lot["basePrecision"] = format_decimal(i.qty_step)
        lot["minOrderAmt"] = format_decimal(i.min_notional)
    else:
        price_filter["minPrice"] = format_decimal(i.min_price)
        price_filter["maxPrice"] = format_decimal(i.max_price)
        lot["qtyStep"] = format_decimal(i.qty_step)
        lot["maxOrderQty"] = format_decimal(i.max_order_qty)
        lot["maxMktOrderQty"] = format_decimal(i.max_mkt_order_qty)
        out["leverageFilter"] = {"minLeverage": format_decimal(i.min_leverage),
                                 "maxLeverage": format_decimal(i.max_leverage),
                                 "leverageStep": format_decimal(i.leverage_step)}
    out["riskParameters"] = {"priceLimitRatioX": format_decimal(i.price_limit_ratio_x),
                             "priceLimitRatioY": format_decimal(i.price_limit_ratio_y)}
    return out


def risk_tier(symbol: str, tier: RiskTier) -> dict[str, Any]:
    return {
        "id": tier.id,
        "symbol": symbol,
        "riskLimitValue": format_decimal(tier.risk_limit_value),
        "maintenanceMargin": format_decimal(tier.maintenance_margin_rate),
        "initialMargin": format_decimal(tier.initial_margin_rate),
        "isLowestRisk": 1 if tier.is_lowest_risk else 0,
        "maxLeverage": format_decimal(tier.max_leverage),
        "mmDeduction": "" if tier.mm_deduction is None else format_decimal(tier.mm_deduction),
    }


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# Permission groups /v5/user/query-api always lists, beyond the ones paperex can grant.
_LISTED_PERMISSION_GROUPS = ("ContractTrade", "Spot", "Wallet", "Options", "Derivatives", "CopyTrading",
                             "BlockTrade", "Exchange", "NFT", "Earn", "FiatP2P", "FiatBitPay", "FiatConvertBroker",
                             "FiatGlobalPay", "BitCard", "ByXPost", "Affiliate")


def api_key_info(key: ApiKey, account: Account, now_ms: int) -> dict[str, Any]:
    unbound = not key.ips or "*" in key.ips
    expires = key.created_at + UNBOUND_KEY_LIFETIME_DAYS * _DAY_MS
    permissions = {group: list(key.permissions.get(group, ())) for group in _LISTED_PERMISSION_GROUPS}
    return {
        "id": str(key.id),
        "note": key.note,
        "apiKey": key.api_key,
        "readOnly": 1 if key.read_only else 0,
        "secret": "",
        "permissions": permissions,
        "ips": list(key.ips) or ["*"],
        "type": 1,
        "deadlineDay": max(0, (expires - now_ms) // _DAY_MS) if unbound else -2,
        "expiredAt": _iso(expires) if unbound else "1970-01-01T00:00:00Z",
        "createdAt": _iso(key.created_at),
        "unified": 0,
        "uta": 1 if account.unified_margin_status >= 3 else 0,
        "userID": account.uid,
        "inviterID": 0,
        "vipLevel": "No VIP",
        "mktMakerLevel": "0",
        "affiliateID": 0,
        "userIDInt64": str(account.uid),
        "inviterIDInt64": "0",
        "affiliateIDInt64": "0",
        "rsaPublicKey": key.rsa_public_key or "",
        "isMaster": not account.parent_uid,
        "parentUid": str(account.parent_uid),
        "kycLevel": "LEVEL_DEFAULT",
        "kycRegion": "",
    }


def account_info(account: Account) -> dict[str, Any]:
    return {
        "unifiedMarginStatus": account.unified_margin_status,
        "marginMode": account.margin_mode,
        "isMasterTrader": False,
        "spotHedgingStatus": "OFF",
        "updatedTime": str(account.updated_at),
        "dcpStatus": "OFF",
        "timeWindow": 10,
        "smpGroup": 0,
    }


def _coin_risk(core: Exchange, account: Account, coin: str) -> dict[str, int]:
    """Order IM, spot-locked amount, position IM/MM, unrealised and realised PnL of one coin (1e-8 units)."""
    out = dict.fromkeys(("order_im", "locked", "position_im", "position_mm", "upl", "realised"), 0)
    for order in account.open_orders.values():
        if order.hold_coin == coin:
            out["locked" if order.category == "spot" else "order_im"] += order.hold
    for key, pos in account.positions.items():
        st = core.symbols[key[:2]]
        if st.inst.settle_coin != coin:
            continue
        out["realised"] += pos.cum_realised
        if pos.size:
            out["position_im"] += pos.margin if account.margin_mode == margin.ISOLATED else margin.position_im(st, pos)
            out["position_mm"] += margin.position_mm(st, pos)
            out["upl"] += margin.unrealised(st, pos)
    return out


def wallet_balance(core: Exchange, account: Account, coins: list[str]) -> dict[str, Any]:
    """``/v5/account/wallet-balance`` for a unified account, valued in USD at each coin's reference price."""
    if coins:  # as asked, once each, known coins only
        wanted = [c for c in dict.fromkeys(coins) if c in core.coins]
    else:
        held = {c for c, units in account.balances.items() if units}
        held |= {core.symbols[k[:2]].inst.settle_coin for k, p in account.positions.items() if p.size or p.cum_realised}
        wanted = sorted(held)
    rows = []
    total_equity = total_wallet = total_upl = total_im = total_mm = total_locked = Decimal(0)
    for coin in wanted:
        units = account.balance(coin)
        risk = _coin_risk(core, account, coin)
        spec = core.coins.get(coin)
        price = spec.usd_price if spec else Decimal(0)
        ratio = spec.collateral_ratio if spec else Decimal(0)
        equity = units + risk["upl"]
        total_equity += from_units(equity) * price
        total_wallet += from_units(units) * price * ratio
        total_upl += from_units(risk["upl"]) * price
        total_im += from_units(risk["order_im"] + risk["position_im"]) * price
        total_mm += from_units(risk["position_mm"]) * price
        total_locked += from_units(risk["locked"]) * price * ratio
        rows.append({
            "coin": coin,
            "equity": format_units(equity),
            "usdValue": _usd(from_units(equity) * price),
            "walletBalance": format_units(units),
            "locked": format_units(risk["locked"]),
            "spotHedgingQty": "0",
            "borrowAmount": "0",
            "availableToWithdraw": "",
            "accruedInterest": "0",
            "totalOrderIM": format_units(risk["order_im"]),
            "totalPositionIM": format_units(risk["position_im"]),
            "totalPositionMM": format_units(risk["position_mm"]),
            "unrealisedPnl": format_units(risk["upl"]),
            "cumRealisedPnl": format_units(risk["realised"]),
            "bonus": "0",
            "collateralSwitch": True,
            "marginCollateral": True,
            "availableToBorrow": "",
            "spotBorrow": "0",
            "colRes": "0",
        })
    margin_balance = total_wallet + total_upl
    im_rate = _rate(total_im / margin_balance) if margin_balance > 0 else "0"
    mm_rate = _rate(total_mm / margin_balance) if margin_balance > 0 else "0"
    return {
        "list": [{
            "accountType": "UNIFIED",
            "accountIMRate": im_rate,
            "accountMMRate": mm_rate,
            "accountIMRateByMp": im_rate,
            "accountMMRateByMp": mm_rate,
            "totalEquity": _usd(total_equity),
            "totalWalletBalance": _usd(total_wallet),
            "totalMarginBalance": _usd(margin_balance),
            "totalAvailableBalance": _usd(max(Decimal(0), margin_balance - total_im - total_locked)),
            "totalPerpUPL": _usd(total_upl),
            "totalInitialMargin": _usd(total_im),
            "totalInitialMarginByMp": _usd(total_im),
            "totalMaintenanceMargin": _usd(total_mm),
            "totalMaintenanceMarginByMp": _usd(total_mm),
            "accountLTV": "0",
            "coin": rows,
        }]
    }


def fee_rate_rows(account: Account, category: str, instruments: list[Instrument],
                  base_coin: str | None) -> list[dict[str, Any]]:
    taker, maker = account.fee_rates[category]
    if category == "option":
        return [{"symbol": "", "baseCoin": base_coin or "", "takerFeeRate": format_units(taker),
                 "makerFeeRate": format_units(maker)}]
    return [{"symbol": i.symbol, "takerFeeRate": format_units(taker), "makerFeeRate": format_units(maker)}
            for i in instruments]


def coin_info(coin: Coin) -> dict[str, Any]:
    return {"name": coin.name, "coin": coin.coin, "remainAmount": coin.remain_amount,
            "chains": [dict(c) for c in coin.chains]}
