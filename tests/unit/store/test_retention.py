"""Retention: per-cycle telemetry older than the horizon goes, the decision trail never does."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from robo_tui.adapters.store import SqliteStore
from robo_tui.adapters.store.memory import MemoryStore
from robo_tui.domain.orders import AccountSnapshot
from robo_tui.engine.retention import Retention

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=10)


class FixedClock:
    """A clock that always says NOW."""

    def now(self) -> datetime:
        return NOW

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)


async def _kinds(store: SqliteStore) -> dict[str, int]:
    rows = await store.query("SELECT kind, count(*) AS n FROM audit_log GROUP BY kind")
    return {r["kind"]: r["n"] for r in rows}


async def _old_session(store: SqliteStore) -> None:
    """Ten days ago: a cycle's telemetry every minute for two hours, one order decision."""
    rows: list[tuple[datetime, str, Mapping[str, Any], str]] = []
    for minute in range(120):
        ts = OLD + timedelta(minutes=minute)
        rows += [(ts, "event.SignalsComputed", {"symbol": "AAPL"}, "engine"),
                 (ts, "event.PortfolioUpdated", {"equity": 1.0}, "engine"),
                 (ts, "event.CycleCompleted", {"cycle": minute}, "engine")]
        await store.record_market_snapshot(ts, {"AAPL": 100.0 + minute, "MSFT": 50.0}, False)
        await store.save_positions(AccountSnapshot(ts, 1000.0 + minute, {}, {}))
    rows.append((OLD, "event.OrderSubmitted", {"client_order_id": "O-1"}, "engine"))
    rows.append((OLD, "control", {"trading_state": "HALTED"}, "cli"))
    await store.audit_many(rows)


async def test_prune_when_telemetry_is_older_than_the_horizon_then_only_telemetry_goes(
        store: SqliteStore) -> None:
    await _old_session(store)
    await store.audit_many([(NOW, "event.SignalsComputed", {"symbol": "AAPL"}, "engine")])

    pruned = await store.prune_telemetry(NOW - timedelta(days=7))

    kinds = await _kinds(store)
    assert pruned["event.SignalsComputed"] == 120
    assert pruned["event.PortfolioUpdated"] == 120
    assert kinds == {"event.SignalsComputed": 1,  # today's stays
                     "event.OrderSubmitted": 1, "control": 1}


async def test_prune_when_snapshots_are_old_then_the_last_of_each_hour_stays(
        store: SqliteStore) -> None:
    await _old_session(store)

    await store.prune_telemetry(NOW - timedelta(days=7))

    marks = await store.query("SELECT symbol, ts, price FROM market_snapshots ORDER BY symbol, ts")
    assert [(m["symbol"], m["price"]) for m in marks] == [
        ("AAPL", 159.0), ("AAPL", 219.0), ("MSFT", 50.0), ("MSFT", 50.0)]
    equity = await store.query("SELECT cash FROM account_snapshots ORDER BY ts")
    assert [e["cash"] for e in equity] == [1059.0, 1119.0]
    latest = await store.latest_account()
    assert latest is not None and latest.cash == 1119.0


async def test_prune_when_nothing_is_old_then_no_write_is_made(store: SqliteStore) -> None:
    await store.audit_many([(NOW, "event.SignalsComputed", {}, "engine")])
    before = await store.query("PRAGMA data_version")

    assert await store.prune_telemetry(NOW - timedelta(days=7)) == {}
    assert await store.query("PRAGMA data_version") == before
    assert await _kinds(store) == {"event.SignalsComputed": 1}


async def test_delete_of_a_decision_row_when_retention_exists_then_the_log_stays_append_only(
        store: SqliteStore) -> None:
    await _old_session(store)
    with sqlite3.connect(store.path) as raw, pytest.raises(sqlite3.IntegrityError,
                                                           match="append-only"):
        raw.execute("DELETE FROM audit_log WHERE kind = 'event.OrderSubmitted'")


async def test_retention_when_days_is_zero_then_it_keeps_everything(store: SqliteStore) -> None:
    await _old_session(store)

    assert await Retention(store, FixedClock(), 0).prune_once() == {}
    assert (await _kinds(store))["event.SignalsComputed"] == 120


async def test_retention_run_when_started_then_it_prunes_at_once_and_stops_on_request(
        store: SqliteStore) -> None:
    await _old_session(store)
    retention = Retention(store, FixedClock(), 7, every=3600)
    stop = asyncio.Event()
    task = asyncio.create_task(retention.run(stop))
    for _ in range(200):
        if retention.pruned:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 2)

    assert retention.pruned["event.CycleCompleted"] == 120
    assert "event.CycleCompleted" not in await _kinds(store)


async def test_memory_store_when_pruned_then_nothing_happens() -> None:
    assert await MemoryStore().prune_telemetry(NOW) == {}
