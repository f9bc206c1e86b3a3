"""Risk meters: how close the book is to each limit of the risk gate, for the console's bars.

Pure computation over the engine's current state (no Textual, no I/O), cheap enough to run a few
times a second. The meters are the rules' own measures (`RiskRule.measure` in the gate's table),
keyed on the rules' codes, plus the circuit breaker's. Percent meters carry `value` and `limit`
in percent units (1.5 means 1.5 %); count meters carry plain counts.

Levels colour the risk of a breach, not normal use (see `robo_tui.engine.meter`): the loss
limits and the breaker warn at 70 % of the limit and are ``danger`` at 90 % — and whenever the
gate is already past the limit (REDUCING or HALTED because of it, by the gate's `state_codes`);
the capacity limits (`CAPACITY_RULES`) are ``ok`` up to the limit the sizer fills, and warn only
past it. The daily-loss meter is judged against the *reduce* limit (the first one that changes
what the gate allows) and drawn against the *halt* limit, so its text shows both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from robo_tui.domain.risk import CIRCUIT_BREAKER, RiskCode
from robo_tui.engine.meter import (
    DANGER_AT,
    WARNING_AT,
    Meter,
    MeterBook,
    MeterLevel,
    MeterUnit,
    capacity_level,
    level_for,
)
from robo_tui.engine.risk_rules import RiskRule

if TYPE_CHECKING:
    from robo_tui.engine.engine import Engine

__all__ = ["DANGER_AT", "WARNING_AT", "Meter", "MeterBook", "MeterLevel", "MeterUnit",
           "level_for", "meter_book", "risk_meters", "rule_meters"]

C = RiskCode
METER_ORDER: tuple[str, ...] = (C.MAX_DAILY_LOSS, C.MAX_GROSS_EXPOSURE, C.MAX_POSITION,
                                C.MAX_SECTOR, C.MAX_POSITIONS, C.MAX_DRAWDOWN)
"""The rules whose meters come first, in this order; other rules' meters follow in table order."""
CAPACITY_RULES: frozenset[str] = frozenset({C.MAX_GROSS_EXPOSURE, C.MAX_POSITION, C.MAX_SECTOR,
                                            C.MAX_POSITIONS})
"""Rules whose limit is a capacity the book is sized to fill (the gate refuses what would go past
it): their meters are levelled by `capacity_level`, so a full book is not an alarm."""


def risk_meters(engine: Engine) -> list[Meter]:
    """Every risk meter of `engine`, in a fixed order: day loss, gross exposure, largest position,
    largest sector, open positions, drawdown, any other rule's meter, circuit breaker."""
    return rule_meters(engine.risk.rules, meter_book(engine))


def meter_book(engine: Engine) -> MeterBook:
    """The engine's account valued once for the meters (positions marked at the engine's prices,
    falling back to the average price)."""
    account = engine.account
    prices = account.prices
    values: dict[str, float] = {}
    for symbol, pos in account.positions.items():
        if pos.quantity == 0:
            continue
        values[symbol] = abs(pos.quantity * prices.get(symbol, pos.avg_price))
    sectors: dict[str, float] = {}
    for symbol, value in values.items():
        inst = engine.instruments.get(symbol)
        sector = inst.sector if inst is not None else "unknown"
        sectors[sector] = sectors.get(sector, 0.0) + value
    risk = engine.risk
    return MeterBook(risk.settings, account.equity, values, sectors, engine.day_start_equity,
                     engine.peak_equity, engine.state, risk.state_codes, risk.failures)


def rule_meters(rules: Sequence[RiskRule], book: MeterBook) -> list[Meter]:
    """The meters of `rules` on `book` (those in `METER_ORDER` first), then the breaker's."""
    measured = [r for r in rules if r.measure is not None]
    rank = {code: i for i, code in enumerate(METER_ORDER)}
    measured.sort(key=lambda r: rank.get(r.code, len(rank)))  # stable: table order otherwise
    meters = [_levelled(r.code, r.measure(book)) for r in measured if r.measure is not None]
    meters.append(_breaker_meter(book.failures, book.settings.circuit_breaker_failures,
                                 tripped=book.reached(CIRCUIT_BREAKER)))
    return meters


def _levelled(code: str, meter: Meter) -> Meter:
    """`meter` with a capacity rule's level (see `CAPACITY_RULES`); other meters as measured."""
    if code not in CAPACITY_RULES:
        return meter
    return replace(meter, level=capacity_level(meter.value, meter.limit, known=meter.known))


def _breaker_meter(failures: Mapping[str, int], limit: int, *, tripped: bool) -> Meter:
    kinds = ("data", "model", "broker")
    worst_kind = max(kinds, key=lambda k: failures.get(k, 0))
    # any other kind the gate counted also trips the breaker
    for kind, n in failures.items():
        if n > failures.get(worst_kind, 0):
            worst_kind = kind
    n = failures.get(worst_kind, 0)
    label = f"Breaker {worst_kind}" if n else "Breaker"
    return Meter("circuit_breaker", label, float(n), float(limit), "count",
                 level_for(n, limit, breached=tripped or n >= limit), f"{n} / {limit}")
