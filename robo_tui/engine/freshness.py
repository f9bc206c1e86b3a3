"""What the engine will not trade on: bad ticks, stale symbols and closed markets.

`MarketGuard` sits in the engine's market step. Every bar and quote passes the one bad-tick
checker (`robo_tui.domain.ticks.TickChecker`: zero, negative or non-finite prices, crossed
quotes, a print more than `outlier_ratio` times away from the last accepted price, with a new
level accepted once it holds) and a rejected one is logged with its reason before it reaches
strategies, stops or the paper venue. A symbol whose last accepted data is older than `stale_after_bars` bar
intervals is STALE (a health event, shown in the console and headless output). Stale symbols, and
stocks outside their session, are what the gate's `stale_data` and `market_closed` rules deny
entries on (`blocked`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from robo_tui.domain.market import Bar, BarArrays, Instrument, Quote
from robo_tui.domain.risk import RiskCode
from robo_tui.domain.sessions import MarketSessions
from robo_tui.domain.ticks import TickChecker, TickRules
from robo_tui.engine.health import Health

__all__ = ["MarketGuard", "age_label", "stale_text"]

log = logging.getLogger("robo_tui.engine.engine")


class MarketGuard:
    """Bad-tick checks, per-symbol freshness and the symbols entries are blocked on now."""

    def __init__(self, *, instruments: Mapping[str, Instrument], prices: Mapping[str, float],
                 health: Health, bar_seconds: float, stale_after_bars: float,
                 sessions: MarketSessions | None, ticks: TickRules | None = None) -> None:
        self.ticks = TickChecker(ticks)
        """The one bad-tick checker (its reference is `prices`, the last accepted price)."""
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
        """Why `bar` is a bad tick, or None when it may be used. Judging records the print (an
        outlier counts towards accepting a new level), so call it once per bar."""
        return self.ticks.bar(bar, self.prices.get(bar.symbol))

    def quote_problem(self, quote: Quote) -> str | None:
        """Why `quote` is a bad tick, or None when it may be used (once per quote, as above)."""
        return self.ticks.quote(quote, self.prices.get(quote.symbol))

    def clean_history(self, bars: BarArrays) -> BarArrays:
        """Warm-up or backfill bars without their bad ticks (each rejection reported), judged in
        order, each against the close accepted before it. The arrays come back unchanged (the
        same object) when every bar is good."""
        symbol, keep, reference = bars.symbol, [], self.prices.get(bars.symbol)
        ticks, dropped = self.ticks, False
        for i in range(len(bars)):
            bar = bars.bar(i)
            why = ticks.bar(bar, reference)
            if why is None:
                keep.append(bar)
                reference = bar.close
            else:
                dropped = True
                self.reject("history bar", symbol, f"{bar.ts.isoformat()}: {why}")
        return BarArrays.from_bars(symbol, keep) if dropped else bars

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

    def stale_since(self) -> dict[str, datetime]:
        """Stale symbols and when their last accepted data arrived (the console's "stale: ...")."""
        return {s: self.last_seen[s] for s in sorted(self.stale) if s in self.last_seen}

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


def age_label(seconds: float) -> str:
    """A short age: 45s, 3m, 2h, 3d (floored)."""
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def stale_text(since: Mapping[str, datetime], now: datetime) -> str:
    """ "stale: BTC-USD 3m, ETH-USD 45s" for the stale symbols and their last data time ("" when
    none): what the status bar and headless output name."""
    if not since:
        return ""
    ages = ", ".join(f"{s} {age_label((now - t).total_seconds())}" for s, t in since.items())
    return f"stale: {ages}"
