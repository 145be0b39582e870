"""The gateway owns the wire: Bybit V5 auth, parameters, envelopes and field names."""
