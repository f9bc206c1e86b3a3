"""The equity pane's honest scale, the footer's priorities and the one Theme command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from robo_tui.engine.view import build_view
from robo_tui.ui.commands import FOOTER_ORDER
from robo_tui.ui.widgets import EquitySparkline
from robo_tui.ui.widgets.equity import scaled
from robo_tui.ui.widgets.positions import COLUMN_KEYS, fit_columns

from .conftest import Harness, WidgetApp, screen_text

START = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)


def test_equity_when_a_dip_is_a_few_dollars_on_100k_then_it_is_drawn_flat() -> None:
    values = [100_000.0, 99_997.46, 100_000.0]  # a $2.54 dip
    assert scaled(values) == [1.0, 1.0, 1.0]


def test_equity_when_the_range_is_real_then_it_is_drawn_as_is() -> None:
    values = [100_000.0, 99_500.0, 100_200.0]
    assert scaled(values) == values


def test_footer_when_narrow_then_help_and_quit_come_before_the_pane_keys() -> None:
    first_seven = FOOTER_ORDER[:7]
    assert "help" in first_seven and "request_quit" in first_seven
    assert FOOTER_ORDER[0] == "kill_switch"


def test_positions_when_narrow_then_avg_goes_first_and_pnl_and_pct_stay() -> None:
    row = ("BTC-USD", "LONG", "0.1", "50,000.00", "55,385.08", "+538.51", "5.5%",
           "46,000.00", "—")
    assert len(row) == len(COLUMN_KEYS)
    keys = [k for k, _ in fit_columns([row], 48)]
    assert keys == ["symbol", "side", "qty", "last", "upnl", "pct"]
    assert "avg" in [k for k, _ in fit_columns([row], 200)]


async def test_equity_pane_when_a_254_dip_then_drawn_flat_with_its_range_and_equity_now(
        harness: Harness) -> None:
    engine = harness.engine
    engine.equity_history.clear()
    engine.equity_history.extend(
        (START + timedelta(minutes=i), v)
        for i, v in enumerate([100_000.0, 99_999.0, 99_997.46, 99_999.5, 100_000.0]))
    spark = EquitySparkline()
    app = WidgetApp(spark)
    async with app.run_test(size=(40, 5)) as pilot:
        view = build_view(engine)
        spark.update_from(view)
        await pilot.pause()
        assert "█" not in screen_text(app) and "▇" not in screen_text(app)
        assert "range 2.54 flat" in str(spark.border_subtitle)
        assert str(spark.border_title).startswith(f"Equity {view.equity:,.2f}")
