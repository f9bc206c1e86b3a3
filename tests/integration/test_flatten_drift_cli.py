"""`robo-tui flatten` and `robo-tui drift show|accept` from a shell (issue 13): with no engine
running, flatten runs the engine once through its order path (HALTED included); the drift report
is shown (exit 3 while it blocks entries) and its acceptance journaled for the engine."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from robo_tui.adapters.store.sqlite import DB_FILENAME, SqliteStore
from robo_tui.domain.drift import REPORT_KEY, DriftItem, DriftReport
from robo_tui.domain.orders import Fill, Order, OrderIntent, OrderStatus, Side
from robo_tui.runtime import ExitCode
from tests.integration.test_storage_faults_cli import data_dir, robo

__all__ = ["data_dir"]


def _a_position(folder: Path, qty: float = 3.0) -> None:
    async def seed() -> None:
        async with SqliteStore(folder / DB_FILENAME) as store:
            now = store._now()
            order = Order("O-seed", OrderIntent("AAPL", Side.BUY, qty, stop_loss=100.0), now, "ui")
            await store.record_order_intent(order)
            await store.record_fill(Fill("F-seed", "O-seed", "AAPL", Side.BUY, qty, 190.0, 0.0, now),
                                    order_status=OrderStatus.FILLED)

    asyncio.run(seed())


def _held(folder: Path) -> float:
    async def read() -> float:
        async with SqliteStore(folder / DB_FILENAME) as store:
            return sum(f.side.sign * f.quantity for f in await store.fills() if f.symbol == "AAPL")

    return asyncio.run(read())


def test_flatten_when_no_engine_runs_and_halted_then_the_position_is_closed_through_the_order_path(
        data_dir: Path) -> None:
    _a_position(data_dir)
    assert robo(data_dir, "halt", "--reason", "F9").returncode == 0
    result = robo(data_dir, "flatten", "AAPL", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "done" in result.stdout
    assert _held(data_dir) == 0.0

    async def verdicts() -> list[dict[str, object]]:
        async with SqliteStore(data_dir / DB_FILENAME) as store:
            return await store.query("select source, allowed from risk_verdicts "
                                     "where source = 'cli'")

    assert [(r["source"], r["allowed"]) for r in asyncio.run(verdicts())] == [("cli", 1)]


def test_flatten_when_neither_symbol_nor_all_then_usage(data_dir: Path) -> None:
    result = robo(data_dir, "flatten", "--yes")
    assert result.returncode == ExitCode.USAGE and "SYMBOL or --all" in result.stderr


def test_drift_show_and_accept_when_a_report_blocks_then_exit_3_and_the_accept_is_journaled(
        data_dir: Path) -> None:
    empty = robo(data_dir, "drift", "show")
    assert empty.returncode == 0 and "No reconciliation yet" in empty.stdout

    async def seed() -> None:
        async with SqliteStore(data_dir / DB_FILENAME) as store:
            item = DriftItem("position", "AAPL", 5.0, 0.0, "AAPL: ib holds 5 that robo-tui never traded")
            report = DriftReport("ib", datetime.now(UTC), (item,))
            await store.set_control(REPORT_KEY, report.to_json(), "engine")

    asyncio.run(seed())
    shown = robo(data_dir, "drift", "show")
    assert shown.returncode == ExitCode.HALTED and "never traded" in shown.stdout
    accepted = robo(data_dir, "drift", "accept", "--yes")
    assert accepted.returncode == 0, accepted.stderr

    async def pending() -> list[str]:
        async with SqliteStore(data_dir / DB_FILENAME) as store:
            return [c.kind for c in await store.pending_commands()]

    assert asyncio.run(pending()) == ["drift_accept"]
