"""One risk meter (a measure against its limit, with its level) and the book meters measure.

A rule of the risk gate's table may carry a meter measure: a function from a `MeterBook` (the
account as the console sees it, valued once) to a `Meter`. `robo_tui.engine.meters` lists them.

Percent meters carry `value` and `limit` in percent units (1.5 means 1.5 %); count meters carry
plain counts. Levels say how close a breach is, not how much of a limit is in use:

- a loss limit (day loss, drawdown) and the circuit breaker warn as they approach it:
  ``warning`` at 70 % of the limit, ``danger`` at 90 %, and ``danger`` whenever the gate is
  already past it (REDUCING or HALTED because of it) — `level_for`;
- a capacity limit (position, sector, gross exposure, open positions) is there to be filled: the
  sizer sizes entries up to it and the gate refuses what would go beyond, so a book at its
  configured size is ``ok``; only a book that grew past the limit (prices moved it there) warns,
  and ``danger`` from `CAPACITY_DANGER_AT` times the limit — `capacity_level`.

An unknown value (equity not usable) is ``danger`` for either kind.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

from robo_tui.config import RiskSettings
from robo_tui.domain.frozen import frozen
from robo_tui.domain.risk import TradingState

__all__ = ["CAPACITY_DANGER_AT", "CAPACITY_SLACK", "DANGER_AT", "WARNING_AT", "Meter", "MeterBook",
           "MeterLevel", "MeterUnit", "capacity_level", "fmt_pct", "level_for", "pct_meter"]

MeterLevel = Literal["ok", "warning", "danger"]
MeterUnit = Literal["%", "count"]

WARNING_AT = 0.70
"""Fraction of a limit at which a meter turns to warning."""
DANGER_AT = 0.90
"""Fraction of a limit at which a meter turns to danger."""
CAPACITY_SLACK = 0.02
"""How far past a capacity limit a book may drift (a position sized to the limit whose price
ticked up) before its meter warns."""
CAPACITY_DANGER_AT = 1.25
"""Multiple of a capacity limit at which its meter turns to danger."""


@frozen
class Meter:
    """One risk measure against its limit, ready to draw as a bar."""

    key: str
    label: str
    value: float
    limit: float
    unit: MeterUnit
    level: MeterLevel
    text: str
    known: bool = True
    """Whether `value` could be measured (False: equity was not usable; `value` reads 0)."""

    @property
    def fraction(self) -> float:
        """`value / limit` clipped to [0, 1] (0 when the limit is not positive or unknown)."""
        if not (self.limit > 0 and math.isfinite(self.value)):
            return 0.0
        return max(0.0, min(1.0, self.value / self.limit))


@frozen
class MeterBook:
    """The account as the meters measure it, valued once per refresh.

    `values` are the absolute values of the open positions (marked at the engine's prices,
    falling back to the average price), `sectors` their sums per sector. `state_codes` are the
    codes of the limits that put the gate in its current state (empty when ACTIVE or halted by
    the operator).
    """

    settings: RiskSettings
    equity: float
    values: Mapping[str, float]
    sectors: Mapping[str, float]
    day_start_equity: float
    peak_equity: float
    state: TradingState
    state_codes: tuple[str, ...]
    failures: Mapping[str, int]

    @property
    def usable(self) -> bool:
        """Whether equity can be a denominator (finite and > 0)."""
        return math.isfinite(self.equity) and self.equity > 0

    def of_equity(self, value: float) -> float:
        """`value` as a fraction of equity (NaN when equity is not usable)."""
        return value / self.equity if self.usable else math.nan

    def reached(self, code: str) -> bool:
        """Whether the limit with `code` is what put the gate in its current state."""
        return code in self.state_codes


def level_for(value: float, limit: float, *, breached: bool = False) -> MeterLevel:
    """The level of `value` against `limit` (warning at 70 %, danger at 90 % or when breached)."""
    if breached:
        return "danger"
    if not (limit > 0 and math.isfinite(value)):
        return "ok"
    ratio = value / limit
    if ratio >= DANGER_AT:
        return "danger"
    if ratio >= WARNING_AT:
        return "warning"
    return "ok"


def capacity_level(value: float, limit: float, *, known: bool = True) -> MeterLevel:
    """The level of a capacity limit's `value`: ok up to the limit (filling it is normal use),
    warning past it, danger from `CAPACITY_DANGER_AT` times it or when the value is unknown."""
    if not known or not math.isfinite(value):
        return "danger"
    if not limit > 0:
        return "ok"
    ratio = value / limit
    if ratio >= CAPACITY_DANGER_AT:
        return "danger"
    if ratio > 1.0 + CAPACITY_SLACK:
        return "warning"
    return "ok"


def fmt_pct(value: float) -> str:
    """A percent-unit value as text ("n/a" when unknown)."""
    return f"{value:.1f}%" if math.isfinite(value) else "n/a"


def pct_meter(key: str, label: str, fraction: float, limit_fraction: float,
              *, breached: bool = False, suffix: str = "") -> Meter:
    """A percent meter of `fraction` against `limit_fraction` (danger when unknown)."""
    value = fraction * 100.0 if math.isfinite(fraction) else math.nan
    limit = limit_fraction * 100.0
    text = f"{fmt_pct(value)} / {fmt_pct(limit)}{suffix}"
    known = math.isfinite(value)
    return Meter(key, label, value if known else 0.0, limit, "%",
                 level_for(value, limit, breached=breached or not known), text, known)
