"""Settings of the Robinhood market-data feed (`[feeds.robinhood]`): where, how often.

The login is the broker's (`[broker.robinhood]` for stocks and crypto history through
robin_stocks, `[broker.robinhood_crypto]` for the Crypto Trading API's best bid/ask): a feed
never holds credentials of its own. Plain pydantic, no robin_stocks import.
"""

from __future__ import annotations

from pydantic import Field

from robo_tui.config.sections import Section

API_URL = "https://api.robinhood.com"
"""Robinhood's stock API host (robin_stocks' fixed host)."""
NUMMUS_URL = "https://nummus.robinhood.com"
"""Robinhood's crypto host for robin_stocks (nummus)."""


class RobinhoodFeedSettings(Section):
    """Quotes and history from Robinhood: stocks and crypto."""

    api_url: str = API_URL
    """Base URL of api.robinhood.com for robin_stocks (a proxy or a local test server)."""
    nummus_url: str = NUMMUS_URL
    """Base URL of nummus.robinhood.com for robin_stocks (a proxy or a local test server)."""
    poll_seconds: float = Field(15.0, ge=1, le=3600)
    """Seconds between polls for quotes and new bars (Robinhood throttles busy clients)."""
    crypto_best_bid_ask: bool = True
    """Crypto quotes from the Crypto Trading API's best bid/ask (needs the broker.robinhood_crypto
    keys); false: robin_stocks' crypto quote (mark, bid, ask)."""
    timeout_seconds: float = Field(15.0, gt=0, le=600)
    """Timeout of one request."""
