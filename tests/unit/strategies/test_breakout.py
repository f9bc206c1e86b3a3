"""Donchian breakout: entries on channel breaks, exits on the shorter opposite channel."""

from __future__ import annotations

import numpy as np
import pytest

from robo_tui.domain.market import BarArrays
from robo_tui.engine.strategies import Breakout, build_strategy

from .series import bars_from_close

# 12 quiet bars around 100, a break up, a run, a pull-back through the exit channel,
# a quiet stretch, then a break down and a bounce through the exit channel.
CLOSE = (
    [100.0, 100.5, 99.5, 100.2, 99.8, 100.4, 99.6, 100.1, 99.9, 100.3, 99.7, 100.0]  # 0-11
    + [102.0, 103.0, 104.0, 104.5]  # 12-15: break above 100.8, run
    + [103.5, 101.5]  # 16-17: 101.5 below the lowest low of bars 13..16 → exit long
    + [102.5, 102.2, 102.4, 102.3, 102.5, 102.4]  # 18-23 quiet
    + [99.0, 98.0, 97.5, 97.8, 98.0]  # 24-28: break below the 10-bar low, hold
    + [99.5]  # 29: above the highest high of bars 25..28 → exit short
)


@pytest.fixture
def bars() -> BarArrays:
    return bars_from_close(CLOSE, spread=0.3)


def test_scores_when_warming_up_then_nan(bars: BarArrays) -> None:
    s = Breakout(lookback=10, exit_lookback=4).scores(bars)
    assert np.isnan(s[:10]).all()
    assert s[10] == 0.0 and s[11] == 0.0  # no breakout yet: flat


def test_scores_when_close_breaks_the_channel_high_then_long_until_exit_channel_low(bars: BarArrays) -> None:
    strategy = Breakout(lookback=10, exit_lookback=4)
    s = strategy.scores(bars)
    assert bars.close[12] > bars.high[2:12].max()
    assert (s[12:17] == 1.0).all()
    # bar 17 closes below the lowest low of bars 13..16: the long ends
    assert bars.close[17] < bars.low[13:17].min()
    assert s[17] == 0.0 and (s[17:24] == 0.0).all()


def test_scores_when_close_breaks_the_channel_low_then_short_until_exit_channel_high(bars: BarArrays) -> None:
    s = Breakout(lookback=10, exit_lookback=4).scores(bars)
    assert bars.close[24] < bars.low[14:24].min()
    assert (s[24:29] == -1.0).all()
    assert bars.close[29] > bars.high[25:29].max()
    assert s[29] == 0.0


def test_scores_when_long_and_close_breaks_the_low_then_reverses_to_short() -> None:
    close = [100.0, 100.4, 99.6, 100.2, 99.8, 104.0, 105.0, 90.0]
    s = Breakout(lookback=5, exit_lookback=2).scores(bars_from_close(close, spread=0.3))
    assert s[5] == 1.0 and s[6] == 1.0
    assert s[7] == -1.0  # the entry wins over the exit on the same bar


def test_explain_when_long_then_reports_the_break_and_the_channels(bars: BarArrays) -> None:
    strategy = Breakout(lookback=10, exit_lookback=4)
    assert "(this bar)" in strategy.explain(bars, 14)  # every new high is a fresh break
    reason = strategy.explain(bars, 16)
    assert "close 104.50 broke above the high 104.30" in reason and "1 bar ago" in reason
    assert "10-bar channel" in reason and "4-bar exit channel" in reason
    assert strategy.explain(bars, 18).startswith("flat: long exited 1 bar ago")
    assert strategy.explain(bars, 11).startswith("flat: no breakout")
    assert "warming up" in strategy.explain(bars, 3)


def test_build_strategy_when_lookback_out_of_range_then_value_error_names_it() -> None:
    with pytest.raises(ValueError, match="breakout: param 'lookback'"):
        build_strategy("breakout", {"lookback": "1"})
    with pytest.raises(ValueError, match="breakout: param 'exit_lookback'"):
        build_strategy("breakout", {"exit_lookback": "x"})
