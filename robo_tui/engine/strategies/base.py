"""The Strategy protocol and what strategies share beyond indicators: parameter validation,
the long/short/flat state machine, and the wording of explanations.

A strategy turns a whole `BarArrays` into one score per bar in one call. Every helper here (and
every indicator in `robo_tui.engine.indicators`) is causal: the value at index i uses only bars
<= i, so a backtest (one call over all history) and the live path (a call over a trailing window,
last value taken) agree at the same bar once the window covers the indicators' warm-up and the
strategy's last state change.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ValidationError

from robo_tui.domain.market import BarArrays, FloatArray
from robo_tui.domain.precision import fmt_pair
from robo_tui.domain.time import EPOCH
from robo_tui.engine.indicators import BoolArray

ParamValue = float | int


class Strategy(Protocol):
    """A vectorised, causal strategy: one score per bar in [-1, 1].

    The sign is the wanted direction and the magnitude the conviction; 0.0 explicitly wants flat;
    NaN means no opinion (hold whatever is held). `warmup` is the number of bars before the first
    defined score.
    """

    name: str
    warmup: int
    history: int
    """Trailing bars the live path passes so that the last score equals the full-history one
    (indicator warm-up decayed, recent state changes still in the window)."""

    def scores(self, bars: BarArrays) -> FloatArray:
        """One score per bar, computed causally over the whole series."""
        ...

    def explain(self, bars: BarArrays, i: int) -> str:
        """A short human reason, with the numbers, for the score at bar `i`."""
        ...

    def evaluate(self, bars: BarArrays) -> tuple[FloatArray, Callable[[int], str]]:
        """The scores and an explainer for any bar, from ONE pass over the indicators: what the
        live path and the backtest use (`explain` is `evaluate(bars)[1](i)`)."""
        ...

    def params(self) -> dict[str, ParamValue]:
        """The strategy's parameters (what `build_strategy` accepts)."""
        ...


def validated(model: type[BaseModel], strategy: str, params: Mapping[str, Any]) -> Any:
    """Validate `params` (strings from a command line are converted) with a settings model.

    Raises `ValueError` naming the strategy and the parameter, e.g.
    "sma_cross: param 'fast' must be >= 2 (got '1')".
    """
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = ".".join(str(p) for p in err["loc"])
            msg = str(err["msg"]).removeprefix("Value error, ")
            if loc:
                problems.append(f"param {loc!r}: {msg} (got {err.get('input')!r})")
            else:
                problems.append(msg)
        raise ValueError(f"{strategy}: " + "; ".join(problems)) from None


def normalize_index(bars: BarArrays, i: int) -> int:
    """`i` as a non-negative bar index (negative counts from the end); IndexError when outside."""
    n = bars.ts.shape[0]
    j = i + n if i < 0 else i
    if not 0 <= j < n:
        raise IndexError(f"bar index {i} outside 0..{n - 1}")
    return j


def bar_time(bars: BarArrays, i: int) -> str:
    """Bar `i`'s time as a short UTC label for explanations: the date alone at midnight."""
    days, seconds = divmod(int(bars.ts[i]) // 1_000_000_000, 86_400)
    day = _day_label(days)
    if seconds == 0:
        return day
    return f"{day} {seconds // 3600:02d}:{seconds % 3600 // 60:02d} UTC"


@functools.lru_cache(maxsize=4096)
def _day_label(days: int) -> str:
    """The ISO date `days` after 1970-01-01."""
    return (EPOCH.date() + timedelta(days=days)).isoformat()


def price(x: float) -> str:
    """A price or indicator level for explanations: 2 decimals, more for small numbers."""
    x = float(x)  # a numpy scalar formats several times slower
    a = abs(x)
    return f"{x:.2f}" if a >= 10 or a == 0 else f"{x:.4f}" if a >= 0.1 else f"{x:.6f}"


def _base_decimals(x: float) -> int:
    a = abs(x)
    return 2 if a >= 10 or a == 0 else 4 if a >= 0.1 else 6


def prices(a: float, b: float) -> tuple[str, str]:
    """Two levels compared in one explanation (an average crossing another), with the decimals
    `price` would use, more when they would print alike: "172.642 crossed above 172.638", not
    "172.64 crossed above 172.64"."""
    a, b = float(a), float(b)
    return fmt_pair(a, b, max(_base_decimals(a), _base_decimals(b)))


def ago(bars: BarArrays, j: int, i: int) -> str:
    """When bar `j` was, seen from bar `i`: "this bar" or "3 bars ago, 2024-05-01"."""
    if j == i:
        return "this bar"
    n = i - j
    return f"{n} bar{'s' if n != 1 else ''} ago, {bar_time(bars, j)}"


def latch(
    enter_long: BoolArray,
    enter_short: BoolArray,
    exit_long: BoolArray | None = None,
    exit_short: BoolArray | None = None,
) -> FloatArray:
    """A long/short/flat state machine driven by event arrays, without a Python loop.

    The state is +1 from an `enter_long` bar and -1 from an `enter_short` bar, until the other
    entry, or 0.0 from the first `exit_long` (when long) / `exit_short` (when short) bar after the
    entry. An entry wins over an exit on the same bar, and a long entry over a short one. NaN
    before the first entry.
    """
    n = enter_long.shape[0]
    idx = np.arange(n)
    entry = enter_long | enter_short
    last_entry = np.maximum.accumulate(np.where(entry, idx, -1))
    seen = last_entry >= 0
    direction = np.where(enter_long, 1.0, -1.0)[np.where(seen, last_entry, 0)]
    state = np.where(seen, direction, np.nan)
    if exit_long is not None:
        last_exit = np.maximum.accumulate(np.where(exit_long, idx, -1))
        state[(direction > 0) & seen & (last_exit > last_entry)] = 0.0
    if exit_short is not None:
        last_exit = np.maximum.accumulate(np.where(exit_short, idx, -1))
        state[(direction < 0) & seen & (last_exit > last_entry)] = 0.0
    return state


def ffill_index(mask: BoolArray) -> npt.NDArray[np.int64]:
    """For each bar, the index of the last bar <= it where `mask` is True (-1 when none)."""
    idx = np.where(mask, np.arange(mask.shape[0], dtype=np.int64), np.int64(-1))
    out: npt.NDArray[np.int64] = np.maximum.accumulate(idx) if idx.shape[0] else idx
    return out
