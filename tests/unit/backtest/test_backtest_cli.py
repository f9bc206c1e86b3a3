"""`robo-tui backtest` in-process (typer's CliRunner): options, errors, files and stored runs."""

from __future__ import annotations

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

from robo_tui.backtest.arguments import UsageProblem, parse_grid, strategy_params
from robo_tui.backtest.results import JSON_KEYS, InputError, load_bars, load_news, parse_when
from robo_tui.cli import app

pytestmark = pytest.mark.filterwarnings("ignore:DatetimeIndex.dayofweek")


@pytest.fixture(scope="module")
def goog_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "GOOG.csv"
    GOOG.to_csv(path)
    return path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, Path]:
    config = tmp_path / "config.toml"
    config.write_text("")
    return {"config": config, "data_dir": tmp_path / "data"}


def backtest(env: dict[str, Path], *args: str) -> Any:
    result = CliRunner().invoke(
        app, ["backtest", *args, "--config", str(env["config"]), "--data-dir", str(env["data_dir"])]
    )
    return result


def sma(csv: Path, *extra: str) -> list[str]:
    return ["--data", str(csv), "--strategy", "sma_cross", "--param", "fast=10",
            "--param", "slow=20", "--no-chart", "--max-trades", "0", *extra]


def stored(env: dict[str, Path]) -> list[dict[str, Any]]:
    db = sqlite3.connect(env["data_dir"] / "robo-tui.sqlite3")
    try:
        rows = db.execute("SELECT id, params, stats FROM backtest_runs ORDER BY ts").fetchall()
    finally:
        db.close()
    return [{"id": r[0], "params": json.loads(r[1]), "stats": json.loads(r[2])} for r in rows]


# --------------------------------------------------------------------------- option parsing


def test_strategy_params_when_two_strategies_then_each_param_goes_to_the_one_before_it() -> None:
    got = strategy_params(["sma_cross", "breakout"], ["fast=5", "slow=30", "lookback=40"],
                          ["s", "p", "p", "s", "p"])

    assert got == {"sma_cross": {"fast": "5", "slow": "30"}, "breakout": {"lookback": "40"}}


def test_strategy_params_when_qualified_key_then_it_names_its_strategy() -> None:
    got = strategy_params(["sma_cross"], ["breakout.lookback=40"], ["s", "p"])

    assert got == {"sma_cross": {}, "breakout": {"lookback": "40"}}


def test_strategy_params_when_param_before_any_strategy_then_usage_problem() -> None:
    with pytest.raises(UsageProblem, match="after the --strategy"):
        strategy_params(["sma_cross", "breakout"], ["fast=5"], ["p", "s", "s"])


def test_strategy_params_when_no_equals_sign_then_usage_problem() -> None:
    with pytest.raises(UsageProblem, match="key=value"):
        strategy_params(["sma_cross"], ["fast"], ["s", "p"])


def test_parse_grid_when_list_and_inclusive_range_then_values_in_order() -> None:
    assert parse_grid(["fast=5,10", "slow=20:40:10"]) == {
        "fast": ["5", "10"], "slow": ["20", "30", "40"]}


def test_parse_grid_when_range_runs_backwards_then_usage_problem() -> None:
    with pytest.raises(UsageProblem, match="start <= stop"):
        parse_grid(["slow=40:20"])


def test_parse_when_end_is_a_bare_date_then_the_whole_day_is_included() -> None:
    start = parse_when("2010-01-04")
    end = parse_when("2010-01-04", end=True)

    assert end - start == 86_400 * 10**9
    with pytest.raises(InputError, match="not a date"):
        parse_when("yesterday-ish")


# --------------------------------------------------------------------------- data


