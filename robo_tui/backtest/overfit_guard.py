"""The walk-forward overfitting guard's two statistics per train window: the deflated Sharpe
ratio of the window's winner and the probability of backtest overfitting of its search.

Both read the trials' calendar-month returns over the train window (`BacktestStats.monthly_returns`:
every whole-window trial of a window covers the same months), so they are defined for any bar
frequency once a window spans enough months; below that they are NaN and the report says so.
Definitions in docs/backtesting.md; the formulas are in `robo_tui.backtest.overfit`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from robo_tui.backtest.overfit import deflated_sharpe_ratio, probability_of_backtest_overfitting
from robo_tui.backtest.stats import BacktestStats
from robo_tui.domain.frozen import frozen
from robo_tui.domain.market import FloatArray

MAX_SPLITS = 8
"""CSCV blocks at most (C(8, 4) = 70 in-sample / out-of-sample choices per window)."""
MIN_MONTHS = 4
"""Months a train window needs for PBO (two blocks of two); DSR needs 3."""
DSR_FLOOR = 0.95
"""Below this deflated Sharpe ratio the winners' edge is not clearly above luck."""
PBO_CEILING = 0.5
"""Above this PBO the in-sample best ranks in the bottom half out of sample more often than not."""


@frozen
class WindowOverfit:
    """One train window's deflated Sharpe ratio (of its winner) and PBO (of its search); NaN
    when the window spans too few months or has fewer than two trials."""

    deflated_sharpe: float
    pbo: float
    months: int


def month_matrix(trials: Sequence[BacktestStats]) -> FloatArray:
    """The trials' monthly returns as a months x trials matrix (fractions); the months every
    trial has, in calendar order."""
    if not trials:
        return np.empty((0, 0))
    keyed = [{(p.year, p.month): p.return_pct / 100.0 for p in s.monthly_returns} for s in trials]
    months = sorted(set.intersection(*(set(k) for k in keyed)))
    matrix: FloatArray = np.array([[k[m] for k in keyed] for m in months], dtype=np.float64)
    return matrix.reshape(len(months), len(trials))


def window_overfit(trials: Sequence[BacktestStats], best: int) -> WindowOverfit:
    """DSR of trial `best` among `trials`, and PBO by CSCV over them (NaN where undefined)."""
    m = month_matrix(trials)
    months = int(m.shape[0])
    if months < 3 or m.shape[1] < 2 or not np.all(np.isfinite(m)):
        return WindowOverfit(math.nan, math.nan, months)
    sd = np.std(m, axis=0, ddof=1)
    sharpes = np.divide(np.mean(m, axis=0), sd, out=np.zeros(m.shape[1]), where=sd > 0)
    dsr = deflated_sharpe_ratio(m[:, best], sharpes)
    pbo = math.nan
    splits = min(MAX_SPLITS, months // 2 - (months // 2) % 2)
    if months >= MIN_MONTHS and splits >= 2:
        pbo = probability_of_backtest_overfitting(m, splits=splits)
    return WindowOverfit(dsr, pbo, months)


def mean_finite(values: Sequence[float]) -> float:
    """The mean of the finite values; NaN when there is none."""
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def guard_notes(dsr: float, pbo: float, windows: int, measured: int) -> list[str]:
    """The guard's words on DSR and PBO (means over the windows that had enough months)."""
    notes = []
    if windows and measured == 0:
        notes.append("deflated Sharpe ratio and PBO not measured: the train windows span too few "
                     f"months (they need {MIN_MONTHS}) or have fewer than two trials")
        return notes
    if math.isfinite(dsr) and dsr < DSR_FLOOR:
        notes.append(f"deflated Sharpe ratio {dsr:.2f} (< {DSR_FLOOR}): the in-sample winners' "
                     "Sharpe is not clearly above the best that luck gives among the trials")
    if math.isfinite(pbo) and pbo > PBO_CEILING:
        notes.append(f"probability of backtest overfitting {pbo:.0%}: the in-sample best ranks in "
                     "the bottom half out of sample more often than not")
    return notes
