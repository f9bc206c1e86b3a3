"""Positions: live rows, in-place updates that keep the cursor, sorting by key and by header."""

from __future__ import annotations

from robo_tui.domain.orders import AccountSnapshot, Position
from robo_tui.engine.view import build_view
from robo_tui.ui.widgets.positions import COLUMN_KEYS, PositionsTable

from .conftest import Harness, WidgetApp, screen_text


def give_positions(harness: Harness, **holdings: tuple[float, float, float]) -> None:
    """Replace the engine's account: symbol=(quantity, avg price, last price)."""
    engine = harness.engine
    positions = {s.replace("_", "-"): Position(s.replace("_", "-"), q, avg)
                 for s, (q, avg, _) in holdings.items()}
    for s, (_, _, last) in holdings.items():
        engine.prices[s.replace("_", "-")] = last
    engine.account = AccountSnapshot(engine.clock.now(), 50_000.0, positions, dict(engine.prices))


def rows(table: PositionsTable) -> list[list[str]]:
    return [[cell.plain for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_positions_after_trading_then_one_row_per_position_with_marks(harness: Harness) -> None:
    table = PositionsTable()
    app = WidgetApp(table)
    async with app.run_test(size=(120, 12)) as pilot:
        table.update_from(build_view(harness.engine))
        await pilot.pause()
        account = harness.engine.account
        held = {s for s, p in account.positions.items() if p.quantity}
        assert held and {r[0] for r in rows(table)} == held
        protections = harness.engine.broker.protections()  # type: ignore[attr-defined]
        for row in rows(table):
            pos = account.positions[row[0]]
            assert row[1] == ("LONG" if pos.quantity > 0 else "SHORT")
            stop, target = protections.get(row[0], (None, None))
            assert stop is not None and row[7] == f"{stop:,.2f}"
            assert target is not None and row[8] == f"{target:,.2f}"
        assert next(iter(held)) in screen_text(app)


async def test_positions_columns_show_qty_avg_last_pnl_and_pct(harness: Harness) -> None:
    table = PositionsTable()
    app = WidgetApp(table)
    async with app.run_test(size=(120, 12)) as pilot:
        give_positions(harness, AAPL=(10, 200.0, 210.0), XOM=(-20, 100.0, 104.0))
        table.update_from(build_view(harness.engine))
        await pilot.pause()
        equity = harness.engine.account.equity  # 50,000 + 2,100 - 2,080
        assert rows(table) == [
            ["AAPL", "LONG", "10", "200.00", "210.00", "+100.00", f"{2100 / equity:.1%}", "—", "—"],
            ["XOM", "SHORT", "20", "100.00", "104.00", "-80.00", f"{2080 / equity:.1%}", "—", "—"],
        ]


async def test_positions_when_prices_move_then_cells_update_in_place_and_cursor_stays(
        harness: Harness) -> None:
    table = PositionsTable()
    app = WidgetApp(table)
    async with app.run_test(size=(120, 12)) as pilot:
        give_positions(harness, AAPL=(10, 200.0, 210.0), JPM=(5, 250.0, 251.0),
                       XOM=(-20, 100.0, 104.0))
        table.update_from(build_view(harness.engine))
        table.focus()
        await pilot.press("down")
        assert table.selected_symbol() == "JPM"
        give_positions(harness, AAPL=(10, 200.0, 190.0), JPM=(5, 250.0, 260.0),
                       XOM=(-20, 100.0, 99.0))
        table.update_from(build_view(harness.engine))
        await pilot.pause()
        assert table.selected_symbol() == "JPM"
        assert rows(table)[1][4:6] == ["260.00", "+50.00"]
        assert table.row_count == 3


async def test_positions_when_a_position_closes_then_its_row_goes(harness: Harness) -> None:
    table = PositionsTable()
    app = WidgetApp(table)
    async with app.run_test(size=(120, 12)):
        give_positions(harness, AAPL=(10, 200.0, 210.0), XOM=(-20, 100.0, 104.0))
        table.update_from(build_view(harness.engine))
        give_positions(harness, AAPL=(10, 200.0, 211.0))
        table.update_from(build_view(harness.engine))
        assert [r[0] for r in rows(table)] == ["AAPL"]
        assert table.border_title == "Positions (1)"


async def test_sort_key_cycles_columns_and_keeps_the_selected_symbol(harness: Harness) -> None:
    table = PositionsTable()
    app = WidgetApp(table)
    async with app.run_test(size=(120, 12)) as pilot:
        give_positions(harness, AAPL=(10, 200.0, 180.0), JPM=(5, 250.0, 300.0),
                       XOM=(-20, 100.0, 101.0))
        table.update_from(build_view(harness.engine))
        table.focus()
        await pilot.press("down")  # JPM
        for _ in range(COLUMN_KEYS.index("upnl")):
            await pilot.press("s")
        assert table.sort_column == "upnl"
        assert [r[0] for r in rows(table)] == ["AAPL", "XOM", "JPM"]  # -200, -20, +250
        assert table.selected_symbol() == "JPM"
        await pilot.press("S")
        assert [r[0] for r in rows(table)] == ["JPM", "XOM", "AAPL"]
        assert table.selected_symbol() == "JPM"
        assert "Unreal P&L ↓" in str(table.border_subtitle)


async def test_sort_when_values_change_then_order_follows(harness: Harness) -> None:
    table = PositionsTable()
    app = WidgetApp(table)
    async with app.run_test(size=(120, 12)):
        give_positions(harness, AAPL=(10, 200.0, 180.0), JPM=(5, 250.0, 300.0))
        table.update_from(build_view(harness.engine))
        table.sort_by("last", reverse=True)
        assert [r[0] for r in rows(table)] == ["JPM", "AAPL"]
        give_positions(harness, AAPL=(10, 200.0, 400.0), JPM=(5, 250.0, 300.0))
        table.update_from(build_view(harness.engine))
        assert [r[0] for r in rows(table)] == ["AAPL", "JPM"]


async def test_clicking_a_header_sorts_and_a_second_click_reverses(harness: Harness) -> None:
    table = PositionsTable()
    app = WidgetApp(table)
    async with app.run_test(size=(120, 12)) as pilot:
        give_positions(harness, AAPL=(10, 200.0, 180.0), JPM=(50, 250.0, 300.0),
                       XOM=(-20, 100.0, 101.0))
        table.update_from(build_view(harness.engine))
        await pilot.pause()
        offset = _header_offset(table, "qty")
        await pilot.click(PositionsTable, offset=offset)
        await pilot.pause()
        assert table.sort_column == "qty" and not table.sort_reverse
        assert [r[0] for r in rows(table)] == ["AAPL", "XOM", "JPM"]
        await pilot.click(PositionsTable, offset=offset)
        await pilot.pause()
        assert table.sort_reverse
        assert [r[0] for r in rows(table)] == ["JPM", "XOM", "AAPL"]


def _header_offset(table: PositionsTable, key: str) -> tuple[int, int]:
    x = 0
    for column in table.ordered_columns:
        if column.key.value == key:
            return (x + 1, 0)
        x += column.get_render_width(table)
    raise AssertionError(key)


async def test_positions_when_tiny_then_renders(harness: Harness) -> None:
    table = PositionsTable()
    app = WidgetApp(table)
    async with app.run_test(size=(20, 3)) as pilot:
        give_positions(harness, AAPL=(10, 200.0, 210.0))
        table.update_from(build_view(harness.engine))
        await pilot.pause()
        assert "Symbol" in screen_text(app)
