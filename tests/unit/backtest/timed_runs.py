"""Walk-forward `run` functions that take a known time (top-level, so spawned workers load them).

They wrap the synthetic SMA-cross backtest and sleep for a time proportional to the bars they
backtest, or for long enough that only killing the worker ends them early.
"""

from __future__ import annotations

import time
from typing import Any

from robo_tui.backtest.stats import BacktestStats

from .synthetic import run_trending

SECONDS_PER_BAR = 2e-5


def run_in_proportion(params: dict[str, Any], bars: slice) -> BacktestStats:
    """The trending backtest, taking SECONDS_PER_BAR per bar (a steady, known cost)."""
    time.sleep((bars.stop - bars.start) * SECONDS_PER_BAR)
    return run_trending(params, bars)


def run_slow_late(params: dict[str, Any], bars: slice) -> BacktestStats:
    """Quick on the first 1,500 bars, 5 s per backtest after them (a run Ctrl-C must cut)."""
    if bars.stop > 1_500:
        time.sleep(5.0)
    return run_trending(params, bars)


PICKLED: list[int] = []
"""How many times a `CountedRun` was pickled in this process."""


class CountedRun:
    """The trending backtest as a callable that counts how often it is pickled (sent to a
    worker): the data a run closes over must travel once per worker, not once per task."""

    def __call__(self, params: dict[str, Any], bars: slice) -> BacktestStats:
        return run_trending(params, bars)

    def __getstate__(self) -> dict[str, Any]:
        PICKLED.append(1)
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        pass
