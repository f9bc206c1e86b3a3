"""SMA crossover with backtesting.py's semantics: long from a cross up, short from a cross down."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from pydantic import Field, model_validator

from robo_tui.config.sections import StrategySettings
from robo_tui.domain.market import BarArrays, FloatArray
from robo_tui.engine.indicators import crossover, rolling_mean
from robo_tui.engine.strategies.base import (
    ParamValue,
    ago,
    ffill_index,
    latch,
    normalize_index,
    prices,
    validated,
)


class SmaCrossSettings(StrategySettings):
    """The `[strategies.sma_cross]` section: SmaCross's parameters."""

    fast: int = Field(10, ge=2, le=1000)
    """Fast moving-average window (bars)."""
    slow: int = Field(20, ge=3, le=5000)
    """Slow moving-average window (bars)."""

    @model_validator(mode="after")
    def _ordered(self) -> SmaCrossSettings:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be shorter than slow ({self.slow})")
        return self


class SmaCross:
    """SMA(fast) / SMA(slow) crossover of the close.

    Score +1.0 from a bar where SMA(fast) crosses above SMA(slow), -1.0 from a cross below,
    forward-filled until the next cross; NaN before the first cross. A cross is backtesting.py's
    `crossover` (strict: a[i-1] < b[i-1] and a[i] > b[i]) over pandas rolling means, so an engine
    that acts on changes of direction enters exactly at backtesting.py's crossover bars.

    The state depends on the last cross: the live path reproduces the backtest's score when its
    trailing window (`history` bars) still contains that cross.
    """

    name = "sma_cross"
    settings_model = SmaCrossSettings
    """Its `[strategies.sma_cross]` config section (parameters, `enabled`, `weight`)."""

    def __init__(self, fast: int = 10, slow: int = 20) -> None:
        cfg: SmaCrossSettings = validated(SmaCrossSettings, self.name, {"fast": fast, "slow": slow})
        self.fast: int = cfg.fast
        self.slow: int = cfg.slow
        # The first possible cross needs both averages on two consecutive bars.
        self.warmup: int = cfg.slow
        self.history: int = max(500, 10 * cfg.slow)

    @classmethod
    def from_settings(cls, settings: SmaCrossSettings) -> SmaCross:
        """Build from the `[strategies.sma_cross]` config section."""
        return cls(fast=settings.fast, slow=settings.slow)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> SmaCross:
        """Build from (possibly string) parameters; ValueError naming a bad one."""
        cfg: SmaCrossSettings = validated(SmaCrossSettings, cls.name, params)
        return cls.from_settings(cfg)

    def params(self) -> dict[str, ParamValue]:
        """{"fast": ..., "slow": ...}."""
        return {"fast": self.fast, "slow": self.slow}

    def averages(self, bars: BarArrays) -> tuple[FloatArray, FloatArray]:
        """SMA(fast) and SMA(slow) of the close, per bar."""
        return rolling_mean(bars.close, self.fast), rolling_mean(bars.close, self.slow)

    def scores(self, bars: BarArrays) -> FloatArray:
        """+1 / -1 from each cross up / down, forward-filled; NaN before the first cross."""
        fast, slow = self.averages(bars)
        return latch(crossover(fast, slow), crossover(slow, fast))

    def signals(self, bars: BarArrays) -> FloatArray:
        """+1 at each cross up, -1 at each cross down, 0 elsewhere: where backtesting.py's
        README strategy calls `buy()` / `sell()`, a repeated same-direction cross included (the
        averages touched in between). The replay's compat mode re-enters on such a repeat."""
        fast, slow = self.averages(bars)
        out: FloatArray = crossover(fast, slow).astype(np.float64) - crossover(slow, fast)
        return out

    def explain(self, bars: BarArrays, i: int) -> str:
        """Which cross set the score at bar `i`, when, and where the averages are now."""
        return self.evaluate(bars)[1](i)

    def evaluate(self, bars: BarArrays) -> tuple[FloatArray, Callable[[int], str]]:
        """Scores and an explainer from one pass over the averages."""
        fast, slow = self.averages(bars)
        ups = crossover(fast, slow)
        downs = crossover(slow, fast)
        scores = latch(ups, downs)
        last_cross = ffill_index(ups | downs)
        f, s = f"SMA{self.fast}", f"SMA{self.slow}"

        def explain_at(i: int) -> str:
            i = normalize_index(bars, i)
            if math.isnan(slow[i]) or i < 1:
                return f"warming up: {f}/{s} need {self.warmup + 1} bars, have {i + 1}"
            last = int(last_cross[i])
            fast_now, slow_now = prices(fast[i], slow[i])
            now = f"{f} {fast_now} vs {s} {slow_now}"
            if last < 0:
                return f"no cross yet ({now})"
            verb = "above" if ups[last] else "below"
            fast_then, slow_then = prices(fast[last], slow[last])
            head = f"{f} {fast_then} crossed {verb} {s} {slow_then} ({ago(bars, last, i)})"
            return head if last == i else f"{head}; now {now}"

        return scores, explain_at
