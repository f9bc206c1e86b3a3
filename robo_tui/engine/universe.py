"""A running engine's universe changing: what a refresh adds, drops, and keeps managed until flat.

Universe discovery (`[universe.discovery]`) is refreshed once a day by the schedule while the
engine runs. `plan` compares the universe the engine follows with the one just discovered:
symbols new to it join (warm-up history, the gate's allow-list, the strategies); symbols that
dropped out leave at once when nothing is held in them, and otherwise stay followed (prices,
stops, targets, exits) with new entries blocked (`left_universe`) until they are flat. Pure: the
engine applies the change (`Engine.set_universe`); the venue is asked by the callable the
composition root gives it (the engine never imports an adapter).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from robo_tui.domain.frozen import frozen
from robo_tui.domain.market import Instrument
from robo_tui.domain.risk import RiskCode

__all__ = ["FollowsSymbols", "KnowsInstruments", "Rediscover", "UniverseChange", "plan", "with_leaving"]

Rediscover = Callable[[datetime], Awaitable[Sequence[Instrument]]]
"""The universe discovered now (the composition root's callable: the venue behind it)."""


@runtime_checkable
class FollowsSymbols(Protocol):
    """A feed whose symbols can change while it runs (a real feed polling a symbol list)."""

    def set_symbols(self, symbols: Sequence[str]) -> None:
        """Poll `symbols` from now on (new ones start with their next bars)."""


@runtime_checkable
class KnowsInstruments(Protocol):
    """A venue with its own list of the symbols it accepts (the paper broker)."""

    def set_instruments(self, instruments: Mapping[str, Instrument]) -> None:
        """Accept orders in `instruments` too."""


@frozen
class UniverseChange:
    """What a universe refresh did: symbols that joined, left, or stay until flat."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    """Dropped out and nothing held: no longer followed."""
    leaving: tuple[str, ...]
    """Dropped out while a position or order is open: exits and protection go on, no entries."""
    universe: tuple[str, ...]
    """The new universe (entries allowed), in the venue's order."""

    def describe(self) -> str:
        """One line for the schedule's summary and the log."""
        parts = [f"universe {len(self.universe)} symbols"]
        if self.added:
            parts.append("added " + ", ".join(self.added))
        if self.removed:
            parts.append("removed " + ", ".join(self.removed))
        if self.leaving:
            parts.append("leaving when flat (no new entries) " + ", ".join(self.leaving))
        if len(parts) == 1:
            parts.append("unchanged")
        return "; ".join(parts)


def plan(followed: Collection[str], wanted: Sequence[Instrument], held: Collection[str]
         ) -> UniverseChange:
    """The change from the `followed` symbols to `wanted`, keeping the `held` ones that left."""
    new = [i.symbol for i in wanted]
    gone = [s for s in followed if s not in set(new)]
    return UniverseChange(
        added=tuple(s for s in new if s not in followed),
        removed=tuple(s for s in gone if s not in held),
        leaving=tuple(s for s in gone if s in held),
        universe=tuple(new))


def leaving_sentence(symbol: str) -> str:
    """The gate's sentence for an entry in a symbol that left the universe."""
    return (f"{symbol} left the discovered universe at the last refresh; exits only until the "
            "position is flat")


def with_leaving(blocked: Mapping[str, Mapping[str, str]], leaving: Mapping[str, str]
                 ) -> Mapping[str, Mapping[str, str]]:
    """`blocked` (the gate's per-symbol blocks) with each leaving symbol's entries blocked."""
    if not leaving:
        return blocked
    merged = {s: dict(r) for s, r in blocked.items()}
    for symbol, sentence in leaving.items():
        merged.setdefault(symbol, {})[RiskCode.LEFT_UNIVERSE.value] = sentence
    return merged
