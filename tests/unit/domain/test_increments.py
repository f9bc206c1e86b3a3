"""Prices and sizes the venue accepts (issue 13): every rounded price is on the tick, on the
trader's safe side and within one tick; quantities go down to the step and respect min/max."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from robo_tui.domain.increments import (
    STOCK_INCREMENTS,
    Increments,
    Rounding,
    decimals_of,
    prices_on_grid,
    round_to_step,
)
from robo_tui.domain.orders import OrderIntent, OrderType, Side

TICKS = st.sampled_from([0.01, 0.05, 0.25, 0.0001, 0.5, 1.0, 1e-8, 0.001])
PRICES = st.floats(min_value=1e-4, max_value=1e7, allow_nan=False, allow_infinity=False)


def on_grid(value: float, step: float) -> bool:
    units = Decimal(repr(value)) / Decimal(repr(step))
    return units == units.to_integral_value()


@given(price=PRICES, tick=TICKS, down=st.booleans())
def test_round_to_step_when_any_price_then_on_the_tick_on_its_side_and_within_one_tick(
        price: float, tick: float, down: bool) -> None:
    rounded = round_to_step(price, tick, Rounding.DOWN if down else Rounding.UP)
    assert on_grid(rounded, tick)
    if down:
        assert rounded <= price and price - rounded < tick * (1 + 1e-9)
    else:
        assert rounded >= price and rounded - price < tick * (1 + 1e-9)


@given(price=PRICES, tick=TICKS)
def test_safe_sides_when_any_price_then_no_level_is_worse_for_the_trader_than_asked(
        price: float, tick: float) -> None:
    grid = Increments(price_tick=tick)
    assert grid.limit_price(price, buy=True) <= price  # never pay more
    assert grid.limit_price(price, buy=False) >= price  # never sell for less
    assert grid.stop_price(price, long=True) <= price  # a long is never stopped out earlier
    assert grid.stop_price(price, long=False) >= price  # nor a short
    assert grid.target_price(price, long=True) >= price  # a long's take-profit never cheaper
    assert grid.target_price(price, long=False) <= price


def test_round_price_when_the_issue_s_number_then_it_is_on_the_penny() -> None:
    assert STOCK_INCREMENTS.stop_price(172.73351893239743, long=True) == 172.73
    assert STOCK_INCREMENTS.target_price(172.73351893239743, long=True) == 172.74


def test_tick_for_when_a_stock_trades_under_a_dollar_then_the_sub_dollar_tick() -> None:
    assert STOCK_INCREMENTS.tick_for(0.4567891) == 0.0001
    assert STOCK_INCREMENTS.limit_price(0.4567891, buy=True) == 0.4567
    assert STOCK_INCREMENTS.limit_price(12.3456, buy=True) == 12.34


@given(qty=st.floats(min_value=0, max_value=1e6, allow_nan=False),
       step=st.sampled_from([1.0, 1e-8, 0.001, 0.1]),
       least=st.sampled_from([0.0, 1e-6, 1.0]), most=st.sampled_from([None, 20.0, 500.0]))
def test_quantity_when_any_size_then_on_the_step_within_limits_and_never_more(
        qty: float, step: float, least: float, most: float | None) -> None:
    grid = Increments(quantity_step=step, min_quantity=least, max_quantity=most)
    out = grid.quantity(qty)
    assert out <= qty
    if out:
        assert on_grid(out, step) and out >= least
        assert most is None or out <= most


def test_round_to_step_when_not_a_number_then_unchanged() -> None:
    assert round_to_step(float("inf"), 0.01, Rounding.DOWN) == float("inf")
    assert round_to_step(5.0, 0.0, Rounding.UP) == 5.0
    assert Increments(quantity_step=1.0).quantity(float("nan")) == 0.0


def test_decimals_of_when_steps_then_their_decimals() -> None:
    assert [decimals_of(s) for s in (0.01, 1.0, 1e-8, 0.25)] == [2, 0, 8, 2]


def test_prices_on_grid_when_an_entry_carries_raw_levels_then_each_is_on_the_tick_on_its_safe_side() -> None:
    buy = OrderIntent("AAPL", Side.BUY, 3, OrderType.LIMIT, limit_price=172.73351893239743,
                      stop_loss=167.55351893239743, take_profit=183.09351893239743)
    on = prices_on_grid(buy, STOCK_INCREMENTS)
    assert (on.limit_price, on.stop_loss, on.take_profit) == (172.73, 167.55, 183.1)
    assert (on.quantity, on.side, on.symbol) == (3, Side.BUY, "AAPL")
    sell = OrderIntent("AAPL", Side.SELL, 3, OrderType.LIMIT, limit_price=172.731,
                       stop_loss=177.001, take_profit=160.009)
    on = prices_on_grid(sell, STOCK_INCREMENTS)
    assert (on.limit_price, on.stop_loss, on.take_profit) == (172.74, 177.01, 160.0)
    market = OrderIntent("AAPL", Side.SELL, 3, reduce_only=True)
    assert prices_on_grid(market, STOCK_INCREMENTS) is market
