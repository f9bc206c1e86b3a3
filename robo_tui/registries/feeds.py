"""The market feed registry, by the name `feeds.kind` uses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from robo_tui.registries.base import Extension, Registry

if TYPE_CHECKING:
    from robo_tui.config import Settings
    from robo_tui.ports import Clock, MarketFeed


class FeedBuilder(Protocol):
    """Builds the market feed the settings describe."""

    def __call__(self, settings: Settings, clock: Clock) -> MarketFeed: ...


FEEDS: Registry[FeedBuilder] = Registry("feed", (
    Extension("sim", "robo_tui.adapters.feeds:build_sim",
              "The seeded simulated market (labelled SIMULATED); the embedded default.", "feeds"),
    Extension("replay", "robo_tui.adapters.feeds:build_replay",
              "Recorded OHLCV bars from CSV/Parquet files, one bar per cycle.", "feeds"),
    Extension("ccxt", "robo_tui.adapters.feeds.ccxt_feed:build",
              "Public bars and tickers from a crypto exchange through ccxt (no keys).", "feeds.ccxt", "crypto"),
    Extension("ib", "robo_tui.adapters.feeds.ib_feed:build",
              "Bars and quotes from TWS / IB Gateway (live or delayed, as the account allows).",
              "feeds.ib", "ib"),
    Extension("robinhood", "robo_tui.adapters.feeds.robinhood_feed:build",
              "Robinhood stock quotes and history; crypto best bid/ask and history.",
              "feeds.robinhood", "robinhood"),
    Extension("yahoo", "robo_tui.adapters.feeds.yahoo_feed:build",
              "Delayed (~15 min) US stock bars and quotes from Yahoo Finance; no account.",
              "feeds.yahoo", "yahoo"),
))
"""Every feed `feeds.kind` may name, the default first."""
