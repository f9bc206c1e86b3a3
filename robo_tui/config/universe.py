"""Settings of universe discovery (`[universe.discovery]`): build the universe from the venue.

Plain pydantic, no venue import: the config validates without the `crypto` extra.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from robo_tui.config.sections import Section
from robo_tui.domain.universe import UniverseRules


class DiscoverySettings(Section):
    """Universe discovery from the venue's markets (off: the listed instruments are the universe)."""

    enabled: bool = False
    """Build the universe from the venue's markets (feeds.kind = "ccxt"), filtered below and refreshed daily; off: the instruments listed under [universe]."""
    source: Literal["ccxt", "robinhood_crypto"] = "ccxt"
    """Where the markets come from: "ccxt" (feeds.ccxt.exchange's spot markets, needs feeds.kind = "ccxt") or "robinhood_crypto" (the tradable pairs of the official Crypto Trading API, needs [broker.robinhood_crypto] keys; it reports no 24 h volume, so min_volume is skipped and the tightest spreads rank first)."""
    quote: str = "USD"
    """Quote currency every discovered market trades in (the account's cash)."""
    min_volume: float = Field(1_000_000.0, ge=0, le=1e15)
    """Least traded value over the last 24 hours, in the quote currency."""
    min_price: float = Field(0.0, ge=0, le=1e9)
    """Least last price (e.g. 0.01 keeps sub-cent coins out)."""
    max_spread_bps: float = Field(50.0, gt=0, le=10_000)
    """Widest quoted spread, in basis points of the mid."""
    max_symbols: int = Field(20, ge=1, le=500)
    """Most markets kept, the most traded first."""
    refresh_hours: float = Field(24.0, gt=0, le=24 * 30)
    """Hours a discovered universe is kept (in the data dir) before the venue is asked again."""

    def rules(self) -> UniverseRules:
        """The domain's filter rules from this section."""
        return UniverseRules(self.quote.upper(), self.min_volume, self.min_price,
                             self.max_spread_bps, self.max_symbols,
                             use_volume=self.source == "ccxt")
