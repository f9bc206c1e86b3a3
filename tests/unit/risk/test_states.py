"""The gate's states: daily loss and drawdown, the latched halt, resume, restore, circuit breaker."""

from __future__ import annotations

import math
from dataclasses import replace

from robo_tui.config import RiskSettings
from robo_tui.domain.orders import AccountSnapshot
from robo_tui.domain.risk import TradingState
from robo_tui.engine.risk import RiskContext

from .builders import T0, context, entry, flat_equity_account, make_gate


def at_equity(equity: float, *, day_start: float = 100_000.0, peak: float = 100_000.0,
              ) -> RiskContext:
    """A context whose account is worth `equity` (a position in AAPL plus cash)."""
    return context(flat_equity_account({"AAPL": 50}, equity), day_start=day_start, peak=peak)


def test_evaluate_when_day_loss_is_below_the_reduce_limit_then_stays_active() -> None:
    gate = make_gate()
    assert gate.evaluate(at_equity(98_100.0)) is TradingState.ACTIVE
    assert gate.state_reason == ""


def test_evaluate_when_day_loss_reaches_the_reduce_limit_then_goes_reducing() -> None:
    gate = make_gate()
    assert gate.evaluate(at_equity(98_000.0)) is TradingState.REDUCING
    assert "day loss 2.00%" in gate.state_reason
    assert gate.halt_reason == ""


def test_evaluate_when_day_loss_reaches_the_halt_limit_then_halts_with_the_reason() -> None:
    gate = make_gate()
    assert gate.evaluate(at_equity(96_900.0)) is TradingState.HALTED
    assert "day loss 3.10%" in gate.halt_reason
    assert "3.00% halt limit" in gate.halt_reason


def test_evaluate_when_drawdown_from_the_peak_reaches_the_limit_then_halts() -> None:
    gate = make_gate()
    ctx = at_equity(108_000.0, day_start=108_000.0, peak=120_000.0)
    assert gate.evaluate(ctx) is TradingState.HALTED
    assert "drawdown 10.00%" in gate.halt_reason


def test_evaluate_when_halted_and_equity_recovers_then_stays_halted() -> None:
    gate = make_gate()
    gate.evaluate(at_equity(96_000.0))
    for _ in range(3):
        assert gate.evaluate(at_equity(101_000.0)) is TradingState.HALTED
    assert not gate.check(entry("MSFT", 1), at_equity(101_000.0)).allowed


def test_evaluate_when_reducing_and_the_loss_recovers_then_returns_to_active() -> None:
    gate = make_gate()
    gate.evaluate(at_equity(97_500.0))
    assert gate.state is TradingState.REDUCING
    assert gate.evaluate(at_equity(99_000.0)) is TradingState.ACTIVE


def test_evaluate_when_reducing_and_a_new_day_starts_then_returns_to_active() -> None:
    gate = make_gate()
    gate.evaluate(at_equity(97_500.0))
    new_day = at_equity(97_500.0, day_start=97_500.0)
    assert gate.evaluate(new_day) is TradingState.ACTIVE


def test_evaluate_when_equity_cannot_be_computed_then_leaves_the_state() -> None:
    gate = make_gate()
    ctx = at_equity(97_500.0)
    gate.evaluate(ctx)
    broken = AccountSnapshot(T0, math.nan, {}, {})
    assert gate.evaluate(replace(ctx, account=broken)) is TradingState.REDUCING


def test_halt_when_called_then_denies_every_order_until_resume() -> None:
    gate = make_gate()
    gate.halt("  ")
    assert gate.halt_reason == "halted by the operator"
    assert gate.evaluate(at_equity(100_000.0)) is TradingState.HALTED
    assert not gate.check(entry("MSFT", 1), context()).allowed
    gate.resume()
    assert gate.state is TradingState.ACTIVE
    assert gate.halt_reason == ""
    assert gate.check(entry("MSFT", 1), context()).allowed


