"""Risk meters: how close the book is to each limit of the risk gate, for the console's bars.

Pure computation over the engine's current state (no Textual, no I/O), cheap enough to run a few
times a second. Percent meters carry `value` and `limit` in percent units (1.5 means 1.5 %);
count meters carry plain counts.

Levels: ``warning`` at 70 % of the limit, ``danger`` at 90 % — and ``danger`` whenever the gate is
already past the limit (REDUCING or HALTED because of it). The daily-loss meter is judged against
the *reduce* limit (the first one that changes what the gate allows) and drawn against the *halt*
limit, so its text shows both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from robo_tui.domain.frozen import frozen
from robo_tui.domain.risk import TradingState

if TYPE_CHECKING:
    from robo_tui.engine.engine import Engine

__all__ = ["DANGER_AT", "WARNING_AT", "Meter", "MeterLevel", "MeterUnit", "level_for", "risk_meters"]

MeterLevel = Literal["ok", "warning", "danger"]
MeterUnit = Literal["%", "count"]

WARNING_AT = 0.70
"""Fraction of a limit at which a meter turns to warning."""
DANGER_AT = 0.90
"""Fraction of a limit at which a meter turns to danger."""


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

    @property
    def fraction(self) -> float:
        """`value / limit` clipped to [0, 1] (0 when the limit is not positive or unknown)."""
        if not (self.limit > 0 and math.isfinite(self.value)):
            return 0.0
        return max(0.0, min(1.0, self.value / self.limit))


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


def _pct(value: float) -> str:
    return f"{value:.1f}%" if math.isfinite(value) else "n/a"


def _pct_meter(key: str, label: str, fraction: float, limit_fraction: float,
               *, breached: bool = False, suffix: str = "") -> Meter:
    value = fraction * 100.0 if math.isfinite(fraction) else math.nan
    limit = limit_fraction * 100.0
    text = f"{_pct(value)} / {_pct(limit)}{suffix}"
    return Meter(key, label, value if math.isfinite(value) else 0.0, limit, "%",
                 level_for(value, limit, breached=breached or not math.isfinite(value)), text)


def risk_meters(engine: Engine) -> list[Meter]:
    """Every risk meter of `engine`, in a fixed order: day loss, gross exposure, largest position,
    largest sector, open positions, drawdown, circuit breaker."""
    s = engine.risk.settings
    account = engine.account
    prices = account.prices
    equity = account.equity
    usable = math.isfinite(equity) and equity > 0
    state = engine.state
    reason = engine.risk.state_reason

    # --- day loss against the reduce and halt limits
    start = engine.day_start_equity
    loss = (start - equity) / start if start > 0 and math.isfinite(equity) else math.nan
    loss = max(0.0, loss) if math.isfinite(loss) else loss
    loss_breached = state is not TradingState.ACTIVE and "day loss" in reason
    day = _pct_meter("day_loss", "Day loss", loss, s.daily_loss_halt_pct,
                     suffix=f" (reduce {_pct(s.daily_loss_reduce_pct * 100)})")
    reduce_level = level_for(loss * 100, s.daily_loss_reduce_pct * 100,
                             breached=loss_breached or not math.isfinite(loss))
    day = Meter(day.key, day.label, day.value, day.limit, day.unit, reduce_level, day.text)

    # --- exposures (marked at the engine's prices, falling back to the average price)
    values: dict[str, float] = {}
    for symbol, pos in account.positions.items():
        if pos.quantity == 0:
            continue
        price = prices.get(symbol, pos.avg_price)
        values[symbol] = abs(pos.quantity * price)
    gross = sum(values.values())
    meters = [day, _pct_meter("gross_exposure", "Gross exposure",
                              gross / equity if usable else math.nan, s.max_gross_exposure_pct)]

    top_symbol, top_value = max(values.items(), key=lambda kv: kv[1], default=("", 0.0))
    meters.append(_pct_meter("largest_position",
                             f"Position {top_symbol}" if top_symbol else "Largest position",
                             top_value / equity if usable else math.nan, s.max_position_pct))

    sectors: dict[str, float] = {}
    for symbol, value in values.items():
        inst = engine.instruments.get(symbol)
        sector = inst.sector if inst is not None else "unknown"
        sectors[sector] = sectors.get(sector, 0.0) + value
    top_sector, sector_value = max(sectors.items(), key=lambda kv: kv[1], default=("", 0.0))
    meters.append(_pct_meter("largest_sector",
                             f"Sector {top_sector}" if top_sector else "Largest sector",
                             sector_value / equity if usable else math.nan, s.max_sector_pct))

    # --- open positions
    count = len(values)
    meters.append(Meter("open_positions", "Positions", float(count), float(s.max_positions),
                        "count", level_for(count, s.max_positions,
                                           breached=count > s.max_positions),
                        f"{count} / {s.max_positions}"))

    # --- drawdown from the session's peak
    peak = engine.peak_equity
    dd = (peak - equity) / peak if peak > 0 and math.isfinite(equity) else math.nan
    dd = max(0.0, dd) if math.isfinite(dd) else dd
    meters.append(_pct_meter("drawdown", "Drawdown", dd, s.max_drawdown_pct,
                             breached=state is TradingState.HALTED and "drawdown" in reason))

    # --- circuit breaker: the worst of data, model and broker consecutive failures
    meters.append(_breaker_meter(engine.risk.failures, s.circuit_breaker_failures,
                                 tripped=state is TradingState.HALTED
                                 and reason.startswith("circuit breaker")))
    return meters


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
