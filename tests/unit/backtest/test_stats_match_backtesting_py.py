"""compute_stats reproduces backtesting.py's statistics from backtesting.py's own equity and trades.

Each case runs the README SmaCross through backtesting.py, feeds its equity curve and closed trades
into compute_stats, and compares every statistic to a relative 1e-6.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest, Strategy
from backtesting.lib import compute_stats as peer_compute_stats

from robo_tui.backtest.stats import BacktestStats, TradeRecord, compute_stats

from .peer import PeerRun, goog, records, run_peer

# backtesting.py's key -> our field
NUMERIC = {
    "Exposure Time [%]": "exposure_pct",
    "Equity Final [$]": "equity_final",
    "Equity Peak [$]": "equity_peak",
    "Return [%]": "return_pct",
    "Buy & Hold Return [%]": "buy_hold_return_pct",
    "Return (Ann.) [%]": "return_ann_pct",
    "Volatility (Ann.) [%]": "volatility_ann_pct",
    "CAGR [%]": "cagr_pct",
    "Sharpe Ratio": "sharpe",
    "Sortino Ratio": "sortino",
    "Calmar Ratio": "calmar",
    "Alpha [%]": "alpha_pct",
    "Beta": "beta",
    "Max. Drawdown [%]": "max_drawdown_pct",
    "Avg. Drawdown [%]": "avg_drawdown_pct",
    "# Trades": "trades",
    "Win Rate [%]": "win_rate_pct",
    "Best Trade [%]": "best_trade_pct",
    "Worst Trade [%]": "worst_trade_pct",
    "Avg. Trade [%]": "avg_trade_pct",
    "Profit Factor": "profit_factor",
    "Expectancy [%]": "expectancy_pct",
    "SQN": "sqn",
    "Kelly Criterion": "kelly_criterion",
}
DURATIONS = {
    "Duration": "duration",
    "Max. Drawdown Duration": "max_drawdown_duration",
    "Avg. Drawdown Duration": "avg_drawdown_duration",
    "Max. Trade Duration": "max_trade_duration",
    "Avg. Trade Duration": "avg_trade_duration",
}
pytestmark = pytest.mark.filterwarnings("ignore:DatetimeIndex.dayofweek")
WARMUP = 19  # SMA(20) has 19 NaN bars: backtesting.py starts buy-and-hold there


def ours(run: PeerRun, *, warmup: int = WARMUP, risk_free_rate: float = 0.0) -> BacktestStats:
    return compute_stats(
        equity=run.equity,
        index=run.data.index,
        trades=run.trades,
        close=run.data["Close"].to_numpy(),
        risk_free_rate=risk_free_rate,
        warmup_bars=warmup,
    )


def mismatches(peer: pd.Series, mine: BacktestStats) -> list[str]:
    """Every statistic where we differ from the peer (empty when all match)."""
    bad = []
    for key, name in NUMERIC.items():
        theirs, value = float(peer[key]), float(getattr(mine, name))
        if math.isnan(theirs) and math.isnan(value):
            continue
        if not math.isclose(theirs, value, rel_tol=1e-6, abs_tol=1e-12):
            bad.append(f"{name}: ours {value!r} theirs {theirs!r}")
    for key, name in DURATIONS.items():
        theirs_td = peer[key]
        expected = "" if pd.isna(theirs_td) else str(pd.Timedelta(theirs_td))
        if getattr(mine, name) != expected:
            bad.append(f"{name}: ours {getattr(mine, name)!r} theirs {expected!r}")
    if "Commissions [$]" in peer and not math.isclose(
        peer["Commissions [$]"], mine.commissions, rel_tol=1e-6
    ):
        bad.append(f"commissions: ours {mine.commissions} theirs {peer['Commissions [$]']}")
    if pd.Timestamp(peer["Start"]).tz_localize("UTC") != pd.Timestamp(mine.start):
        bad.append("start")
    if pd.Timestamp(peer["End"]).tz_localize("UTC") != pd.Timestamp(mine.end):
        bad.append("end")
    return bad


@pytest.fixture(scope="module")
def readme_run() -> PeerRun:
    return run_peer(goog())


def test_compute_stats_when_fed_backtesting_py_readme_run_then_every_statistic_matches(
    readme_run: PeerRun,
) -> None:
    mine = ours(readme_run)
    assert mismatches(readme_run.stats, mine) == []
    assert mine.bars == len(readme_run.data)
    assert mine.annual_trading_days == 252
    assert mine.trades == 93  # the position open at the end is not a closed trade


def test_compute_stats_when_data_trades_every_calendar_day_then_annualises_by_365() -> None:
    data = goog()
    data.index = pd.date_range("2015-01-01", periods=len(data), freq="D")
    run = run_peer(data)
    mine = ours(run)
    assert mine.annual_trading_days == 365
    assert mismatches(run.stats, mine) == []


def test_compute_stats_when_data_is_hourly_then_matches_and_rounds_durations_to_hours() -> None:
    data = goog()
    data.index = pd.date_range("2020-01-06 09:00", periods=len(data), freq="h")
    run = run_peer(data)
    mine = ours(run)
    assert mismatches(run.stats, mine) == []
    assert mine.max_drawdown_duration.endswith(":00:00")  # ceiled to whole hours
    assert mine.avg_trade_duration.endswith(":00:00")


def test_compute_stats_when_data_is_weekly_then_uses_weekly_returns_and_52_periods() -> None:
    data = goog()
    data.index = pd.date_range("1990-01-05", periods=len(data), freq="7D")
    run = run_peer(data)
    mine = ours(run)
    assert mine.annual_trading_days == 52
    assert mismatches(run.stats, mine) == []


def test_compute_stats_when_data_is_month_end_then_uses_monthly_returns() -> None:
    data = (
        goog()
        .resample("ME")
        .agg({"Open": "first", "High": "max", "Low": "min", "Close": "last", "Volume": "sum"})
    )
    run = run_peer(data)
    mine = ours(run)
    assert mine.annual_trading_days == 12
    assert mismatches(run.stats, mine) == []


def test_compute_stats_when_open_trades_are_finalized_then_they_count_like_the_peer() -> None:
    run = run_peer(goog(), finalize_trades=True)
    mine = ours(run)
    assert mine.trades == 94
    assert mismatches(run.stats, mine) == []


def test_compute_stats_when_risk_free_rate_is_set_then_sharpe_sortino_alpha_match(
    readme_run: PeerRun,
) -> None:
    peer = peer_compute_stats(stats=readme_run.stats, data=readme_run.data, risk_free_rate=0.03)
    mine = ours(readme_run, risk_free_rate=0.03)
    assert mismatches(peer, mine) == []
    assert mine.sharpe < ours(readme_run).sharpe


def test_compute_stats_when_given_only_long_trades_then_matches_the_peers_subset_stats(
    readme_run: PeerRun,
) -> None:
    frame = readme_run.stats._trades
    longs = frame[frame.Size > 0]
    peer = peer_compute_stats(stats=readme_run.stats, data=readme_run.data, trades=longs)
    equity = peer._equity_curve["Equity"].to_numpy()
    mine = compute_stats(
        equity=equity,
        index=readme_run.data.index,
        trades=records(longs),
        close=readme_run.data["Close"].to_numpy(),
        warmup_bars=WARMUP,
    )
    assert mismatches(peer, mine) == []
    assert mine.exposure_pct < ours(readme_run).exposure_pct


class NeverTrades(Strategy):  # type: ignore[misc]
    def init(self) -> None:
        pass

    def next(self) -> None:
        pass


def test_compute_stats_when_no_trade_happens_then_undefined_figures_are_nan_like_the_peer() -> None:
    data = goog()
    bt = Backtest(data, NeverTrades, cash=10_000, commission=0.002)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = bt.run()
    mine = compute_stats(
        equity=peer._equity_curve["Equity"].to_numpy(),
        index=data.index,
        trades=[],
        close=data["Close"].to_numpy(),
    )
    assert mismatches(peer, mine) == []
    assert mine.trades == 0
    assert math.isnan(mine.win_rate_pct)
    assert mine.return_pct == 0.0
    assert mine.max_drawdown_duration == ""


def test_round_trip_when_built_from_the_peers_fills_then_pnl_and_return_match(
    readme_run: PeerRun,
) -> None:
    for trade in readme_run.trades:
        rebuilt = TradeRecord.round_trip(
            symbol=trade.symbol,
            size=trade.size,
            entry_bar=trade.entry_bar,
            exit_bar=trade.exit_bar,
            entry_time=trade.entry_time,
            exit_time=trade.exit_time,
            entry_price=trade.entry_price,
            exit_price=trade.exit_price,
            commission=trade.commission,
            strategy=trade.strategy,
        )
        assert rebuilt.pnl == pytest.approx(trade.pnl, rel=1e-9, abs=1e-9)
        assert rebuilt.return_pct == pytest.approx(trade.return_pct, rel=1e-9, abs=1e-12)


def test_monthly_returns_when_computed_then_equal_pandas_month_end_resampling(
    readme_run: PeerRun,
) -> None:
    mine = ours(readme_run)
    curve = pd.Series(readme_run.equity, index=readme_run.data.index)
    month_end = curve.resample("ME").last().dropna()
    expected = (month_end / month_end.shift(1, fill_value=curve.iloc[0]) - 1) * 100
    got = [(m.year, m.month, m.return_pct) for m in mine.monthly_returns]
    want: list[Any] = [(ts.year, ts.month, r) for ts, r in expected.items()]
    assert [g[:2] for g in got] == [w[:2] for w in want]
    np.testing.assert_allclose([g[2] for g in got], [w[2] for w in want], rtol=1e-12)
    compounded = np.prod([1 + y.return_pct / 100 for y in mine.yearly_returns]) - 1
    assert compounded * 100 == pytest.approx(mine.return_pct, rel=1e-9)
