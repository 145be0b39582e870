"""V5 operation handlers, grouped as Bybit groups its API. Importing this package registers them all."""

from paperex.gateway.handlers import (  # noqa: F401
    account,
    asset,
    delivery,
    market,
    market_stats,
    position,
    system,
    trade,
    user,
)