def test_resume_after_a_loss_halt_then_accepts_the_loss_taken_and_halts_on_a_further_loss() -> None:
    gate = make_gate()
    assert gate.evaluate(at_equity(96_000.0)) is TradingState.HALTED
    gate.resume()
    assert gate.check(entry("MSFT", 1), at_equity(96_000.0)).allowed
    assert gate.evaluate(at_equity(96_000.0)) is TradingState.ACTIVE
    assert gate.evaluate(at_equity(95_000.0)) is TradingState.ACTIVE
    assert gate.evaluate(at_equity(94_000.0)) is TradingState.REDUCING
    assert gate.evaluate(at_equity(93_100.0)) is TradingState.HALTED


def test_resume_after_a_drawdown_halt_then_measures_drawdown_from_the_resume_equity() -> None:
    gate = make_gate()
    ctx = at_equity(89_000.0, day_start=89_000.0, peak=100_000.0)
    assert gate.evaluate(ctx) is TradingState.HALTED
    gate.resume()
    assert gate.evaluate(ctx) is TradingState.ACTIVE
    new_high = at_equity(95_000.0, day_start=89_000.0, peak=100_000.0)
    assert gate.evaluate(new_high) is TradingState.ACTIVE
    fall = at_equity(85_400.0, day_start=85_400.0, peak=100_000.0)  # 10.1% below 95,000
    assert gate.evaluate(fall) is TradingState.HALTED


def test_restore_when_halted_then_the_halt_is_latched_across_evaluate() -> None:
    gate = make_gate()
    gate.restore(TradingState.HALTED, "kill switch (persisted)")
    assert gate.evaluate(at_equity(105_000.0)) is TradingState.HALTED
    assert gate.halt_reason == "kill switch (persisted)"
    gate.resume()
    assert gate.evaluate(at_equity(105_000.0)) is TradingState.ACTIVE


def test_circuit_breaker_when_failures_reach_the_limit_then_halts_with_the_last_message() -> None:
    gate = make_gate(circuit_breaker_failures=3)
    assert gate.record_failure("broker", "timeout") is TradingState.ACTIVE
    assert gate.record_failure("broker", "timeout") is TradingState.ACTIVE
    assert gate.record_failure("broker", "connection refused") is TradingState.HALTED
    assert "3 consecutive broker failures" in gate.halt_reason
    assert "connection refused" in gate.halt_reason
    assert gate.evaluate(at_equity(100_000.0)) is TradingState.HALTED


def test_circuit_breaker_when_a_success_comes_between_failures_then_counts_again_from_zero() -> None:
    gate = make_gate(circuit_breaker_failures=3)
    gate.record_failure("data", "stale")
    gate.record_failure("data", "stale")
    gate.record_success("data")
    gate.record_failure("data", "stale")
    gate.record_failure("data", "stale")
    assert gate.state is TradingState.ACTIVE
    assert gate.failures == {"data": 2}


def test_circuit_breaker_when_failures_are_of_different_kinds_then_counts_each_kind() -> None:
    gate = make_gate(circuit_breaker_failures=2)
    gate.record_failure("data", "stale")
    gate.record_failure("model", "timeout")
    assert gate.state is TradingState.ACTIVE
    assert gate.record_failure("model", "timeout") is TradingState.HALTED
    assert "model" in gate.halt_reason


def test_resume_when_the_breaker_tripped_then_clears_the_failure_counts() -> None:
    gate = make_gate(circuit_breaker_failures=2)
    gate.record_failure("broker", "x")
    gate.record_failure("broker", "x")
    gate.resume()
    assert gate.failures == {}
    assert gate.record_failure("broker", "x") is TradingState.ACTIVE


def test_update_settings_when_limits_change_then_the_next_check_uses_them() -> None:
    gate = make_gate()
    assert gate.check(entry("AAPL", 80), context()).allowed
    gate.update_settings(RiskSettings.model_validate({"max_position_pct": 0.05}))
    assert gate.check(entry("AAPL", 80), context()).codes == ("max_position",)
    assert gate.settings.max_position_pct == 0.05
