"""Vectorised, causal strategies, built from the `STRATEGIES` registry (`robo_tui.registries`).

`build_strategy("sma_cross", {"fast": "10", "slow": "20"})` builds one from command-line
parameters; `build_strategies(settings.strategies)` builds every registered one from its config
section. Adding a strategy is its own module (the class and its `StrategySettings`) plus one
registry line; nothing here or in the config changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from robo_tui.config.sections import StrategySettings
from robo_tui.engine.strategies.base import Strategy
from robo_tui.engine.strategies.breakout import Breakout
from robo_tui.engine.strategies.mean_reversion import MeanReversion
from robo_tui.engine.strategies.sma_cross import SmaCross
from robo_tui.registries.strategies import STRATEGIES as REGISTRY

if TYPE_CHECKING:  # the config derives its [strategies] table from these modules' settings
    from robo_tui.config import StrategiesSettings


def strategy_classes() -> dict[str, type[Any]]:
    """Every registered strategy class by name (a strategy registered later is included)."""
    return {entry.name: REGISTRY.load(entry.name) for entry in REGISTRY}


STRATEGIES: dict[str, type[Any]] = strategy_classes()
"""The built-in strategy classes by name (the name used in config sections and on the command
line); `strategy_classes()` follows later registrations."""


def build_strategy(name: str, params: Mapping[str, str | float | int]) -> Strategy:
    """One strategy by name, from parameters that may be strings (`--param fast=10`).

    Missing parameters take their defaults. Raises ValueError for an unknown strategy, an
    unknown parameter, or a value of the wrong type or out of range, naming it.
    """
    classes = strategy_classes()
    cls = classes.get(name)
    if cls is None:
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(sorted(classes))}")
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
    """Every registered strategy of the `[strategies]` config, enabled or not (the ensemble reads
    `enabled` and `weight` from the same settings, so they can be toggled at run time). A strategy
    without a section in `settings` takes its defaults."""
    out: dict[str, Strategy] = {}
    for name, cls in strategy_classes().items():
        try:
            section = settings.section(name)
        except KeyError:
            section = cls.settings_model()
        out[name] = cls.from_settings(section)
    return out


__all__ = [
    "STRATEGIES",
    "Breakout",
    "MeanReversion",
    "SmaCross",
    "Strategy",
    "StrategySettings",
    "build_strategies",
    "build_strategy",
    "strategy_classes",
]
