"""``/v5/position/*``: the account's positions."""

from __future__ import annotations

from typing import Any

from paperex.core.commands import SetLeverage, SetRiskLimit
from paperex.errors import ApiError, Code
from paperex.gateway.auth import Permission
from paperex.gateway.endpoints import V5, Call
from paperex.gateway.handlers.market import page
from paperex.gateway.params import param_error
from paperex.gateway.position_serializers import position
from paperex.gateway.trade_serializers import trim

POSITION_CATEGORIES = ("linear", "inverse", "option")
WRITE_POSITION = Permission(write=True, group="ContractTrade", any_of=("Position",))


@V5.get("/v5/position/list")
async def position_list(call: Call) -> dict[str, Any]:
    p = call.params
    category = p.category(POSITION_CATEGORIES)
    symbol = p.symbol()
    settle_coin = p.str("settleCoin", max_len=20)
    p.str("baseCoin", max_len=20)  # options only; paperex lists no options
    core, account = call.core, call.account
    if category == "option":
        return {"category": category, "list": [], "nextPageCursor": ""}
    if symbol is not None:  # a symbol answers even when flat
        st = core.symbols.get((category, symbol))
        if st is None:
            raise param_error(f"symbol {symbol} does not exist")
        rows = [position(st, account, account.positions.get((category, symbol)), core.symbols)]
        chunk, cursor = page(rows, p, default_limit=20, max_limit=200)
        return {"category": category, "list": chunk, "nextPageCursor": cursor}
    if category == "linear" and settle_coin is None:
        raise param_error("symbol or settleCoin is required")
    held = sorted((key, pos) for key, pos in account.positions.items()
                  if key[0] == category and pos.size
                  and (settle_coin is None or core.symbols[key].inst.settle_coin == settle_coin))
    rows = [position(core.symbols[key], account, pos, core.symbols) for key, pos in held]
    chunk, cursor = page(rows, p, default_limit=20, max_limit=200)
    return {"category": category, "list": chunk, "nextPageCursor": cursor}


def _leverage(call: Call, name: str) -> int:
    value = call.params.decimal(name, required=True)
    assert value is not None
    hundredths = value * 100
    if hundredths != hundredths.to_integral_value() or hundredths <= 0:
        raise param_error(f"{name} must be a positive number with at most 2 decimals")
    return int(hundredths)


@V5.post("/v5/position/set-leverage", permission=WRITE_POSITION)
async def set_leverage(call: Call) -> dict[str, Any]:
    p = call.params
    category = p.category(("linear", "inverse"))
    symbol = p.symbol(required=True)
    assert symbol is not None
    if (category, symbol) not in call.core.symbols:
        raise param_error(f"symbol {symbol} does not exist")
    await call.sequencer.submit(SetLeverage(uid=call.account.uid, category=category, symbol=symbol,
                                            buy_leverage=_leverage(call, "buyLeverage"),
                                            sell_leverage=_leverage(call, "sellLeverage")))
    return {}


@V5.post("/v5/position/set-risk-limit", permission=WRITE_POSITION)
async def set_risk_limit(call: Call) -> dict[str, Any]:
    p = call.params
    category = p.category(("linear", "inverse"))
    symbol = p.symbol(required=True)
    risk_id = p.int("riskId", lo=1, hi=10**6)
    if risk_id is None:
        raise param_error("riskId is required")
    p.int("positionIdx", lo=0, hi=0)
    st = call.core.symbols.get((category, symbol or ""))
    if st is None:
        raise param_error(f"symbol {symbol} does not exist")
    await call.sequencer.submit(SetRiskLimit(uid=call.account.uid, category=category, symbol=st.inst.symbol,
                                             risk_id=risk_id))
    tier = next(t for t in st.inst.risk_tiers if t.id == risk_id)
    return {"category": category, "riskId": risk_id, "riskLimitValue": trim(tier.risk_limit_value)}


def _held_position(call: Call) -> None:
    """The checks of the isolated-margin endpoints, for the cross-margin accounts paperex runs."""
    p = call.params
    category = p.category(("linear", "inverse"))
    symbol = p.symbol(required=True)
    if (category, symbol) not in call.core.symbols:
        raise param_error(f"symbol {symbol} does not exist")
    p.int("positionIdx", lo=0, hi=0)


@V5.post("/v5/position/add-margin", permission=WRITE_POSITION)
async def add_margin(call: Call) -> dict[str, Any]:
    _held_position(call)
    p = call.params
    if p.decimal("margin", required=True) == 0:
        raise ApiError(Code.MARGIN_NOT_MODIFIED)
    pos = call.account.positions.get((p.str("category") or "", p.str("symbol") or ""))
    if pos is None or pos.size == 0:
        raise ApiError(Code.SET_MARGIN_WITHOUT_POSITION)
    raise ApiError(Code.POSITION_CROSS_MODE, "margin is added to isolated positions only")


@V5.post("/v5/position/set-auto-add-margin", permission=WRITE_POSITION)
async def set_auto_add_margin(call: Call) -> dict[str, Any]:
    _held_position(call)
    if call.params.raw("autoAddMargin") not in (0, 1, "0", "1"):
        raise param_error("autoAddMargin must be 0 or 1")
    raise ApiError(Code.AUTO_ADD_MARGIN_ISOLATED_ONLY, "the account is in cross margin mode")
