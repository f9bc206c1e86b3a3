"""The one bad-tick checker: which prints no trader would act on, and when a new level is real.

A print is bad when a price is zero, negative or not a number, when a quote is crossed (bid above
ask), when a bar's high is below its low, or when it is an outlier: more than `outlier_ratio`
times away from the symbol's reference price (the last accepted one), e.g. a 100x print from a
misplaced decimal. Every rejection comes with the sentence saying why (the caller logs it).

An outlier is not rejected forever: a real regime change (a redenomination, a split the feed
did not adjust, a crash) must not freeze a symbol for good. The first outlier opens a candidate
level; each further print near that level (within `outlier_ratio` of it) counts, and once
`new_level_prints` prints in a row sit there, or the level has held for `new_level_seconds` of
the prints' own time, the print is accepted and becomes the reference. A print back near the
old reference drops the candidate (the outlier was one bad print after all).

Pure and synchronous (no I/O, no clock): the engine's `MarketGuard` owns the one instance and
passes the reference price it keeps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from robo_tui.domain.market import Bar, Quote

__all__ = ["TickChecker", "TickRules"]


@dataclass(frozen=True, slots=True)
class TickRules:
    """How far a print may jump, and how long a new level must hold to be believed."""

    outlier_ratio: float = 10.0
    """A print this many times above (or below 1/this of) the reference price is an outlier: no
    listed instrument moves 10x between two prints, and a 100x print always does."""
    new_level_prints: int = 3
    """Prints in a row near a new level after which it is accepted as real."""
    new_level_seconds: float = 300.0
    """Seconds (of the prints' own timestamps) a new level must hold to be accepted."""

    def __post_init__(self) -> None:
        if not self.outlier_ratio > 1.0 or not math.isfinite(self.outlier_ratio):
            raise ValueError(f"outlier_ratio must be a finite number above 1, got {self.outlier_ratio}")
        if self.new_level_prints < 1:
            raise ValueError(f"new_level_prints must be at least 1, got {self.new_level_prints}")
        if not self.new_level_seconds >= 0.0:
            raise ValueError(f"new_level_seconds must be >= 0, got {self.new_level_seconds}")


@dataclass(slots=True)
class _Candidate:
    level: float
    since: datetime
    prints: int


class TickChecker:
    """Judges bars and quotes against the rules; remembers per symbol a candidate new level."""

    __slots__ = ("_candidates", "rules")

    def __init__(self, rules: TickRules | None = None) -> None:
        self.rules = rules or TickRules()
        self._candidates: dict[str, _Candidate] = {}

    def candidate(self, symbol: str) -> float | None:
        """The new level `symbol` is being watched at (outliers seen, not yet believed)."""
        c = self._candidates.get(symbol)
        return None if c is None else c.level

    def bar(self, bar: Bar, reference: float | None) -> str | None:
        """Why `bar` is bad, or None when it may be used (then its close is the new reference).

        The extremes (high, low and close) are judged against `reference`: a 100x wick would
        trigger stops and targets as surely as a 100x close."""
        values = (bar.open, bar.high, bar.low, bar.close)
        if not all(math.isfinite(v) and v > 0.0 for v in values):
            return (f"a price is zero, negative or not a number (o={bar.open} h={bar.high} "
                    f"l={bar.low} c={bar.close})")
        if bar.high < bar.low:
            return f"high {bar.high} is below low {bar.low}"
        top, bottom = max(values), min(values)
        return self._level(bar.symbol, bar.ts, bar.close, top, bottom, reference)

    def quote(self, quote: Quote, reference: float | None) -> str | None:
        """Why `quote` is bad, or None when it may be used. A zero bid or ask means "none"
        (the venue sent only a last price); a negative or non-finite one is bad."""
        if not (math.isfinite(quote.last) and quote.last > 0.0):
            return f"last price {quote.last} is zero, negative or not a number"
        for name, value in (("bid", quote.bid), ("ask", quote.ask)):
            if not math.isfinite(value) or value < 0.0:
                return f"{name} {value} is negative or not a number"
        if quote.bid > 0.0 and quote.ask > 0.0 and quote.bid > quote.ask:
            return f"crossed quote: bid {quote.bid} above ask {quote.ask}"
        return self._level(quote.symbol, quote.ts, quote.last, quote.last, quote.last, reference)

    def _level(self, symbol: str, ts: datetime, price: float, top: float, bottom: float,
               reference: float | None) -> str | None:
        ratio = self.rules.outlier_ratio
        if reference is None or not (math.isfinite(reference) and reference > 0.0) or (
                top <= reference * ratio and bottom * ratio >= reference):
            self._candidates.pop(symbol, None)
            return None
        far = top if top > reference * ratio else bottom
        jump = f"print {far:,.6g} is {far / reference:,.4g}x the last price {reference:,.6g}"
        c = self._candidates.get(symbol)
        if c is None or not (price <= c.level * ratio and price * ratio >= c.level):
            self._candidates[symbol] = _Candidate(price, ts, 1)
            prints, held = 1, 0.0
        else:
            c.prints += 1
            prints, held = c.prints, (ts - c.since).total_seconds()
        rules = self.rules
        if prints >= rules.new_level_prints or (prints > 1 and held >= rules.new_level_seconds):
            self._candidates.pop(symbol, None)
            return None
        return (f"{jump}; a new level is accepted after {rules.new_level_prints} prints in a row "
                f"or {rules.new_level_seconds:g} s there ({prints} so far)")
