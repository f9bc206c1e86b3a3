"""Fixtures for the intelligence stage: a real SQLite store, a bus that records, seeded bars."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.domain.events import Event
from robo_tui.domain.market import BarArrays
from robo_tui.domain.time import datetime_to_ns
from robo_tui.engine.bus import EventBus

NOW = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
BAR_NS = 60 * 1_000_000_000


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path / "robo.db")
    await s.open()
    try:
        yield s
    finally:
        await s.close()


class Recorder:
    """Subscribes to every event and keeps them."""

    def __init__(self, bus: EventBus) -> None:
        self.events: list[Event] = []
        bus.subscribe(self.events.append)

    def of(self, kind: type[Event]) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
def recorder(bus: EventBus) -> Recorder:
    return Recorder(bus)


def bars(symbol: str, closes: np.ndarray, end: datetime = NOW) -> BarArrays:
    """Bars ending one minute before `end`, with a high/low band around each close."""
    n = len(closes)
    ts = datetime_to_ns(end) - np.arange(n, 0, -1, dtype=np.int64) * BAR_NS
    closes = closes.astype(np.float64)
    return BarArrays(symbol, ts, closes, closes * 1.004, closes * 0.996, closes, np.ones(n))


def trending(symbol: str, drift: float, n: int = 300, seed: int = 7) -> BarArrays:
    rng = np.random.default_rng(seed)
    return bars(symbol, 100.0 * np.exp(np.cumsum(rng.normal(drift, 0.004, n))))


@pytest.fixture
def market() -> dict[str, BarArrays]:
    from robo_tui.config import Settings

    return {s: trending(s, 0.0, seed=i) for i, s in enumerate(Settings().universe.symbols)}
