"""Market data feeds: the simulated market (the embedded default) and OHLCV replay.

Import the adapter module you need (`feeds.sim`, `feeds.replay`); nothing is imported here so
that choosing one never loads the others.
"""
