"""One test per risk rule: what it denies, what it lets through, and the numbers it reports."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from robo_tui.domain.orders import OrderIntent, Side
from robo_tui.domain.risk import Mode, TradingState
from robo_tui.engine.risk import RiskCode, return_correlation

from .builders import (
    T0,
    account,
    context,
    correlated_returns,
    entry,
    exit_order,
    flat_equity_account,
    limit,
    make_gate,
    open_order,
)

# ------------------------------------------------------------------------------ the happy path


def test_check_when_entry_is_within_every_limit_then_allows_and_lists_every_rule_checked() -> None:
    gate = make_gate()
    verdict = gate.check(entry("AAPL", 50), context())
    assert verdict.allowed, verdict.reasons
    assert verdict.reasons == ()
    assert verdict.state is TradingState.ACTIVE
    for code in ("halted", "symbol_not_allowed", "bad_quantity", "max_position", "max_sector",
                 "max_gross_exposure", "max_positions", "max_risk_per_trade", "max_correlation",
                 "min_confidence", "cooldown_exit", "cooldown_loss", "max_order_notional",
                 "rate_limit", "missing_stop", "missing_take_profit", "stop_wrong_side",
                 "short_not_allowed", "fractional_not_allowed", "no_price",
                 "reducing_not_risk_reducing", "max_daily_loss", "max_drawdown"):
        assert code in verdict.checked, code


def test_check_when_many_rules_fail_then_lists_every_failed_rule() -> None:
    gate = make_gate()
    intent = OrderIntent("AAPL", Side.BUY, 310, confidence=0.05)  # 31% of equity, no stops
    verdict = gate.check(intent, context())
    assert not verdict.allowed
    assert set(verdict.codes) >= {"max_position", "min_confidence", "missing_stop",
                                  "missing_take_profit", "max_sector"}


def test_check_when_called_then_does_not_change_the_gate() -> None:
    gate = make_gate(max_orders_per_minute=1)
    ctx = context(day_start=110_000.0)  # a day loss beyond the halt limit
    first = gate.check(entry("AAPL", 50), ctx)
    second = gate.check(entry("AAPL", 50), ctx)
    assert first == second
    assert gate.state is TradingState.ACTIVE
    assert gate.check(entry("AAPL", 50), context()).allowed  # no rate-limit slot was used


# ------------------------------------------------------------------------------- the states


def test_check_when_halted_then_denies_entries_and_exits_with_the_reason() -> None:
    gate = make_gate()
    gate.halt("kill switch from the console")
    ctx = context(account(positions={"AAPL": 50}))
    for intent in (entry("AAPL", 10), exit_order("AAPL", 50, reduce_only=True)):
        verdict = gate.check(intent, ctx)
        assert not verdict.allowed
        assert verdict.state is TradingState.HALTED
        assert "halted" in verdict.codes
        assert "kill switch from the console" in verdict.reasons[0].message


def test_check_when_reducing_then_denies_entries_and_allows_exits() -> None:
    gate = make_gate()
    ctx = context(account(positions={"AAPL": 50}))
    gate.restore(TradingState.REDUCING, "day loss 2.1%")
    entry_verdict = gate.check(entry("MSFT", 10), ctx)
    assert not entry_verdict.allowed
    assert "reducing_not_risk_reducing" in entry_verdict.codes
    assert gate.check(exit_order("AAPL", 50), ctx).allowed
    assert gate.check(exit_order("AAPL", 20), ctx).allowed


def test_check_when_reducing_and_the_order_would_flip_the_position_then_denies() -> None:
    gate = make_gate()
    gate.restore(TradingState.REDUCING, "day loss")
    verdict = gate.check(entry("AAPL", 80, Side.SELL), context(account(positions={"AAPL": 50})))
    assert not verdict.allowed
    assert "reducing_not_risk_reducing" in verdict.codes


def test_check_when_day_loss_reached_the_reduce_limit_before_evaluate_then_treats_it_as_reducing(
) -> None:
    gate = make_gate()
    ctx = context(flat_equity_account({"AAPL": 50}), day_start=102_500.0)  # 2.4% down
    verdict = gate.check(entry("MSFT", 10), ctx)
    assert verdict.state is TradingState.REDUCING
    assert {"max_daily_loss", "reducing_not_risk_reducing"} <= set(verdict.codes)
    assert gate.check(exit_order("AAPL", 50), ctx).allowed


def test_check_when_drawdown_reached_the_limit_before_evaluate_then_denies_everything() -> None:
    gate = make_gate()
    ctx = context(flat_equity_account({"AAPL": 50}), peak=115_000.0)
    verdict = gate.check(exit_order("AAPL", 50), ctx)
    assert not verdict.allowed
    assert {"halted", "max_drawdown"} <= set(verdict.codes)
    assert "13.04%" in verdict.reasons[0].message


def test_check_when_reduce_only_order_would_increase_the_position_then_denies() -> None:
    gate = make_gate()
    ctx = context(account(positions={"AAPL": 50}))
    verdict = gate.check(entry("AAPL", 10, reduce_only=True), ctx)
    assert not verdict.allowed
    assert "reduce_only_not_reducing" in verdict.codes


def test_check_when_two_exits_together_would_flip_the_position_then_the_second_is_an_entry() -> None:
    gate = make_gate(allow_short=False)
    acct = account(positions={"AAPL": 50})
    first = exit_order("AAPL", 50)
    ctx = context(acct, open_orders=(open_order(first),))
    verdict = gate.check(exit_order("AAPL", 50, reduce_only=True), ctx)
    assert not verdict.allowed
    assert {"reduce_only_not_reducing", "short_not_allowed"} <= set(verdict.codes)


def test_check_when_exit_then_skips_entry_rules() -> None:
    gate = make_gate(max_orders_per_minute=1, min_confidence=0.9)
    gate.record_sent(entry("AAPL", 50), T0)
    gate.record_exit("AAPL", T0, -100.0)
    ctx = context(account(positions={"AAPL": 50}))
    verdict = gate.check(exit_order("AAPL", 50, confidence=0.0), ctx)
    assert verdict.allowed, verdict.reasons
    assert "rate_limit" not in verdict.checked


# -------------------------------------------------------------------- symbol and quantity


def test_check_when_symbol_is_outside_the_universe_then_denies() -> None:
    verdict = make_gate().check(entry("TSLA", 10, price=100.0), context())
    assert not verdict.allowed
    assert "symbol_not_allowed" in verdict.codes


def test_check_when_exiting_a_position_held_outside_the_universe_then_allows_with_a_note() -> None:
    acct = account(positions={"GME": 10}, prices={"GME": 20.0})
    verdict = make_gate().check(exit_order("GME", 10), context(acct))
    assert verdict.allowed
    assert any("outside the universe" in n for n in verdict.notes)


@pytest.mark.parametrize("qty", [0.0, -5.0, math.nan, math.inf, -math.inf])
def test_check_when_quantity_is_not_a_finite_positive_number_then_denies(qty: float) -> None:
    ctx = context(account(positions={"AAPL": 50}))
    for intent in (entry("AAPL", qty), exit_order("AAPL", qty)):
        verdict = make_gate().check(intent, ctx)
        assert not verdict.allowed
        assert "bad_quantity" in verdict.codes


def test_check_when_equity_fraction_is_not_a_finite_positive_number_then_denies() -> None:
    verdict = make_gate().check(entry("AAPL", 10, equity_fraction=math.nan), context())
    assert "bad_quantity" in verdict.codes


def test_check_when_stock_quantity_is_fractional_then_denies() -> None:
    verdict = make_gate().check(entry("AAPL", 10.5), context())
    assert "fractional_not_allowed" in verdict.codes
    assert "whole units" in verdict.reasons[0].message


def test_check_when_crypto_quantity_is_fractional_then_allows_only_if_the_broker_supports_it(
) -> None:
    gate = make_gate()
    assert gate.check(entry("BTC-USD", 0.1), context(fractional=True)).allowed
    verdict = gate.check(entry("BTC-USD", 0.1), context(fractional=False))
    assert verdict.codes == ("fractional_not_allowed",)


def test_check_when_no_market_price_then_denies_an_entry_but_allows_an_exit() -> None:
    acct = account(positions={"AAPL": 50})
    acct = replace(acct, prices={k: v for k, v in acct.prices.items() if k != "AAPL"})
    gate = make_gate()
    verdict = gate.check(entry("AAPL", 10), context(acct))
    assert "no_price" in verdict.codes
    assert gate.check(exit_order("AAPL", 50), context(acct)).allowed


def test_check_when_limit_price_is_not_a_price_then_denies() -> None:
    verdict = make_gate().check(limit(entry("AAPL", 10), -1.0), context())
    assert "no_price" in verdict.codes


def test_check_when_equity_is_not_positive_then_denies_entries() -> None:
    acct = account(cash=-50_000.0, positions={"AAPL": 100})
    verdict = make_gate().check(entry("MSFT", 1), context(acct, day_start=1.0, peak=1.0))
    assert "no_equity" in verdict.codes


# ------------------------------------------------------------------------- size limits


def test_check_when_position_would_exceed_max_position_then_denies_with_the_numbers() -> None:
    verdict = make_gate().check(entry("AAPL", 142, stop_pct=0.005), context())
    assert not verdict.allowed
    reason = next(r for r in verdict.reasons if r.code == "max_position")
    assert reason.message.startswith("position would be 14.2% of equity")
    assert "limit 10.0%" in reason.message


def test_check_when_position_is_exactly_at_max_position_then_allows() -> None:
    assert make_gate().check(entry("AAPL", 100), context()).allowed


def test_check_when_adding_to_a_position_then_judges_the_resulting_position() -> None:
    ctx = context(flat_equity_account({"AAPL": 60}))
    assert make_gate().check(entry("AAPL", 40), ctx).allowed
    assert "max_position" in make_gate().check(entry("AAPL", 41), ctx).codes


def test_check_when_limit_price_is_above_the_market_then_measures_the_position_at_the_limit(
) -> None:
    gate = make_gate()
    assert gate.check(limit(entry("AAPL", 100), 100.0), context()).allowed
    verdict = gate.check(limit(entry("AAPL", 100, price=110.0), 110.0), context())
    assert "max_position" in verdict.codes


def test_check_when_open_orders_are_pending_then_counts_them_as_filled() -> None:
    pending = open_order(entry("AAPL", 60))
    verdict = make_gate().check(entry("AAPL", 60), context(open_orders=(pending,)))
    assert "max_position" in verdict.codes


def test_check_when_equity_fraction_sizes_larger_than_the_quantity_then_judges_the_fraction(
) -> None:
    verdict = make_gate().check(entry("AAPL", 10, equity_fraction=0.5), context())
    assert "max_position" in verdict.codes
    assert "50.0%" in next(r for r in verdict.reasons if r.code == "max_position").message


def test_check_when_sector_exposure_would_exceed_max_sector_then_denies() -> None:
    acct = flat_equity_account({"AAPL": 100, "MSFT": 50})  # 20% in Technology
    gate = make_gate(max_position_pct=0.2)
    assert gate.check(entry("NVDA", 200), context(acct)).allowed  # 30% exactly
    verdict = gate.check(entry("NVDA", 201), context(acct))
    assert verdict.codes == ("max_sector",)
    assert "'Technology' exposure would be 30.05% of equity, limit 30.00%" in verdict.reasons[0].message


def test_check_when_gross_exposure_would_exceed_max_gross_exposure_then_denies() -> None:
    gate = make_gate(max_gross_exposure_pct=0.25, max_positions=5)
    acct = flat_equity_account({"AAPL": 100, "JPM": 200})  # 20% gross
    verdict = gate.check(entry("XOM", 100), context(acct))  # +8%
    assert verdict.codes == ("max_gross_exposure",)


def test_check_when_max_positions_are_held_then_denies_a_new_symbol_but_allows_adding() -> None:
    acct = flat_equity_account({"AAPL": 50, "JPM": 100, "XOM": 50})
    gate = make_gate()
    verdict = gate.check(entry("BTC-USD", 0.1), context(acct))
    assert verdict.codes == ("max_positions",)
    assert "would make 4 positions" in verdict.reasons[0].message
    assert gate.check(entry("AAPL", 10), context(acct)).allowed


def test_check_when_an_open_order_holds_a_slot_then_counts_it_as_a_position() -> None:
    acct = flat_equity_account({"AAPL": 50, "JPM": 100})
    ctx = context(acct, open_orders=(open_order(entry("XOM", 10)),))
    assert "max_positions" in make_gate().check(entry("BTC-USD", 0.1), ctx).codes


def test_check_when_loss_to_the_stop_exceeds_max_risk_per_trade_then_denies() -> None:
    gate = make_gate()
    assert gate.check(entry("AAPL", 100, stop_pct=0.10), context()).allowed  # 1,000 = 1%
    verdict = gate.check(entry("AAPL", 100, stop_pct=0.15), context())
    assert verdict.codes == ("max_risk_per_trade",)
    assert "1.5% of equity, limit 1.0%" in verdict.reasons[0].message


def test_check_when_order_notional_exceeds_max_order_notional_then_denies() -> None:
    gate = make_gate(max_order_notional=5_000.0)
    verdict = gate.check(entry("AAPL", 60), context())
    assert verdict.codes == ("max_order_notional",)
    assert "6,000.00" in verdict.reasons[0].message


def test_check_when_live_then_the_lower_live_cap_applies_to_entries_and_exits() -> None:
    gate = make_gate(max_live_order_notional=5_000.0)
    ctx_paper = context(account(positions={"AAPL": 90}))
    ctx_live = replace(ctx_paper, mode=Mode.LIVE)
    assert gate.check(entry("AAPL", 6), ctx_paper).allowed
    verdict = gate.check(entry("MSFT", 30), ctx_live)
    assert verdict.codes == ("max_live_order_notional",)
    exit_verdict = gate.check(exit_order("AAPL", 90), ctx_live)
    assert exit_verdict.codes == ("max_live_order_notional",)
    assert "at most 50 AAPL per order" in exit_verdict.reasons[0].message
    assert gate.check(exit_order("AAPL", 50), ctx_live).allowed


# ------------------------------------------------------------------------------ correlation


def test_check_when_returns_are_highly_correlated_with_a_held_position_then_denies() -> None:
    a, b = correlated_returns(0.9)
    ctx = context(flat_equity_account({"JPM": 100}), returns={"XOM": a, "JPM": b})
    verdict = make_gate().check(entry("XOM", 50), ctx)
    assert verdict.codes == ("max_correlation",)
    assert "JPM +0.8" in verdict.reasons[0].message


def test_check_when_returns_are_highly_anti_correlated_then_denies_as_well() -> None:
    a, b = correlated_returns(-0.9)
    ctx = context(flat_equity_account({"JPM": 100}), returns={"XOM": a, "JPM": b})
    assert make_gate().check(entry("XOM", 50), ctx).codes == ("max_correlation",)


def test_check_when_returns_are_weakly_correlated_then_allows() -> None:
    a, b = correlated_returns(0.3)
    ctx = context(flat_equity_account({"JPM": 100}), returns={"XOM": a, "JPM": b})
    assert make_gate().check(entry("XOM", 50), ctx).allowed


def test_check_when_returns_are_missing_then_skips_the_correlation_rule_with_a_note() -> None:
    a, _ = correlated_returns(0.9)
    ctx = context(flat_equity_account({"JPM": 100}), returns={"XOM": a})
    verdict = make_gate().check(entry("XOM", 50), ctx)
    assert verdict.allowed
    assert any("no returns for JPM" in n for n in verdict.notes)


def test_return_correlation_when_series_have_gaps_then_drops_them_and_aligns_the_ends() -> None:
    a, b = correlated_returns(0.8, n=200)
    a_gappy = a.copy()
    a_gappy[-5] = np.nan
    got = return_correlation(a_gappy, b[-150:], 100)
    assert got is not None
    corr, n = got
    assert n == 99
    assert corr == pytest.approx(float(np.corrcoef(np.delete(a[-100:], 95),
                                                   np.delete(b[-100:], 95))[0, 1]))
    assert return_correlation(np.zeros(50), b, 40) is None


# ------------------------------------------------------------------ confidence and cooldowns


def test_check_when_confidence_is_below_the_minimum_then_denies_an_entry() -> None:
    gate = make_gate(min_confidence=0.5)
    verdict = gate.check(entry("AAPL", 10, confidence=0.4), context())
    assert verdict.codes == ("min_confidence",)
    assert "confidence 0.40 is below the 0.50 minimum" in verdict.reasons[0].message
    assert "min_confidence" in gate.check(entry("AAPL", 10, confidence=math.nan), context()).codes


def test_check_after_an_exit_then_denies_entries_in_the_symbol_until_the_cooldown_ends() -> None:
    gate = make_gate(cooldown_after_exit_seconds=300)
    gate.record_exit("AAPL", T0, 50.0)
    soon = context(now=T0 + timedelta(seconds=120))
    verdict = gate.check(entry("AAPL", 10), soon)
    assert verdict.codes == ("cooldown_exit",)
    assert "180s left" in verdict.reasons[0].message
    assert gate.check(entry("MSFT", 10), soon).allowed
    assert gate.check(entry("AAPL", 10), context(now=T0 + timedelta(seconds=300))).allowed


def test_check_after_a_losing_exit_then_the_longer_loss_cooldown_applies() -> None:
    gate = make_gate(cooldown_after_exit_seconds=300, cooldown_after_loss_seconds=1800)
    gate.record_exit("AAPL", T0, -10.0)
    later = context(now=T0 + timedelta(seconds=600))
    assert gate.check(entry("AAPL", 10), later).codes == ("cooldown_loss",)
    assert gate.check(entry("AAPL", 10), context(now=T0 + timedelta(seconds=1800))).allowed


# ------------------------------------------------------------------------------ rate limit


def test_check_when_the_rate_limit_is_reached_then_denies_entries_until_the_minute_passes() -> None:
    gate = make_gate(max_orders_per_minute=3)
    for i in range(3):
        gate.record_sent(entry("AAPL", 1), T0 + timedelta(seconds=i))
    verdict = gate.check(entry("MSFT", 1), context(now=T0 + timedelta(seconds=30)))
    assert verdict.codes == ("rate_limit",)
    assert "3 orders sent in the last minute" in verdict.reasons[0].message
    assert gate.check(entry("MSFT", 1), context(now=T0 + timedelta(seconds=60.5))).allowed


# ------------------------------------------------------------------------ stops and shorts


def test_check_when_an_entry_has_no_stop_loss_then_denies() -> None:
    verdict = make_gate().check(entry("AAPL", 10, stop_loss=None), context())
    assert verdict.codes == ("missing_stop",)


def test_check_when_an_entry_has_no_take_profit_then_denies() -> None:
    verdict = make_gate().check(entry("AAPL", 10, take_profit=None), context())
    assert verdict.codes == ("missing_take_profit",)


def test_check_when_stops_are_not_required_then_allows_an_entry_without_them() -> None:
    gate = make_gate(require_stops=False)
    verdict = gate.check(entry("AAPL", 10, stop_loss=None, take_profit=None), context())
    assert verdict.allowed
    assert any("max_risk_per_trade skipped" in n for n in verdict.notes)


def test_check_when_the_stop_is_on_the_wrong_side_of_the_price_then_denies() -> None:
    gate = make_gate()
    assert gate.check(entry("AAPL", 10, stop_loss=101.0), context()).codes == ("stop_wrong_side",)
    short = entry("AAPL", 10, Side.SELL, stop_loss=99.0)
    assert gate.check(short, context()).codes == ("stop_wrong_side",)
    assert "stop_wrong_side" in gate.check(entry("AAPL", 10, stop_loss=math.nan), context()).codes


def test_check_when_the_take_profit_is_on_the_wrong_side_of_the_price_then_denies() -> None:
    verdict = make_gate().check(entry("AAPL", 10, take_profit=95.0), context())
    assert verdict.codes == ("take_profit_wrong_side",)


def test_check_when_a_buy_limit_sits_below_the_market_then_the_stop_is_judged_against_the_limit(
) -> None:
    intent = limit(entry("AAPL", 10, price=100.0, stop_loss=97.0), 95.0)  # stop above the fill
    assert make_gate().check(intent, context()).codes == ("stop_wrong_side",)


def test_check_when_shorting_is_disabled_in_settings_then_denies_a_short_entry() -> None:
    verdict = make_gate(allow_short=False).check(entry("AAPL", 10, Side.SELL), context())
    assert verdict.codes == ("short_not_allowed",)
    assert "risk.allow_short" in verdict.reasons[0].message


def test_check_when_the_broker_cannot_short_then_denies_a_short_entry() -> None:
    verdict = make_gate().check(entry("AAPL", 10, Side.SELL), context(short=False))
    assert verdict.codes == ("short_not_allowed",)
    assert "broker" in verdict.reasons[0].message


def test_check_when_a_sell_flips_a_long_into_a_short_without_shorting_then_denies() -> None:
    ctx = context(account(positions={"AAPL": 50}), short=False)
    verdict = make_gate().check(entry("AAPL", 80, Side.SELL), ctx)
    assert "short_not_allowed" in verdict.codes
    assert "short position of -30" in verdict.reasons[0].message


# -------------------------------------------------------------------------- codes and docs


def test_verdict_codes_when_denied_then_are_plain_strings_from_the_documented_set() -> None:
    verdict = make_gate().check(OrderIntent("TSLA", Side.BUY, math.nan), context())
    assert verdict.codes
    known = {c.value for c in RiskCode}
    for code in (*verdict.codes, *verdict.checked):
        assert type(code) is str
        assert code in known


def test_docs_when_read_then_document_every_reason_code() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[3] / "docs" / "risk.md").read_text(encoding="utf-8")
    missing = [c.value for c in RiskCode if f"`{c.value}`" not in text]
    assert missing == []


def test_check_when_a_sell_limit_sits_below_the_market_then_the_position_is_measured_at_the_market(
) -> None:
    gate = make_gate()
    short = entry("AAPL", 101, Side.SELL)  # 9.8% at the limit, 10.1% at the market price 100
    verdict = gate.check(limit(short, 97.0), context())
    assert verdict.codes == ("max_position",)
    assert "10.1% of equity" in verdict.reasons[0].message
