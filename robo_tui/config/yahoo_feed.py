"""Settings of the Yahoo Finance feed (`[feeds.yahoo]`): delayed US stock data through yfinance.

Plain pydantic with no yfinance import, so the config can validate the section without the extra.
"""

from __future__ import annotations

from pydantic import Field

from robo_tui.config.sections import Section


class YahooFeedSettings(Section):
    """Delayed bars and quotes of US stocks from Yahoo Finance (no account, no key)."""

    symbols: dict[str, str] = Field(default_factory=dict)
    """Universe symbol -> Yahoo symbol, e.g. {"BRK.B" = "BRK-B"}; unlisted symbols are used as they are."""
    poll_seconds: float = Field(30.0, ge=5, le=3600)
    """Seconds between polls (Yahoo rate-limits busy clients; keep it slow)."""
    delay_minutes: float = Field(15.0, ge=0, le=60)
    """How late Yahoo's data is, shown in the status bar (exchanges delay free data ~15 minutes)."""
    timeout_seconds: float = Field(15.0, gt=0, le=120)
    """Timeout of one request."""
