"""The gate and numbers no venue can take: extreme, non-finite and subnormal quantities and
prices never raise and are never approved, for entries and exits alike (issue 17 finding 6)."""

from __future__ import annotations

import math
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from robo_tui.config import RiskSettings
from robo_tui.domain.orders import OrderIntent, OrderType, Side
from robo_tui.domain.risk import Mode
from robo_tui.engine.risk import RiskGate
from robo_tui.engine.risk_facts import MAX_MAGNITUDE, MIN_PRICE

from .builders import UNIVERSE, account, context, entry, exit_order, limit, make_gate


def unlimited_gate() -> RiskGate:
    """A gate whose size limits are all inf (built past the config's validation), so that no
    size limit is what stops an overflowing order."""
    limits = RiskSettings().model_dump() | {
        "max_order_notional": math.inf, "max_live_order_notional": math.inf,
        "max_position_pct": math.inf, "max_sector_pct": math.inf,
        "max_gross_exposure_pct": math.inf, "max_risk_per_trade_pct": math.inf,
        "require_stops": False, "max_correlation": 1.0}
    return RiskGate(RiskSettings.model_construct(**limits), UNIVERSE)

EXTREMES = [1e306, 1e308, -1e306, -1e9, math.inf, -math.inf, math.nan, 0.0, -0.0,
            5e-324, sys.float_info.min, 1e-300, -1.0, 1e15 * 1.0001, 1e18]
numbers = st.one_of(st.sampled_from(EXTREMES), st.floats(allow_nan=True, allow_infinity=True),
                    st.floats(0.01, 1_000.0))
maybe = st.one_of(st.none(), numbers)


def _usable(price: float | None) -> bool:
    return price is None or (math.isfinite(price) and MIN_PRICE <= price <= MAX_MAGNITUDE)


@settings(max_examples=400, deadline=None)
@given(qty=numbers, limit=maybe, stop=maybe, target=maybe, market=numbers,
       side=st.sampled_from(Side), reduce_only=st.booleans(), held=st.sampled_from([0.0, 50.0, -50.0]),
       live=st.booleans())
def test_gate_when_fed_extreme_numbers_then_never_raises_nor_approves_one_a_venue_cannot_take(
        qty: float, limit: float | None, stop: float | None, target: float | None, market: float,
        side: Side, reduce_only: bool, held: float, live: bool) -> None:
    gate = unlimited_gate()
    positions = {"AAPL": held} if held else {}
    ctx = context(account(positions=positions, prices={"AAPL": market}),
                  mode=Mode.LIVE if live else Mode.PAPER)
    intent = OrderIntent("AAPL", side, qty, OrderType.LIMIT if limit is not None else OrderType.MARKET,
                         limit_price=limit, stop_loss=stop, take_profit=target,
                         reduce_only=reduce_only, confidence=0.9)
    verdict = gate.check(intent, ctx)
    if not verdict.allowed:
        return
    assert math.isfinite(qty) and 0 < qty <= MAX_MAGNITUDE
    assert _usable(limit) and _usable(stop) and _usable(target)
    for price in (market, limit):
        if price is not None and math.isfinite(price) and price > 0:
            assert qty * price <= MAX_MAGNITUDE


def test_buy_when_its_notional_overflows_then_denied_even_with_every_limit_at_inf() -> None:
    order = limit(entry("AAPL", 1e306, price=190.0), 190.0)  # 1.9e308: past the largest float
    verdict = unlimited_gate().check(order, context(mode=Mode.LIVE))
    assert not verdict.allowed
    assert "number_out_of_range" in verdict.codes
    reason = next(r for r in verdict.reasons if r.code == "number_out_of_range")
    assert "notional inf" in reason.message


def test_exit_when_its_limit_is_negative_zero_or_nan_then_denied_with_the_price() -> None:
    gate = make_gate()
    ctx = context(account(positions={"AAPL": 50.0}))
    for bad in (-1e9, 0.0, math.nan):
        intent = exit_order("AAPL", 50, order_type=OrderType.LIMIT, limit_price=bad,
                            reduce_only=True)
        verdict = gate.check(intent, ctx)
        assert verdict.codes == ("number_out_of_range",), bad
        assert f"limit price {bad!r}" in verdict.reasons[0].message


def test_exit_when_its_stop_is_nan_then_denied() -> None:
    gate = make_gate()
    verdict = gate.check(exit_order("AAPL", 50, stop_loss=math.nan),
                         context(account(positions={"AAPL": 50.0})))
    assert verdict.codes == ("number_out_of_range",)


def test_exit_when_its_numbers_are_sound_then_still_allowed() -> None:
    gate = make_gate()
    verdict = gate.check(exit_order("AAPL", 50, order_type=OrderType.LIMIT, limit_price=99.5,
                                    reduce_only=True),
                         context(account(positions={"AAPL": 50.0})))
    assert verdict.allowed, verdict.reasons
    assert "number_out_of_range" in verdict.checked
