"""RSI + Bollinger band mean reversion, traded only in ranging markets (ADX regime filter)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from pydantic import Field

from robo_tui.config.sections import StrategySettings
from robo_tui.domain.frozen import frozen
from robo_tui.domain.market import BarArrays, FloatArray
from robo_tui.engine.indicators import adx_series
from robo_tui.engine.strategies.base import (
    ParamValue,
    ago,
    ffill_index,
    latch,
    normalize_index,
    price,
    validated,
)

MIN_CONVICTION = 0.1
"""Smallest |score| while a position is held (a nearly reverted trade still says "hold")."""


@frozen
class _Frame:
    close: FloatArray
    rsi: FloatArray
    lower: FloatArray
    mid: FloatArray
    upper: FloatArray
    adx: FloatArray
    state: FloatArray  # +1 / -1 / 0 after warm-up, NaN during it
    strength: FloatArray  # conviction of the held side, in [MIN_CONVICTION, 1]


class MeanReversionSettings(StrategySettings):
    """The `[strategies.mean_reversion]` section: MeanReversion's parameters."""

    rsi_window: int = Field(14, ge=2, le=500)
    """RSI window (bars)."""
    rsi_oversold: float = Field(30.0, ge=1, le=50)
    """RSI at or below which the market is oversold (long setup)."""
    rsi_overbought: float = Field(70.0, ge=50, le=99)
    """RSI at or above which the market is overbought (short setup)."""
    bb_window: int = Field(20, ge=2, le=500)
    """Bollinger band window (bars)."""
    bb_dev: float = Field(2.0, gt=0, le=5)
    """Bollinger band width in standard deviations."""
    adx_window: int = Field(14, ge=2, le=500)
    """ADX window for the regime filter."""
    adx_max: float = Field(25.0, gt=0, le=100)
    """Only trade reversion while ADX is below this (a ranging, not trending, market)."""


