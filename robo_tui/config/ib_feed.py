"""Settings of the Interactive Brokers market-data feed (`[feeds.ib]`): where TWS is, which data.

Plain pydantic with no ib_async import, so the config can validate the section without the extra.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from robo_tui.config.sections import Section

MarketDataType = Literal["live", "frozen", "delayed", "delayed_frozen"]
"""IB's market-data types (reqMarketDataType 1-4): live needs a paid subscription; delayed is
free and about 15 minutes late; frozen is the last value at the close."""


class IbFeedSettings(Section):
    """Bars and quotes from TWS / IB Gateway through ib_async (read-only: it never orders)."""

    host: str = "127.0.0.1"
    """TWS / IB Gateway host."""
    port: int = Field(7497, ge=1, le=65535)
    """7497 paper TWS, 7496 live TWS, 4002/4001 IB Gateway."""
    client_id: int = Field(27, ge=0, le=2**31 - 1)
    """API client id of the feed's own connection (not the broker's client id)."""
    timeout_seconds: float = Field(10.0, gt=0, le=600)
    """Connect and request timeout."""
    market_data_type: MarketDataType = "live"
    """live (a paid subscription), delayed (free, ~15 min late), frozen or delayed_frozen."""
    use_rth: bool = True
    """Stock bars from regular trading hours only (false: extended hours too)."""
    what_to_show: str = ""
    """Historical data type (TRADES, MIDPOINT, BID_ASK, ...); empty: TRADES, AGGTRADES for crypto."""
    crypto_exchange: str = "PAXOS"
    """Exchange of crypto contracts (IB trades crypto through PAXOS)."""
    pacing_requests: int = Field(50, ge=1, le=60)
    """Historical requests allowed per pacing window (IB allows 60 per 10 minutes)."""
    pacing_window_seconds: float = Field(600.0, ge=1, le=3600)
    """The pacing window in seconds."""
    reconnect_seconds: float = Field(5.0, ge=0.1, le=600)
    """Seconds between reconnect attempts after TWS drops the connection."""
