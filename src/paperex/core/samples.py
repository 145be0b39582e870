"""Market statistics sampled every 5 minutes: open interest and how many accounts are net long or short.

Bybit's ``/v5/market/open-interest`` and ``/v5/market/account-ratio`` are series of 5-minute (and coarser)
samples. The core sees time only through commands, so a sample is taken when the first command at or after
a 5-minute boundary succeeds: it records the state *before* that command, which is the state at the boundary
and at every boundary since the previous sample (nothing changed in between). A rejected command takes no
sample (the next successful one does, with the same values): replay and live agree.

Kept per derivative symbol for ``KEEP`` samples (30 days). ``anchors`` keeps each symbol's first non-zero open
interest: the level the derived past (market.past_stats) ends at, so the past continues into the live series.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from paperex.core.engine import Exchange

SAMPLE_MS = 300_000
KEEP = 30 * 288  # 30 days of 5-minute samples per symbol

# a sample: (boundary ms, open interest lots, accounts net long, accounts net short)
Sample = tuple[int, int, int, int]


class MarketSamples:
    __slots__ = ("anchors", "next_at", "rows")

    def __init__(self) -> None:
        self.next_at = 0  # the next boundary to sample (0: at the first command)
        self.rows: dict[tuple[str, str], deque[Sample]] = {}
        self.anchors: dict[tuple[str, str], int] = {}  # first non-zero open interest (lots)

    def measure(self, ex: Exchange, ts: int) -> list[tuple[tuple[str, str], Sample]]:
        """The sample of every derivative symbol at the boundary ``ts`` falls in (state before the command)."""
        boundary = ts - ts % SAMPLE_MS
        counts = account_counts(ex)
        return [(key, (boundary, st.open_interest, *counts.get(key, (0, 0))))
                for key, st in sorted(ex.symbols.items()) if st.inst.is_derivative and st.status != "Closed"]

    def record(self, measured: list[tuple[tuple[str, str], Sample]]) -> None:
        for key, sample in measured:
            rows = self.rows.get(key)
            if rows is None:
                rows = self.rows[key] = deque(maxlen=KEEP)
            rows.append(sample)
            if sample[1] and key not in self.anchors:
                self.anchors[key] = sample[1]
            self.next_at = sample[0] + SAMPLE_MS
        if measured:  # a delivered contract's samples go once they are all older than the window
            oldest = measured[0][1][0] - KEEP * SAMPLE_MS
            for key in [k for k, rows in self.rows.items() if rows and rows[-1][0] < oldest]:
                del self.rows[key]

    def at(self, key: tuple[str, str], ts: int) -> Sample | None:
        """The sample that holds the state at boundary ``ts``: the first taken at or after it (None: none yet,
        the state now is the state then)."""
        rows = self.rows.get(key)
        if not rows:
            return None
        i = bisect_left(rows, (ts,))
        return rows[i] if i < len(rows) else None

    def first(self, key: tuple[str, str]) -> int | None:
        rows = self.rows.get(key)
        return rows[0][0] if rows else None

    def state(self) -> tuple:
        return (self.next_at, [(k, list(r)) for k, r in sorted(self.rows.items())], sorted(self.anchors.items()))

    def dump(self) -> list:
        return [self.next_at, [[list(k), [list(s) for s in r]] for k, r in sorted(self.rows.items())],
                [[list(k), v] for k, v in sorted(self.anchors.items())]]

    @classmethod
    def load(cls, data: list) -> MarketSamples:
        out = cls()
        next_at, rows, anchors = data
        out.next_at = next_at
        for key, samples in rows:
            out.rows[(key[0], key[1])] = deque((tuple(s) for s in samples), maxlen=KEEP)  # type: ignore[misc]
        out.anchors = {(k[0], k[1]): v for k, v in anchors}
        return out


def account_counts(ex: Exchange) -> dict[tuple[str, str], tuple[int, int]]:
    """Per derivative symbol: (accounts net long, accounts net short); hedge-mode sides are netted."""
    longs: dict[tuple[str, str], int] = {}
    shorts: dict[tuple[str, str], int] = {}
    for account in ex.accounts.values():
        net: dict[tuple[str, str], int] = {}
        for (category, symbol, _), pos in account.positions.items():
            if pos.size:
                net[(category, symbol)] = net.get((category, symbol), 0) + pos.size
        for key, size in net.items():
            if size > 0:
                longs[key] = longs.get(key, 0) + 1
            elif size < 0:
                shorts[key] = shorts.get(key, 0) + 1
    return {k: (longs.get(k, 0), shorts.get(k, 0)) for k in set(longs) | set(shorts)}
