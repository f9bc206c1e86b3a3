"""The sizer rounds to the venue's grid before the gate judges (issue 13): a stop and a target on
the tick on the trader's safe side, a quantity on the step, and no order below the minimum."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from robo_tui.config import RiskSettings, SizingSettings
from robo_tui.domain.increments import STOCK_INCREMENTS, Increments
from robo_tui.engine.sizing import Sizer, SizeRequest


def stock_sizer() -> Sizer:
    s = Sizer(SizingSettings(), RiskSettings())
    s.increments["AAPL"] = STOCK_INCREMENTS
    return s


@given(price=st.floats(min_value=0.5, max_value=5_000, allow_nan=False),
       atr=st.floats(min_value=0.001, max_value=50, allow_nan=False),
       direction=st.sampled_from([1, -1]))
def test_size_when_the_venue_has_a_penny_tick_then_stop_and_target_are_on_it_and_no_closer(
        price: float, atr: float, direction: int) -> None:
    sizer = stock_sizer()
    raw_stop, raw_target = sizer.protective_levels(price, direction, atr)
    sized = sizer.size(SizeRequest("AAPL", direction, price, atr, 0.9, 100_000.0, 100_000.0))
    assert sized.stop_loss is not None and sized.take_profit is not None
    tick = STOCK_INCREMENTS.tick_for(raw_stop)
    assert abs(sized.stop_loss / tick - round(sized.stop_loss / tick)) < 1e-6
    # the stop is never closer to the price than sized, the target never nearer either
    assert (price - sized.stop_loss) * direction >= (price - raw_stop) * direction - 1e-9
    assert (sized.take_profit - price) * direction >= (raw_target - price) * direction - 1e-9
    assert sized.quantity == int(sized.quantity)


def test_size_when_below_the_venue_minimum_then_no_order_and_the_note_says_why() -> None:
    sizer = Sizer(SizingSettings(), RiskSettings())
    sizer.increments["BTC-USD"] = Increments(price_tick=0.01, quantity_step=1e-8,
                                             min_quantity=5.0)
    sized = sizer.size(SizeRequest("BTC-USD", 1, 50_000.0, 1_000.0, 0.9, 100_000.0, 100_000.0,
                                   fractional=True))
    assert sized.quantity == 0.0
    assert any("minimum size 5" in n for n in sized.notes)


def test_size_when_the_venue_states_no_grid_then_levels_are_as_computed() -> None:
    sizer = Sizer(SizingSettings(), RiskSettings())
    sized = sizer.size(SizeRequest("AAPL", 1, 172.73351893239743, 1.2345, 0.9, 100_000.0,
                                   100_000.0))
    assert sized.stop_loss == 172.73351893239743 - 2 * 1.2345
