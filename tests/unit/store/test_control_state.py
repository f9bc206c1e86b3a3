"""The typed control state and the shell's command journal, on both stores."""

from __future__ import annotations

from pathlib import Path

import aiosqlite

from robo_tui.adapters.store import SqliteStore
from robo_tui.adapters.store.memory import MemoryStore
from robo_tui.adapters.store.migrations import MIGRATIONS, migrate
from robo_tui.domain.control import ControlState, halted_after
from robo_tui.domain.risk import Mode, TradingState

PREVIOUS_VERSION_KEYS = {
    "trading_state": "HALTED",
    "halt_reason": "from cron",
    "day_start": "2026-03-02|110000.5",
    "peak_equity": "123456.25",
    "risk_rebase": "pending",
    "protections": '{"AAPL": [95.0, null]}',
    "mode": "semi-auto",
}


async def test_load_control_when_the_database_was_written_by_the_previous_version_then_typed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await migrate(db, MIGRATIONS[:1])  # the previous version's schema, its string keys
        for key, value in PREVIOUS_VERSION_KEYS.items():
            await db.execute("INSERT INTO control_state VALUES (?, ?, 'cli', '2026-03-02')",
                             (key, value))
    async with SqliteStore(path) as store:
        control = await store.load_control()
        assert await store.pending_commands() == []  # the journal table was added
    assert control == ControlState(
        trading_state=TradingState.HALTED, halt_reason="from cron", day="2026-03-02",
        day_start_equity=110000.5, peak_equity=123456.25, risk_rebase=True,
        protections={"AAPL": (95.0, None)}, mode=Mode.SEMI_AUTO)


async def test_save_control_when_one_field_changes_then_only_that_key_is_written_and_audited(
    db_path: Path,
) -> None:
    async with SqliteStore(db_path) as store:
        await store.save_control(ControlState(peak_equity=100.0, mode=Mode.AUTO), "engine")
        before = await store.query("SELECT count(*) AS n FROM audit_log WHERE kind = 'control'")
        await store.save_control(ControlState(peak_equity=101.0, mode=Mode.AUTO), "engine")
        after = await store.query("SELECT count(*) AS n FROM audit_log WHERE kind = 'control'")
        assert await store.get_control("peak_equity") == "101.0"
        assert await store.get_control("mode") == "auto"
    assert after[0]["n"] - before[0]["n"] == 1


async def test_control_state_when_saved_and_loaded_then_equal_on_both_stores(db_path: Path) -> None:
    state = ControlState(trading_state=TradingState.ACTIVE, day="2026-03-03",
                         day_start_equity=99.5, peak_equity=120.0,
                         protections={"MSFT": (None, 410.0)}, mode=Mode.PAPER)
    memory = MemoryStore()
    await memory.save_control(state, "engine")
    async with SqliteStore(db_path) as store:
        await store.save_control(state, "engine")
        assert await store.load_control() == state
    assert await memory.load_control() == state


async def test_commands_when_journaled_then_pending_in_order_until_consumed(db_path: Path) -> None:
    async with SqliteStore(db_path) as store:
        first = await store.journal_command("halt", {"reason": "risk review"}, "cli")
        await store.journal_command("resume", {}, "cli")
        pending = await store.pending_commands()
        assert [(c.kind, dict(c.payload), c.by) for c in pending] == [
            ("halt", {"reason": "risk review"}, "cli"), ("resume", {}, "cli")]
        assert halted_after(ControlState(), pending[:1]) and not halted_after(ControlState(), pending)
        await store.consume_command(first)
        assert [c.kind for c in await store.pending_commands()] == ["resume"]
