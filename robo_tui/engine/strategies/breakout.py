"""Donchian channel momentum/breakout with a shorter exit channel (turtle-style)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from pydantic import Field

from robo_tui.config.sections import StrategySettings
from robo_tui.domain.market import BarArrays, FloatArray
from robo_tui.engine.indicators import BoolArray, rolling_max_before, rolling_min_before
from robo_tui.engine.strategies.base import (
    ParamValue,
    ago,
    ffill_index,
    latch,
    normalize_index,
    price,
    validated,
)


class BreakoutSettings(StrategySettings):
    """The `[strategies.breakout]` section: Breakout's parameters."""

    lookback: int = Field(55, ge=2, le=5000)
    """Channel length for the breakout (bars)."""
    exit_lookback: int = Field(20, ge=2, le=5000)
    """Shorter channel whose opposite side ends the move (bars)."""


class Breakout:
    """Donchian breakout.

    +1.0 from a bar whose close breaks above the highest high of the previous `lookback` bars,
    -1.0 from a close below their lowest low. A long ends (0.0, flat) on the first close below the
    lowest low of the previous `exit_lookback` bars, a short on a close above their highest high.
    The state is forward-filled; 0.0 before the first breakout; NaN during warm-up.
    """

    name = "breakout"
    settings_model = BreakoutSettings
    """Its `[strategies.breakout]` config section (parameters, `enabled`, `weight`)."""

    def __init__(self, lookback: int = 55, exit_lookback: int = 20) -> None:
        cfg: BreakoutSettings = validated(
            BreakoutSettings, self.name, {"lookback": lookback, "exit_lookback": exit_lookback}
        )
        self.lookback: int = cfg.lookback
        self.exit_lookback: int = cfg.exit_lookback
        self.warmup: int = max(cfg.lookback, cfg.exit_lookback)
        self.history: int = max(500, 10 * self.warmup)

    @classmethod
    def from_settings(cls, settings: BreakoutSettings) -> Breakout:
        """Build from the `[strategies.breakout]` config section."""
        return cls(lookback=settings.lookback, exit_lookback=settings.exit_lookback)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Breakout:
        """Build from (possibly string) parameters; ValueError naming a bad one."""
        cfg: BreakoutSettings = validated(BreakoutSettings, cls.name, params)
        return cls.from_settings(cfg)

    def params(self) -> dict[str, ParamValue]:
        """{"lookback": ..., "exit_lookback": ...}."""
        return {"lookback": self.lookback, "exit_lookback": self.exit_lookback}

    def _events(
        self, bars: BarArrays
    ) -> tuple[BoolArray, BoolArray, BoolArray, BoolArray, tuple[FloatArray, ...]]:
        close = bars.close
        hi = rolling_max_before(bars.high, self.lookback)
        lo = rolling_min_before(bars.low, self.lookback)
        exit_hi = rolling_max_before(bars.high, self.exit_lookback)
        exit_lo = rolling_min_before(bars.low, self.exit_lookback)
        with np.errstate(invalid="ignore"):
            up, down = close > hi, close < lo
            long_exit, short_exit = close < exit_lo, close > exit_hi
        return up, down, long_exit, short_exit, (hi, lo, exit_hi, exit_lo)

    def scores(self, bars: BarArrays) -> FloatArray:
        """+1 / -1 from a breakout, 0.0 after the exit channel is crossed; NaN in warm-up."""
        return self.evaluate(bars)[0]

    def explain(self, bars: BarArrays, i: int) -> str:
        """The breakout or exit that set the score at bar `i`, with the channel levels."""
        return self.evaluate(bars)[1](i)

    def evaluate(self, bars: BarArrays) -> tuple[FloatArray, Callable[[int], str]]:
        """Scores and an explainer from one pass over the channels."""
        up, down, long_exit, short_exit, (hi, lo, exit_hi, exit_lo) = self._events(bars)
        state = latch(up, down, long_exit, short_exit)
        state[np.isnan(state)] = 0.0
        state[: min(self.warmup, state.shape[0])] = np.nan
        prev = np.concatenate(([np.nan], state[:-1]))
        with np.errstate(invalid="ignore"):
            exits = ffill_index((state == 0.0) & (np.abs(prev) == 1.0))
        breaks = ffill_index(up | down)

        def explain_at(i: int) -> str:
            i = normalize_index(bars, i)
            if i < self.warmup:
                return f"warming up: channels need {self.warmup + 1} bars, have {i + 1}"
            channel = (
                f"close {price(bars.close[i])}, {self.lookback}-bar channel "
                f"{price(lo[i])}-{price(hi[i])}, {self.exit_lookback}-bar exit channel "
                f"{price(exit_lo[i])}-{price(exit_hi[i])}"
            )
            if state[i] == 0.0:
                last_exit = int(exits[i])
                if last_exit >= 0:
                    side = "long" if prev[last_exit] > 0 else "short"
                    return (
                        f"flat: {side} exited {ago(bars, last_exit, i)} when close "
                        f"{price(bars.close[last_exit])} crossed the exit channel; {channel}"
                    )
                return f"flat: no breakout; {channel}"
            last = int(breaks[i])
            verb = "above the high" if up[last] else "below the low"
            level = hi[last] if up[last] else lo[last]
            return (
                f"close {price(bars.close[last])} broke {verb} {price(level)} of {self.lookback} "
                f"bars ({ago(bars, last, i)}); {channel}"
            )

        return state, explain_at

