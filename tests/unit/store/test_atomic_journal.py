"""A fill, its order's status and the venue's protections are one transaction (issue 17,
findings 3 and 4): when any part cannot be written, none is."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from robo_tui.adapters.store import SqliteStore
from robo_tui.domain.orders import OrderStatus
from robo_tui.ports import StorageFull

from .conftest import T0, make_fill, make_order


async def test_record_fill_when_it_completes_the_order_then_fill_status_and_stops_together(
    store: SqliteStore,
) -> None:
    await store.record_order_intent(make_order())
    await store.update_order("o-1", OrderStatus.SUBMITTED, "b-1", "ack")
    await store.record_fill(make_fill(), order_status=OrderStatus.FILLED,
                            protections={"AAPL": (181.0, 199.5)})
    order = await store.get_order("o-1")
    assert order is not None and order[1] is OrderStatus.FILLED
    assert len(await store.fills()) == 1
    assert dict((await store.load_control()).protections) == {"AAPL": (181.0, 199.5)}


async def test_record_fill_when_the_protection_write_fails_then_neither_fill_nor_status(
    db_path: Path,
) -> None:
    async with SqliteStore(db_path, now=lambda: T0) as store:
        await store.record_order_intent(make_order())
        await store.update_order("o-1", OrderStatus.SUBMITTED, "b-1", "ack")
    with sqlite3.connect(db_path) as other:  # the last write of the transaction will fail
        other.execute("CREATE TRIGGER fail_protections BEFORE INSERT ON control_state "
                      "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
    async with SqliteStore(db_path, now=lambda: T0) as store:
        with pytest.raises(sqlite3.IntegrityError):
            await store.record_fill(make_fill(), order_status=OrderStatus.FILLED,
                                    protections={"AAPL": (181.0, 199.5)})
        order = await store.get_order("o-1")
        assert order is not None and order[1] is OrderStatus.SUBMITTED
        assert await store.fills() == []


async def test_record_fill_when_the_disk_fills_then_order_stays_open_without_a_half_write(
    db_path: Path,
) -> None:
    async with SqliteStore(db_path, now=lambda: T0) as store:
        await store.record_order_intent(make_order())
        await store.update_order("o-1", OrderStatus.SUBMITTED, "b-1", "ack")
    pages = sqlite3.connect(db_path).execute("PRAGMA page_count").fetchone()[0]
    async with SqliteStore(db_path, now=lambda: T0, max_pages=pages) as store:
        big = {f"S{n:04d}": (1.0 * n, 2.0 * n) for n in range(3000)}
        with pytest.raises(StorageFull):
            await store.record_fill(make_fill(), order_status=OrderStatus.FILLED, protections=big)
        order = await store.get_order("o-1")
        assert order is not None and order[1] is OrderStatus.SUBMITTED
        assert await store.fills() == []