def test_load_bars_when_long_table_and_symbols_then_only_those_in_the_date_range(tmp_path: Path) -> None:
    rows = []
    for symbol, scale in (("AAA", 1.0), ("BBB", 2.0), ("CCC", 3.0)):
        for day in pd.date_range("2020-01-01", periods=10, freq="D"):
            price = scale * (100 + day.day)
            rows.append((day, symbol, price, price + 1, price - 1, price, 1000))
    frame = pd.DataFrame(rows, columns=["date", "symbol", "open", "high", "low", "close", "volume"])
    path = tmp_path / "long.csv"
    frame.to_csv(path, index=False)

    data = load_bars([path], ["CCC", "AAA"], start="2020-01-03", end="2020-01-05")

    assert list(data) == ["CCC", "AAA"]
    assert [len(b) for b in data.values()] == [3, 3]
    assert float(data["CCC"].close[0]) == 3.0 * 103


def test_load_bars_when_symbol_missing_then_input_error_names_it(goog_csv: Path) -> None:
    with pytest.raises(InputError, match="no bars for MSFT"):
        load_bars([goog_csv], ["MSFT"])


def test_load_bars_when_same_symbol_in_two_files_then_input_error(goog_csv: Path) -> None:
    with pytest.raises(InputError, match="also in"):
        load_bars([goog_csv, goog_csv])


def test_load_news_when_rss_file_then_items_keep_published_times_oldest_first(tmp_path: Path) -> None:
    feed = tmp_path / "news.xml"
    feed.write_text(
        """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
        <item><title>GOOG beats estimates</title><link>https://example.com/a</link>
          <pubDate>Thu, 21 Oct 2010 20:05:00 GMT</pubDate></item>
        <item><title>Search share slips</title><link>https://example.com/b</link>
          <pubDate>Mon, 04 Jan 2010 14:00:00 GMT</pubDate></item>
        <item><title>Undated rumour</title><link>https://example.com/c</link></item>
        <item><title>From the future</title><link>https://example.com/d</link>
          <pubDate>Mon, 04 Jan 2016 14:00:00 GMT</pubDate></item>
        </channel></rss>""",
        encoding="utf-8",
    )

    items = load_news([str(feed)], until=datetime(2013, 3, 1, tzinfo=UTC))

    assert [i.title for i in items] == ["Search share slips", "GOOG beats estimates"]
    assert items[0].published == datetime(2010, 1, 4, 14, 0, tzinfo=UTC)
    assert all(i.seen == i.published for i in items)  # visible no earlier than published


def test_load_news_when_not_a_feed_then_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"\x00\x01 not xml at all")

    with pytest.raises(InputError, match="--news"):
        load_news([str(bad)])


# --------------------------------------------------------------------------- the command


def test_backtest_when_bad_param_name_then_exit_2_naming_it_and_the_known_ones(env: dict[str, Path], goog_csv: Path) -> None:
    result = backtest(env, "--data", str(goog_csv), "--strategy", "sma_cross", "--param",
                      "fsat=10")

    assert result.exit_code == 2
    assert "no parameter 'fsat'" in result.output
    assert "fast, slow" in result.output
    assert not (env["data_dir"] / "robo-tui.sqlite3").exists()


def test_backtest_when_bad_param_value_then_exit_2_with_the_reason(env: dict[str, Path], goog_csv: Path) -> None:
    result = backtest(env, "--data", str(goog_csv), "--strategy", "sma_cross", "--param",
                      "fast=30")

    assert result.exit_code == 2
    assert "fast (30) must be shorter than slow (20)" in result.output
    assert "pydantic" not in result.output


def test_backtest_when_unknown_strategy_then_exit_2(env: dict[str, Path], goog_csv: Path) -> None:
    result = backtest(env, "--data", str(goog_csv), "--strategy", "moonshot")

    assert result.exit_code == 2
    assert "unknown strategy moonshot" in result.output


def test_backtest_when_slippage_in_compat_mode_then_exit_2_pointing_at_no_compat(env: dict[str, Path], goog_csv: Path) -> None:
    result = backtest(env, *sma(goog_csv, "--slippage-bps", "5"))

    assert result.exit_code == 2
    assert "--no-compat" in result.output


def test_backtest_when_grid_without_optimize_then_exit_2(env: dict[str, Path], goog_csv: Path) -> None:
    result = backtest(env, *sma(goog_csv, "--grid", "fast=5,10"))

    assert result.exit_code == 2
    assert "need --optimize" in result.output


