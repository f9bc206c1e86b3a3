"""The overfitting statistics: the deflated Sharpe ratio and PBO by CSCV on seeded returns."""

from __future__ import annotations

import numpy as np
import pytest

from robo_tui.backtest.overfit import (
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probability_of_backtest_overfitting,
)


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
