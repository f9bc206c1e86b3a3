"""Checks that make a backtest loud about nonsense: data too short to warm the strategies up,
price outliers, an account ruined mid-run, orders left unfilled.

Each check returns plain-language warnings; the run's report, its `--json` file (`warnings`)
and its stored parameters carry them, so a figure built on bad input never passes silently.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np

from robo_tui.domain.frozen import frozen
from robo_tui.domain.market import BarArrays, FloatArray


@frozen
class CheckLimits:
    """When a check speaks up.

    `outlier_ratio`: a close more than this many times the previous close, or less than its
    inverse, is an outlier (0 switches the ratio test off). `outlier_z`: a bar-to-bar log return
    further than this many robust standard deviations (1.4826 x the median absolute deviation)
    from the median is an outlier (0, the default, switches it off: fat-tailed markets trip it).
    `ruin_fraction`: the run stops at the first bar whose equity is below this fraction of the
    starting equity (0 switches the threshold off; in compat mode an account at or below zero
    still stops, as backtesting.py's does). `backlog_orders`: warn when at least this many
    orders placed before the last bar were never filled (0 switches the warning off).
    """

    outlier_ratio: float = 5.0
    outlier_z: float = 0.0
    ruin_fraction: float = 0.1
    backlog_orders: int = 1

    def __post_init__(self) -> None:
        for name in ("outlier_ratio", "outlier_z", "ruin_fraction"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        if 0 < self.outlier_ratio <= 1:
            raise ValueError(f"outlier_ratio must be above 1 (or 0 for off), got {self.outlier_ratio}")
        if self.ruin_fraction >= 1:
            raise ValueError(f"ruin_fraction must be below 1, got {self.ruin_fraction}")
        if isinstance(self.backlog_orders, bool) or not isinstance(self.backlog_orders, int) \
                or self.backlog_orders < 0:
            raise ValueError(f"backlog_orders must be a whole number >= 0, got {self.backlog_orders!r}")


def warmup_warnings(data: Mapping[str, BarArrays], warmup: int, who: str) -> list[str]:
    """A warning per symbol with too few bars for the strategies' first possible signal.

    `warmup` is the bars the voting strategies need before their first score; `who` names them
    (e.g. "sma_cross(slow=20)")."""
    out = []
    for symbol, bars in data.items():
        n = len(bars)
        if n <= warmup:
            out.append(
                f"{symbol}: {n:,} bar(s), but {who} need {warmup + 1:,} before the first "
                "possible signal: no trade can happen and buy-and-hold is measured on the last bar"
            )
    return out


def outlier_bars(close: FloatArray, limits: CheckLimits) -> np.ndarray:
    """Indices of bars whose close jumps from the previous close beyond the limits."""
    if close.shape[0] < 2:
        return np.empty(0, dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        steps = np.log(close[1:] / close[:-1])
    flagged = np.zeros(steps.shape[0], dtype=bool)
    if limits.outlier_ratio > 0:
        flagged |= np.abs(steps) > math.log(limits.outlier_ratio)
    if limits.outlier_z > 0 and steps.shape[0] >= 3:
        centre = float(np.median(steps))
        spread = 1.4826 * float(np.median(np.abs(steps - centre)))
        if spread > 0:
            flagged |= np.abs(steps - centre) / spread > limits.outlier_z
    return np.flatnonzero(flagged).astype(np.int64) + 1


def outlier_warnings(data: Mapping[str, BarArrays], limits: CheckLimits,
                     shown: int = 3) -> list[str]:
    """A warning per symbol whose closes jump beyond the limits, naming the first few bars."""
    out = []
    for symbol, bars in data.items():
        close = np.asarray(bars.close, dtype=np.float64)
        hits = outlier_bars(close, limits)
        if hits.size == 0:
            continue
        listed = ", ".join(
            f"{_when(int(bars.ts[i]))} {float(close[i - 1]):g} -> {float(close[i]):g}"
            for i in hits[:shown]
        )
        more = f" and {hits.size - shown:,} more" if hits.size > shown else ""
        out.append(f"{symbol}: {hits.size:,} price outlier(s) ({_rule(limits)}): {listed}{more}; "
                   "check the data: one bad print can make every figure meaningless")
    return out


def ruin_bar(equity: FloatArray, limits: CheckLimits, *, at_zero: bool = False) -> int | None:
    """The first bar whose equity is below `ruin_fraction` of the starting equity, or None;
    `at_zero` (compat mode, as backtesting.py): also the first bar at or below zero, even with
    the threshold off."""
    if equity.shape[0] == 0 or (limits.ruin_fraction <= 0 and not at_zero):
        return None
    start = float(equity[0])
    ruined = np.zeros(equity.shape[0], dtype=bool)
    if limits.ruin_fraction > 0:
        ruined |= ~(equity >= start * limits.ruin_fraction)
    if at_zero:
        ruined |= ~(equity > 0.0)
    below = np.flatnonzero(ruined)
    return int(below[0]) if below.size else None


def ruin_warning(bar: int, when_ns: int, equity: float, start: float,
                 limits: CheckLimits, bars: int) -> str:
    """What the report says when the account was ruined and the run stopped at `bar`."""
    return (f"account ruined: equity {equity:,.2f} fell below {limits.ruin_fraction:.0%} of the "
            f"starting {start:,.2f} at bar {bar:,} ({_when(when_ns)}); the run stops there and "
            f"every figure covers bars 0-{bar:,} of {bars:,}")


def compat_ruin_warning(bar: int, when_ns: int, equity: float, start: float, left: float,
                        limits: CheckLimits, bars: int) -> str:
    """What the report says when a compat run's account was ruined at `bar`: like
    backtesting.py's, it closed its open trades at that bar's close and stopped trading."""
    floor = (f"fell below {limits.ruin_fraction:.0%} of the starting {start:,.2f}"
             if equity > 0 else "reached zero")
    return (f"account ruined: equity {equity:,.2f} {floor} at bar {bar:,} ({_when(when_ns)}); "
            f"as backtesting.py does, the open trades were closed at that bar's close and the "
            f"run stopped trading: equity {left:,.2f} from there to bar {bars - 1:,}")


def backlog_warning(unfilled: Sequence[tuple[str, datetime]], last_bar: datetime,
                    limits: CheckLimits | None = None) -> str | None:
    """A warning for orders still unfilled at the end that were placed before the last bar
    (an order decided at the last bar's close cannot fill at a next open that never comes),
    when there are at least `limits.backlog_orders` of them (0: never)."""
    least = (limits if limits is not None else CheckLimits()).backlog_orders
    stale = [(s, t) for s, t in unfilled if t < last_bar]
    if not stale or least == 0 or len(stale) < least:
        return None
    symbols = sorted({s for s, _ in stale})
    oldest = min(t for _, t in stale)
    return (f"{len(stale):,} order(s) never filled ({', '.join(symbols[:5])}"
            f"{' …' if len(symbols) > 5 else ''}; oldest placed {oldest:%Y-%m-%d %H:%M} UTC): "
            "the venue had no bar to fill them at, so the figures miss those trades")


def _rule(limits: CheckLimits) -> str:
    rules = []
    if limits.outlier_ratio > 0:
        rules.append(f"a close {limits.outlier_ratio:g}x or 1/{limits.outlier_ratio:g} of the one before")
    if limits.outlier_z > 0:
        rules.append(f"a log return beyond {limits.outlier_z:g} robust standard deviations")
    return " or ".join(rules)


def _when(ns: int) -> str:
    from robo_tui.domain.time import ns_to_datetime

    stamp = ns_to_datetime(ns)
    return stamp.strftime("%Y-%m-%d") if stamp.hour == stamp.minute == 0 else \
        stamp.strftime("%Y-%m-%d %H:%M")


__all__ = [
    "CheckLimits",
    "backlog_warning",
    "compat_ruin_warning",
    "outlier_bars",
    "outlier_warnings",
    "ruin_bar",
    "ruin_warning",
    "warmup_warnings",
]
