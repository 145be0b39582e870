"""Series of open interest and of the long/short account ratio at interval boundaries, newest first: the
derived past (market.past_stats) before the exchange started, then the core's 5-minute samples
(core.samples), then the live state for boundaries no command has passed yet.

Cursors look like Bybit's (``lastid%3D<n>%26lasttime%3D<seconds>``): the next page is the boundaries before
``lasttime``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import unquote

from paperex.core.engine import Exchange
from paperex.core.samples import SAMPLE_MS, account_counts
from paperex.core.symbol import SymbolState
from paperex.gateway.params import Params, ascii_int, param_error
from paperex.market import past_stats

PERIODS_MS = {"5min": 300_000, "15min": 900_000, "30min": 1_800_000, "1h": 3_600_000, "4h": 14_400_000,
              "1d": 86_400_000}
_4DP = Decimal("0.0001")


def boundaries(params: Params, period_ms: int, earliest: int, now: int, limit: int) -> tuple[list[int], str]:
    """Up to ``limit`` boundaries of ``period_ms`` in [startTime, endTime] (and [earliest, now]), newest
    first, and the cursor of the next page ("" at the end)."""
    start = params.int("startTime", lo=0, hi=10**15)
    end = params.int("endTime", lo=0, hi=10**15)
    hi = min(now, end) if end is not None else now
    cursor = params.str("cursor", max_len=200)
    if cursor is not None:
        hi = min(hi, _cursor_time(cursor) - 1)
    lo = max(earliest, start or 0)
    top = hi - hi % period_ms
    out: list[int] = []
    t = top
    while t >= lo and len(out) < limit:
        out.append(t)
        t -= period_ms
    more = bool(out) and t >= lo
    nxt = f"lastid%3D{out[-1] // period_ms}%26lasttime%3D{out[-1] // 1000}" if more else ""
    return out, nxt


def _cursor_time(cursor: str) -> int:
    fields = dict(part.partition("=")[::2] for part in unquote(cursor).split("&"))
    seconds = ascii_int(fields.get("lasttime", ""))
    if seconds is None or ascii_int(fields.get("lastid", "")) is None:
        raise param_error("cursor is invalid")
    return seconds * 1000


def earliest(core: Exchange, st: SymbolState, now: int) -> int:
    """The first boundary a series has: the past's, else the first sample's, else now's."""
    stats = past_stats.stats_of(st)
    first = stats.first if stats is not None else core.samples.first(st.inst.key)
    if first is None:
        first = now - now % SAMPLE_MS
    return max(first, st.inst.launch_time)


def open_interest(core: Exchange, st: SymbolState, ts: int) -> int:
    """Lots held long (= short) at boundary ``ts``."""
    key = st.inst.key
    stats = past_stats.stats_of(st)
    if stats is not None and ts < stats.end:
        anchor = core.samples.anchors.get(key) or st.open_interest or stats.level
        value = stats.open_interest(ts, anchor)
        if value is not None:
            return value
    sample = core.samples.at(key, ts)
    return sample[1] if sample is not None else st.open_interest


def _share(longs: int, shorts: int) -> float:
    return longs / (longs + shorts) if longs + shorts else 0.5


def buy_ratio(core: Exchange, st: SymbolState, ts: int, live: tuple[int, int] | None = None) -> Decimal:
    """The share of accounts net long at boundary ``ts`` (4 decimals)."""
    key = st.inst.key
    stats = past_stats.stats_of(st)
    if stats is not None and ts < stats.end:
        rows = core.samples.rows.get(key) or ()
        first_live = next((_share(s[2], s[3]) for s in rows if s[0] >= stats.end and s[2] + s[3]), None)
        value = stats.buy_ratio(ts, first_live)
        if value is not None:
            return Decimal(value).quantize(_4DP, rounding=ROUND_HALF_UP)
    sample = core.samples.at(key, ts)
    if sample is not None:
        longs, shorts = sample[2], sample[3]
    else:
        longs, shorts = live if live is not None else account_counts(core).get(key, (0, 0))
    return Decimal(_share(longs, shorts)).quantize(_4DP, rounding=ROUND_HALF_UP)


def oi_text(st: SymbolState, lots: int) -> str:
    """Bybit renders open interest with 8 decimals: base coin (linear) or contracts = USD (inverse)."""
    return f"{st.grid.qty(lots):.8f}"
