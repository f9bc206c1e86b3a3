"""Versioned schema migrations: applied once each, in order, atomically; newer files refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from robo_tui.adapters.store import SchemaError, SchemaTooNewError, SqliteStore
from robo_tui.adapters.store.migrations import (
    LATEST_VERSION,
    MIGRATIONS,
    Migration,
    migrate,
    schema_version,
)

EXPECTED_TABLES = {
    "market_snapshots", "news_items", "ai_decisions", "proposals", "risk_verdicts", "orders",
    "fills", "positions", "account_snapshots", "trade_outcomes", "daily_reviews",
    "control_state", "audit_log", "backtest_runs", "schema_history",
}


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _user_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


async def test_open_when_database_is_new_then_creates_every_table_at_latest_version(
    db_path: Path,
) -> None:
    async with SqliteStore(db_path):
        pass
    assert EXPECTED_TABLES <= _tables(db_path)
    assert _user_version(db_path) == LATEST_VERSION


async def test_migrate_when_already_current_then_applies_nothing(db_path: Path) -> None:
    async with SqliteStore(db_path):
        pass
    async with SqliteStore(db_path) as store:  # reopening is a no-op
        history = await store.query("SELECT version, name FROM schema_history ORDER BY version")
    async with aiosqlite.connect(db_path, isolation_level=None) as db:
        assert await migrate(db) == []
        assert await schema_version(db) == LATEST_VERSION
    assert [h["version"] for h in history] == [m.version for m in MIGRATIONS]


async def test_migrate_when_a_step_is_added_then_applies_only_the_new_step(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite3"
    step2 = Migration(2, "add notes", ("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)",))
    async with aiosqlite.connect(path, isolation_level=None) as db:
        assert await migrate(db, MIGRATIONS[:1]) == [1]
        assert await migrate(db, (MIGRATIONS[0], step2)) == [2]
        assert await migrate(db, (MIGRATIONS[0], step2)) == []
        async with db.execute("SELECT version FROM schema_history ORDER BY version") as cur:
            assert [r[0] for r in await cur.fetchall()] == [1, 2]
    assert "notes" in _tables(path)
    assert _user_version(path) == 2


async def test_migrate_when_a_step_fails_then_rolls_back_the_whole_step(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite3"
    broken = Migration(
        2, "broken", ("CREATE TABLE half (id INTEGER)", "CREATE TABLE orders (x INTEGER)")
    )
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await migrate(db, MIGRATIONS[:1])
        with pytest.raises(sqlite3.OperationalError, match="already exists"):
            await migrate(db, (MIGRATIONS[0], broken))
        assert not db.in_transaction
    assert _user_version(path) == 1
    assert "half" not in _tables(path)


async def test_open_when_database_is_newer_than_the_code_then_refuses_clearly(
    db_path: Path,
) -> None:
    async with SqliteStore(db_path):
        pass
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    with pytest.raises(SchemaTooNewError, match=r"newer than this robo-tui.*upgrade robo-tui"):
        await SqliteStore(db_path).open()
    assert _user_version(db_path) == LATEST_VERSION + 1


async def test_migrate_when_versions_have_a_gap_then_raises(tmp_path: Path) -> None:
    gap = Migration(3, "gap", ("SELECT 1",))
    async with aiosqlite.connect(tmp_path / "m.sqlite3", isolation_level=None) as db:
        with pytest.raises(SchemaError, match="without gaps"):
            await migrate(db, (MIGRATIONS[0], gap))


async def test_migrate_when_two_connections_race_then_each_step_applies_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "m.sqlite3"
    async with (
        aiosqlite.connect(path, isolation_level=None) as a,
        aiosqlite.connect(path, isolation_level=None) as b,
    ):
        await a.execute("PRAGMA busy_timeout = 5000")
        await b.execute("PRAGMA busy_timeout = 5000")
        import asyncio

        applied = await asyncio.gather(migrate(a), migrate(b))
    assert sorted(v for step in applied for v in step) == [m.version for m in MIGRATIONS]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM schema_history").fetchone()[0] == len(MIGRATIONS)
