"""The report card's shadow section: would-be orders priced against what prices did."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from robo_tui.adapters.brokers.shadow import ShadowBroker
from robo_tui.adapters.store import SqliteStore
from robo_tui.domain.orders import Order, OrderIntent, OrderStatus, OrderType, Side
from robo_tui.reports.account import build_account_report
from robo_tui.reports.render import render_html, render_text, summary_rows
from tests.unit.brokers.helpers import make_broker

DAY = datetime(2026, 3, 2, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path / "data" / "robo-tui.sqlite3")
    await s.open()
    try:
        yield s
    finally:
        await s.close()


async def _would_send(store: SqliteStore, shadow: ShadowBroker, coid: str, at: datetime,
                      intent: OrderIntent, source: str = "strategy") -> None:
    """Journal an order as the order path does and let the shadow broker answer it."""
    order = Order(coid, intent, at, source)
    await store.record_order_intent(order)
    ack = await shadow.submit(order)
    await store.update_order(coid, ack.status, ack.broker_order_id, ack.message)


async def _shadow_day(store: SqliteStore) -> None:
    """Three would-be orders on a day of marks: a good buy, a bad short, a late pending buy."""
    shadow = ShadowBroker(make_broker())
    for hour, aapl, btc in [(9, 100.0, 50_000.0), (10, 101.0, 50_500.0), (13, 104.0, 51_000.0),
                            (14, 103.0, 52_000.0), (23, 103.0, 52_000.0)]:
        await store.record_market_snapshot(DAY + timedelta(hours=hour),
                                           {"AAPL": aapl, "BTC-USD": btc}, False)
    # bought 10 AAPL at the 09:00 mark 100; 4 h later (13:00) it is 104: +40
    await _would_send(store, shadow, "S-1", DAY + timedelta(hours=9, minutes=1),
                      OrderIntent("AAPL", Side.BUY, 10))
    # sold 0.1 BTC-USD with a limit of 50,400 at 10:05; by 14:05 it is 52,000: -160
    await _would_send(store, shadow, "S-2", DAY + timedelta(hours=10, minutes=5),
                      OrderIntent("BTC-USD", Side.SELL, 0.1, OrderType.LIMIT, limit_price=50_400.0),
                      source="analyst")
    # bought at 23:30: no mark after it before the day's end, so it is pending
    await _would_send(store, shadow, "S-3", DAY + timedelta(hours=23, minutes=30),
                      OrderIntent("AAPL", Side.BUY, 1))
    # a real (non-shadow) cancelled order is not part of the section
    real = Order("R-1", OrderIntent("AAPL", Side.BUY, 5), DAY + timedelta(hours=11), "ui")
    await store.record_order_intent(real)
    await store.update_order("R-1", OrderStatus.CANCELLED, None, "cancelled by the trader")


async def test_shadow_section_when_would_be_orders_were_journaled_then_each_is_priced_later(
        store: SqliteStore) -> None:
    await _shadow_day(store)

    report = await build_account_report(store, "daily", DAY, shadow_horizon_hours=4)

    shadow = report.shadow
    assert shadow is not None
    rows = {o.client_order_id: o for o in shadow.orders}
    assert set(rows) == {"S-1", "S-2", "S-3"}
    assert (rows["S-1"].entry_price, rows["S-1"].exit_price) == (100.0, 104.0)
    assert rows["S-1"].pnl == pytest.approx(40.0)
    assert (rows["S-2"].entry_price, rows["S-2"].exit_price) == (50_400.0, 52_000.0)
    assert rows["S-2"].pnl == pytest.approx(-160.0)
    assert rows["S-2"].source == "analyst"
    assert rows["S-3"].exit_price is None and shadow.pending == 1
    assert shadow.pnl == pytest.approx(-120.0)
    assert (shadow.wins, len(shadow.scored), shadow.hit_rate) == (1, 2, 0.5)


async def test_shadow_section_when_the_horizon_passes_the_period_end_then_priced_at_the_end(
        store: SqliteStore) -> None:
    await _shadow_day(store)

    report = await build_account_report(store, "daily", DAY, shadow_horizon_hours=48)

    assert report.shadow is not None
    rows = {o.client_order_id: o for o in report.shadow.orders}
    assert rows["S-1"].exit_price == 103.0  # the 23:00 mark, the last before the day ended
    assert rows["S-1"].exit_ts == DAY + timedelta(hours=23)


async def test_shadow_section_when_rendered_then_text_json_and_html_show_orders_and_totals(
        store: SqliteStore) -> None:
    await _shadow_day(store)
    report = await build_account_report(store, "daily", DAY, shadow_horizon_hours=4)

    from rich.console import Console

    console = Console(width=80, record=True, color_system=None)
    console.print(render_text(report))
    text = console.export_text()
    assert "Shadow" in text and "BUY 10 AAPL" in text and "pending" in text
    assert "50,400.00" in text and "52,000.00" in text
    assert dict(summary_rows(report))["Shadow"] == (
        "3 would-be orders, 2 priced 4 h later: P&L -120.00, 1 won (50%), 1 pending")
    assert max(len(line) for line in text.splitlines()) <= 80
    data = json.loads(json.dumps(report.to_dict()))["shadow"]
    assert (data["orders"], data["scored"], data["pnl"], data["hit_rate"]) == (3, 2, -120.0, 0.5)
    page = render_html(report)
    assert "Shadow: would-be orders" in page and "50,400.0000" in page


async def test_shadow_section_when_no_order_was_shadowed_then_the_report_has_none(
        store: SqliteStore) -> None:
    await store.record_market_snapshot(DAY, {"AAPL": 100.0}, False)

    report = await build_account_report(store, "daily", DAY)

    assert report.shadow is None and report.to_dict()["shadow"] is None
    assert "Shadow" not in render_html(report)
