"""Sizer: fixed-fractional, Kelly, conviction and all-in sizing, clipped to the risk limits."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ta.volatility import AverageTrueRange

from robo_tui.config import RiskSettings, SizingSettings
from robo_tui.domain.market import BarArrays
from robo_tui.engine.sizing import ALL_IN, FALLBACK_ATR_PCT, Sizer, SizeRequest, atr, atr_array

# The widest limits the config accepts (a position at most 100 % of equity, a risk limit below
# 100 %: larger values read as misread percents and are refused).
WIDE_RISK: dict[str, Any] = {
    "max_position_pct": 1.0,
    "max_order_notional": 1e12,
    "max_live_order_notional": 1e12,
    "max_risk_per_trade_pct": 0.99,
}


def sizer(sizing: dict[str, Any] | None = None, risk: dict[str, Any] | None = None) -> Sizer:
    return Sizer(
        SizingSettings.model_validate(sizing or {}),
        RiskSettings.model_validate(WIDE_RISK if risk is None else risk),
    )


def request(**kw: Any) -> SizeRequest:
    base: dict[str, Any] = {
        "symbol": "AAPL", "direction": 1, "price": 100.0, "atr": 2.0, "confidence": 1.0,
        "equity": 100_000.0, "cash": 100_000.0, "fractional": False,
    }
    base.update(kw)
    return SizeRequest(**base)


def test_size_when_fixed_fractional_then_risks_the_configured_fraction_to_an_atr_stop() -> None:
    r = sizer().size(request())
    # stop 2 x ATR 2 = 4 below; 1% of 100,000 = 1,000 at risk → 250 shares; target 2R = 8 above
    assert (r.quantity, r.stop_loss, r.take_profit, r.risk_amount) == (250.0, 96.0, 108.0, 1000.0)
    assert r.method == "fixed_fractional"


def test_size_when_short_then_stop_above_and_target_below_and_cash_not_needed() -> None:
    r = sizer().size(request(direction=-1, cash=0.0))
    assert (r.quantity, r.stop_loss, r.take_profit) == (250.0, 104.0, 92.0)


def test_size_when_conviction_scaling_then_quantity_scales_with_confidence() -> None:
    assert sizer().size(request(confidence=0.5)).quantity == 125.0
    assert sizer().size(request(confidence=7.0)).quantity == 250.0  # clipped to 1
    assert sizer({"conviction_scaling": False}).size(request(confidence=0.5)).quantity == 250.0
    r = sizer().size(request(confidence=0.0))
    assert r.quantity == 0.0 and "less than one tradable unit" in r.notes


@pytest.mark.parametrize(
    ("risk", "req", "expected", "note"),
    [
        # limits judged at the price keep 1% headroom (PRICE_HEADROOM): 10,000 x 0.99 / 100 = 99
        ({"max_position_pct": 0.10}, {}, 99.0, "clipped to max_position_pct"),
        ({"max_order_notional": 5_000.0}, {}, 49.0, "clipped to max_order_notional"),
        ({"max_live_order_notional": 2_000.0}, {"live": True}, 19.0, "clipped to max_order_notional"),
        ({"max_risk_per_trade_pct": 0.005}, {}, 125.0, "clipped to max_risk_per_trade_pct"),
        ({}, {"cash": 3_050.0}, 30.0, "clipped to available cash"),
    ],
)
def test_size_when_a_limit_binds_then_quantity_is_clipped_to_it(
    risk: dict[str, Any], req: dict[str, Any], expected: float, note: str
) -> None:
    r = sizer(risk={**WIDE_RISK, **risk}).size(request(**req))
    assert r.quantity == expected
    assert note in r.notes


def test_size_when_fractional_then_rounds_down_to_a_millionth_else_whole_units() -> None:
    whole = sizer().size(request(price=30_000.0, atr=700.0, equity=10_000.0, cash=10_000.0))
    assert whole.quantity == 0.0  # 100 / 1400 = 0.071 of a unit
    frac = sizer().size(
        request(price=30_000.0, atr=700.0, equity=10_000.0, cash=10_000.0, fractional=True)
    )
    assert frac.quantity == 0.071428
    assert sizer().size(request(atr=3.0)).quantity == 166.0  # 1000 / 6 = 166.67


def test_size_when_kelly_without_enough_trades_then_fixed_fractional() -> None:
    s = sizer({"method": "kelly", "kelly_min_trades": 20})
    for _ in range(19):
        s.record_trade(50.0)
    r = s.size(request())
    assert r.quantity == 250.0 and s.kelly_risk_fraction() is None
    assert any("kelly after 20 trades (19 so far)" in n for n in r.notes)


def test_size_when_kelly_has_enough_trades_then_risks_fractional_kelly_capped() -> None:
    s = sizer({"method": "kelly", "kelly_min_trades": 20, "kelly_fraction": 0.25,
               "kelly_cap_pct": 0.2})
    for pnl in [200.0] * 12 + [-100.0] * 8:
        s.record_trade(pnl)
    # W = 0.6, R = 2: f = 0.6 - 0.4 / 2 = 0.4; a quarter Kelly risks 10% of equity: 10,000 to a
    # stop 2 ATRs (20) away is 500 units, half the equity (a position may not exceed all of it)
    assert s.kelly_risk_fraction() == pytest.approx(0.1)
    assert s.size(request(cash=1e6, atr=10.0)).quantity == 500.0
    capped = sizer({"method": "kelly", "kelly_min_trades": 20, "kelly_cap_pct": 0.02})
    for pnl in [200.0] * 12 + [-100.0] * 8:
        capped.record_trade(pnl)
    assert capped.kelly_risk_fraction() == 0.02
    assert capped.size(request()).quantity == 500.0


def test_size_when_kelly_measures_no_edge_then_no_trade() -> None:
    s = sizer({"method": "kelly", "kelly_min_trades": 20})
    for pnl in [100.0] * 5 + [-100.0] * 15:
        s.record_trade(pnl)
    r = s.size(request())
    assert s.kelly_risk_fraction() == 0.0
    assert r.quantity == 0.0 and "kelly: no measured edge, no trade" in r.notes


def test_kelly_when_no_losses_yet_then_full_kelly_is_the_win_rate() -> None:
    s = sizer({"method": "kelly", "kelly_min_trades": 4, "kelly_fraction": 0.5,
               "kelly_cap_pct": 0.99})
    for pnl in (10.0, 20.0, 0.0, 5.0):
        s.record_trade(pnl)
    assert s.kelly_risk_fraction() == pytest.approx(0.75 * 0.5)
    with pytest.raises(ValueError, match="finite"):
        s.record_trade(math.nan)


def test_size_when_all_in_then_whole_units_of_all_cash_without_conviction_scaling() -> None:
    r = sizer({"method": "all_in"}).size(request(price=33.0, cash=10_000.0, confidence=0.3))
    assert r.quantity == 300.0 and r.method == "all_in"  # 10,000 x 0.99 headroom / 33


def test_size_when_inputs_are_unusable_then_zero_or_error_with_reason() -> None:
    s = sizer()
    with pytest.raises(ValueError, match="direction"):
        s.size(request(direction=0))
    assert s.size(request(price=math.nan)).quantity == 0.0
    assert s.size(request(equity=-5.0)).notes[-1] == "no equity to risk (-5.0)"
    r = s.size(request(atr=math.nan))
    assert r.stop_loss == 96.0 and "ATR unavailable; assumed 2% of price" in r.notes
    wide = s.size(request(atr=40.0))
    assert wide.stop_loss == 50.0 and wide.quantity == 20.0  # stop capped at half the price


@settings(max_examples=400, deadline=None)
@given(
    direction=st.sampled_from([1, -1]),
    price=st.floats(0.01, 100_000),
    atr_pct=st.floats(0.0001, 0.5),
    confidence=st.floats(0, 1),
    equity=st.floats(100, 1e8),
    cash_frac=st.floats(-0.5, 1.5),
    fractional=st.booleans(),
    live=st.booleans(),
    method=st.sampled_from(["fixed_fractional", "kelly", "all_in"]),
    risk_pct=st.floats(0.001, 0.2),
    max_position_pct=st.floats(0.01, 1.0),
    max_risk=st.floats(0.001, 0.1),
    max_notional=st.floats(100, 1e7),
    wins=st.integers(0, 30),
    losses=st.integers(0, 30),
)
def test_size_when_inputs_are_random_then_the_gate_limits_are_never_exceeded(
    direction: int, price: float, atr_pct: float, confidence: float, equity: float,
    cash_frac: float, fractional: bool, live: bool, method: str, risk_pct: float,
    max_position_pct: float, max_risk: float, max_notional: float, wins: int, losses: int,
) -> None:
    risk = RiskSettings.model_validate({
        "max_position_pct": max_position_pct, "max_risk_per_trade_pct": max_risk,
        "max_order_notional": max_notional, "max_live_order_notional": max_notional / 3,
    })
    s = Sizer(
        SizingSettings.model_validate(
            {"method": method, "risk_per_trade_pct": risk_pct, "kelly_min_trades": 10,
             "kelly_cap_pct": 0.05}
        ),
        risk,
    )
    for _ in range(wins):
        s.record_trade(150.0)
    for _ in range(losses):
        s.record_trade(-100.0)
    cash = equity * cash_frac
    req = SizeRequest("X", direction, price, price * atr_pct, confidence, equity, cash,
                      fractional, live)
    r = s.size(req)
    q = r.quantity
    assert q >= 0.0
    if q == 0.0:
        return
    assert r.stop_loss is not None and r.take_profit is not None
    assert r.stop_loss > 0 and r.take_profit > 0
    assert (r.stop_loss - price) * direction < 0 < (r.take_profit - price) * direction
    cap = risk.max_live_order_notional if live else risk.max_order_notional
    assert q * price <= risk.max_position_pct * equity
    assert q * price <= cap
    assert r.risk_amount <= risk.max_risk_per_trade_pct * equity * (1 + 1e-12)
    assert q * abs(price - r.stop_loss) <= risk.max_risk_per_trade_pct * equity * (1 + 1e-9)
    if direction > 0:
        assert q * price <= cash
    if fractional:
        assert round(q, 6) == q
    else:
        assert q == int(q)


def bars_of(n: int, seed: int) -> BarArrays:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    return BarArrays("X", np.arange(n, dtype=np.int64), open_, high, low, close, np.ones(n))


def ta_atr(bars: BarArrays, window: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        series = AverageTrueRange(
            pd.Series(bars.high), pd.Series(bars.low), pd.Series(bars.close), window
        ).average_true_range()
    return np.array(series, dtype=np.float64)


def test_atr_when_history_is_long_enough_then_equals_ta_average_true_range() -> None:
    bars = bars_of(400, seed=2)
    expected = ta_atr(bars, 14)
    assert atr(bars, 14) == pytest.approx(expected[-1], rel=1e-12)
    np.testing.assert_allclose(atr_array(bars, 14)[13:], expected[13:], rtol=1e-12)
    assert atr(bars.slice(0, 14), 14) == pytest.approx(expected[13], rel=1e-12)


def test_atr_when_measured_over_the_last_bars_then_equals_atr_of_that_tail() -> None:
    bars = bars_of(400, seed=5)
    assert atr(bars, 14, last=140) == atr(bars.tail(140), 14)  # the same number, bit for bit
    assert atr(bars.tail(100), 14, last=140) == atr(bars.tail(100), 14)
    assert atr(bars, 14, last=140) != atr(bars, 14)  # the seed is where the span starts


def test_atr_when_history_is_short_then_a_percentage_of_price() -> None:
    bars = bars_of(10, seed=3)
    assert atr(bars, 14) == pytest.approx(bars.close[-1] * FALLBACK_ATR_PCT)
    np.testing.assert_allclose(atr_array(bars, 14), bars.close * FALLBACK_ATR_PCT)
    with pytest.raises(ValueError, match="no bars"):
        atr(bars.slice(0, 0), 14)


def test_atr_array_when_computed_on_a_prefix_then_equals_the_full_series() -> None:
    bars = bars_of(600, seed=4)
    np.testing.assert_array_equal(atr_array(bars.slice(0, 300), 14), atr_array(bars, 14)[:300])


def test_entry_equity_fraction_when_all_in_then_the_venue_sizes_entries_from_all_buying_power() -> None:
    assert sizer({"method": "all_in"}).entry_equity_fraction == ALL_IN
    assert 0.0 < ALL_IN < 1.0


@pytest.mark.parametrize("method", ["fixed_fractional", "kelly"])
def test_entry_equity_fraction_when_risk_based_then_none_since_the_quantity_is_final(
        method: str) -> None:
    assert sizer({"method": method}).entry_equity_fraction is None


def test_needs_atr_when_all_in_without_stops_then_false_else_true() -> None:
    assert sizer({"method": "all_in", "attach_stops": False}).needs_atr is False
    assert sizer({"method": "all_in", "attach_stops": True}).needs_atr is True
    assert sizer({"method": "fixed_fractional", "attach_stops": False}).needs_atr is True
