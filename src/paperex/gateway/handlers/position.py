"""``/v5/position/*``: the account's positions."""

from __future__ import annotations

from typing import Any

from paperex.core.commands import SetLeverage
from paperex.gateway.auth import Permission
from paperex.gateway.endpoints import V5, Call
from paperex.gateway.handlers.market import page
from paperex.gateway.params import param_error
from paperex.gateway.position_serializers import position

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
        rows = [position(st, account, account.positions.get((category, symbol)))]
        chunk, cursor = page(rows, p, default_limit=20, max_limit=200)
        return {"category": category, "list": chunk, "nextPageCursor": cursor}
    if category == "linear" and settle_coin is None:
        raise param_error("symbol or settleCoin is required")
    held = sorted((key, pos) for key, pos in account.positions.items()
                  if key[0] == category and pos.size
                  and (settle_coin is None or core.symbols[key].inst.settle_coin == settle_coin))
    rows = [position(core.symbols[key], account, pos) for key, pos in held]
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
