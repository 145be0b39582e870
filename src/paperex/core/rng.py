"""A small seeded random source for the core and the history generator: SplitMix64.

The core may not use unseeded randomness, and its state must fit a snapshot: this generator is one 64-bit
integer, the same on every platform, and cheap in pure Python. ``stream(seed, *names)`` derives an
independent stream per purpose (a symbol's walk, its takers, its history) from the configured seed.
"""

from __future__ import annotations

import hashlib
import math

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
TWO_PI = 2 * math.pi
INV_2_53 = 2.0**-53


def stream(seed: int, *names: object) -> int:
    """The starting state of the stream named ``names`` under ``seed``."""
    digest = hashlib.sha256(":".join(map(str, (seed, *names))).encode()).digest()
    return int.from_bytes(digest[:8], "big")


class SplitMix64:
    __slots__ = ("state",)

    def __init__(self, state: int) -> None:
        self.state = state & MASK

    def next(self) -> int:
        self.state = s = (self.state + GOLDEN) & MASK
        s = ((s ^ (s >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        s = ((s ^ (s >> 27)) * 0x94D049BB133111EB) & MASK
        return s ^ (s >> 31)

    def uniform(self) -> float:
        """In [0, 1)."""
        return (self.next() >> 11) * INV_2_53

    def gauss(self) -> float:
        """A standard normal draw (Box-Muller, one of the pair)."""
        u1 = 1.0 - self.uniform()  # (0, 1]: log is finite
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(TWO_PI * self.uniform())

    def poisson(self, lam: float) -> int:
        """A Poisson draw for a small mean (Knuth's product of uniforms)."""
        if lam <= 0:
            return 0
        limit, k, p = math.exp(-lam), 0, self.uniform()
        while p > limit:
            k += 1
            p *= self.uniform()
        return k
