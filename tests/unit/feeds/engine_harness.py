"""What the per-feed engine tests share: a paper engine in auto mode on one symbol with only the
breakout strategy voting, a quiet range then a breakout, and how to read what the engine did."""

from __future__ import annotations

import json
import math
from pathlib import Path

from robo_tui.config import Settings, load_settings
from robo_tui.domain.risk import Mode
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from robo_tui.ports import MarketFeed
from robo_tui.wiring import build_engine, with_overrides

WARMUP = 300
"""The engine's warm-up (engine.warmup_bars' default): the history every feed must serve."""


def range_prices(count: int, level: float) -> list[float]:
    """`count` closes wobbling within +-0.5 % of `level`: no breakout, no trend."""
    return [level * (1 + 0.005 * math.sin(n / 3.0)) for n in range(count)]


def paper_settings(symbol: str, asset_class: str, env: dict[str, str]) -> Settings:
    """Paper broker, auto mode, `symbol` only, breakout alone in the ensemble, plus `env`."""
    base = {
        "ROBO_TUI_UNIVERSE__INSTRUMENTS": json.dumps([{"symbol": symbol, "asset_class": asset_class}]),
        "ROBO_TUI_STRATEGIES__SMA_CROSS__ENABLED": "false",
        "ROBO_TUI_STRATEGIES__MEAN_REVERSION__ENABLED": "false",
        "ROBO_TUI_NEWS__SAMPLE": "false",
    }
    return with_overrides(load_settings(None, environ={**base, **env}), mode=Mode.AUTO)


def paper_engine(settings: Settings, tmp_path: Path, clock: SimClock,
                 feed: MarketFeed | None = None) -> Engine:
    """The engine the wiring builds for `settings` (the paper broker), `feed` if given."""
    return build_engine(settings, data_dir=tmp_path, clock=clock, intelligence=False, feed=feed)


async def fills(engine: Engine) -> list[dict[str, object]]:
    """The fills the engine booked."""
    return await engine.store.query("select symbol, side, qty, price from fills")
