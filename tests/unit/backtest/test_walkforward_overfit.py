"""The overfitting statistics: the deflated Sharpe ratio and PBO by CSCV on seeded returns, and
both inside the walk-forward's overfitting guard (per window, in the result and its JSON)."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from robo_tui.backtest.overfit import (
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probability_of_backtest_overfitting,
)
from robo_tui.backtest.overfit_guard import guard_notes, window_overfit
from robo_tui.backtest.stats import BacktestStats, PeriodReturn
from robo_tui.backtest.walkforward import (
    param_grid,
    rolling_windows,
    walk_forward,
    walk_forward_to_json,
)

from .synthetic import N_BARS, run_random_walk, run_trending


def test_expected_max_sharpe_when_more_trials_then_luck_alone_reaches_higher() -> None:
    rng = np.random.default_rng(1)
    few = expected_max_sharpe(rng.normal(0, 0.05, 10))
    many = expected_max_sharpe(rng.normal(0, 0.05, 1_000))
    assert 0 < few < many
    # the paper's approximation: about sqrt(2 ln N) standard deviations for large N
    assert many == pytest.approx(0.05 * np.sqrt(2 * np.log(1_000)), rel=0.2)


def test_deflated_sharpe_when_best_of_many_noise_trials_then_low_and_real_edge_then_high() -> None:
    rng = np.random.default_rng(2)
    noise = rng.normal(0.0, 0.01, size=(500, 200))
    sharpes = noise.mean(axis=0) / noise.std(axis=0, ddof=1)
    best = noise[:, int(np.argmax(sharpes))]
    assert deflated_sharpe_ratio(best, sharpes) < 0.5  # the best of 200 flukes is no edge

    edge = rng.normal(0.002, 0.01, size=500)  # a per-period Sharpe of about 0.2
    assert deflated_sharpe_ratio(edge, sharpes) > 0.95


def test_deflated_sharpe_when_too_few_returns_then_nan() -> None:
    assert np.isnan(deflated_sharpe_ratio(np.array([0.01, 0.02]), np.array([0.1, 0.2])))


def test_pbo_when_trials_are_pure_noise_then_one_half_or_more() -> None:
    rng = np.random.default_rng(3)
    pbo = probability_of_backtest_overfitting(rng.normal(0, 0.01, size=(800, 50)), splits=10)
    # complementary halves of the same sample: an in-sample fluke tends to lose out of sample
    assert pbo >= 0.4


def test_pbo_when_one_trial_has_a_real_edge_then_near_zero() -> None:
    rng = np.random.default_rng(4)
    returns = rng.normal(0, 0.01, size=(800, 50))
    returns[:, 7] += 0.004
    assert probability_of_backtest_overfitting(returns, splits=10) < 0.05


def test_pbo_when_splits_are_odd_or_the_matrix_too_small_then_value_error() -> None:
    with pytest.raises(ValueError, match="even"):
        probability_of_backtest_overfitting(np.zeros((100, 5)), splits=5)
    with pytest.raises(ValueError, match="too few"):
        probability_of_backtest_overfitting(np.zeros((10, 5)), splits=16)
    with pytest.raises(ValueError, match="2 trials"):
        probability_of_backtest_overfitting(np.zeros((100, 1)))


# --------------------------------------------------------------------------- inside the guard

GUARD_SPEC = {"fast": [5, 10, 20, 30], "slow": [40, 60, 100, 150]}


def with_months(stats: BacktestStats, returns: np.ndarray) -> BacktestStats:
    months = tuple(PeriodReturn(2015 + k // 12, k % 12 + 1, float(r) * 100.0)
                   for k, r in enumerate(returns))
    return replace(stats, monthly_returns=months)


def test_window_overfit_when_one_trial_has_a_real_edge_then_high_dsr_and_low_pbo() -> None:
    rng = np.random.default_rng(7)
    base = run_trending({"fast": 10, "slow": 40}, slice(0, 500))
    noise = rng.normal(0.0, 0.02, size=(48, 30))
    noise[:, 3] += 0.02  # one trial earns a Sharpe of ~1 a month
    trials = [with_months(base, noise[:, j]) for j in range(30)]

    edge = window_overfit(trials, best=3)
    fluke = window_overfit(trials, best=int(np.argmax(noise[:, 4:].mean(axis=0))) + 4)

    assert edge.months == 48
    assert edge.deflated_sharpe > 0.95 and edge.pbo < 0.1
    assert fluke.deflated_sharpe < 0.5


def test_window_overfit_when_too_few_months_then_nan_and_the_guard_says_so() -> None:
    base = run_trending({"fast": 10, "slow": 40}, slice(0, 500))
    trials = [with_months(base, np.array([0.01, -0.02])), with_months(base, np.array([0.0, 0.01]))]

    short = window_overfit(trials, best=0)

    assert short.months == 2 and math.isnan(short.deflated_sharpe) and math.isnan(short.pbo)
    [note] = guard_notes(math.nan, math.nan, windows=3, measured=0)
    assert note.startswith("deflated Sharpe ratio and PBO not measured")


def test_walk_forward_when_guarded_then_dsr_and_pbo_per_window_in_the_result_and_json() -> None:
    windows = rolling_windows(N_BARS, 500, 250)
    trending = walk_forward(run_trending, param_grid(GUARD_SPEC), windows, processes=1)
    noise = walk_forward(run_random_walk, param_grid(GUARD_SPEC), windows, processes=1)

    doc = json.loads(json.dumps(walk_forward_to_json(noise), allow_nan=False))

    assert all(0.0 <= w.deflated_sharpe <= 1.0 and 0.0 <= w.pbo <= 1.0 for w in noise.windows)
    # the winners of a trending series carry more than luck; a random walk's do not
    assert trending.deflated_sharpe > noise.deflated_sharpe
    assert noise.deflated_sharpe < 0.95
    assert any(w.startswith("deflated Sharpe ratio 0.") for w in noise.warnings)
    assert doc["deflated_sharpe"] == noise.deflated_sharpe and doc["pbo"] == noise.pbo
    assert [w["pbo"] for w in doc["windows"]] == [w.pbo for w in noise.windows]
