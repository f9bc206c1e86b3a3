"""The backtest driver's housekeeping around a replay: what it leaves behind for the process."""

from __future__ import annotations

import gc

import numpy as np

from robo_tui.backtest.runner import BacktestSpec, run_backtest
from robo_tui.config import Settings
from robo_tui.domain.market import BarArrays
from tests.unit.strategies.series import bars_from_close


def daily(n: int = 400) -> BarArrays:
    """A seeded daily random walk, enough for SMA(5)/SMA(20) to trade."""
    rng = np.random.default_rng(5)
    return bars_from_close(100 * np.exp(np.cumsum(rng.normal(0, 0.015, n))))


async def test_replay_when_done_then_collector_thresholds_restored_and_nothing_left_frozen():
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    result, _ = await run_backtest(Settings(), {"TEST": daily()},
                                   BacktestSpec(cash=10_000, compat=True,
                                                strategies={"sma_cross": {"fast": "5", "slow": "20"}}))
    assert result.trades  # the replay did real work
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen_before
    assert gc.isenabled()


async def test_replay_result_repr_when_printed_then_one_line_with_the_counts():
    result, _ = await run_backtest(Settings(), {"TEST": daily()},
                                   BacktestSpec(cash=10_000, compat=True,
                                                strategies={"sma_cross": {"fast": "5", "slow": "20"}}))
    text = repr(result)
    assert text.startswith("BacktestResult(bars=400, ") and "\n" not in text
    assert f"trades={len(result.trades)}" in text and f"fills={len(result.fills)}" in text
