"""Frozen domain values with no I/O: market data, news, signals, orders, risk, commands, events."""
