"""The store's protective levels: written with the fill that changed them (one transaction),
read back after a reopen, dropped by None; a venue's own exit journaled with its fill."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.domain.orders import Order, OrderIntent, OrderStatus, Side
from robo_tui.domain.protection import ProtectiveLevel

from .conftest import T0, make_fill, make_order


def level(qty: float = 12.5) -> ProtectiveLevel:
    return ProtectiveLevel(symbol="AAPL", side=Side.BUY, qty=qty, entry_client_order_id="o-1",
                           stop=180.0, target=200.0, stop_held_by="venue")


async def test_record_fill_when_it_carries_levels_then_they_persist_across_a_reopen(
        db_path: Path) -> None:
    store = SqliteStore(db_path, now=lambda: T0)
    await store.open()
    await store.record_order_intent(make_order())
    await store.record_fill(make_fill(), order_status=OrderStatus.FILLED,
                            levels={"AAPL": level()})
    await store.close()
    again = SqliteStore(db_path, now=lambda: T0)
    await again.open()
    try:
        assert await again.protective_levels() == [level()]
        await again.save_protective_levels({"AAPL": None})
        assert await again.protective_levels() == []
    finally:
        await again.close()


async def test_record_fill_when_the_fill_is_refused_then_neither_level_nor_order_is_written(
        store: SqliteStore) -> None:
    await store.record_order_intent(make_order())
    await store.record_fill(make_fill())
    clash = dataclasses.replace(make_fill(), price=1.0)  # same fill id, another fill
    exit_order = Order("o-1:sl", OrderIntent("AAPL", Side.SELL, 12.5, reduce_only=True,
                                             reason="stop_loss"), T0, "venue")
    with pytest.raises(ValueError, match="already used"):
        await store.record_fill(clash, levels={"AAPL": level()}, venue_order=exit_order)
    assert await store.protective_levels() == []
    assert await store.get_order("o-1:sl") is None


async def test_record_fill_when_the_venue_placed_the_exit_then_its_order_row_is_journaled_filled(
        store: SqliteStore) -> None:
    exit_order = Order("o-1:sl", OrderIntent("AAPL", Side.SELL, 12.5, reduce_only=True,
                                             reason="stop_loss"), T0, "venue")
    fill = dataclasses.replace(make_fill("f-sl", "o-1:sl"), side=Side.SELL, reason="stop_loss")
    await store.record_fill(fill, venue_order=exit_order, levels={"AAPL": None})
    assert await store.get_order("o-1:sl") == (exit_order, OrderStatus.FILLED)
    assert await store.orders_missing_fills() == []
