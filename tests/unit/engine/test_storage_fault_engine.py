"""An engine whose disk fills mid-session stops with `StorageFull` and still closes its store,
so no aiosqlite thread keeps the process alive; the journal it leaves is whole (issue 17,
findings 3 and 7)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from robo_tui.adapters.brokers.paper import PaperBroker
from robo_tui.adapters.feeds.sim import SimulatedMarket
from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.config import Settings
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from robo_tui.ports import StorageFull, StorageLocked


def make_engine(path: Path, clock: SimClock, max_pages: int | None = None,
                busy_timeout_ms: int = 5000) -> Engine:
    settings = Settings()
    instruments = [i.to_instrument() for i in settings.universe.instruments]
    feed = SimulatedMarket(instruments, seed=settings.feeds.seed,
                           bar_seconds=settings.feeds.bar_seconds, clock=clock)
    broker = PaperBroker(cash=settings.broker.starting_cash, costs=settings.paper, clock=clock,
                         instruments={i.symbol: i for i in instruments})
    return Engine(settings, clock=clock, feed=feed, broker=broker,
                  store=SqliteStore(path, max_pages=max_pages,
                                    busy_timeout_ms=busy_timeout_ms))


def _store_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate()
            if t is not threading.main_thread() and not t.daemon and t.is_alive()]


async def test_engine_when_the_disk_fills_mid_session_then_storage_full_and_the_store_closes(
    tmp_path: Path, clock: SimClock,
) -> None:
    path = tmp_path / "robo.db"
    first = make_engine(path, clock)
    await first.start()
    await first.stop()
    with sqlite3.connect(path) as db:
        pages = int(db.execute("PRAGMA page_count").fetchone()[0])
    before = set(_store_threads())
    engine = make_engine(path, clock, max_pages=pages + 40)
    await engine.start()
    with pytest.raises(StorageFull):
        try:
            for _ in range(200):
                await engine.run_cycle()
                clock.advance(60)
        finally:
            with contextlib.suppress(StorageFull):
                await engine.stop()  # its own last write may fail too: it still closes
    deadline = time.monotonic() + 5
    while set(_store_threads()) - before and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not set(_store_threads()) - before, "a store thread outlived engine.stop"
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        orphans = db.execute(
            "SELECT client_order_id FROM orders o WHERE status = 'filled' AND NOT EXISTS "
            "(SELECT 1 FROM fills f WHERE f.client_order_id = o.client_order_id)").fetchall()
    assert orphans == []


async def test_engine_stop_when_its_last_write_fails_then_the_store_is_closed_anyway(
    tmp_path: Path, clock: SimClock,
) -> None:
    path = tmp_path / "robo.db"
    before = set(_store_threads())
    engine = make_engine(path, clock, busy_timeout_ms=100)
    await engine.start()
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # e.g. a sqlite3 shell left in a transaction
        with pytest.raises(StorageLocked):
            await engine.stop()
    finally:
        other.close()
    deadline = time.monotonic() + 5
    while set(_store_threads()) - before and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not set(_store_threads()) - before, "a store thread outlived engine.stop"