def test_backtest_when_no_data_then_exit_2(env: dict[str, Path]) -> None:
    result = backtest(env, "--strategy", "sma_cross")

    assert result.exit_code == 2
    assert "--data" in result.output


def test_backtest_json_when_run_then_keys_are_exactly_the_issue_keys(env: dict[str, Path], goog_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"

    result = backtest(env, *sma(goog_csv, "--json", str(out)))

    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert list(data) == [*JSON_KEYS, "trade_list", "warnings"]
    assert data["warnings"] == []  # GOOG is clean: nothing to warn about
    assert data["trades"] == len(data["trade_list"]) == 93
    assert set(data["trade_list"][0]) >= {"entry_time", "exit_time", "entry_bar", "exit_bar",
                                          "entry_price", "exit_price", "size", "pnl"}
    assert data["max_drawdown_pct"] < 0


def test_backtest_when_start_and_end_then_only_those_bars_are_replayed(env: dict[str, Path], goog_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "range.json"

    result = backtest(env, *sma(goog_csv, "--start", "2010-01-01", "--end", "2010-12-31",
                                "--json", str(out)))

    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    in_range = GOOG.loc["2010-01-01":"2010-12-31"]
    assert data["bars"] == len(in_range)
    assert data["start"].startswith(str(in_range.index[0].date()))
    assert data["end"].startswith(str(in_range.index[-1].date()))


def test_backtest_when_start_after_the_data_then_exit_2(env: dict[str, Path], goog_csv: Path) -> None:
    result = backtest(env, *sma(goog_csv, "--start", "2020-01-01"))

    assert result.exit_code == 2
    assert "no bars" in result.output


def test_backtest_when_two_strategies_then_params_are_stored_per_strategy(env: dict[str, Path], goog_csv: Path) -> None:
    result = backtest(env, "--data", str(goog_csv), "--strategy", "sma_cross", "--param",
                      "fast=5", "--strategy", "breakout", "--param", "lookback=30", "--no-chart")

    assert result.exit_code == 0, result.output
    [run] = stored(env)
    strategies = run["params"]["strategies"]
    assert set(strategies) == {"sma_cross", "breakout"}
    assert strategies["sma_cross"]["fast"] == 5 and strategies["sma_cross"]["slow"] == 20
    assert strategies["breakout"]["lookback"] == 30


def test_backtest_list_and_show_when_two_runs_then_both_listed_and_show_rewrites_the_json(
    env: dict[str, Path],
    goog_csv: Path,
    tmp_path: Path,
) -> None:
    first, again = tmp_path / "first.json", tmp_path / "again.json"
    assert backtest(env, *sma(goog_csv, "--json", str(first))).exit_code == 0
    assert backtest(env, *sma(goog_csv, "--end", "2008-12-31")).exit_code == 0
    runs = stored(env)

    listing = backtest(env, "--list")
    shown = backtest(env, "--show", runs[0]["id"][:8], "--json", str(again), "--no-chart")

    assert listing.exit_code == 0
    assert "…" not in listing.output  # 80 columns: the compact listing, nothing cut short
    assert all(r["id"][:8] in listing.output for r in runs)  # as much as --show needs
    # issue 16: the parameters stay in the listing, values only when narrow, so runs differ
    assert "462.64%" in listing.output and "sma_cross(1" in listing.output
    assert shown.exit_code == 0, shown.output
    assert "462.64%" in shown.output
    assert json.loads(again.read_text()) == json.loads(first.read_text())


def test_backtest_show_when_unknown_id_then_exit_2(env: dict[str, Path], goog_csv: Path) -> None:
    assert backtest(env, *sma(goog_csv)).exit_code == 0

    result = backtest(env, "--show", "ffffffff")

    assert result.exit_code == 2
    assert "no stored run" in result.output


def test_backtest_html_when_run_then_a_self_contained_report_with_trade_markers(
    env: dict[str, Path],
    goog_csv: Path,
    tmp_path: Path,
) -> None:
    page = tmp_path / "report.html"

    result = backtest(env, *sma(goog_csv, "--html", str(page)))

    assert result.exit_code == 0, result.output
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert "<script" not in html and "http://" not in html.split("</head>")[0]
    assert "Trades (93)" in html


def test_backtest_when_no_compat_then_the_gate_profile_of_the_config_applies(env: dict[str, Path], goog_csv: Path) -> None:
    result = backtest(env, *sma(goog_csv, "--no-compat"))

    assert result.exit_code == 0, result.output
    [run] = stored(env)
    assert run["params"]["compat"] is False
    # the config's sizing risks 1% to an ATR stop: far from all-in, so far smaller swings
    assert abs(run["stats"]["max_drawdown_pct"]) < 10.0
    assert run["stats"]["trades"] > 0


def test_backtest_when_news_file_then_items_are_loaded_for_the_replay(env: dict[str, Path], goog_csv: Path, tmp_path: Path) -> None:
    feed = tmp_path / "news.xml"
    feed.write_text(
        """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
        <item><title>GOOG beats estimates</title><link>https://example.com/a</link>
          <pubDate>Thu, 21 Oct 2010 20:05:00 GMT</pubDate></item></channel></rss>""",
        encoding="utf-8",
    )

    result = backtest(env, *sma(goog_csv, "--news", str(feed)))

    assert result.exit_code == 0, result.output
    assert "with 1 news items" in result.output
    [run] = stored(env)
    assert run["params"]["news"] == [str(feed)]


def test_backtest_optimize_when_grid_then_in_and_out_of_sample_reported_and_stored(
    env: dict[str, Path],
    goog_csv: Path,
    tmp_path: Path,
) -> None:
    out = tmp_path / "wf.json"

    result = backtest(env, "--data", str(goog_csv), "--strategy", "sma_cross", "--optimize",
                      "--grid", "fast=5,10", "--grid", "slow=20,30", "--train", "700",
                      "--test", "350", "--processes", "1", "--json", str(out))

    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["trials"] == 4 * len(data["windows"]) == 16
    assert {"in_sample", "out_of_sample", "degradation", "efficiency"} <= set(data)
    assert "In-sample vs out-of-sample" in result.output
    [run] = stored(env)
    assert run["params"]["kind"] == "walk_forward"
    assert backtest(env, "--show", run["id"][:10]).exit_code == 0


def test_backtest_optimize_when_grid_key_is_not_a_param_then_exit_2(env: dict[str, Path], goog_csv: Path) -> None:
    result = backtest(env, "--data", str(goog_csv), "--strategy", "sma_cross", "--optimize",
                      "--grid", "speed=1,2")

    assert result.exit_code == 2
    assert "speed" in result.output


def test_backtest_optimize_when_every_combination_is_invalid_then_exit_2(env: dict[str, Path], goog_csv: Path) -> None:
    result = backtest(env, "--data", str(goog_csv), "--strategy", "sma_cross", "--optimize",
                      "--grid", "fast=30,40", "--grid", "slow=20")

    assert result.exit_code == 2
    assert "no valid parameter combination" in result.output


def test_stored_equity_when_run_then_it_matches_the_json_final_equity(env: dict[str, Path], goog_csv: Path) -> None:
    assert backtest(env, *sma(goog_csv)).exit_code == 0
    db = sqlite3.connect(env["data_dir"] / "robo-tui.sqlite3")
    try:
        equity = json.loads(db.execute("SELECT equity FROM backtest_runs").fetchone()[0])
    finally:
        db.close()

    assert len(equity["equity"]) == len(GOOG)
    assert equity["equity"][-1] == pytest.approx(56_263.51934, rel=1e-9)
    assert np.all(np.diff(equity["ts"]) > 0)


# --------------------------------------------------------------------------- walk-forward


def synthetic_csv(path: Path, seed: int, n: int = 1_500) -> Path:
    """A seeded daily series whose drift flips every ~120 bars (trends an SMA cross can ride)."""
    rng = np.random.default_rng(seed)
    drift = np.repeat(rng.choice([-1.0, 1.0], size=n // 120 + 1), 120)[:n] * 0.002
    close = 100.0 * np.exp(np.cumsum(drift + rng.normal(0.0, 0.012, size=n)))
    open_ = np.r_[close[0], close[:-1]] * np.exp(rng.normal(0.0, 0.002, size=n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.006, size=n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.006, size=n))
    index = pd.bdate_range("2012-01-02", periods=n, name="Date")
    pd.DataFrame({"Open": open_, "High": high, "Low": low, "Close": close,
                  "Volume": np.full(n, 1e6)}, index=index).to_csv(path)
    return path


def test_walk_forward_when_seeded_series_then_in_and_out_of_sample_are_separate_engine_runs(
    tmp_path: Path,
) -> None:
    import functools

    from robo_tui.backtest.results import SliceJob, run_slice
    from robo_tui.backtest.runner import BacktestSpec
    from robo_tui.backtest.walkforward import (
        param_grid,
        rolling_windows,
        walk_forward,
        walk_forward_to_json,
    )
    from robo_tui.config import Settings

    csv = synthetic_csv(tmp_path / "SYN.csv", seed=7)
    spec = BacktestSpec(cash=10_000, commission=0.001, compat=True,
                        strategies={"sma_cross": {}})
    job = SliceJob(settings=Settings(), spec=spec, paths=(str(csv),), symbols=None, start=None,
                   end=None, targets=(("fast", "sma_cross.fast"), ("slow", "sma_cross.slow")))
    candidates = param_grid({"fast": [5, 10, 20], "slow": [30, 60]})
    windows = rolling_windows(1_500, train=500, test=250)
    run = functools.partial(run_slice, job)

    pooled = walk_forward(run, candidates, windows, metric="sharpe", processes=2)
    inline = walk_forward(run, candidates, windows, metric="sharpe", processes=1)

    assert pooled.trials == len(windows) * len(candidates) == 24
    # the same figures from spawned workers and in-process (compared as JSON: NaN != NaN)
    assert walk_forward_to_json(pooled) == walk_forward_to_json(inline)
    for w in pooled.windows:
        assert w.in_sample.end < w.out_of_sample.start  # never judged on the bars it was fit on
        assert w.in_sample.bars == 500 and w.out_of_sample.bars == 250
        assert w.is_metric == max(m for m in w.trial_metrics)
        # the out-of-sample figures are a real engine run of the chosen params on unseen bars
        direct = run_slice(job, w.params, w.test)
        assert direct.return_pct == w.out_of_sample.return_pct
        assert direct.trades == w.out_of_sample.trades
    assert pooled.in_sample.metric_mean != pooled.out_of_sample.metric_mean
    assert pooled.degradation == pytest.approx(
        pooled.in_sample.metric_mean - pooled.out_of_sample.metric_mean)
    assert pooled.in_sample.metric_mean > pooled.out_of_sample.metric_mean


# --------------------------------------------------------------------------- attribution


class FixedVotes:
    """A stand-in voter with fixed scores (the attribution reads only `scores`)."""

    def __init__(self, values: list[float]) -> None:
        self.values = np.array(values, dtype=np.float64)

    def scores(self, bars: Any) -> np.ndarray:
        return self.values


def test_attribute_trades_when_several_voters_then_the_ones_pointing_the_trade_way_at_the_signal_bar(
) -> None:
    from robo_tui.backtest.results import attribute_trades
    from robo_tui.domain.market import BarArrays

    ts = np.arange(4, dtype=np.int64) * 10**9
    ones = np.ones(4)
    bars = {"X": BarArrays("X", ts, ones, ones, ones, ones, ones)}
    voters = {"a": FixedVotes([1.0, 1.0, -1.0, np.nan]), "b": FixedVotes([1.0, -1.0, -1.0, 1.0])}
    trades = [("X", 5.0, int(ts[1])), ("X", -5.0, int(ts[3])), ("X", 5.0, int(ts[2]))]

    next_open = attribute_trades(trades, bars, voters, "next-open")
    at_close = attribute_trades(trades, bars, voters, "close")

    # next-open: an entry filled at bar i was decided at bar i - 1
    assert next_open == ["a+b", "a+b", "a"]
    assert at_close == ["a", "ensemble", "ensemble"]
    assert attribute_trades(trades, bars, {"a": voters["a"]}, "close") == ["a", "a", "a"]
