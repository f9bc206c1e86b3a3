"""The terminal and HTML reports show the run's figures, escape outside text and need no network."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from robo_tui.backtest.html import write_html_report
from robo_tui.backtest.report import (
    decimate,
    equity_chart,
    fmt_duration,
    fmt_num,
    fmt_price,
    render_report,
    render_walk_forward,
)
from robo_tui.backtest.stats import BacktestStats, TradeRecord, compute_stats, drawdown
from robo_tui.backtest.walkforward import (
    WalkForwardResult,
    param_grid,
    rolling_windows,
    walk_forward,
)

from .peer import PeerRun, goog, run_peer
from .synthetic import N_BARS, run_random_walk

HOSTILE = "[bold red]evil[/] <script>alert(1)</script> & co"


@pytest.fixture(scope="module")
def run() -> PeerRun:
    return run_peer(goog())


@pytest.fixture(scope="module")
def stats(run: PeerRun) -> BacktestStats:
    return compute_stats(
        equity=run.equity,
        index=run.data.index,
        trades=run.trades,
        close=run.data["Close"].to_numpy(),
        warmup_bars=19,
    )


def render(
    run: PeerRun,
    stats: BacktestStats,
    trades: list[TradeRecord],
    *,
    max_trades: int = 20,
    chart: bool = True,
    width: int = 140,
) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None)
    render_report(
        stats,
        trades,
        run.equity,
        drawdown(run.equity),
        run.data.index,
        console=console,
        max_trades=max_trades,
        chart=chart,
    )
    return out.getvalue()


def test_render_report_when_given_goog_run_then_shows_summary_benchmark_monthly_and_chart(
    run: PeerRun, stats: BacktestStats
) -> None:
    text = render(run, stats, run.trades)
    for expected in ("462.64%", "607.37%", "-33.93%", "830 days", "52.69%", "Sharpe"):
        assert expected in text
    assert "Strategy vs buy & hold" in text and "-65.29%" in text  # buy-and-hold drawdown
    assert re.search(r"2008 .*131\.6", text)  # the 2008 row ends with the year's return
    assert "Per-strategy attribution" in text and "sma_cross" in text
    assert "Trades (last 20 of 93)" in text
    assert "Equity and drawdown" in text and "2004-08-19" in text and "2013-03-01" in text
    assert "\x1b[" not in text  # no colour codes for a colourless console


def test_render_report_when_console_is_80_columns_then_tables_go_compact_and_cut_no_figure(
    run: PeerRun, stats: BacktestStats
) -> None:
    text = render(run, stats, run.trades, chart=False, width=80)
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    for expected in ("462.64%", "56,263.52", "830 days", "52.69%", "0.2093", "-16.83%"):
        assert expected in text  # the summary, two sections to a band
    assert re.search(r"2008 .* 132 *$", text, re.MULTILINE)  # monthly returns in whole percents
    assert re.search(r"sma_cross +93 +39,187\.88 +100\.0% +52\.7% +1\.99 +2\.29%", text)
    last = run.trades[-1]  # one symbol and one strategy: the trade rows name neither
    assert re.search(rf"short +69 +2012-10-19 +705\.58 +2012-12-03 +702\.24 +{last.pnl:,.2f}", text)


def test_render_report_when_console_is_wide_then_trades_keep_symbol_strategy_and_bars(
    run: PeerRun, stats: BacktestStats
) -> None:
    text = render(run, stats, run.trades, chart=False, width=140)
    assert re.search(r"GOOG +│ sma_cross +│ short +│ +69 │ 2012-10-19 #2059 +│ +705\.58", text)
    assert "Contribution" in text and "Commission" in text


def test_render_report_when_names_contain_markup_then_prints_them_literally(
    run: PeerRun, stats: BacktestStats
) -> None:
    hostile = [replace(t, strategy=HOSTILE) for t in run.trades]
    hostile_stats = replace(
        stats, by_strategy=tuple(replace(a, name=HOSTILE) for a in stats.by_strategy)
    )
    text = render(run, hostile_stats, hostile, chart=False)
    assert "[bold red]evil[/]" in text


def test_render_report_when_max_trades_is_zero_then_hides_trade_table(
    run: PeerRun, stats: BacktestStats
) -> None:
    text = render(run, stats, run.trades, max_trades=0, chart=False)
    assert "Trades (" not in text and "Equity and drawdown" not in text


def test_equity_chart_when_width_given_then_lines_fit_and_show_both_panels(run: PeerRun) -> None:
    art = equity_chart(run.equity, drawdown(run.equity), run.data.index, width=100, color=False)
    lines = art.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert "Equity" in art and "Drawdown (%)" in art
    assert "56309.1" in art  # decimation keeps the equity peak: the y axis reaches it


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_write_html_report_when_written_then_self_contained_with_charts_markers_and_tables(
    run: PeerRun, stats: BacktestStats, tmp_path: Path
) -> None:
    path = write_html_report(
        tmp_path / "sub" / "report.html",
        stats,
        run.trades,
        run.equity,
        drawdown(run.equity),
        run.data.index,
        title="GOOG sma_cross",
    )
    html = path.read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(html)
    assert "http" not in html and "<script" not in html and "<link" not in html
    # equity on a linear and on a log axis (the toggle shows one), then the drawdown
    assert parser.tags.count("svg") == 3 and "polyline" in parser.tags
    # every trade has its entry and exit marker in each equity chart (close ones merged)
    entries = re.findall(r'<polygon class="(?:long|short)" data-n="(\d+)"', html)
    exits = re.findall(r'<circle class="(?:win|loss)" data-n="(\d+)"', html)
    assert sum(map(int, entries)) == 2 * 93 and sum(map(int, exits)) == 2 * 93
    assert len(entries) < 2 * 93  # some merged
    body = " ".join(parser.text)
    for expected in ("462.64%", "607.37%", "-33.93%", "Monthly returns", "131.6", "Trades (93)"):
        assert expected in body
    assert body.count("GOOG") >= 93  # every trade is listed


def test_write_html_report_when_text_is_hostile_then_everything_is_escaped(
    run: PeerRun, stats: BacktestStats, tmp_path: Path
) -> None:
    hostile = [replace(t, strategy=HOSTILE, symbol="<img src=x>") for t in run.trades]
    hostile_stats = replace(
        stats, by_strategy=tuple(replace(a, name=HOSTILE) for a in stats.by_strategy)
    )
    html = write_html_report(
        tmp_path / "r.html",
        hostile_stats,
        hostile,
        run.equity,
        drawdown(run.equity),
        run.data.index,
        title=HOSTILE,
    ).read_text(encoding="utf-8")
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "&lt;img src=x&gt;" in html


def test_write_html_report_when_lengths_disagree_then_raises_value_error(
    run: PeerRun, stats: BacktestStats, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="one value per bar"):
        write_html_report(
            tmp_path / "r.html",
            stats,
            run.trades,
            run.equity,
            drawdown(run.equity)[:-1],
            run.data.index,
            title="x",
        )


def test_decimate_when_series_is_long_then_keeps_extremes_and_endpoints() -> None:
    values = np.sin(np.linspace(0, 60, 100_000)) + np.linspace(0, 1, 100_000)
    values[54_321] = 9.0
    values[7_777] = -9.0
    idx, picked = decimate(values, 400)
    assert idx.size <= 404 and idx[0] == 0 and idx[-1] == values.size - 1
    assert 9.0 in picked and -9.0 in picked
    assert np.all(np.diff(idx) > 0)
    _, lows = decimate(-np.abs(values), 100, "min")
    assert lows.min() == -9.0


@pytest.fixture(scope="module")
def walk() -> WalkForwardResult:
    return walk_forward(
        run_random_walk,
        param_grid({"fast": [5, 10, 20], "slow": [30, 50, 100]}),
        rolling_windows(N_BARS, 500, 250),
        processes=1,
    )


def render_walk(result: WalkForwardResult, width: int) -> str:
    out = io.StringIO()
    render_walk_forward(result, console=Console(file=out, width=width, color_system=None))
    return out.getvalue()


def test_render_walk_forward_when_oos_degrades_then_shows_both_samples_and_the_guard(
    walk: WalkForwardResult,
) -> None:
    result = walk
    text = render_walk(result, 160)
    assert "In-sample vs out-of-sample" in text and "Overfitting guard" in text
    assert "54 (6 × 9)" in text
    assert f"{result.out_of_sample.metric_mean:,.3f}" in text
    assert f"{result.in_sample.metric_mean:,.3f}" in text
    assert "likely overfit" in text
    assert "2015-01-01 → 2016-05-14" in text  # first train window's dates, unwrapped


def test_render_walk_forward_when_console_is_80_columns_then_windows_keep_every_figure(
    walk: WalkForwardResult,
) -> None:
    result = walk
    text = render_walk(result, 80)
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    first = result.windows[0]
    assert f"{first.is_metric:,.3f}" in text and f"{first.oos_metric:,.3f}" in text
    assert f"{first.out_of_sample.return_pct:,.2f}%" in text


def test_fmt_duration_when_parts_are_zero_then_drops_them() -> None:
    assert fmt_duration("830 days 00:00:00") == "830 days"
    assert fmt_duration("1 days 00:00:00") == "1 day"
    assert fmt_duration("0 days 04:00:00") == "04:00:00"
    assert fmt_duration("2 days 06:30:00") == "2d 06:30:00"
    assert fmt_duration("") == "—"


def test_fmt_price_when_given_prices_then_shows_the_decimals_they_have() -> None:
    assert fmt_price(593.0) == "593.00"
    assert fmt_price(545.29) == "545.29"
    assert fmt_price(1.23456) == "1.23456"
    assert fmt_price(12345.678) == "12,345.678"
    assert fmt_price(1 / 3) == "0.333333"


def test_fmt_num_when_a_small_negative_rounds_to_zero_then_drops_the_sign() -> None:
    assert fmt_num(-0.001) == "0.00"
    assert fmt_num(-0.4, 0) == "0"
    assert fmt_num(-0.6, 0) == "-1"
