"""Optuna as a walk-forward search: seeded, pruned, the same whatever the executor; and the
process pool receiving the backtest function once per worker."""

from __future__ import annotations

import sys

import pytest

from robo_tui.backtest.optuna_search import MissingExtraError, OptunaSearch, optuna_searches
from robo_tui.backtest.walkforward import (
    param_grid,
    rolling_windows,
    walk_forward,
    walk_forward_to_json,
)

from .synthetic import N_BARS, run_trending
from .timed_runs import PICKLED, CountedRun

SPACE = {"fast": list(range(2, 41, 2)), "slow": list(range(20, 201, 10))}
WINDOWS = rolling_windows(N_BARS, train=500, test=250, step=500)


def below(params: dict[str, int]) -> bool:
    return params["fast"] < params["slow"]


def test_optuna_walk_forward_when_seeded_then_the_same_trials_and_winners_every_time() -> None:
    first = walk_forward(run_trending, optuna_searches(SPACE, 24, seed=3, constraint=below),
                         WINDOWS, processes=1)
    again = walk_forward(run_trending, optuna_searches(SPACE, 24, seed=3, constraint=below),
                         WINDOWS, processes=1)

    assert walk_forward_to_json(first) == walk_forward_to_json(again)
    assert all(w.params["fast"] < w.params["slow"] for w in first.windows)
    assert all(w.params["fast"] in SPACE["fast"] for w in first.windows)


def test_optuna_walk_forward_when_run_on_a_process_pool_then_equals_the_inline_run() -> None:
    inline = walk_forward(run_trending, optuna_searches(SPACE, 16, seed=1, constraint=below),
                          WINDOWS, processes=1)
    pooled = walk_forward(run_trending, optuna_searches(SPACE, 16, seed=1, constraint=below),
                          WINDOWS, processes=2)

    assert walk_forward_to_json(pooled) == walk_forward_to_json(inline)


def test_optuna_search_when_40_trials_then_tpe_finds_the_grids_top_quarter_in_sample() -> None:
    window = WINDOWS[0]
    result = walk_forward(run_trending, optuna_searches(SPACE, 40, seed=0, constraint=below),
                          [window], processes=1)
    grid = sorted(run_trending(p, window[0]).sharpe for p in param_grid(SPACE, constraint=below))

    # 40 trials (about half stopped after half the window) against all 362 combinations
    assert result.windows[0].is_metric >= grid[int(len(grid) * 0.75)]


def test_optuna_search_when_pruning_then_weak_trials_stop_after_half_the_window() -> None:
    search = OptunaSearch(SPACE, 40, seed=0, batch=8, constraint=below)
    result = walk_forward(run_trending, lambda i: search, [WINDOWS[0]], processes=1)

    assert search.pruned > 0
    # the 40 trials' budget is spent; only those not pruned ran on the whole window
    assert len(result.windows[0].trial_metrics) == 40 - search.pruned
    unpruned = OptunaSearch(SPACE, 40, seed=0, batch=8, prune=False, constraint=below)
    walk_forward(run_trending, lambda i: unpruned, [WINDOWS[0]], processes=1)
    assert unpruned.pruned == 0


def test_optuna_searches_when_optuna_is_missing_then_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)  # what an uninstalled package looks like

    with pytest.raises(MissingExtraError, match=r"robo-tui\[optimize\]"):
        optuna_searches(SPACE, 10, seed=0)


def test_process_pool_when_many_backtests_then_the_run_is_sent_once_per_worker() -> None:
    PICKLED.clear()
    result = walk_forward(CountedRun(), param_grid({"fast": [5, 10, 20], "slow": [30, 50, 100]}),
                          rolling_windows(N_BARS, 500, 250), processes=2)

    assert result.trials == 54
    assert len(PICKLED) <= 3  # the picklability check, then one per worker: not per task
