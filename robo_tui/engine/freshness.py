"""What the engine will not trade on: bad ticks, stale symbols and closed markets.

`MarketGuard` sits in the engine's market step. A bar or quote with a zero, negative or
non-finite price, a crossed quote (bid above ask) or a print more than `OUTLIER_RATIO` times away
from the last accepted price is rejected with a logged reason before it reaches strategies,
stops or the paper venue. A symbol whose last accepted data is older than `stale_after_bars` bar
intervals is STALE (a health event, shown in the console and headless output). Stale symbols, and
stocks outside their session, are what the gate's `stale_data` and `market_closed` rules deny
entries on (`blocked`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from datetime import datetime, timedelta

from robo_tui.domain.market import Bar, Instrument, Quote
from robo_tui.domain.risk import RiskCode
from robo_tui.domain.sessions import MarketSessions
from robo_tui.engine.health import Health

__all__ = ["OUTLIER_RATIO", "MarketGuard"]

log = logging.getLogger("robo_tui.engine.engine")

OUTLIER_RATIO = 10.0
"""A print this many times above (or below 1/this of) the last accepted price is a bad tick: no
listed instrument moves 10x between two bars, and a 100x print (a misplaced decimal) always is."""


class MarketGuard:
    """Bad-tick checks, per-symbol freshness and the symbols entries are blocked on now."""

    def __init__(self, *, instruments: Mapping[str, Instrument], prices: Mapping[str, float],
                 health: Health, bar_seconds: float, stale_after_bars: float,
                 sessions: MarketSessions | None) -> None:
        self.instruments = instruments
        self.prices = prices
        """The last accepted price per symbol (the engine's)."""
        self.health = health
        self.sessions = sessions
        """The exchange calendar stock entries follow; None trades stocks around the clock."""
        self.stale_after = timedelta(seconds=bar_seconds * stale_after_bars)
        self.last_seen: dict[str, datetime] = {}
        """When accepted data last arrived per symbol (the engine's clock)."""
        self.stale: dict[str, str] = {}
        """Stale symbols: the sentence saying since when."""
        self.rejected = 0
        """Ticks rejected so far."""

    # ------------------------------------------------------------------ bad ticks

    def bar_problem(self, bar: Bar) -> str | None:
        """Why `bar` is a bad tick, or None when it may be used."""
        values = (bar.open, bar.high, bar.low, bar.close)
        if not all(math.isfinite(v) and v > 0 for v in values):
            return f"a price is zero, negative or not a number (o={bar.open} h={bar.high} " \
                   f"l={bar.low} c={bar.close})"
        if bar.high < bar.low:
            return f"high {bar.high} is below low {bar.low}"
        return self._outlier(bar.symbol, bar.close)

    def quote_problem(self, quote: Quote) -> str | None:
        """Why `quote` is a bad tick, or None when it may be used."""
        if not (math.isfinite(quote.last) and quote.last > 0):
            return f"last price {quote.last} is zero, negative or not a number"
        for name, value in (("bid", quote.bid), ("ask", quote.ask)):
            if not math.isfinite(value) or value < 0:
                return f"{name} {value} is negative or not a number"
        if quote.bid > 0 and quote.ask > 0 and quote.bid > quote.ask:
            return f"crossed quote: bid {quote.bid} above ask {quote.ask}"
        return self._outlier(quote.symbol, quote.last)

    def _outlier(self, symbol: str, price: float) -> str | None:
        last = self.prices.get(symbol)
        if last is None or not (math.isfinite(last) and last > 0):
            return None
        ratio = price / last
        if ratio > OUTLIER_RATIO or ratio < 1.0 / OUTLIER_RATIO:
            return f"print {price:,.6g} is {ratio:,.4g}x the last price {last:,.6g}"
        return None

    def reject(self, kind: str, symbol: str, why: str) -> None:
        """Log and report a rejected tick (it reaches no strategy, stop or venue)."""
        self.rejected += 1
        self.health.error("data", f"{kind} for {symbol} rejected: {why}")

    # ------------------------------------------------------------------ freshness

    def seen(self, symbol: str, now: datetime) -> None:
        """Accepted data for `symbol` arrived at `now`."""
        self.last_seen[symbol] = now

    def check(self, now: datetime) -> None:
        """Mark symbols STALE (or fresh again), one health event per change. A stock outside
        its session is not stale: no data is expected then."""
        for symbol, seen in self.last_seen.items():
            age = now - seen
            if age > self.stale_after and self._in_session(symbol, now):
                if symbol not in self.stale:
                    message = (f"{symbol}: no data for {age.total_seconds():,.0f} s (stale after "
                               f"{self.stale_after.total_seconds():,.0f} s); no new entries")
                    self.stale[symbol] = message
                    self.health.symbol_problem(symbol, "stale", message)
            elif self.stale.pop(symbol, None) is not None:
                self.health.symbol_recovered(symbol, "stale", f"{symbol}: data is fresh again")

    def _in_session(self, symbol: str, now: datetime) -> bool:
        inst = self.instruments.get(symbol)
        return inst is None or self.sessions_open(inst, now)

    def sessions_open(self, inst: Instrument, now: datetime) -> bool:
        """Whether `inst` is in session at `now` (always, without a calendar)."""
        sessions = self.sessions
        return sessions is None or sessions.is_open(inst.asset_class, now)

    # ------------------------------------------------------------------ what the gate reads

    def blocked(self, now: datetime, disagree: Mapping[str, Mapping[str, str]]
                ) -> dict[str, dict[str, str]]:
        """Per symbol, the reason codes entries are denied on now and their sentences."""
        if not disagree and not self.stale and self.sessions is None:
            return {}  # nothing blocks (every replay order, most live ones): no copies made
        out: dict[str, dict[str, str]] = {s: dict(r) for s, r in disagree.items()}
        for symbol, message in self.stale.items():
            out.setdefault(symbol, {})[RiskCode.STALE_DATA.value] = message
        sessions = self.sessions
        if sessions is not None:
            status = None
            for symbol, inst in self.instruments.items():
                if not sessions.tradable(inst.asset_class, now):
                    status = status or sessions.status(now)
                    out.setdefault(symbol, {})[RiskCode.MARKET_CLOSED.value] = (
                        f"{symbol} trades only in its exchange's session and the market is "
                        f"{status.label.removeprefix(status.market + ' ')} now"
                        + ("" if sessions.extended_hours else
                           " (extended hours are off: sessions.extended_hours)"))
        return out
