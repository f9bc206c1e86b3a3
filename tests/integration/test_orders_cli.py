"""`robo-tui orders list|cancel` from a shell: a table (or JSON) of working orders, and a cancel
journaled for the engine."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from robo_tui.adapters.store.sqlite import DB_FILENAME, SqliteStore
from robo_tui.domain.orders import Order, OrderIntent, OrderStatus, OrderType, Side
from robo_tui.runtime import ExitCode
from tests.integration.test_storage_faults_cli import data_dir, robo

__all__ = ["data_dir"]


def _a_working_limit_order(folder: Path) -> None:
    async def seed() -> None:
        async with SqliteStore(folder / DB_FILENAME) as store:
            order = Order("O-limit", OrderIntent("AAPL", Side.BUY, 3, OrderType.LIMIT,
                                                 limit_price=150.25, stop_loss=140.0), store._now(),
                          "ui")
            await store.record_order_intent(order)
            await store.update_order("O-limit", OrderStatus.SUBMITTED, "B-1", "")

    asyncio.run(seed())


def test_orders_list_when_a_limit_order_works_then_a_table_and_json_show_it(data_dir: Path) -> None:
    _a_working_limit_order(data_dir)
    table = robo(data_dir, "orders", "list")
    assert table.returncode == 0, table.stderr
    assert "O-limit" in table.stdout and "150.25" in table.stdout and "limit" in table.stdout
    as_json = robo(data_dir, "orders", "list", "--json")
    assert as_json.returncode == 0, as_json.stderr
    rows = json.loads(as_json.stdout)
    assert [(r["client_order_id"], r["status"], r["source"]) for r in rows] == \
        [("O-limit", "submitted", "ui")]


def test_orders_cancel_when_the_order_works_then_journaled_for_the_engine(data_dir: Path) -> None:
    _a_working_limit_order(data_dir)
    result = robo(data_dir, "orders", "cancel", "O-limit")
    assert result.returncode == 0, result.stderr

    async def pending() -> list[tuple[str, dict[str, str]]]:
        async with SqliteStore(data_dir / DB_FILENAME) as store:
            return [(c.kind, dict(c.payload)) for c in await store.pending_commands()]

    assert asyncio.run(pending()) == [("cancel", {"order_id": "O-limit"})]
    missing = robo(data_dir, "orders", "cancel", "O-nope")
    assert missing.returncode == ExitCode.USAGE and "no order" in missing.stderr
