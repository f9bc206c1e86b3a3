"""Vectorised, causal strategies and their registry.

`build_strategy("sma_cross", {"fast": "10", "slow": "20"})` builds one from command-line
parameters; `build_strategies(settings.strategies)` builds every configured one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from robo_tui.config import StrategiesSettings
from robo_tui.engine.strategies.base import Strategy
from robo_tui.engine.strategies.breakout import Breakout
from robo_tui.engine.strategies.mean_reversion import MeanReversion
from robo_tui.engine.strategies.sma_cross import SmaCross

STRATEGIES: dict[str, type[Any]] = {
    SmaCross.name: SmaCross,
    MeanReversion.name: MeanReversion,
    Breakout.name: Breakout,
}
"""Strategy classes by name (the name used in config sections and on the command line)."""


def build_strategy(name: str, params: Mapping[str, str | float | int]) -> Strategy:
    """One strategy by name, from parameters that may be strings (`--param fast=10`).

    Missing parameters take their defaults. Raises ValueError for an unknown strategy, an
    unknown parameter, or a value of the wrong type or out of range, naming it.
    """
    cls = STRATEGIES.get(name)
    if cls is None:
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(sorted(STRATEGIES))}")
    known = set(cls().params())
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(
            f"{name}: unknown param {', '.join(repr(u) for u in unknown)}; "
            f"known: {', '.join(sorted(known))}"
        )
    strategy: Strategy = cls.from_params(params)
    return strategy


def build_strategies(settings: StrategiesSettings) -> dict[str, Strategy]:
    """Every strategy of the `[strategies]` config, enabled or not (the ensemble reads `enabled`
    and `weight` from the same settings, so they can be toggled at run time)."""
    return {
        SmaCross.name: SmaCross.from_settings(settings.sma_cross),
        MeanReversion.name: MeanReversion.from_settings(settings.mean_reversion),
        Breakout.name: Breakout.from_settings(settings.breakout),
    }


__all__ = [
    "STRATEGIES",
    "Breakout",
    "MeanReversion",
    "SmaCross",
    "Strategy",
    "build_strategies",
    "build_strategy",
]