class MeanReversion:
    """Fade stretched moves in a ranging market.

    Entries only while ADX < `adx_max` (a ranging market): long when the close is below the lower
    Bollinger band and RSI <= `rsi_oversold`, short when above the upper band and RSI >=
    `rsi_overbought`. A position is held until the close crosses the middle band (then 0.0,
    flat). The magnitude is how stretched the market is: half the band stretch (distance from the
    middle band in half-band widths) plus half the RSI stretch (distance from 50 in units of the
    threshold's distance), over two; 0.5 at the entry thresholds, 1.0 at twice them, shrinking
    towards `MIN_CONVICTION` as price reverts.

    While flat in a trending market (ADX >= adx_max) it abstains (NaN): reversion has no edge
    there, so it neither argues for nor against a trend follower. The bar of an exit is always
    0.0, so the exit is never lost. NaN during warm-up (RSI, bands and ADX all defined).
    """

    name = "mean_reversion"
    settings_model = MeanReversionSettings
    """Its `[strategies.mean_reversion]` config section (parameters, `enabled`, `weight`)."""

    def __init__(
        self,
        rsi_window: int = 14,
        rsi_oversold: float = 30.0,
        rsi_overbought: float = 70.0,
        bb_window: int = 20,
        bb_dev: float = 2.0,
        adx_window: int = 14,
        adx_max: float = 25.0,
    ) -> None:
        cfg: MeanReversionSettings = validated(
            MeanReversionSettings,
            self.name,
            {
                "rsi_window": rsi_window,
                "rsi_oversold": rsi_oversold,
                "rsi_overbought": rsi_overbought,
                "bb_window": bb_window,
                "bb_dev": bb_dev,
                "adx_window": adx_window,
                "adx_max": adx_max,
            },
        )
        self.rsi_window: int = cfg.rsi_window
        self.rsi_oversold: float = cfg.rsi_oversold
        self.rsi_overbought: float = cfg.rsi_overbought
        self.bb_window: int = cfg.bb_window
        self.bb_dev: float = cfg.bb_dev
        self.adx_window: int = cfg.adx_window
        self.adx_max: float = cfg.adx_max
        self.warmup: int = max(cfg.rsi_window - 1, cfg.bb_window - 1, 2 * cfg.adx_window - 1)
        # RSI and ADX are exponential: after ~25 windows their start-up has decayed below 1e-10.
        self.history: int = max(500, 25 * max(cfg.rsi_window, cfg.adx_window) + cfg.bb_window)

    @classmethod
    def from_settings(cls, settings: MeanReversionSettings) -> MeanReversion:
        """Build from the `[strategies.mean_reversion]` config section."""
        return cls(
            rsi_window=settings.rsi_window,
            rsi_oversold=settings.rsi_oversold,
            rsi_overbought=settings.rsi_overbought,
            bb_window=settings.bb_window,
            bb_dev=settings.bb_dev,
            adx_window=settings.adx_window,
            adx_max=settings.adx_max,
        )

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> MeanReversion:
        """Build from (possibly string) parameters; ValueError naming a bad one."""
        cfg: MeanReversionSettings = validated(MeanReversionSettings, cls.name, params)
        return cls.from_settings(cfg)

    def params(self) -> dict[str, ParamValue]:
        """The RSI, Bollinger and ADX parameters."""
        return {
            "rsi_window": self.rsi_window,
            "rsi_oversold": self.rsi_oversold,
            "rsi_overbought": self.rsi_overbought,
            "bb_window": self.bb_window,
            "bb_dev": self.bb_dev,
            "adx_window": self.adx_window,
            "adx_max": self.adx_max,
        }

    def _frame(self, bars: BarArrays) -> _Frame:
        close = bars.close
        # pandas and ta load on the first score, not when the config imports this module
        import pandas as pd
        from ta.momentum import RSIIndicator
        from ta.volatility import BollingerBands

        series = pd.Series(close)
        rsi = RSIIndicator(series, window=self.rsi_window).rsi().to_numpy(dtype=np.float64)
        bands = BollingerBands(series, window=self.bb_window, window_dev=self.bb_dev)
        lower = bands.bollinger_lband().to_numpy(dtype=np.float64)
        mid = bands.bollinger_mavg().to_numpy(dtype=np.float64)
        upper = bands.bollinger_hband().to_numpy(dtype=np.float64)
        adx = adx_series(bars, self.adx_window)
        valid = ~(np.isnan(rsi) | np.isnan(mid) | np.isnan(adx))
        with np.errstate(invalid="ignore", divide="ignore"):
            ranging = adx < self.adx_max
            state = latch(
                ranging & (close < lower) & (rsi <= self.rsi_oversold),
                ranging & (close > upper) & (rsi >= self.rsi_overbought),
                close >= mid,
                close <= mid,
            )
            half = upper - mid
            band_stretch = np.where(half > 0, (close - mid) / np.where(half > 0, half, 1.0), 0.0)
            long_rsi = (50.0 - rsi) / max(50.0 - self.rsi_oversold, 1.0)
            short_rsi = (rsi - 50.0) / max(self.rsi_overbought - 50.0, 1.0)
            stretch = np.where(
                state < 0, (band_stretch + short_rsi) / 4.0, (-band_stretch + long_rsi) / 4.0
            )
        state[np.isnan(state)] = 0.0
        state[~valid] = np.nan
        strength = np.clip(np.nan_to_num(stretch, nan=MIN_CONVICTION), MIN_CONVICTION, 1.0)
        return _Frame(close, rsi, lower, mid, upper, adx, state, strength)

    def scores(self, bars: BarArrays) -> FloatArray:
        """±conviction while a reversion trade is on, 0.0 flat, NaN in warm-up or when flat in
        a trending market (except on an exit bar)."""
        return self._scores(self._frame(bars))

    def _scores(self, f: _Frame) -> FloatArray:
        out = f.state * f.strength
        prev = np.concatenate(([np.nan], f.state[:-1]))
        with np.errstate(invalid="ignore"):
            exit_bar = np.abs(prev) == 1.0
            out[(f.state == 0.0) & (f.adx >= self.adx_max) & ~exit_bar] = np.nan
        return out

    def explain(self, bars: BarArrays, i: int) -> str:
        """The setup, exit or regime behind the score at bar `i`, with the numbers."""
        return self.evaluate(bars)[1](i)

    def evaluate(self, bars: BarArrays) -> tuple[FloatArray, Callable[[int], str]]:
        """Scores and an explainer from one pass over RSI, Bollinger bands and ADX."""
        f = self._frame(bars)
        scores = self._scores(f)
        entered_at = ffill_index(np.concatenate(([True], f.state[1:] != f.state[:-1])))

        def explain_at(i: int) -> str:
            i = normalize_index(bars, i)
            if math.isnan(f.state[i]):
                return f"warming up: RSI/Bollinger/ADX need {self.warmup + 1} bars, have {i + 1}"
            now = (
                f"close {price(f.close[i])}, "
                f"bands {price(f.lower[i])}/{price(f.mid[i])}/{price(f.upper[i])}, "
                f"RSI{self.rsi_window} {f.rsi[i]:.1f}, ADX{self.adx_window} {f.adx[i]:.1f}"
            )
            s = f.state[i]
            if s != 0.0:
                entered = int(entered_at[i])
                side, band, cmp, thr = (
                    ("long", "lower", "<=", self.rsi_oversold)
                    if s > 0
                    else ("short", "upper", ">=", self.rsi_overbought)
                )
                level = f.lower[entered] if s > 0 else f.upper[entered]
                return (
                    f"{side} {f.strength[i]:.2f}: close {price(f.close[entered])} beyond {band} "
                    f"band {price(level)} with RSI {f.rsi[entered]:.1f} {cmp} {thr:g} in a "
                    f"ranging market ({ago(bars, entered, i)}); exit at the middle band; "
                    f"now {now}"
                )
            prev = f.state[i - 1] if i > 0 else np.nan
            if prev in (1.0, -1.0):
                side = "long" if prev > 0 else "short"
                return f"flat: close crossed the middle band {price(f.mid[i])}, {side} closed; {now}"
            if f.adx[i] >= self.adx_max:
                return (f"no opinion: trending market (ADX {f.adx[i]:.1f} >= {self.adx_max:g}); "
                        f"{now}")
            return f"flat: no stretched setup in a ranging market; {now}"

        return scores, explain_at
