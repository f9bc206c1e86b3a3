"""`robo-tui backtest` as a trader runs it: a real process, real files, a real data dir.

The issue's exact command must reproduce backtesting.py on the GOOG data that ships with it, and
Ctrl-C must stop a long replay cleanly with partial results.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest, Strategy
from backtesting.lib import crossover
from backtesting.test import GOOG, SMA

ROOT = Path(__file__).resolve().parents[2]
REL = 1e-6
pytestmark = pytest.mark.filterwarnings("ignore:DatetimeIndex.dayofweek")


class SmaCross(Strategy):  # type: ignore[misc]
    """backtesting.py's README example."""

    def init(self) -> None:
        self.ma1 = self.I(SMA, self.data.Close, 10)
        self.ma2 = self.I(SMA, self.data.Close, 20)

    def next(self) -> None:
        if crossover(self.ma1, self.ma2):
            self.buy()
        elif crossover(self.ma2, self.ma1):
            self.sell()


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROBO_TUI_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg-config")  # no user config
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    env["COLUMNS"] = "120"
    return env


def robo(tmp_path: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "robo_tui.cli", *args, "--data-dir", str(tmp_path / "data")]
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout,
                          cwd=tmp_path,
                          env=clean_env(tmp_path))


def test_issue_command_when_run_on_goog_then_out_json_equals_backtesting_py(tmp_path: Path) -> None:
    GOOG.to_csv(tmp_path / "GOOG.csv")
    bt = Backtest(GOOG, SmaCross, cash=10_000, commission=0.002, exclusive_orders=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = bt.run()

    run = robo(tmp_path, "backtest", "--data", "GOOG.csv", "--strategy", "sma_cross",
               "--param", "fast=10", "--param", "slow=20", "--cash", "10000",
               "--commission", "0.002", "--json", "out.json")

    assert run.returncode == 0, run.stderr
    out = json.loads((tmp_path / "out.json").read_text())
    for key, peer_key in (("return_pct", "Return [%]"), ("equity_final", "Equity Final [$]"),
                          ("equity_peak", "Equity Peak [$]"),
                          ("max_drawdown_pct", "Max. Drawdown [%]"),
                          ("win_rate_pct", "Win Rate [%]"),
                          ("buy_hold_return_pct", "Buy & Hold Return [%]"),
                          ("cagr_pct", "CAGR [%]"), ("volatility_ann_pct", "Volatility (Ann.) [%]"),
                          ("sharpe", "Sharpe Ratio"), ("sortino", "Sortino Ratio"),
                          ("calmar", "Calmar Ratio"), ("profit_factor", "Profit Factor"),
                          ("expectancy_pct", "Expectancy [%]"), ("sqn", "SQN"),
                          ("exposure_pct", "Exposure Time [%]")):
        assert out[key] == pytest.approx(float(peer[peer_key]), rel=REL), key
    assert out["trades"] == peer["# Trades"] == 93
    assert out["max_drawdown_duration"] == str(peer["Max. Drawdown Duration"])
    assert out["bars"] == len(GOOG)
    trades = peer._trades
    assert [(t["entry_bar"], t["exit_bar"]) for t in out["trade_list"]] == list(
        zip(trades.EntryBar.tolist(), trades.ExitBar.tolist(), strict=True))
    assert [t["size"] for t in out["trade_list"]] == trades.Size.astype(float).tolist()
    assert [t["entry_price"] for t in out["trade_list"]] == pytest.approx(
        trades.EntryPrice.tolist(), rel=REL)
    assert [t["exit_price"] for t in out["trade_list"]] == pytest.approx(
        trades.ExitPrice.tolist(), rel=REL)
    assert [t["pnl"] for t in out["trade_list"]] == pytest.approx(trades.PnL.tolist(), rel=REL)
    db = sqlite3.connect(tmp_path / "data" / "robo-tui.sqlite3")
    try:
        (stats,) = db.execute("SELECT stats FROM backtest_runs").fetchone()
    finally:
        db.close()
    assert json.loads(stats)["return_pct"] == pytest.approx(peer["Return [%]"], rel=REL)


def long_series(path: Path, n: int, seed: int) -> Path:
    """A seeded 5-minute random walk (int64-ns safe) as Parquet."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.002, size=n)))
    open_ = np.r_[close[0], close[:-1]]
    frame = pd.DataFrame({
        "timestamp": pd.date_range("2004-01-01", periods=n, freq="5min", tz="UTC"),
        "open": open_, "high": np.maximum(open_, close) * 1.001,
        "low": np.minimum(open_, close) * 0.999, "close": close, "volume": 1e4,
    })
    frame.to_parquet(path, index=False)
    return path


def test_backtest_when_ctrl_c_during_a_long_replay_then_partial_results_are_reported_and_stored(
    tmp_path: Path,
) -> None:
    n = 500_000
    long_series(tmp_path / "SYN.parquet", n, seed=3)
    cmd = [sys.executable, "-m", "robo_tui.cli", "backtest", "--data", "SYN.parquet",
           "--strategy", "sma_cross", "--progress", "--no-chart", "--json", "partial.json",
           "--data-dir", str(tmp_path / "data")]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=clean_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    try:
        deadline = time.monotonic() + 240
        seen = []
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            seen.append(line)
            if line.startswith("progress ") or not line:
                break
        assert seen[-1].startswith("progress "), "".join(seen)
        proc.send_signal(signal.SIGINT)  # the replay is mid-way: it reported progress
        stdout, stderr = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()

    assert proc.returncode == 130, stderr
    assert "Interrupted" in stderr
    out = json.loads((tmp_path / "partial.json").read_text())
    assert 0 < out["bars"] < n
    assert out["trades"] > 0
    db = sqlite3.connect(tmp_path / "data" / "robo-tui.sqlite3")
    try:
        (params,) = db.execute("SELECT params FROM backtest_runs").fetchone()
    finally:
        db.close()
    assert json.loads(params)["stopped_early"] is True
    assert "Stored as run" in stdout


def test_cli_import_when_headless_start_then_the_backtester_is_not_loaded(tmp_path: Path) -> None:
    code = ("import sys, robo_tui.cli; "
            "print(sorted(m for m in ('pandas', 'robo_tui.backtest.results', "
            "'robo_tui.backtest.runner', 'rich.progress') if m in sys.modules))")

    run = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                         cwd=ROOT, env=clean_env(tmp_path), timeout=60)

    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


HEAVY = ("pandas", "ta", "scipy", "pyarrow", "backtesting", "robo_tui.backtest.runner")


def test_cli_import_when_the_config_is_loaded_then_no_pandas_or_other_heavy_module(
        tmp_path: Path) -> None:
    # loading the config derives [strategies] from the strategy modules: they must stay light
    code = ("import sys, robo_tui.cli; from robo_tui.config import Settings, load_settings; "
            "load_settings(None); Settings(); "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")

    run = subprocess.run([sys.executable, "-X", "importtime", "-c", code], check=False,
                         capture_output=True, text=True, cwd=ROOT, env=clean_env(tmp_path),
                         timeout=60)

    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines()
                if line.startswith("import time:")}
    assert "robo_tui.engine.strategies.mean_reversion" in imported  # the settings were read
    assert not {m for m in imported if m.split(".")[0] in ("pandas", "ta", "scipy")}


def bars_csv(path: Path, rows: int = 80, bad: dict[int, tuple[str, ...]] | None = None) -> Path:
    """A daily OHLCV file with well-formed rows, except the data rows (1-based) in `bad`."""
    start = pd.Timestamp("2021-01-04")
    lines = ["Date,Open,High,Low,Close,Volume"]
    for i in range(rows):
        price = 100 + (i % 9)
        row = ((start + pd.Timedelta(days=i)).date().isoformat(), str(price), str(price + 2),
               str(price - 1), str(price + 1), "1000")
        lines.append(",".join((bad or {}).get(i + 1, row)))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def stored_symbols(tmp_path: Path) -> list[str]:
    db = sqlite3.connect(tmp_path / "data" / "robo-tui.sqlite3")
    try:
        (params,) = db.execute("SELECT params FROM backtest_runs").fetchone()
    finally:
        db.close()
    symbols: list[str] = json.loads(params)["symbols"]
    return symbols


def test_backtest_when_file_name_has_an_underscore_then_symbol_is_the_name_before_it(
        tmp_path: Path) -> None:
    data = bars_csv(tmp_path / "goog_daily_2021.csv")
    run = robo(tmp_path, "backtest", "--data", str(data))
    assert run.returncode == 0, run.stderr
    assert stored_symbols(tmp_path) == ["GOOG"]


def test_backtest_when_file_name_is_no_symbol_then_exit_2_naming_the_rule_and_symbol_flag(
        tmp_path: Path) -> None:
    data = bars_csv(tmp_path / "my prices.csv")
    run = robo(tmp_path, "backtest", "--data", str(data))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "cannot take a symbol from the file name ('MY PRICES')" in run.stderr
    assert "--symbol" in run.stderr

    named = robo(tmp_path, "backtest", "--data", str(data), "--symbol", "spy")
    assert named.returncode == 0, named.stderr
    assert stored_symbols(tmp_path) == ["SPY"]


@pytest.mark.parametrize(("bad", "reason"), [
    (("2021-01-09", "110", "105", "99", "101", "1000"),
     "row 6: Open 110 is outside the bar's range low 99 .. high 105"),
    (("2021-01-09", "100", "104", "99", "98", "1000"),
     "row 6: Close 98 is outside the bar's range low 99 .. high 104"),
    (("2021-01-09", "1e308", "1e308", "99", "101", "1000"),
     "row 6: Open 1e+308 is above 1e+12"),
])
def test_backtest_when_a_row_is_impossible_then_exit_2_with_file_row_and_reason(
        tmp_path: Path, bad: tuple[str, ...], reason: str) -> None:
    data = bars_csv(tmp_path / "AAPL.csv", bad={6: bad})
    run = robo(tmp_path, "backtest", "--data", str(data))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert f"{data}: AAPL: {reason}" in run.stderr


def test_backtest_when_a_date_is_in_the_year_3000_then_exit_2_not_out_of_bounds(
        tmp_path: Path) -> None:
    data = bars_csv(tmp_path / "AAPL.csv", bad={80: ("3000-01-01", "100", "102", "99", "101", "1")})
    run = robo(tmp_path, "backtest", "--data", str(data))
    assert run.returncode == 2 and "OutOfBoundsDatetime" not in run.stderr
    assert "row 80: timestamp '3000-01-01' is outside the years 1678-2261" in run.stderr
