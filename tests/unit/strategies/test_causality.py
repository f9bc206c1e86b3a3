"""Every strategy is causal, bounded, and gives the live path the backtest's value."""

from __future__ import annotations

import numpy as np
import pytest

from robo_tui.domain.market import BarArrays
from robo_tui.engine.strategies import Breakout, MeanReversion, SmaCross, Strategy, build_strategy

from .series import regime_walk

STRATEGIES: list[Strategy] = [
    SmaCross(10, 20),
    SmaCross(5, 60),
    MeanReversion(),
    MeanReversion(rsi_window=7, bb_window=10, bb_dev=1.5, adx_window=10, adx_max=30),
    Breakout(55, 20),
    Breakout(10, 30),
]
IDS = [f"{s.name}{s.params()}" for s in STRATEGIES]


@pytest.fixture(scope="module")
def walk() -> BarArrays:
    return regime_walk(3000, seed=7)


@pytest.mark.parametrize("strategy", STRATEGIES, ids=IDS)
def test_scores_when_computed_on_a_prefix_then_equal_the_full_series_scores(
    strategy: Strategy, walk: BarArrays
) -> None:
    full = strategy.scores(walk)
    for stop in (1, 2, strategy.warmup, strategy.warmup + 1, 157, 1000, 2999):
        prefix = strategy.scores(walk.slice(0, stop))
        np.testing.assert_array_equal(prefix, full[:stop])


@pytest.mark.parametrize("strategy", STRATEGIES, ids=IDS)
def test_scores_when_later_bars_change_then_earlier_scores_do_not(
    strategy: Strategy, walk: BarArrays
) -> None:
    k = 1500
    factor = np.ones(len(walk))
    factor[k:] = np.linspace(1.5, 0.5, len(walk) - k)
    shocked = BarArrays(
        walk.symbol, walk.ts, walk.open * factor, walk.high * factor, walk.low * factor,
        walk.close * factor, walk.volume,
    )
    before, after = strategy.scores(walk), strategy.scores(shocked)
    np.testing.assert_array_equal(after[:k], before[:k])
    assert not np.array_equal(after[k:], before[k:], equal_nan=True)


@pytest.mark.parametrize("strategy", STRATEGIES, ids=IDS)
def test_live_window_when_it_covers_the_history_then_last_score_equals_backtest_score(
    strategy: Strategy, walk: BarArrays
) -> None:
    full = strategy.scores(walk)
    window = int(getattr(strategy, "history"))  # noqa: B009 - concrete attribute, not protocol
    checked = 0
    for i in range(window - 1, len(walk), 37):
        live = strategy.scores(walk.slice(i + 1 - window, i + 1))[-1]
        np.testing.assert_allclose(live, full[i], rtol=1e-9, atol=1e-12, equal_nan=True)
        if strategy.name != "mean_reversion":  # exponential indicators agree to ~1e-12 only
            assert live == full[i] or (np.isnan(live) and np.isnan(full[i]))
        checked += 1
    assert checked > 40


@pytest.mark.parametrize("strategy", STRATEGIES, ids=IDS)
def test_scores_when_warming_up_then_nan_and_afterwards_bounded(strategy: Strategy, walk: BarArrays) -> None:
    s = strategy.scores(walk)
    assert s.shape == (len(walk),) and s.dtype == np.float64
    assert np.isnan(s[: strategy.warmup]).all()
    defined = s[~np.isnan(s)]
    assert defined.size > len(walk) // 3
    assert (np.abs(defined) <= 1.0).all()
    assert (defined > 0).any() and (defined < 0).any()


@pytest.mark.parametrize("strategy", STRATEGIES, ids=IDS)
def test_scores_when_history_is_shorter_than_warmup_then_all_nan(
    strategy: Strategy, walk: BarArrays
) -> None:
    for n in (0, 1, strategy.warmup):
        assert np.isnan(strategy.scores(walk.slice(0, n))).all()


@pytest.mark.parametrize("strategy", STRATEGIES, ids=IDS)
def test_explain_when_asked_at_any_bar_then_reason_has_numbers(strategy: Strategy, walk: BarArrays) -> None:
    for i in (0, strategy.warmup - 1, strategy.warmup, 500, 1777, -1):
        reason = strategy.explain(walk.slice(0, 2000), i)
        assert reason and any(ch.isdigit() for ch in reason)
    with pytest.raises(IndexError):
        strategy.explain(walk.slice(0, 10), 10)


@pytest.mark.parametrize("strategy", STRATEGIES, ids=IDS)
def test_build_strategy_when_given_params_as_strings_then_same_scores(
    strategy: Strategy, walk: BarArrays
) -> None:
    rebuilt = build_strategy(strategy.name, {k: str(v) for k, v in strategy.params().items()})
    assert rebuilt.params() == strategy.params()
    np.testing.assert_array_equal(rebuilt.scores(walk), strategy.scores(walk))
