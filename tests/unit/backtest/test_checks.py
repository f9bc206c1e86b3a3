"""The backtest is loud about nonsense: each check's warning reaches the report, the --json
file's `warnings` key and the stored run (issue 16, item 2)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from backtesting.test import GOOG
from typer.testing import CliRunner

from robo_tui.adapters.feeds.replay import load_ohlcv
from robo_tui.backtest.checks import CheckLimits, backlog_warning, outlier_bars, ruin_bar
from robo_tui.backtest.results import analyse, run_listing
from robo_tui.backtest.runner import BacktestSetupError, BacktestSpec, replay
from robo_tui.cli import app
from robo_tui.config import Settings

pytestmark = pytest.mark.filterwarnings("ignore:DatetimeIndex.dayofweek")

SMA = {"sma_cross": {"fast": "10", "slow": "20"}}


def write(tmp_path: Path, frame: pd.DataFrame, name: str = "GOOG") -> Path:
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path)
    return path


def run_cli(tmp_path: Path, csv: Path, *extra: str) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    config = tmp_path / "config.toml"
    config.write_text("")
    out = tmp_path / "out.json"
    result = CliRunner().invoke(app, [
        "backtest", "--data", str(csv), "--strategy", "sma_cross", "--param", "fast=10",
        "--param", "slow=20", "--no-chart", "--max-trades", "0", "--json", str(out), *extra,
        "--config", str(config), "--data-dir", str(tmp_path / "data")])
    db = sqlite3.connect(tmp_path / "data" / "robo-tui.sqlite3")
    try:
        params = json.loads(db.execute("SELECT params FROM backtest_runs").fetchone()[0])
    finally:
        db.close()
    return result, json.loads(out.read_text()), params


def test_backtest_when_data_shorter_than_the_warmup_then_it_warns_everywhere(tmp_path: Path) -> None:
    result, doc, params = run_cli(tmp_path, write(tmp_path, GOOG.iloc[:15]))

    assert result.exit_code == 0, result.output
    assert len(doc["warnings"]) == 1
    assert "GOOG: 15 bar(s), but sma_cross(" in doc["warnings"][0]
    assert "no trade can happen" in doc["warnings"][0]
    assert params["warnings"] == doc["warnings"]
    assert "warning(s)" in result.output and "no trade can happen" in result.output


def test_backtest_show_when_the_run_had_warnings_then_they_are_printed_and_written_again(
    tmp_path: Path,
) -> None:
    run_cli(tmp_path, write(tmp_path, GOOG.iloc[:15]))
    again = tmp_path / "again.json"
    config = tmp_path / "config.toml"

    listing = CliRunner().invoke(app, ["backtest", "--list", "--config", str(config),
                                       "--data-dir", str(tmp_path / "data")])
    run_id = listing.output.split("!")[0].split()[-1]
    shown = CliRunner().invoke(app, ["backtest", "--show", run_id, "--json", str(again),
                                     "--no-chart", "--config", str(config),
                                     "--data-dir", str(tmp_path / "data")])

    assert shown.exit_code == 0, shown.output
    assert "no trade can happen" in shown.output
    assert len(json.loads(again.read_text())["warnings"]) == 1


def test_backtest_html_when_warnings_then_they_head_the_report_escaped(tmp_path: Path) -> None:
    html = tmp_path / "r.html"

    result, doc, _ = run_cli(tmp_path, write(tmp_path, GOOG.iloc[:15]), "--html", str(html))

    assert result.exit_code == 0, result.output
    assert len(doc["warnings"]) == 1
    text = html.read_text()
    assert '<div class="warnings"><strong>1 warning(s)</strong>' in text
    assert "no trade can happen" in text


def test_backtest_when_one_close_spikes_100x_then_the_outlier_is_named(tmp_path: Path) -> None:
    frame = GOOG.copy()
    frame.iloc[1000, frame.columns.get_loc("Close")] *= 100
    frame.iloc[1000, frame.columns.get_loc("High")] = frame.iloc[1000]["Close"]
    when = frame.index[1000].strftime("%Y-%m-%d")

    result, doc, params = run_cli(tmp_path, write(tmp_path, frame))

    assert result.exit_code == 0, result.output
    outlier, ruin = doc["warnings"]
    # the spike and the fall back are both jumps; the short held through it ruins the account
    assert outlier.startswith("GOOG: 2 price outlier(s)") and when in outlier
    assert ruin.startswith("account ruined") and "at bar 1,000" in ruin
    # compat (the default) stops as backtesting.py does: the short is closed at the spike's
    # close and the account holds 0 to the last bar
    assert "closed at that bar's close" in ruin
    assert doc["bars"] == len(frame) and doc["equity_final"] == 0.0
    assert doc["return_pct"] == -100.0
    last = doc["trade_list"][-1]
    assert last["exit_bar"] == 1_000 and last["exit_price"] == frame["Close"].iloc[1000]
    assert params["warnings"] == doc["warnings"] and params["ruined_at"] == 1_000
    assert params["stopped_early"] is False


def test_outlier_bars_when_z_score_limit_then_a_jump_beyond_it_is_flagged_and_ratio_can_be_off() -> None:
    close = 100 * np.exp(np.cumsum(np.r_[0.0, np.tile([0.01, -0.01], 50)]))
    close[60:] *= 1.5  # a 50 % jump: far below a 5x ratio, far beyond 10 robust sigmas

    assert outlier_bars(close, CheckLimits()).tolist() == []
    assert outlier_bars(close, CheckLimits(outlier_ratio=0, outlier_z=10)).tolist() == [60]
    assert outlier_bars(close, CheckLimits(outlier_ratio=1.4)).tolist() == [60]


def test_check_limits_when_nonsense_then_value_error() -> None:
    with pytest.raises(ValueError, match="ruin_fraction"):
        CheckLimits(ruin_fraction=1.0)
    with pytest.raises(ValueError, match="outlier_ratio"):
        CheckLimits(outlier_ratio=0.5)


def goog_bars(tmp_path: Path) -> dict[str, Any]:
    return dict(load_ohlcv(write(tmp_path, GOOG)))


def test_replay_when_equity_falls_below_the_ruin_threshold_then_the_run_stops_there_and_says_so(
    tmp_path: Path,
) -> None:
    bars = goog_bars(tmp_path)
    spec = BacktestSpec(cash=10_000, commission=0.002, compat=True, strategies=SMA,
                        limits=CheckLimits(ruin_fraction=0.95))
    run = asyncio.run(replay(Settings(), bars, spec))
    ruined = int(np.flatnonzero(run.result.equity < 9_500)[0])

    outcome = analyse(run.result, run.settings, bars, limits=spec.limits, unfilled=run.unfilled)
    compat = analyse(run.result, run.settings, bars, limits=spec.limits, unfilled=run.unfilled,
                     compat=True, commission=0.002)

    assert outcome.ruined_at == ruined
    assert outcome.stats.bars == ruined + 1 and outcome.equity.shape[0] == ruined + 1
    assert all(t.exit_bar <= ruined for t in outcome.trades)
    assert outcome.stats.equity_final < 9_500
    [warning] = outcome.warnings
    assert warning.startswith("account ruined: equity") and f"at bar {ruined:,}" in warning
    assert ruin_bar(run.result.equity, CheckLimits(ruin_fraction=0)) is None
    # compat: stopped as backtesting.py stops; the open trade closes at the ruin bar's close
    # (exit commission paid) and what is left is held flat to the last bar
    assert compat.ruined_at == ruined and compat.stats.bars == len(GOOG)
    last = compat.trades[-1]
    assert last.exit_bar == ruined and last.exit_price == bars["GOOG"].close[ruined]
    assert compat.open_trades == ()
    left = float(run.result.equity[ruined]) - abs(last.size) * last.exit_price * 0.002
    assert np.all(compat.equity[ruined:] == left) and compat.stats.equity_final == left
    np.testing.assert_array_equal(compat.equity[:ruined], run.result.equity[:ruined])
    [said] = compat.warnings
    assert f"at bar {ruined:,}" in said and "closed at that bar's close" in said


def test_replay_when_ruined_by_a_gap_on_a_long_series_then_the_figures_stop_at_that_bar(
    tmp_path: Path,
) -> None:
    n = 30_000
    ts = pd.date_range("2020-01-01", periods=n, freq="min", tz="UTC")
    rising = np.r_[np.linspace(105, 100, 10), np.linspace(100, 110, 5_990)]  # long from bar ~11
    close = np.r_[rising, np.full(n - rising.shape[0], 5.0)]  # one gap down: 95 % lost
    frame = pd.DataFrame({"Open": close, "High": close, "Low": close, "Close": close}, index=ts)
    bars = dict(load_ohlcv(write(tmp_path, frame, "CRASH")))
    spec = BacktestSpec(cash=10_000, compat=True, strategies={"sma_cross": {"fast": "2",
                                                                            "slow": "3"}})
    run = asyncio.run(replay(Settings(), bars, spec))

    outcome = analyse(run.result, run.settings, bars, limits=spec.limits)
    compat = analyse(run.result, run.settings, bars, limits=spec.limits, compat=True)

    assert compat.ruined_at == 6_000 and compat.stats.bars == n  # held flat to the end
    assert outcome.ruined_at == 6_000 and outcome.stats.bars == 6_001
    assert any("account ruined" in w and "at bar 6,000" in w for w in outcome.warnings)
    if run.ruined:  # the replay noticed at its next progress check and stopped early
        assert run.result.stopped_early and run.result.equity.shape[0] < n


def test_analyse_when_orders_placed_before_the_last_bar_never_filled_then_a_backlog_warning(
    tmp_path: Path,
) -> None:
    bars = goog_bars(tmp_path)
    spec = BacktestSpec(cash=10_000, commission=0.002, compat=True, strategies=SMA)
    run = asyncio.run(replay(Settings(), bars, spec))
    placed = datetime(2010, 1, 4, tzinfo=UTC)

    clean = analyse(run.result, run.settings, bars, limits=spec.limits, unfilled=run.unfilled)
    stale = analyse(run.result, run.settings, bars, limits=spec.limits,
                    unfilled=[("GOOG", placed)])

    assert clean.warnings == ()
    [warning] = stale.warnings
    assert warning.startswith("1 order(s) never filled (GOOG; oldest placed 2010-01-04 00:00")
    last = datetime(2013, 3, 1, tzinfo=UTC)
    assert backlog_warning([("GOOG", last)], last) is None  # decided at the last close


def test_replay_when_compat_and_two_symbols_then_refused_with_what_to_do(tmp_path: Path) -> None:
    bars = goog_bars(tmp_path)
    other = dict(load_ohlcv(write(tmp_path, GOOG * 2, "GOOG2")))

    with pytest.raises(BacktestSetupError, match="compat mode .* got 2 symbols .*--no-compat"):
        asyncio.run(replay(Settings(), {**bars, **other},
                           BacktestSpec(compat=True, strategies=SMA)))


def test_run_listing_when_narrow_then_parameter_values_still_tell_runs_apart() -> None:
    def row(fast: int, warnings: list[str]) -> dict[str, Any]:
        params = {"kind": "backtest", "symbols": ["GOOG"], "warnings": warnings,
                  "strategies": {"sma_cross": {"weight": 1.0, "fast": fast, "slow": 20}}}
        return {"id": "abcdef0123456789", "ts": "2026-12-03T16:00:00",
                "params": json.dumps(params), "stats": json.dumps({"bars": 10, "trades": 1})}

    a, b = run_listing(row(5, []), narrow=True), run_listing(row(10, ["x"]), narrow=True)

    assert a["strategies"] == "sma_cross(5,20)" and b["strategies"] == "sma_cross(10,20)"
    assert a["id"] == "abcdef01" and b["id"] == "abcdef01!"  # "!": the run has warnings
    assert run_listing(row(5, []))["strategies"] == "sma_cross(fast=5,slow=20)"


def test_backtest_when_check_limit_flags_then_the_checks_follow_them_and_the_run_stores_them(
    tmp_path: Path,
) -> None:
    frame = GOOG.copy()
    frame.iloc[1000, frame.columns.get_loc("Close")] *= 1.6  # a 60 % jump: below the 5x default
    frame.iloc[1000, frame.columns.get_loc("High")] = frame.iloc[1000]["Close"]

    (tmp_path / "b").mkdir()
    default, doc, _ = run_cli(tmp_path, write(tmp_path, frame))
    strict, strict_doc, params = run_cli(tmp_path / "b", write(tmp_path, frame), "--outlier-ratio",
                                         "1.5", "--outlier-z", "8", "--ruin", "0", "--backlog", "3")

    assert default.exit_code == 0 and strict.exit_code == 0, strict.output
    assert not any("outlier" in w for w in doc["warnings"])
    [outlier] = [w for w in strict_doc["warnings"] if "outlier" in w]
    assert "a close 1.5x or 1/1.5 of the one before or a log return beyond 8 robust" in outlier
    assert params["checks"] == {"outlier_ratio": 1.5, "outlier_z": 8.0, "ruin_fraction": 0.0,
                                "backlog_orders": 3}


def test_backtest_when_a_check_limit_is_nonsense_then_exit_2_naming_the_flag(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    result = CliRunner().invoke(app, [
        "backtest", "--data", str(write(tmp_path, GOOG)), "--outlier-ratio", "0.5",
        "--config", str(config), "--data-dir", str(tmp_path / "data")])

    assert result.exit_code == 2
    assert "--outlier-ratio must be above 1 (or 0 for off), got 0.5" in result.output


def test_analyse_when_fewer_stale_orders_than_the_backlog_limit_then_no_warning() -> None:
    last = datetime(2013, 3, 1, tzinfo=UTC)
    stale = [("GOOG", datetime(2010, 1, 4, tzinfo=UTC)), ("GOOG", datetime(2011, 1, 4, tzinfo=UTC))]

    assert backlog_warning(stale, last, CheckLimits(backlog_orders=3)) is None
    assert backlog_warning(stale, last, CheckLimits(backlog_orders=0)) is None
    assert backlog_warning(stale, last, CheckLimits(backlog_orders=2)) is not None
