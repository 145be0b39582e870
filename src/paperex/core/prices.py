"""Setting a symbol's reference prices (index, mark): the one place that records their candles, samples
the funding premium, tells the streams and checks liquidations. Used by ``SetPrices`` (feeds, scenarios)
and by the living market (core.background)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paperex.core import delivery, risk
from paperex.core.events import Event, PricesChanged
from paperex.core.symbol import SymbolState

if TYPE_CHECKING:
    from paperex.core.engine import Exchange


def set_index(st: SymbolState, ticks: int, ts: int) -> None:
    risk.sample_premium(st, ts)  # the premium so far counts until now
    if st.inst.delivery_time:  # a dated future: the delivery price averages the index
        delivery.accrue(st, ts)
    st.index = ticks
    st.index_candles.add(ts, ticks)


def set_mark(ex: Exchange, st: SymbolState, mark: int, ts: int, events: list[Event]) -> None:
    """The new mark (after any index change at ``ts``): candles, premium, streams, liquidations."""
    st.mark = mark
    st.mark_candles.add(ts, mark)
    st.seq = ex.next_seq()
    risk.sample_premium(st, ts)
    if st.inst.is_derivative:
        st.premium_candles.add(ts, st.funding.premium)
    events.append(PricesChanged(category=st.inst.category, symbol=st.inst.symbol, mark=st.mark, index=st.index))
    if st.inst.is_derivative:
        risk.check_liquidations(ex, st, ts, events)
