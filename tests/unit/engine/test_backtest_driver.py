"""The backtest driver's housekeeping around a replay: what it leaves behind for the process."""

from __future__ import annotations

import gc

import numpy as np

from robo_tui.backtest.runner import BacktestSpec, run_backtest
from robo_tui.config import Settings
from robo_tui.domain.market import BarArrays

DAY_NS = 86_400 * 1_000_000_000


def daily(n: int = 400) -> BarArrays:
    rng = np.random.default_rng(5)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.015, n)))
    open_ = np.concatenate(([close[0]], close[:-1]))
    ts = np.arange(n, dtype=np.int64) * DAY_NS + 1_577_836_800 * 1_000_000_000  # 2020-01-01
    return BarArrays("AAPL", ts, open_, np.maximum(open_, close) * 1.005,
                     np.minimum(open_, close) * 0.995, close, np.full(n, 1e6))


async def test_replay_when_done_then_collector_thresholds_restored_and_nothing_left_frozen():
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    result, _ = await run_backtest(Settings(), {"AAPL": daily()},
                                   BacktestSpec(cash=10_000, compat=True,
                                                strategies={"sma_cross": {"fast": "5", "slow": "20"}}))
    assert result.trades  # the replay did real work
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen_before
    assert gc.isenabled()


async def test_replay_result_repr_when_printed_then_one_line_with_the_counts():
    result, _ = await run_backtest(Settings(), {"AAPL": daily()},
                                   BacktestSpec(cash=10_000, compat=True,
                                                strategies={"sma_cross": {"fast": "5", "slow": "20"}}))
    text = repr(result)
    assert text.startswith("BacktestResult(bars=400, ") and "\n" not in text
    assert f"trades={len(result.trades)}" in text and f"fills={len(result.fills)}" in text
