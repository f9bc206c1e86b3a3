"""Universe discovery's rules: which of a venue's markets are worth trading.

A venue lists hundreds of pairs; most are thin, wide or priced in a currency the account does not
hold. `select` keeps the markets quoted in the configured currency whose last 24 hours traded at
least `min_volume` (in that currency; skipped for a venue that reports no volume), whose price is at least `min_price` and whose quoted spread
is at most `max_spread_bps`, most traded first, at most `max_symbols` of them; every market left
out gets the sentence saying why (shown by `robo-tui` and logged). Pure: the venue adapter
gathers the candidates, the composition root applies the result.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["Candidate", "Selection", "UniverseRules", "select"]


@dataclass(frozen=True, slots=True)
class UniverseRules:
    """The filters a discovered market must pass."""

    quote: str = "USD"
    """The quote currency every chosen market trades in (the account's cash)."""
    min_volume: float = 1_000_000.0
    """Least traded value over the last 24 hours, in the quote currency."""
    min_price: float = 0.0
    """Least last price (keeps sub-cent coins out when set)."""
    max_spread_bps: float = 50.0
    """Widest quoted spread, in basis points of the mid."""
    max_symbols: int = 20
    """Most markets kept (the most traded first)."""
    use_volume: bool = True
    """Whether the venue reports 24 h volume; False (Robinhood crypto, which does not) skips the
    volume filter and ranks by spread, tightest first."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One market as the venue reports it now."""

    symbol: str
    """The universe symbol, BASE-QUOTE (e.g. BTC-USD)."""
    base: str
    quote: str
    last: float
    bid: float
    ask: float
    volume: float
    """Traded value over the last 24 hours, in the quote currency (NaN when unknown)."""

    @property
    def spread_bps(self) -> float:
        """The quoted spread in basis points of the mid (inf without a two-sided quote)."""
        if not (self.bid > 0.0 and self.ask >= self.bid and math.isfinite(self.ask)):
            return math.inf
        return (self.ask - self.bid) / ((self.ask + self.bid) / 2.0) * 10_000.0


@dataclass(frozen=True, slots=True)
class Selection:
    """The chosen markets (most traded first) and why each other one was left out."""

    chosen: tuple[Candidate, ...]
    dropped: Mapping[str, str] = field(default_factory=dict)

    @property
    def symbols(self) -> list[str]:
        """The chosen universe symbols, most traded first."""
        return [c.symbol for c in self.chosen]


def _why_not(c: Candidate, rules: UniverseRules) -> str:
    if c.quote.upper() != rules.quote.upper():
        return f"quoted in {c.quote}, not {rules.quote}"
    if not (math.isfinite(c.last) and c.last > 0.0):
        return "no last price"
    if c.last < rules.min_price:
        return f"price {c.last:,.6g} below {rules.min_price:,.6g}"
    if rules.use_volume and not (math.isfinite(c.volume) and c.volume >= rules.min_volume):
        volume = "unknown" if not math.isfinite(c.volume) else f"{c.volume:,.0f}"
        return f"24 h volume {volume} {c.quote} below {rules.min_volume:,.0f}"
    if c.spread_bps > rules.max_spread_bps:
        spread = "no two-sided quote" if math.isinf(c.spread_bps) else f"spread {c.spread_bps:.1f} bps"
        return f"{spread} wider than {rules.max_spread_bps:g} bps"
    return ""


def select(candidates: Iterable[Candidate], rules: UniverseRules) -> Selection:
    """The markets passing `rules`, most traded first, at most `rules.max_symbols`."""
    passing: list[Candidate] = []
    dropped: dict[str, str] = {}
    for c in candidates:
        why = _why_not(c, rules)
        if why:
            dropped[c.symbol] = why
        else:
            passing.append(c)
    passing.sort(key=lambda c: (-c.volume if math.isfinite(c.volume) else 0.0, c.spread_bps,
                                c.symbol))
    for c in passing[rules.max_symbols:]:
        ranked = "most traded" if rules.use_volume else "tightest spreads"
        dropped[c.symbol] = f"beyond the {rules.max_symbols} {ranked}"
    return Selection(tuple(passing[:rules.max_symbols]), dropped)
