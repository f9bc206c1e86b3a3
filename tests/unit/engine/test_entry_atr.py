"""Stops and targets at distances that fit the bars: on the simulated 1-minute bars the sizer's
ATR stop is measured over an hour's noise (not 0.1 % from entry, stopped out within minutes),
while daily bars (backtests) keep their plain ATR."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from robo_tui.adapters.feeds.sim import SimulatedMarket
from robo_tui.config import Settings, SizingSettings
from robo_tui.domain.market import BarArrays
from robo_tui.engine.clock import SimClock
from robo_tui.engine.proposals import entry_atr
from robo_tui.engine.sizing import atr

NOW = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def bars(step_seconds: int, n: int = 200) -> BarArrays:
    rng = np.random.default_rng(7)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    ts = (np.arange(n, dtype=np.int64) * step_seconds + 1_767_600_000) * 1_000_000_000
    return BarArrays("T", ts, close, close * 1.0005, close * 0.9995, close, np.ones(n))


def test_entry_atr_when_bars_are_one_minute_then_scaled_to_the_hour() -> None:
    minute = bars(60)
    plain = atr(minute, 14, last=140)
    assert entry_atr(minute, SizingSettings()) == pytest.approx(plain * math.sqrt(60))


def test_entry_atr_when_bars_are_daily_or_the_horizon_is_off_then_the_plain_atr() -> None:
    daily = bars(86_400)
    assert entry_atr(daily, SizingSettings()) == pytest.approx(atr(daily, 14, last=140))
    minute = bars(60)
    assert entry_atr(minute, SizingSettings(atr_horizon_minutes=0)) == pytest.approx(
        atr(minute, 14, last=140))


async def test_entry_atr_when_the_demo_market_runs_then_stops_sit_beyond_a_third_of_a_percent(
) -> None:
    settings = Settings()
    instruments = [i.to_instrument() for i in settings.universe.instruments]
    feed = SimulatedMarket(instruments, seed=settings.feeds.seed,
                           bar_seconds=settings.feeds.bar_seconds, clock=SimClock(NOW))
    await feed.connect()
    for inst in instruments:
        history = await feed.history(inst.symbol, settings.engine.warmup_bars)
        price = float(history.close[-1])
        stop_pct = settings.sizing.stop_atr_multiple * entry_atr(history, settings.sizing) / price
        assert 0.003 < stop_pct < 0.05, (inst.symbol, stop_pct)
