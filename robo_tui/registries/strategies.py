"""The strategy registry: the strategies that vote in the ensemble, by the name config and
`--strategy` use.

Each entry names a strategy class with a `settings_model` (its `[strategies.<name>]` section: a
`StrategySettings` subclass in the strategy's own module) and `from_settings`/`from_params`
builders. The config derives its `[strategies]` table from this list, importing the strategy
modules; they stay light (numpy only, pandas inside the functions that compute), so
`import robo_tui.cli` and `config check` never load pandas. This module itself imports none of
them.
"""

from __future__ import annotations

from typing import Any

from robo_tui.registries.base import Extension, Registry

STRATEGIES: Registry[type[Any]] = Registry("strategy", (
    Extension("sma_cross", "robo_tui.engine.strategies.sma_cross:SmaCross",
              "SMA crossover: long after the fast average crosses above the slow one, short below.",
              "strategies.sma_cross"),
    Extension("mean_reversion", "robo_tui.engine.strategies.mean_reversion:MeanReversion",
              "RSI/Bollinger mean reversion, only in ranging regimes (ADX filter).",
              "strategies.mean_reversion"),
    Extension("breakout", "robo_tui.engine.strategies.breakout:Breakout",
              "Donchian momentum/breakout.", "strategies.breakout"),
))
"""Every strategy, in the order the config lists their sections and the ensemble its voters."""
