"""Market simulation: the exchange clock (and, later, price feeds and the market maker)."""
