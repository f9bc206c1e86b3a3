"""The replay seam: the composition root builds the backtest engine, and the store records the run
for the driver to read back (the `RunRecorder` port)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from robo_tui.adapters.store.memory import MemoryStore
from robo_tui.backtest.runner import BacktestSpec, backtest_settings
from robo_tui.config import Settings
from robo_tui.domain.market import BarArrays
from robo_tui.domain.orders import Fill, Side
from robo_tui.domain.time import ns_to_datetime
from robo_tui.wiring import build_backtest_engine
from tests.unit.strategies.series import bars_from_close


def daily(n: int = 60) -> BarArrays:
    """A seeded daily random walk."""
    rng = np.random.default_rng(7)
    return bars_from_close(100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))))


def fill(n: int) -> Fill:
    return Fill(fill_id=f"F{n}", client_order_id=f"C{n}", symbol="TEST", side=Side.BUY,
                quantity=1.0 + n, price=100.0, fee=0.0, ts=datetime(2024, 1, n, tzinfo=UTC))


def test_backtest_engine_when_built_by_wiring_then_the_rig_is_the_engines_own_clock_venue_and_store():
    data = {"TEST": daily()}
    settings = backtest_settings(Settings(), list(data), BacktestSpec(cash=5_000.0))
    rig = build_backtest_engine(settings, data, commission=0.001)
    assert rig.clock is rig.engine.clock
    assert rig.venue is rig.engine.broker
    assert rig.recorder is rig.engine.store
    assert rig.clock.now() == ns_to_datetime(int(data["TEST"].ts[0]))  # the first bar
    assert rig.engine.intelligence is None  # no news replayed: no intelligence layer
    assert rig.engine.account.cash == 5_000.0


def test_backtest_engine_when_news_is_replayed_then_it_has_an_intelligence_layer():
    data = {"TEST": daily()}
    settings = backtest_settings(Settings(), list(data), BacktestSpec())
    rig = build_backtest_engine(settings, data, commission=0.0, news=True)
    assert rig.engine.intelligence is not None


async def test_memory_store_when_fills_and_outcomes_recorded_then_the_recorder_reads_them_in_order():
    store = MemoryStore()
    for n in (1, 2, 3):
        await store.record_fill(fill(n))
    await store.record_trade_outcome({"trade": "first", "return_pct": 0.1})
    await store.record_trade_outcome({"trade": "second", "return_pct": -0.2})
    assert [f.fill_id for f in store.recorded_fills()] == ["F1", "F2", "F3"]
    assert [o["trade"] for o in store.recorded_outcomes()] == ["first", "second"]
    assert await store.fills() == list(store.recorded_fills())
