"""The HTML report's charts: the price chart with volume and trades, the buy-and-hold overlay,
the log-scale toggle and markers that merge instead of piling up."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from robo_tui.backtest.html import buy_and_hold, merge_marks, render_html
from robo_tui.backtest.stats import BacktestStats, compute_stats, drawdown
from robo_tui.domain.market import BarArrays

from .peer import PeerRun, goog, run_peer


@pytest.fixture(scope="module")
def run() -> PeerRun:
    return run_peer(goog())


@pytest.fixture(scope="module")
def stats(run: PeerRun) -> BacktestStats:
    return compute_stats(equity=run.equity, index=run.data.index, trades=run.trades,
                         close=run.data["Close"].to_numpy(), warmup_bars=19)


def _bars(run: PeerRun, n: int | None = None) -> BarArrays:
    data = run.data if n is None else run.data.iloc[:n]
    col = lambda name: data[name].to_numpy(dtype=np.float64)
    return BarArrays("GOOG", data.index.to_numpy(dtype="datetime64[ns]").astype(np.int64),
                     col("Open"), col("High"), col("Low"), col("Close"), col("Volume"))


def _html(run: PeerRun, stats: BacktestStats, bars: BarArrays, hold_from: int = 19) -> str:
    return render_html(stats, run.trades, run.equity, drawdown(run.equity), run.data.index,
                       title="GOOG", bars={"GOOG": bars}, hold_from=hold_from)


def _svgs(html: str) -> list[str]:
    return re.findall(r"<svg .*?</svg>", html, flags=re.DOTALL)


def test_render_html_when_bars_given_then_price_chart_with_volume_and_every_trade(run, stats):
    html = _html(run, stats, _bars(run))
    assert "<script" not in html and "http" not in html and "<link" not in html
    svgs = _svgs(html)
    assert len(svgs) == 4  # equity (linear), equity (log), drawdown, GOOG price
    price = svgs[3]
    assert 'aria-label="GOOG price"' in price and "GOOG price and volume (93 trades)" in html
    assert price.count('class="vol"') > 500  # a volume bar per decimated bar
    assert 'class="band"' in price and 'class="close"' in price  # 2,148 bars: no candles
    entries = re.findall(r'<polygon class="(?:long|short)" data-n="(\d+)"', price)
    exits = re.findall(r'<circle class="(?:win|loss)" data-n="(\d+)"', price)
    assert sum(map(int, entries)) == 93 and sum(map(int, exits)) == 93


def test_render_html_when_few_bars_then_candles(run, stats):
    bars = _bars(run, 120)
    price = _svgs(_html(run, stats, bars))[3]
    candles = re.findall(r'<rect class="c(?:up|down)"', price)
    assert len(candles) == 120


def test_buy_and_hold_when_held_from_warmup_then_equity_times_the_close_ratio(run):
    bars = _bars(run)
    ts = bars.ts
    held = buy_and_hold(run.equity, ts, {"GOOG": bars}, start=19)
    assert held is not None and np.isnan(held[:19]).all()
    expected = run.equity[19] * bars.close[-1] / bars.close[19]
    assert held[-1] == pytest.approx(expected)
    assert buy_and_hold(run.equity, ts, {}, 0) is None


def test_render_html_when_bars_given_then_equity_has_dashed_buy_and_hold_and_log_toggle(run, stats):
    html = _html(run, stats, _bars(run))
    linear, log = _svgs(html)[:2]
    assert 'class="bh"' in linear and 'class="bh"' in log
    assert 'class="eq-lin"' in linear and 'class="eq-log"' in log
    assert '<input type="checkbox" id="log-scale">' in html
    assert "#log-scale:checked ~ .eq-log { display: block; }" in html
    # on the log axis equal ratios are equal heights: the labels grow geometrically
    labels = [float(v.replace(",", "")) for v in
              re.findall(r'text-anchor="end">([\d,]+)</text>', log)[:5]]
    ratios = [b / a for a, b in pairwise(labels)]
    assert max(ratios) - min(ratios) < 0.02


def test_markers_when_trades_are_close_then_merged_and_none_pile_up(run, stats):
    linear = _svgs(_html(run, stats, _bars(run)))[0]
    for kind in ("win", "loss"):
        found = re.findall(rf'<circle class="{kind}" data-n="\d+" cx="([\d.]+)"', linear)
        xs = sorted(float(x) for x in found)
        assert all(b - a >= 3.5 for a, b in pairwise(xs))  # merged groups sit apart
    merged = re.findall(r'data-n="(\d+)"', linear)
    assert any(int(n) > 1 for n in merged)
    assert re.search(r'<text class="count"[^>]*>\d+</text>', linear)


def test_merge_marks_when_points_within_the_gap_then_one_mark_for_all_their_trades(run):
    t1, t2, t3 = run.trades[:3]
    marks = merge_marks([(100.0, 10.0, "long", t1), (104.0, 20.0, "long", t2),
                         (120.0, 30.0, "long", t3), (101.0, 5.0, "win", t1)], min_px=7)
    longs = sorted((m for m in marks if m.kind == "long"), key=lambda m: m.x)
    assert [len(m.trades) for m in longs] == [2, 1]
    assert longs[0].x == pytest.approx(102.0) and longs[0].y == pytest.approx(15.0)
    assert [m.kind for m in marks].count("win") == 1


def test_write_when_rendered_then_one_file_without_network(run, stats, tmp_path: Path):
    path = tmp_path / "r.html"
    path.write_text(_html(run, stats, _bars(run)), encoding="utf-8")
    assert path.stat().st_size < 3_000_000
