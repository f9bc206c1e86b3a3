"""SMA crossover: backtesting.py's crossover semantics, forward-filled state, explanations."""

from __future__ import annotations

import numpy as np
import pytest
from backtesting import Backtest
from backtesting.lib import crossover as bt_crossover
from backtesting.test import SMA
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_tui.engine.indicators import crossover
from robo_tui.engine.strategies import SmaCross, build_strategy
from tests.unit.backtest.peer import SmaCross as ReadmeSmaCross

from .series import bars_from_close, goog


def change_points(scores: np.ndarray) -> list[tuple[int, int]]:
    """(bar, new direction) wherever the score takes a new value (NaN → value included)."""
    prev = np.concatenate(([np.nan], scores[:-1]))
    idx = np.flatnonzero((scores != prev) & ~np.isnan(scores))
    return [(int(i), int(scores[i])) for i in idx]


def test_cross_bars_when_on_goog_then_equal_backtesting_py_crossover() -> None:
    bars = goog()
    sma1 = SMA(bars.close, 10).to_numpy()
    sma2 = SMA(bars.close, 20).to_numpy()
    expected = []
    for i in range(len(bars)):
        if bt_crossover(sma1[: i + 1], sma2[: i + 1]):
            expected.append((i, 1))
        elif bt_crossover(sma2[: i + 1], sma1[: i + 1]):
            expected.append((i, -1))
    got = change_points(SmaCross(10, 20).scores(bars))
    assert len(expected) > 80
    assert got == expected


def test_direction_changes_when_on_goog_then_are_backtesting_py_entries_one_bar_earlier() -> None:
    from backtesting.test import GOOG

    bt = Backtest(
        GOOG, ReadmeSmaCross, cash=10_000, commission=0.002, exclusive_orders=True,
        finalize_trades=True,
    )
    trades = bt.run()._trades
    entries = [(int(bar) - 1, int(np.sign(size))) for bar, size in zip(trades.EntryBar, trades.Size)]
    got = change_points(SmaCross(10, 20).scores(goog()))
    assert len(entries) == 94
    assert got[: len(entries)] == entries
    # any later change is a cross on the last bar, which backtesting.py can never fill
    assert all(i == len(GOOG) - 1 for i, _ in got[len(entries) :])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 4), min_size=0, max_size=12),
    st.lists(st.integers(0, 4), min_size=0, max_size=12),
)
def test_crossover_when_values_tie_or_touch_then_matches_backtesting_py(
    a_vals: list[int], b_vals: list[int]
) -> None:
    n = min(len(a_vals), len(b_vals))
    a = np.array(a_vals[:n], dtype=np.float64)
    b = np.array(b_vals[:n], dtype=np.float64)
    got = crossover(a, b)
    for i in range(n):
        assert bool(got[i]) == bool(bt_crossover(a[: i + 1], b[: i + 1])), (a, b, i)


def test_scores_when_price_rises_then_falls_then_long_from_cross_up_and_short_from_cross_down() -> (
    None
):
    close = [10, 10, 10, 9, 8, 9, 11, 13, 14, 13, 11, 9, 8, 8]
    s = SmaCross(fast=2, slow=3).scores(bars_from_close(close))
    # SMA2 8.5 < SMA3 8.67 at bar 5, 10 > 9.33 at bar 6: cross up at bar 6.
    # SMA2 13.5 > SMA3 13.33 at bar 9, 12 < 12.67 at bar 10: cross down at bar 10.
    assert np.isnan(s[:6]).all()
    assert (s[6:10] == 1.0).all()
    assert (s[10:] == -1.0).all()


def test_scores_when_averages_touch_and_part_downwards_then_no_cross_and_long_holds() -> None:
    close = [5, 4, 3, 4, 6, 6, 6, 6, 5]
    bars = bars_from_close(close)
    fast, slow = SmaCross(fast=2, slow=3).averages(bars)
    assert fast[6] == slow[6] == 6.0 and fast[8] < slow[8]  # touch, then below
    s = SmaCross(fast=2, slow=3).scores(bars)
    assert np.isnan(s[:4]).all() and (s[4:] == 1.0).all()
    assert not any(bt_crossover(slow[: i + 1], fast[: i + 1]) for i in range(len(close)))


def test_explain_when_cross_happened_then_names_both_averages_with_values() -> None:
    bars = goog()
    strategy = SmaCross(10, 20)
    s = strategy.scores(bars)
    first_cross = change_points(s)[0][0]
    reason = strategy.explain(bars, first_cross)
    assert reason.startswith("SMA10 ") and "crossed below SMA20" in reason and "this bar" in reason
    later = strategy.explain(bars, first_cross + 3)
    assert "3 bars ago" in later and "now SMA10" in later
    assert "warming up" in strategy.explain(bars, 5)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"fast": "20", "slow": "10"}, "fast (20) must be shorter than slow (10)"),
        ({"fast": "ten"}, "param 'fast'"),
        ({"fast": "1"}, "param 'fast'"),
        ({"slow": "2.5"}, "param 'slow'"),
        ({"window": "5"}, "unknown param 'window'"),
    ],
)
def test_build_strategy_when_params_are_bad_then_value_error_names_them(
    params: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match="sma_cross") as err:
        build_strategy("sma_cross", params)
    assert message in str(err.value)


def test_build_strategy_when_name_is_unknown_then_value_error_lists_known_names() -> None:
    with pytest.raises(ValueError, match="known: breakout, mean_reversion, sma_cross"):
        build_strategy("smacross", {})


def test_explain_when_averages_cross_within_a_cent_then_shows_the_decimals_that_tell_them_apart() -> None:
    from tests.unit.strategies.series import bars_from_close

    close = [172.64] * 5 + [172.636, 172.632, 172.634, 172.641, 172.645]
    text = SmaCross(2, 3).explain(bars_from_close(close), len(close) - 1)
    assert text.startswith("SMA2 172.637 crossed above SMA3 172.636 (1 bar ago")
    assert text.endswith("now SMA2 172.643 vs SMA3 172.640")
