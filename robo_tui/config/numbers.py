"""The number types every config section uses, so a value that cannot mean what it says is refused.

One mechanism for all sections (`Section` in `models` applies it): no `inf`/`nan` anywhere, no
`true` where a number is expected, and every number has a range (a test walks the models and
checks each one has an upper bound, so `idea_ttl_seconds = 1e300` cannot slip in again).

Percent settings (`*_pct`) are **fractions of equity** (`0.03` is 3 %). A value that reads as a
percent (`daily_loss_halt_pct = 3`) is refused with the fraction it probably meant, never
reinterpreted: a limit silently read ten or a hundred times looser on a live account is the
worst outcome, and an old config file keeps meaning exactly what it meant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, Field

LEVERAGE_CAP = 4.0
"""The largest gross exposure multiple a config may ask for (Reg T intraday buying power)."""


def _percent(value: float) -> str:
    return f"{value * 100:g} %"


def misread_percent(value: float, limit: str) -> str:
    """The sentence for a fraction that looks like a percent: what it would mean, what was meant."""
    return (f"{value:g} is a fraction of equity, i.e. {_percent(value)}, {limit}; "
            f"did you mean {value / 100:g} ({value:g} %)?")


def _below(upper: float) -> Callable[[float], float]:
    def check(value: float) -> float:
        if value >= upper:
            raise ValueError(misread_percent(value, f"but must be below {upper:g} ({_percent(upper)})"))
        return value
    return check


def _at_most(upper: float, what: str) -> Callable[[float], float]:
    def check(value: float) -> float:
        if value > upper:
            raise ValueError(misread_percent(value, f"but {what} is at most {upper:g} ({_percent(upper)})"))
        return value
    return check


LossFraction = Annotated[float, Field(gt=0), AfterValidator(_below(1.0))]
"""A loss or risk limit as a fraction of equity, below 1 (`0.03` is 3 %; `1` would be the whole
account, i.e. no limit)."""

ExposureFraction = Annotated[float, Field(gt=0), AfterValidator(_at_most(1.0, "one position"))]
"""An exposure limit as a fraction of equity, at most 1 (100 %)."""

Leverage = Annotated[float, Field(gt=0), AfterValidator(_at_most(LEVERAGE_CAP, "exposure on margin"))]
"""Gross or sector exposure as a multiple of equity: 1.0 is fully invested, 2.0 is 2x on margin."""

FeeFraction = Annotated[float, Field(ge=0), AfterValidator(_at_most(0.1, "a fee"))]
"""A fee as a fraction of traded value, at most 0.1 (10 %)."""


def refuse_bool_for_number(value: Any, annotation: Any) -> Any:
    """`value`, unless it is a boolean given where a number is expected (`max_positions = true`
    would otherwise be read as 1)."""
    if isinstance(value, bool) and annotation in (int, float, int | None, float | None):
        raise ValueError(f"expected a number, got the boolean {str(value).lower()}")
    return value
