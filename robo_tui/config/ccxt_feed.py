"""Settings of the ccxt market-data feed (`[feeds.ccxt]`): which exchange, where, how often.

Plain pydantic with no ccxt import, so the config can validate the section without the extra.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from robo_tui.config.sections import Section

DEFAULT_EXCHANGE = "kraken"
"""Kraken: public OHLCV and tickers for BTC/USD and ETH/USD with no key, in US dollars (not a
stablecoin), from a long-running regulated exchange."""


class CcxtFeedSettings(Section):
    """Public market data from a crypto exchange through ccxt (no keys)."""

    exchange: str = DEFAULT_EXCHANGE
    """ccxt exchange id (kraken, coinbase, bitstamp, binance, ...): public data only, no keys."""
    base_url: str = ""
    """Override of the exchange's REST base URL (a proxy or a local test server); empty: the exchange's own."""
    symbols: dict[str, str] = Field(default_factory=dict)
    """Universe symbol -> exchange symbol, e.g. {"BTC-USD" = "BTC/USDT"}; unlisted BASE-QUOTE maps to BASE/QUOTE."""
    poll_seconds: float = Field(10.0, ge=0.5, le=3600)
    """Seconds between polls for new bars and quotes (never faster than the exchange's rate limit)."""
    rate_limit_ms: int | None = Field(None, ge=1, le=60_000)
    """Milliseconds between requests for ccxt's rate limiter; unset: the exchange's published limit."""
    timeout_seconds: float = Field(10.0, gt=0, le=120)
    """HTTP timeout of one request."""

    @field_validator("exchange")
    @classmethod
    def _lower(cls, value: str) -> str:
        name = value.strip().lower()
        if not name.replace("_", "").isalnum():
            raise ValueError(f"{value!r} is not a ccxt exchange id")
        return name
