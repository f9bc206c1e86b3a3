"""Mean reversion: RSI + Bollinger setups, only while ADX says the market is ranging."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from ta.trend import ADXIndicator

from robo_tui.domain.market import BarArrays
from robo_tui.engine.indicators import adx_series
from robo_tui.engine.strategies import MeanReversion, build_strategy

from .series import bars_from_close, regime_walk


def ranging_then(tail: list[float], seed: int = 0) -> BarArrays:
    """120 bars oscillating around 100 (ADX ~20), followed by `tail` moves from the last close."""
    rng = np.random.default_rng(seed)
    i = np.arange(120)
    base = 100 + 1.5 * np.sin(2 * np.pi * i / 16) + rng.normal(0, 0.2, 120)
    return bars_from_close(np.concatenate((base, base[-1] + np.asarray(tail))))


DROP_AND_RECOVER = [-1.5, -3.0, -4.5, -3.5, -2.5, -1.5, -0.5, 0.5, 1.5]  # bars 120..128


def test_scores_when_ranging_market_drops_below_lower_band_then_long_until_middle_band() -> None:
    bars = ranging_then(DROP_AND_RECOVER)
    strategy = MeanReversion()
    s = strategy.scores(bars)
    assert (s[100:122] == 0.0).all()  # ranging, nothing stretched: explicitly flat
    assert 0.5 < s[122] <= 1.0  # close below the lower band with RSI <= 30
    held = s[122:126]
    assert (held > 0).all() and (np.diff(held) < 0).all()  # conviction fades as price reverts
    assert s[126] == 0.0 and (s[126:] == 0.0).all()  # crossed the middle band: flat
    reason = strategy.explain(bars, 123)
    assert reason.startswith("long 0.")
    assert "RSI 28.8 <= 30 in a ranging market (1 bar ago" in reason
    assert strategy.explain(bars, 126).startswith("flat: close crossed the middle band")


def test_scores_when_ranging_market_spikes_above_upper_band_then_short() -> None:
    bars = ranging_then(DROP_AND_RECOVER)
    mirrored = bars_from_close(200.0 - bars.close)
    s = MeanReversion().scores(mirrored)
    assert -1.0 <= s[122] < -0.5
    assert (s[122:126] < 0).all() and s[126] == 0.0
    assert MeanReversion().explain(mirrored, 122).startswith("short ")


def test_scores_when_stretch_is_deeper_then_conviction_is_higher() -> None:
    mild = MeanReversion().scores(ranging_then(DROP_AND_RECOVER))[122]
    deep = MeanReversion().scores(ranging_then([x * 1.6 for x in DROP_AND_RECOVER]))[122]
    assert 0 < mild < deep <= 1.0


def test_scores_when_market_trends_then_stretched_setup_is_ignored() -> None:
    trend = list(np.linspace(0.8, 40.0, 50))  # a steady climb: ADX well above 25
    bars = ranging_then(trend + [trend[-1] - 15.0, trend[-1] - 30.0])
    assert adx_series(bars, 14)[-1] > 25
    unfiltered = MeanReversion(adx_max=100).scores(bars)
    assert unfiltered[-1] > 0.5  # below the lower band with RSI <= 30: a setup...
    filtered = MeanReversion(adx_max=25)
    assert np.isnan(filtered.scores(bars)[-1])  # ...but trending: no reversion opinion
    assert "no opinion: trending market (ADX" in filtered.explain(bars, -1)


def test_scores_when_a_position_ends_then_the_exit_bar_is_flat_never_nan() -> None:
    s = MeanReversion().scores(regime_walk(20_000, seed=3))
    prev = np.concatenate(([np.nan], s[:-1]))
    after_position = np.isfinite(prev) & (prev != 0.0)
    assert after_position.sum() > 100
    assert np.isfinite(s[after_position]).all()
    assert (s[after_position & (np.sign(s) != np.sign(prev))] == 0.0).any()


def test_adx_when_seed_has_washed_out_then_equals_ta_adx() -> None:
    bars = regime_walk(1500, seed=11)
    ours = adx_series(bars, 14)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = ADXIndicator(
            pd.Series(bars.high), pd.Series(bars.low), pd.Series(bars.close), 14
        ).adx().to_numpy()
    assert np.isnan(ours[:27]).all() and not np.isnan(ours[27])
    np.testing.assert_allclose(ours[600:], theirs[600:], rtol=1e-9)


def test_build_strategy_when_thresholds_are_bad_then_value_error_names_them() -> None:
    with pytest.raises(ValueError, match="mean_reversion: param 'rsi_oversold'"):
        build_strategy("mean_reversion", {"rsi_oversold": "60"})
    with pytest.raises(ValueError, match="mean_reversion: param 'bb_dev'"):
        build_strategy("mean_reversion", {"bb_dev": "-1"})
    built = build_strategy("mean_reversion", {"adx_max": "30", "bb_dev": "2.5"})
    assert built.params()["adx_max"] == 30.0 and built.params()["bb_dev"] == 2.5
