"""`evaluate` gives the scores and, for any bar, the same explanation `explain` gives live."""

from __future__ import annotations

import numpy as np
import pytest

from robo_tui.config import StrategiesSettings
from robo_tui.domain.market import BarArrays
from robo_tui.engine.strategies import build_strategies


def walk(n: int = 1500, seed: int = 3) -> BarArrays:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate(([close[0]], close[:-1]))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.004, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.004, n))
    ts = (np.arange(n, dtype=np.int64) + 28_000_000) * 60 * 1_000_000_000
    return BarArrays("TEST", ts, open_, high, low, close, np.full(n, 1000.0))


@pytest.mark.parametrize("name", ["sma_cross", "mean_reversion", "breakout"])
def test_evaluate_when_explaining_any_bar_then_equals_explain_on_the_bars_up_to_it(name: str) -> None:
    strategy = build_strategies(StrategiesSettings())[name]
    bars = walk()
    scores, explain_at = strategy.evaluate(bars)
    np.testing.assert_array_equal(scores, strategy.scores(bars))
    for i in (5, 60, 250, 700, 1100, len(bars) - 1):
        assert explain_at(i) == strategy.explain(bars.slice(0, i + 1), i)
