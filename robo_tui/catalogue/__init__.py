"""The local history catalogue: OHLCV bars downloaded once, stored as Parquet, read by backtests.

`store` holds the files (one per source, symbol and timeframe), `sources` the providers
(ccxt exchanges, yfinance), `download` the incremental download, `reading` what the backtest reads, and
`cli` the `robo-tui data` commands.
"""
