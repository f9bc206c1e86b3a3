"""The one bad-tick checker: bad prints rejected with a reason, a real new level accepted."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from robo_tui.domain.market import Bar, Quote
from robo_tui.domain.ticks import TickChecker, TickRules

T0 = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def quote(price: float, seconds: float = 0.0, bid: float | None = None,
          ask: float | None = None) -> Quote:
    return Quote("BTC-USD", T0 + timedelta(seconds=seconds), price if bid is None else bid,
                 price if ask is None else ask, price)


def bar(o: float, h: float, l: float, c: float) -> Bar:
    return Bar("BTC-USD", T0, o, h, l, c, 1.0)


@pytest.mark.parametrize(("tick", "why"), [
    (quote(0.0), "zero, negative or not a number"),
    (quote(-5.0), "zero, negative or not a number"),
    (quote(math.nan), "zero, negative or not a number"),
    (quote(100.0, bid=math.inf, ask=101.0), "bid inf is negative or not a number"),
    (quote(100.0, bid=101.0, ask=100.0), "crossed quote: bid 101.0 above ask 100.0"),
    (quote(10_000.0), "print 10,000 is 100x the last price 100"),
])
def test_quote_when_bad_then_rejected_with_the_reason(tick: Quote, why: str) -> None:
    assert why in (TickChecker().quote(tick, 100.0) or "")


def test_bar_when_a_100x_wick_with_a_sane_close_then_rejected() -> None:
    checker = TickChecker()
    assert "100x" in (checker.bar(bar(100, 10_000, 99, 100.5), 100.0) or "")
    assert checker.bar(bar(100, 101, 99, 100.5), 100.0) is None
    assert "below low" in (checker.bar(bar(100, 98, 99, 100), 100.0) or "")
    assert "zero, negative" in (checker.bar(bar(100, 101, 0.0, 100), 100.0) or "")


def test_quote_when_no_book_then_zero_bid_and_ask_are_accepted() -> None:
    assert TickChecker().quote(quote(100.0, bid=0.0, ask=0.0), 100.0) is None


def test_new_level_when_it_persists_n_prints_then_accepted_and_a_lone_outlier_is_forgotten() -> None:
    checker = TickChecker(TickRules(outlier_ratio=10.0, new_level_prints=3, new_level_seconds=1e6))
    reference = 50_000.0
    verdicts = []
    for n, price in enumerate((900_000.0, 50_100.0, 900_000.0, 900_100.0, 900_200.0)):
        why = checker.quote(quote(price, n), reference)
        verdicts.append(why is None)
        if why is None:
            reference = price
    # the first outlier is forgotten when the price comes back; the second run of three is real
    assert verdicts == [False, True, False, False, True]
    assert reference == 900_200.0
    assert checker.candidate("BTC-USD") is None


def test_new_level_when_it_holds_the_configured_time_then_accepted_on_its_second_print() -> None:
    checker = TickChecker(TickRules(new_level_prints=100, new_level_seconds=300.0))
    assert checker.quote(quote(2_000.0, 0), 100.0) is not None
    assert checker.candidate("BTC-USD") == 2_000.0
    assert checker.quote(quote(2_050.0, 299), 100.0) is not None
    assert checker.quote(quote(2_010.0, 300), 100.0) is None


def test_rules_when_nonsense_then_value_error() -> None:
    with pytest.raises(ValueError, match="outlier_ratio"):
        TickRules(outlier_ratio=1.0)
    with pytest.raises(ValueError, match="new_level_prints"):
        TickRules(new_level_prints=0)


prices = st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False)
bad = st.sampled_from([0.0, -1.0, -1e9, math.nan, math.inf, -math.inf])


@given(reference=prices, factor=st.floats(min_value=0.100001, max_value=9.99999))
def test_property_a_print_within_the_ratio_is_always_accepted(reference: float,
                                                             factor: float) -> None:
    assert TickChecker().quote(quote(reference * factor), reference) is None


@given(reference=st.one_of(st.none(), prices), price=bad)
def test_property_a_zero_negative_or_non_finite_print_is_never_accepted(
        reference: float | None, price: float) -> None:
    checker = TickChecker(TickRules(new_level_prints=1, new_level_seconds=0.0))
    assert checker.quote(quote(price), reference) is not None
    assert checker.bar(bar(price, max(price, 1.0), 1.0, 1.0), reference) is not None


@given(reference=prices, jump=st.floats(min_value=10.5, max_value=1e4),
       up=st.booleans(), n=st.integers(min_value=1, max_value=8))
def test_property_an_outlier_level_is_accepted_exactly_on_its_nth_consecutive_print(
        reference: float, jump: float, up: bool, n: int) -> None:
    checker = TickChecker(TickRules(new_level_prints=n, new_level_seconds=1e9))
    level = reference * jump if up else reference / jump
    verdicts = [checker.quote(quote(level, i), reference) is None for i in range(n)]
    assert verdicts == [False] * (n - 1) + [True]
