"""The equity pane's honest scale, the footer's priorities and the one Theme command."""

from __future__ import annotations

from robo_tui.ui.commands import FOOTER_ORDER
from robo_tui.ui.widgets.equity import scaled
from robo_tui.ui.widgets.positions import COLUMN_KEYS, fit_columns


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
