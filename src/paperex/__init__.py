"""paperex: a local exchange that speaks the Bybit V5 API."""

__version__ = "0.1.0"
