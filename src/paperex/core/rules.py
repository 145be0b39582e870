"""What the admin API (or the config file) sets on an account or a symbol: restrictions and levels.

Account rules (``Account.rules``):
- ``rate_level``: VIP1..VIP5, SUPREME, PRO1..PRO6, MM1..MM3: the trade endpoints' rate limits (gateway).
- ``status``: ``frozen`` (a valid key answers 10007) or ``banned`` (10008); absent: normal.
- ``trading_banned``: no new orders (10027).
- ``compliance``: categories or symbols the account may not trade (10024).
- ``symbol_whitelist``: the only symbols the account may trade (10029 for the others).
- ``leverage_banned``: no leverage above 1x, no spot margin (110068).
- ``ins_loan_max_leverage``: an institutional-loan account's leverage cap (30151); ``ins_loan_no_trade``: it
  may not trade (110069).
- ``reduce_only_symbols``: symbols the account may only reduce (110023); both sides of a hedge-mode symbol go
  together (naming one side: 30153).
- ``skip_liquidation``: an institutional account the liquidation engine leaves alone; refused while the account
  holds a position or a resting order (110041).
- ``upgrade_disabled``: ``/v5/account/upgrade-to-uta`` answers 110071 (Bybit's "new upgrades are not supported").
- ``mmp_institution``: the account has an institution's market-maker-protection profile (MMP endpoints
  answer 110062 without).
- ``liquidating``: the liquidation engine is working on the account (a window paperex's atomic liquidation
  never leaves open; this rule holds it open for a scenario): order requests answer 110035, position settings
  110005, and its positions show ``positionStatus`` Liq.

Symbol rules (``SymbolState.rules``): ``halted`` (110066), ``settling`` (110063), ``reduce_only`` (110023),
``qty_restricted`` (amends may not raise a quantity, 110022), ``etp`` (110070), ``max_open_interest`` (lots,
110021 for an opening order that would take the symbol's open interest past it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from paperex.errors import ApiError, Code

if TYPE_CHECKING:
    from paperex.core.accounts import Account
    from paperex.core.commands import Command
    from paperex.core.engine import Exchange
    from paperex.core.symbol import SymbolState

ACCOUNT_RULES: dict[str, type] = {
    "rate_level": str, "status": str, "trading_banned": bool, "compliance": list, "symbol_whitelist": list,
    "leverage_banned": bool, "ins_loan_max_leverage": int, "ins_loan_no_trade": bool, "reduce_only_symbols": list,
    "skip_liquidation": bool, "liquidating": bool, "mmp_institution": bool, "upgrade_disabled": bool,
}
SYMBOL_RULES: dict[str, type] = {
    "halted": bool, "settling": bool, "reduce_only": bool, "qty_restricted": bool, "etp": bool,
    "max_open_interest": int,
}


def merge(current: dict[str, Any], changes: dict[str, Any], schema: dict[str, type], what: str) -> dict[str, Any]:
    """The rules after ``changes`` (a None value removes a rule); 10001 for an unknown rule or a wrong type."""
    out = dict(current)
    for name, value in changes.items():
        kind = schema.get(name)
        if kind is None:
            raise ApiError(Code.PARAM_ERROR, f"unknown {what} rule {name}")
        if value is None or value is False:
            out.pop(name, None)
            continue
        if kind is list and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ApiError(Code.PARAM_ERROR, f"{name} must be a list of names")
        if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise ApiError(Code.PARAM_ERROR, f"{name} must be a positive whole number")
        if kind in (bool, str) and not isinstance(value, kind):
            raise ApiError(Code.PARAM_ERROR, f"{name} must be a {kind.__name__}")
        out[name] = value
    return out


def check_trading(account: Account, st: SymbolState, opening: bool, leverage: int) -> None:
    """The account's and the symbol's rules for a new order (``opening``: it may add to a position;
    ``leverage`` in hundredths, derivatives only)."""
    inst, a, s = st.inst, account.rules, st.rules
    if not a and not s:  # the usual case: nothing restricted
        return
    if s.get("halted"):
        raise ApiError(Code.TRADING_NOT_ALLOWED, f"{inst.symbol} is halted")
    if s.get("settling"):
        raise ApiError(Code.SETTLEMENT_IN_PROGRESS, inst.symbol)
    if s.get("etp"):
        raise ApiError(Code.ETP_NOT_TRADABLE)
    if a.get("trading_banned"):
        raise ApiError(Code.TRADING_BANNED)
    if a.get("ins_loan_no_trade"):
        raise ApiError(Code.INS_LOAN_CANNOT_TRADE)
    blocked = a.get("compliance", ())
    if inst.category in blocked or inst.symbol in blocked:
        raise ApiError(Code.COMPLIANCE_RULES, f"{inst.category} {inst.symbol} is not available to this account")
    whitelist = a.get("symbol_whitelist")
    if whitelist is not None and inst.symbol not in whitelist:
        raise ApiError(Code.SYMBOL_NOT_WHITELISTED)
    if not opening:
        return
    if s.get("reduce_only") or inst.symbol in a.get("reduce_only_symbols", ()):
        raise ApiError(Code.SYMBOL_REDUCE_ONLY)
    if inst.is_derivative:
        check_leverage(account, leverage)


def check_leverage(account: Account, leverage: int) -> None:
    """An account barred from leverage (110068) or capped by an institutional loan (30151)."""
    if not account.rules:
        return
    if account.rules.get("leverage_banned") and leverage > 100:
        raise ApiError(Code.LEVERAGED_TRADING_NOT_ALLOWED, "the account may trade at 1x only")
    cap = account.rules.get("ins_loan_max_leverage")
    if cap is not None and leverage > cap * 100:
        raise ApiError(Code.LEVERAGE_ABOVE_INS_LOAN, f"at most {cap}x")


def check_open_interest(st: SymbolState, opening_lots: int) -> None:
    if not st.rules:
        return
    cap = st.rules.get("max_open_interest")
    if cap is not None and st.open_interest + opening_lots > cap:
        raise ApiError(Code.OPEN_INTEREST_LIMIT, f"the symbol's open interest may not pass {st.grid.qty(cap)}")


def check_account_command(ex: Exchange, cmd: Command, orders: bool) -> None:
    """Order requests (``orders``) and position settings of an account under a rule: 110035 / 110005 while it is
    being liquidated; a setting for a symbol outside its whitelist: 110037 (the whitelist is its setting list)."""
    account = ex.accounts.get(getattr(cmd, "uid", -1))
    if account is None or not account.rules:
        return
    if account.rules.get("liquidating"):
        raise ApiError(Code.CANCEL_BEFORE_LIQUIDATION if orders else Code.POSITION_STATUS,
                       "the account is being liquidated")
    whitelist = account.rules.get("symbol_whitelist")
    symbol = getattr(cmd, "symbol", "")
    if not orders and whitelist is not None and symbol and symbol not in whitelist:
        raise ApiError(Code.SYMBOL_NOT_IN_SETTINGS, symbol)
