"""A protective level's arithmetic: the trail ratchets only in the position's favour, the
effective stop is the tighter one, and a range through both legs hits the stop first."""

from __future__ import annotations

from robo_tui.domain.orders import Side
from robo_tui.domain.protection import ProtectiveLevel


def level(side: Side = Side.BUY, **kw: object) -> ProtectiveLevel:
    return ProtectiveLevel(symbol="BTC-USD", side=side, qty=1.0, entry_client_order_id="O-1",
                           **kw)  # type: ignore[arg-type]


def test_trailing_stop_of_a_long_when_price_rises_then_falls_then_it_only_ratchets_up() -> None:
    trail = level(stop=90.0, trail_distance=5.0, extreme=100.0)
    up = trail.ratchet(110.0)
    assert up.trail_stop == 105.0 and up.effective_stop == 105.0
    down = up.ratchet(104.0)
    assert down is up and down.effective_stop == 105.0
    assert down.triggered(104.9, 104.9) == "trailing_stop"


def test_trailing_stop_of_a_short_when_price_falls_then_it_only_ratchets_down() -> None:
    trail = level(Side.SELL, stop=110.0, trail_pct=0.1, extreme=100.0)
    down = trail.ratchet(80.0)
    assert down.effective_stop is not None and abs(down.effective_stop - 88.0) < 1e-9
    assert down.ratchet(95.0) is down
    assert down.triggered(88.5, 88.5) == "trailing_stop"


def test_fixed_stop_when_tighter_than_the_trail_then_it_is_the_one_that_fires() -> None:
    both = level(stop=99.0, trail_distance=5.0, extreme=100.0)
    assert both.effective_stop == 99.0
    assert both.triggered(99.0, 99.0) == "stop_loss"


def test_range_through_stop_and_target_when_both_engine_held_then_the_stop_fires_first() -> None:
    assert level(stop=90.0, target=110.0).triggered(85.0, 115.0) == "stop_loss"
    assert level(stop=90.0, target=110.0).triggered(95.0, 115.0) == "take_profit"


def test_venue_held_stop_when_price_crosses_it_then_robo_tui_does_not_fire_it() -> None:
    venue_stop = level(stop=90.0, target=110.0, stop_held_by="venue")
    assert venue_stop.triggered(80.0, 80.0) is None
    assert venue_stop.triggered(111.0, 111.0) == "take_profit"
    assert venue_stop.engine_held and venue_stop.has_stop
