"""Rounding to a Robinhood crypto pair's increments: always a multiple of the step, never on the
unsafe side, never further than one step (hypothesis)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from robo_tui.adapters.brokers.robinhood_crypto.pairs import (
    PairRules,
    limit_direction,
    round_price,
    round_quantity,
    size_problem,
    stop_direction,
)
from robo_tui.domain.orders import Side

STEPS = st.sampled_from([Decimal("0.01"), Decimal("0.00000001"), Decimal("0.0001"), Decimal("0.5"),
                         Decimal(1), Decimal("0.000001")])
VALUES = st.floats(min_value=1e-6, max_value=1e7, allow_nan=False, allow_infinity=False)


def pair(asset_step: Decimal, quote_step: Decimal) -> PairRules:
    return PairRules("BTC-USD", "BTC", "USD", asset_step, quote_step, asset_step, Decimal(10**9))


@given(VALUES, STEPS)
def test_quantity_when_rounded_then_a_multiple_of_the_step_never_above_the_ask_within_one_step(
        qty: float, step: Decimal) -> None:
    out = round_quantity(pair(step, Decimal("0.01")), qty)
    asked = Decimal(repr(qty))
    assert out % step == 0 and out <= asked < out + step


@given(VALUES, STEPS, st.sampled_from([Side.BUY, Side.SELL]))
def test_limit_price_when_rounded_then_a_buy_never_pays_more_and_a_sell_never_gets_less(
        price: float, tick: Decimal, side: Side) -> None:
    out = round_price(pair(Decimal("0.01"), tick), price, limit_direction(side))
    asked = Decimal(repr(price))
    assert out % tick == 0 and abs(out - asked) < tick
    assert out <= asked if side is Side.BUY else out >= asked


@given(VALUES, STEPS, st.sampled_from([Side.BUY, Side.SELL]))
def test_stop_price_when_rounded_then_it_never_triggers_sooner_than_asked(
        price: float, tick: Decimal, exit_side: Side) -> None:
    out = round_price(pair(Decimal("0.01"), tick), price, stop_direction(exit_side))
    asked = Decimal(repr(price))
    # a long's stop (a sell) rounds down, a short's stop (a buy) rounds up
    assert out <= asked if exit_side is Side.SELL else out >= asked


def test_size_when_outside_the_pair_limits_then_the_problem_names_the_limit() -> None:
    rules = PairRules("BTC-USD", "BTC", "USD", Decimal("0.00000001"), Decimal("0.01"),
                      Decimal("0.000001"), Decimal(20))
    assert "minimum" in size_problem(rules, Decimal("0.0000001"))
    assert "maximum" in size_problem(rules, Decimal(21))
    assert "rounds to 0" in size_problem(rules, Decimal(0))
    assert size_problem(rules, Decimal("1.5")) == ""
