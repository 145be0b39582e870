"""The transaction log of each account (``/v5/account/transaction-log``): every change of a wallet balance,
with the balance after it.

An entry is a tuple, so snapshots and digests carry it as is:
``(id, ts, type, coin, category, symbol, side, qty, size_after, price_ticks, cash_flow, funding, fee,
fee_rate, balance_after, trade_id, order_id, order_link_id)``. ``qty`` is lots for derivatives and the
signed coin amount (1e-8 units) for spot; money fields are 1e-8 units of ``coin``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paperex.core.numbers import MONEY_DP

if TYPE_CHECKING:
    from paperex.core.accounts import Account
    from paperex.core.engine import Exchange

Entry = tuple[int, int, str, str, str, str, int, int, int, int, int, int, int, int, int, int, int, str]
assert MONEY_DP == 8


def record(ex: Exchange, account: Account, ts: int, kind: str, coin: str, *, category: str = "", symbol: str = "",
           side: int = 0, qty: int = 0, size_after: int = 0, price: int = 0, cash_flow: int = 0, funding: int = 0,
           fee: int = 0, fee_rate: int = 0, trade_id: int = 0, order_id: int = 0, order_link_id: str = "",
           balance: int | None = None) -> None:
    """Log a change; ``balance``: the wallet after it, when it is not the wallet now."""
    ex.ledger_seq += 1
    after = account.balance(coin) if balance is None else balance
    account.ledger.append((ex.ledger_seq, ts, kind, coin, category, symbol, side, qty, size_after, price, cash_flow,
                           funding, fee, fee_rate, after, trade_id, order_id, order_link_id))
