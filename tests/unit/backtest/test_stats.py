"""compute_stats' own tables and edges: attribution, buy-and-hold baskets, JSON, bad input."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from robo_tui.backtest.stats import (
    TradeRecord,
    compute_stats,
    drawdown,
    format_timedelta,
    numeric_stat_names,
    to_json,
    to_ns,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def days(n: int) -> list[datetime]:
    return [T0 + timedelta(days=i) for i in range(n)]


def trade(
    symbol: str,
    strategy: str,
    entry: int,
    exit_: int,
    size: float,
    pin: float,
    pout: float,
    commission: float = 1.0,
) -> TradeRecord:
    return TradeRecord.round_trip(
        symbol=symbol,
        size=size,
        entry_bar=entry,
        exit_bar=exit_,
        entry_time=T0 + timedelta(days=entry),
        exit_time=T0 + timedelta(days=exit_),
        entry_price=pin,
        exit_price=pout,
        commission=commission,
        strategy=strategy,
    )


def test_attribution_when_two_strategies_trade_then_pnl_splits_and_sums_to_total() -> None:
    trades = [
        trade("AAA", "trend", 1, 5, 10, 100, 110),  # +99
        trade("BBB", "trend", 6, 8, -5, 50, 55),  # -26
        trade("AAA", "reversion", 10, 12, 20, 100, 101),  # +19
    ]
    equity = np.full(20, 10_000.0)
    equity[5:] += 99
    equity[8:] -= 26
    equity[12:] += 19
    stats = compute_stats(equity=equity, index=days(20), trades=trades, close=None)
    by = {a.name: a for a in stats.by_strategy}
    assert set(by) == {"trend", "reversion"}
    assert by["trend"].trades == 2
    assert by["trend"].pnl == pytest.approx(73.0)
    assert by["trend"].win_rate_pct == 50.0
    assert by["reversion"].pnl == pytest.approx(19.0)
    assert by["trend"].pnl_share_pct + by["reversion"].pnl_share_pct == pytest.approx(100.0)
    assert by["trend"].contribution_pct == pytest.approx(73.0 / 10_000 * 100)
    assert by["trend"].exposure_pct == pytest.approx(8 / 20 * 100)  # bars 1..8
    assert {a.name for a in stats.by_symbol} == {"AAA", "BBB"}
    assert stats.exposure_pct == pytest.approx(11 / 20 * 100)  # bars 1..8 and 10..12
    assert stats.commissions == pytest.approx(3.0)
    assert math.isnan(stats.buy_hold_return_pct)


def test_buy_and_hold_when_close_is_a_mapping_then_it_is_the_equal_weight_basket() -> None:
    n = 10
    a = np.linspace(100, 120, n)  # +20%
    b = np.linspace(50, 40, n)  # -20% ... from bar 0
    b_late = b.copy()
    b_late[:3] = np.nan  # listed at bar 3
    equity = np.linspace(1000, 1100, n)
    stats = compute_stats(equity=equity, index=days(n), trades=[], close={"A": a, "B": b})
    assert stats.buy_hold_return_pct == pytest.approx(0.0)
    late = compute_stats(equity=equity, index=days(n), trades=[], close={"A": a, "B": b_late})
    expected = ((120 / 100 - 1) + (40 / b[3] - 1)) / 2 * 100
    assert late.buy_hold_return_pct == pytest.approx(expected)


def test_buy_and_hold_when_warmup_given_then_starts_at_that_bar() -> None:
    close = np.array([10.0, 20.0, 25.0, 30.0])
    stats = compute_stats(
        equity=np.ones(4) * 100, index=days(4), trades=[], close=close, warmup_bars=1
    )
    assert stats.buy_hold_return_pct == pytest.approx(50.0)
    assert stats.buy_hold_max_drawdown_pct == 0.0


def test_drawdown_when_equity_falls_then_is_positive_fraction_of_running_peak() -> None:
    dd = drawdown(np.array([100.0, 120.0, 90.0, 130.0]))
    np.testing.assert_allclose(dd, [0.0, 0.0, 0.25, 0.0])
    stats = compute_stats(
        equity=np.array([100.0, 120.0, 90.0, 130.0]), index=days(4), trades=[], close=None
    )
    assert stats.max_drawdown_pct == pytest.approx(-25.0)
    assert stats.max_drawdown_duration == "2 days 00:00:00"
    assert stats.max_drawdown_duration_days == 2.0


def test_to_json_when_dumped_strictly_then_has_issue_keys_and_trade_list() -> None:
    trades = [trade("AAA", "trend", 1, 3, 10, 100, 110)]  # no loser: profit factor undefined
    open_ = [trade("AAA", "trend", 4, 5, 10, 100, 104, commission=0.5)]
    equity = np.array([1000.0, 1000, 1050, 1099, 1099, 1139])
    stats = compute_stats(
        equity=equity, index=days(6), trades=trades, close=None, open_trades=open_
    )
    data = json.loads(json.dumps(to_json(stats, trades, open_trades=open_), allow_nan=False))
    for key in (
        "start",
        "end",
        "bars",
        "return_pct",
        "buy_hold_return_pct",
        "cagr_pct",
        "volatility_ann_pct",
        "sharpe",
        "sortino",
        "calmar",
        "max_drawdown_pct",
        "max_drawdown_duration",
        "trades",
        "win_rate_pct",
        "profit_factor",
        "expectancy_pct",
        "sqn",
        "exposure_pct",
        "equity_final",
        "equity_peak",
    ):
        assert key in data
    assert data["start"] == "2024-01-01T00:00:00+00:00"
    assert data["profit_factor"] is None
    assert data["trades"] == 1 and data["open_trades"] == 1
    (row,) = data["trade_list"]
    assert row["entry_bar"] == 1 and row["exit_bar"] == 3
    assert row["entry_price"] == 100 and row["size"] == 10
    assert row["pnl"] == pytest.approx(99.0)
    assert row["exit_time"] == "2024-01-04T00:00:00+00:00"
    assert row["duration"] == "2 days 00:00:00"
    assert data["open_trade_list"][0]["entry_bar"] == 4


def test_compute_stats_when_input_is_inconsistent_then_raises_value_error() -> None:
    with pytest.raises(ValueError, match="timestamps"):
        compute_stats(equity=np.ones(3), index=days(2), trades=[], close=None)
    with pytest.raises(ValueError, match="sorted"):
        compute_stats(equity=np.ones(3), index=days(3)[::-1], trades=[], close=None)
    with pytest.raises(ValueError, match="empty"):
        compute_stats(equity=np.ones(0), index=[], trades=[], close=None)
    with pytest.raises(ValueError, match="close"):
        compute_stats(equity=np.ones(3), index=days(3), trades=[], close=np.ones(2))
    with pytest.raises(ValueError, match="risk_free_rate"):
        compute_stats(equity=np.ones(3), index=days(3), trades=[], close=None, risk_free_rate=5)


def test_to_ns_when_given_datetimes_or_datetime64_or_ints_then_agrees() -> None:
    stamps = days(3)
    ns = to_ns(stamps)
    naive = [s.replace(tzinfo=None) for s in stamps]
    np.testing.assert_array_equal(to_ns(np.array(naive, dtype="datetime64[ns]")), ns)
    np.testing.assert_array_equal(to_ns(ns), ns)
    np.testing.assert_array_equal(to_ns(naive), ns)


def test_format_timedelta_when_fractional_then_prints_like_pandas() -> None:
    assert format_timedelta(1.5 * 86_400e9) == "1 days 12:00:00"
    assert format_timedelta(math.nan) == ""
    assert format_timedelta(1_500_000_000) == "0 days 00:00:01.5"


def test_metric_when_name_is_numeric_then_returns_float_else_raises() -> None:
    stats = compute_stats(equity=np.linspace(1, 2, 30), index=days(30), trades=[], close=None)
    assert stats.metric("return_pct") == pytest.approx(100.0)
    assert "sharpe" in numeric_stat_names() and "start" not in numeric_stat_names()
    with pytest.raises(TypeError):
        stats.metric("max_drawdown_duration")


def test_compute_stats_when_series_spans_more_than_292_years_then_durations_do_not_overflow() -> (
    None
):
    stamps = [
        datetime(1700, 1, 1, tzinfo=UTC),
        datetime(1800, 1, 1, tzinfo=UTC),
        datetime(2100, 1, 1, tzinfo=UTC),
    ]
    stats = compute_stats(equity=np.array([100.0, 90.0, 95.0]), index=stamps, trades=[], close=None)
    assert stats.duration == f"{(stamps[2] - stamps[0]).days} days 00:00:00"
    assert stats.max_drawdown_duration == f"{(stamps[2] - stamps[0]).days} days 00:00:00"
    assert stats.cagr_pct < 0


def test_to_ns_when_datetime64_is_beyond_2262_then_raises_value_error() -> None:
    with pytest.raises(ValueError, match="2262"):
        to_ns(np.array(["2300-01-01"], dtype="datetime64[us]"))
