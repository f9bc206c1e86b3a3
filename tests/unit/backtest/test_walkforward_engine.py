"""Walk-forward through the engine: test windows warmed on the bars before them, the command's
one-line summary of skipped combinations and its closing "trade now" line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from robo_tui.backtest.results import SliceJob, job_bars, run_slice, spec_with
from robo_tui.backtest.runner import BacktestSpec, backtest_settings
from robo_tui.backtest.window_run import run_window
from robo_tui.config import Settings
from robo_tui.domain.serialize import to_jsonable
from robo_tui.domain.time import datetime_to_ns
from robo_tui.engine.backtest import BacktestDriver, BacktestResult
from robo_tui.wiring import build_backtest_engine

from .test_backtest_cli import backtest, env, goog_csv, stored, synthetic_csv  # noqa: F401

SLOW = {"fast": 10, "slow": 120}


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_csv(tmp_path_factory.mktemp("wf") / "SYN.csv", seed=7)


def job_for(csv: Path) -> SliceJob:
    spec = BacktestSpec(cash=10_000, commission=0.001, compat=True, strategies={"sma_cross": {}})
    return SliceJob(settings=Settings(), spec=spec, paths=(str(csv),), symbols=None, start=None,
                    end=None, targets=(("fast", "sma_cross.fast"), ("slow", "sma_cross.slow")))


def test_run_window_when_slow_average_exceeds_the_window_then_it_still_trades(
    series: Path,
) -> None:
    job = job_for(series)
    cold = run_slice(job, SLOW, slice(600, 750))
    warm = run_window(job, SLOW, slice(600, 750))

    assert cold.trades == 0  # warmed inside 150 bars, SMA(120) leaves no room to trade
    assert warm.trades > 0
    assert warm.bars == 150 and warm.start == cold.start and warm.end == cold.end
    assert warm.exposure_pct > 0


def test_run_window_when_warmed_then_the_first_order_is_decided_on_the_windows_first_bar(
    series: Path,
) -> None:
    job = job_for(series)
    data = pd.read_csv(series, index_col=0, parse_dates=True)
    close = data["Close"].to_numpy()
    fast = pd.Series(close).rolling(10).mean().to_numpy()
    slow = pd.Series(close).rolling(120).mean().to_numpy()
    # a window that opens with the averages already apart: the position is taken at once
    start = next(i for i in range(600, 1_200) if abs(fast[i] - slow[i]) > 0.01 * close[i])
    stats = run_window(job, SLOW, slice(start, start + 150))

    assert stats.exposure_pct > 0
    assert stats.bars == 150
    # buy-and-hold is measured over the window itself, from its first bar
    expected = (close[start + 149] / close[start] - 1) * 100
    assert stats.buy_hold_return_pct == pytest.approx(expected)


def test_run_window_when_bars_after_the_window_change_then_its_figures_do_not(
    series: Path, tmp_path: Path
) -> None:
    changed = tmp_path / "SYN.csv"
    frame = pd.read_csv(series, index_col=0, parse_dates=True)
    frame.iloc[800:, :4] *= np.linspace(0.5, 2.0, len(frame) - 800)[:, None]
    frame.to_csv(changed)

    before = run_window(job_for(series), SLOW, slice(600, 800))
    after = run_window(job_for(changed), SLOW, slice(600, 800))

    assert to_jsonable(before) == to_jsonable(after)  # no look-ahead


def test_driver_when_trading_from_a_bar_then_the_bars_before_place_no_orders(
    series: Path,
) -> None:
    job = job_for(series)
    data = job_bars(job)
    settings = backtest_settings(job.settings, list(data), spec_with(job, SLOW))

    async def replay(trade_from: int) -> BacktestResult:
        rig = build_backtest_engine(settings, data, commission=0.001)
        await rig.engine.broker.connect()
        await rig.engine.orders.refresh_account()
        return await BacktestDriver(rig, data, trade_from=trade_from).run()

    everywhere = asyncio.run(replay(0))
    from_bar_700 = asyncio.run(replay(700))
    first = int(from_bar_700.index[700])

    assert any(int(ts) < first for ts in (datetime_to_ns(f.ts) for f in everywhere.fills))
    assert min(datetime_to_ns(f.ts) for f in from_bar_700.fills) > first
    assert np.all(from_bar_700.equity[:701] == 10_000.0)  # flat through the warm-up


def test_optimize_when_many_combinations_are_refused_then_one_summary_line_and_trade_now_last(
    env: dict[str, Path], goog_csv: Path, tmp_path: Path  # noqa: F811
) -> None:
    out = tmp_path / "wf.json"
    result = backtest(env, "--data", str(goog_csv), "--strategy", "sma_cross", "--optimize",
                      "--grid", "fast=10:60:10", "--grid", "slow=20,40,120", "--train", "600",
                      "--test", "300", "--processes", "1", "--json", str(out))

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    skipped = [line for line in lines if "Skipped" in line]
    assert len(skipped) == 1
    assert skipped[0].startswith("Skipped 8 invalid combination(s)")
    assert "fast=20 slow=20" in skipped[0]
    data = json.loads(out.read_text())
    assert data["trade_now"] == data["windows"][-1]["params"]
    trade_now = " ".join(f"{k}={v}" for k, v in data["trade_now"].items())
    last = lines.index(f"trade now: {trade_now}")  # the report's last line
    assert not any("│" in line or "⚠" in line for line in lines[last + 1 :])
    [run] = stored(env)
    assert run["stats"]["trade_now"] == data["trade_now"]
    # every window's chosen candidate traded out of sample, slow=120 included
    assert all(w["out_of_sample"]["trades"] > 0 for w in data["windows"])


def test_optimize_when_search_is_optuna_then_trials_per_window_and_trade_now(
    env: dict[str, Path], goog_csv: Path, tmp_path: Path  # noqa: F811
) -> None:
    out = tmp_path / "wf.json"
    args = ("--data", str(goog_csv), "--strategy", "sma_cross", "--optimize", "--search",
            "optuna", "--trials", "6", "--seed", "4", "--grid", "fast=5:30:5", "--grid",
            "slow=40:120:20", "--train", "700", "--test", "350", "--processes", "1")
    result = backtest(env, *args, "--json", str(out))

    assert result.exit_code == 0, result.output
    assert "6 Optuna trials" in result.output
    data = json.loads(out.read_text())
    assert all(1 <= len(w["trial_metrics"]) <= 6 for w in data["windows"])
    assert "trade now: " in result.output
    [run] = stored(env)
    assert run["params"]["search"] == "optuna" and run["params"]["trials"] == 6


def test_optimize_when_search_options_conflict_then_exit_2(
    env: dict[str, Path], goog_csv: Path  # noqa: F811
) -> None:
    base = ("--data", str(goog_csv), "--strategy", "sma_cross", "--optimize", "--grid",
            "fast=5,10")
    assert "--trials is for --search optuna" in backtest(env, *base, "--trials", "5").output
    assert "needs --random N" in backtest(env, *base, "--search", "random").output
    conflict = backtest(env, *base, "--search", "optuna", "--random", "3")
    assert conflict.exit_code == 2 and "--random does not combine" in conflict.output
