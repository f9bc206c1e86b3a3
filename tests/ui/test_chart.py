"""The chart view: candles and volume of the selected position's symbol with its trades, stop,
target and the analyst's ideas marked; zoom by key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from robo_tui.domain.orders import Fill, Side
from robo_tui.domain.risk import Mode
from robo_tui.engine.view import trade_marks
from robo_tui.ui.screens.chart import ChartScreen, visible_marks
from robo_tui.ui.screens.main import MainScreen
from robo_tui.ui.widgets import PositionsTable

from .helpers import START, cycle_done, make_app, make_engine, screen_text, seed_book, wait_until


async def test_chart_view_when_a_position_is_flattened_then_the_exit_is_marked_with_stop_and_target(
        tmp_path: Path) -> None:
    await seed_book(tmp_path)
    engine = make_engine(tmp_path, mode=Mode.SEMI_AUTO)
    app = make_app(engine, cycles=1)
    async with app.run_test(size=(120, 40)) as pilot:
        await cycle_done(pilot)
        result = await engine.flatten("XOM", by="test")
        assert result is not None and result.sent
        await pilot.pause(0.3)
        table = app.main.query_one(PositionsTable)
        table.focus()
        await wait_until(pilot, lambda: table.selected_symbol() is not None, what="positions")
        # chart the AAPL position: stop and target held
        table.move_cursor(row=next(i for i in range(table.row_count)
                                   if table.get_row_at(i)[0].plain == "AAPL"))
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, ChartScreen), what="the chart")
        chart = app.screen
        assert isinstance(chart, ChartScreen)
        assert chart.data.symbol == "AAPL"
        assert (chart.data.stop, chart.data.target) == (135.0, 180.0)
        assert len(chart.data.ts) > 100 and len(chart.data.volume) == len(chart.data.ts)
        await pilot.pause(0.3)
        text = screen_text(app)
        assert "stop 135.00" in text and "target 180.00" in text and "volume" in text
        shown = chart.window.size
        await pilot.press("plus")
        assert chart.window.size < shown
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen), what="main")

        # the XOM chart carries the exit just made, on the chart and in its legend
        await app.main.run_action("chart('XOM')")
        await wait_until(pilot, lambda: isinstance(app.screen, ChartScreen), what="the chart")
        chart = app.screen
        assert isinstance(chart, ChartScreen)
        first, end = chart.window.bounds
        kinds = [m.kind for _, m in visible_marks(chart.data, first, end)]
        assert "exit" in kinds
        await pilot.pause(0.3)
        text = screen_text(app)
        assert "▼" in text and "exit ×1" in text


def test_trade_marks_when_a_position_grows_then_shrinks_then_entries_and_exits() -> None:
    fills = [
        Fill("F1", "O1", "AAPL", Side.BUY, 10, 100.0, 0.0, START),
        Fill("F2", "O2", "AAPL", Side.BUY, 5, 101.0, 0.0, START + timedelta(minutes=1)),
        Fill("F3", "O3", "AAPL", Side.SELL, 15, 103.0, 0.0, START + timedelta(minutes=2),
             reason="take_profit"),
        Fill("F4", "O4", "MSFT", Side.BUY, 1, 400.0, 0.0, START),
    ]
    marks = trade_marks(fills, "AAPL")
    assert [m.kind for m in marks] == ["entry", "entry", "exit"]
    assert marks[-1].label == "SELL 15 @ 103.00 (take_profit)"
