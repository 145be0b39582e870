"""Instrument specs, risk-limit tiers and coins, parsed from the market data file (``paperex.data``).

These are the specs as configured (exact Decimals parsed from the data file); the engine works on the
integer grid derived from them (``core.grid``). Descriptive listing fields that carry no behaviour
(display name, copy-trading flag, ...) are not the core's business: the gateway renders them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

CATEGORIES = ("linear", "inverse", "spot")
DERIVATIVES = ("linear", "inverse")


@dataclass(frozen=True, slots=True)
class RiskTier:
    id: int
    risk_limit_value: Decimal
    maintenance_margin_rate: Decimal
    initial_margin_rate: Decimal
    max_leverage: Decimal
    mm_deduction: Decimal | None  # None for the first tier (no deduction)
    is_lowest_risk: bool


@dataclass(frozen=True, slots=True)
class Instrument:
    category: str
    symbol: str
    base_coin: str
    quote_coin: str
    settle_coin: str
    status: str
    tick_size: Decimal
    qty_step: Decimal
    min_order_qty: Decimal
    max_order_qty: Decimal
    max_mkt_order_qty: Decimal
    min_notional: Decimal
    min_price: Decimal
    max_price: Decimal
    min_leverage: Decimal
    max_leverage: Decimal
    leverage_step: Decimal
    price_limit_ratio_x: Decimal
    price_limit_ratio_y: Decimal
    initial_price: Decimal
    risk_tiers: tuple[RiskTier, ...]
    launch_time: int = 0
    funding_interval_min: int = 480
    upper_funding_rate: Decimal = Decimal("0.005")
    lower_funding_rate: Decimal = Decimal("-0.005")
    contract_type: str = ""  # LinearPerpetual, InverseFutures, ... ("" for spot)
    delivery_time: int = 0  # ms: a dated future's expiry (0: a perpetual or spot)
    delivery_fee_rate: Decimal = Decimal(0)
    source: str = ""  # a dated future: the perpetual it was listed from (core.delivery)

    @property
    def key(self) -> tuple[str, str]:
        return (self.category, self.symbol)

    @property
    def is_dated(self) -> bool:
        """A dated future: delivered at ``delivery_time``, no funding."""
        return self.delivery_time > 0

    @property
    def is_derivative(self) -> bool:
        return self.category in DERIVATIVES


@dataclass(frozen=True, slots=True)
class Coin:
    coin: str
    name: str
    usd_price: Decimal
    collateral_ratio: Decimal
    remain_amount: str
    chains: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class FutureSeries:
    """Dated futures listed on a schedule (core.calendar): each contract copies the specs of ``source`` (the
    perpetual of the same base coin) with its own symbol, settle coin, launch and delivery time."""

    category: str
    base_coin: str
    quote_coin: str
    settle_coin: str
    source: str  # the perpetual whose specs (filters, risk tiers) the contracts take
    style: str  # symbol style: "inverse" BTCUSDZ26, "usdt" BTCUSDT-25DEC26, "usdc" BTC-25DEC26
    schedule: tuple[tuple[str, int], ...]  # (tenor, how many live): weekly / monthly / quarterly
    delivery_fee_rate: Decimal

    @property
    def name(self) -> str:
        return f"{self.category}:{self.style}:{self.base_coin}"


@dataclass(frozen=True, slots=True)
class MarketSpec:
    instruments: tuple[Instrument, ...]
    coins: tuple[Coin, ...]
    series: tuple[FutureSeries, ...] = ()


def _d(value: Any, default: str = "0") -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(default)


def _tier(row: dict[str, Any]) -> RiskTier:
    return RiskTier(
        id=int(row["id"]),
        risk_limit_value=_d(row["riskLimitValue"]),
        maintenance_margin_rate=_d(row["maintenanceMargin"]),
        initial_margin_rate=_d(row["initialMargin"]),
        max_leverage=_d(row["maxLeverage"]),
        mm_deduction=_d(row["mmDeduction"]) if row.get("mmDeduction") not in (None, "") else None,
        is_lowest_risk=bool(int(row.get("isLowestRisk", 0))),
    )


# Keys of the data file that are ours rather than Bybit listing fields.
OWN_KEYS = frozenset({"category", "initialPrice", "riskTiers"})


def _instrument(raw: dict[str, Any]) -> Instrument:
    category = raw["category"]
    price_f = raw.get("priceFilter", {})
    lot_f = raw.get("lotSizeFilter", {})
    lev_f = raw.get("leverageFilter", {})
    risk_p = raw.get("riskParameters", {})
    if category == "spot":
        qty_step = _d(lot_f.get("basePrecision"))
        min_notional = _d(lot_f.get("minOrderAmt"))
        max_mkt = _d(lot_f.get("maxMarketOrderQty") or lot_f.get("maxOrderQty"))
        max_qty = _d(lot_f.get("maxLimitOrderQty") or lot_f.get("maxOrderQty"))
    else:
        qty_step = _d(lot_f.get("qtyStep"))
        min_notional = _d(lot_f.get("minNotionalValue"))
        max_mkt = _d(lot_f.get("maxMktOrderQty"))
        max_qty = _d(lot_f.get("maxOrderQty"))
    return Instrument(
        category=category,
        symbol=raw["symbol"],
        base_coin=raw["baseCoin"],
        quote_coin=raw["quoteCoin"],
        settle_coin=raw.get("settleCoin") or raw["quoteCoin"],
        status=raw.get("status", "Trading"),
        tick_size=_d(price_f.get("tickSize")),
        qty_step=qty_step,
        min_order_qty=_d(lot_f.get("minOrderQty")),
        max_order_qty=max_qty,
        max_mkt_order_qty=max_mkt,
        min_notional=min_notional,
        min_price=_d(price_f.get("minPrice"), "0"),
        max_price=_d(price_f.get("maxPrice"), "0"),
        min_leverage=_d(lev_f.get("minLeverage"), "1"),
        max_leverage=_d(lev_f.get("maxLeverage"), "1"),
        leverage_step=_d(lev_f.get("leverageStep"), "0.01"),
        price_limit_ratio_x=_d(risk_p.get("priceLimitRatioX"), "0"),
        price_limit_ratio_y=_d(risk_p.get("priceLimitRatioY"), "0"),
        initial_price=_d(raw["initialPrice"]),
        risk_tiers=tuple(_tier(r) for r in raw.get("riskTiers", ())),
        launch_time=int(raw.get("launchTime") or 0),
        funding_interval_min=int(raw.get("fundingInterval") or 480),
        upper_funding_rate=_d(raw.get("upperFundingRate"), "0.005"),
        lower_funding_rate=_d(raw.get("lowerFundingRate"), "-0.005"),
        contract_type=raw.get("contractType", ""),
        delivery_time=int(raw.get("deliveryTime") or 0),
        delivery_fee_rate=_d(raw.get("deliveryFeeRate"), "0"),
    )


def _series(raw: dict[str, Any]) -> FutureSeries:
    return FutureSeries(
        category=raw["category"], base_coin=raw["baseCoin"], quote_coin=raw["quoteCoin"],
        settle_coin=raw["settleCoin"], source=raw["source"], style=raw["style"],
        schedule=tuple((tenor, int(n)) for tenor, n in raw["schedule"].items()),
        delivery_fee_rate=_d(raw.get("deliveryFeeRate"), "0"),
    )


def _coin(raw: dict[str, Any]) -> Coin:
    return Coin(
        coin=raw["coin"],
        name=raw.get("name", raw["coin"]),
        usd_price=_d(raw.get("usdPrice"), "0"),
        collateral_ratio=_d(raw.get("collateralRatio"), "0"),
        remain_amount=str(raw.get("remainAmount", "")),
        chains=tuple(raw.get("chains", ())),
    )


def parse_market(data: dict[str, Any]) -> MarketSpec:
    return MarketSpec(
        instruments=tuple(_instrument(r) for r in data["instruments"]),
        coins=tuple(_coin(c) for c in data["coins"]),
        series=tuple(_series(r) for r in data.get("datedFutures", ())),
    )
