"""The gate's rule plans: a rule is left out of an order's plan only when it could not deny the
order (a setting turns it off, or the moment it acts in is absent), and the verdict is then
exactly the one the full table gives."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robo_tui.config import RiskSettings
from robo_tui.domain.orders import Side
from robo_tui.domain.risk import RiskCode, RiskVerdict
from robo_tui.engine.risk import RiskGate
from robo_tui.engine.risk_facts import GateMemory, OrderFacts
from robo_tui.engine.risk_rules import RISK_RULES, RiskRule, RuleScope, Trigger
from tests.unit.risk.builders import T0, UNIVERSE, account, context, entry, exit_order

FULL_TABLE = tuple(replace(r, off=None, trigger=Trigger(0)) for r in RISK_RULES)
"""The same rules with nothing ever left out: what every order ran before the plans."""


def _fields(v: RiskVerdict) -> tuple[object, ...]:
    return (v.allowed, v.state, v.reasons, v.checked, v.notes)


def _exploding(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    raise AssertionError("a rule the plan leaves out was called")


def test_plan_when_cooldowns_are_zero_then_their_rule_is_not_called_and_checked_still_lists_it(
) -> None:
    rule = RiskRule(RiskCode.COOLDOWN_EXIT, RuleScope.ENTRIES, _exploding,
                    off=lambda s: s.cooldown_after_exit_seconds <= 0)
    gate = RiskGate(RiskSettings(cooldown_after_exit_seconds=0.0), UNIVERSE, (rule,))
    verdict = gate.check(entry("AAPL", 10), context())
    assert verdict.allowed
    assert verdict.checked == (RiskCode.COOLDOWN_EXIT,)


def test_update_settings_when_a_cooldown_is_turned_on_then_its_rule_denies_at_the_next_order(
) -> None:
    gate = RiskGate(RiskSettings(cooldown_after_exit_seconds=0.0,
                                 cooldown_after_loss_seconds=0.0), UNIVERSE)
    gate.record_exit("AAPL", T0 - timedelta(seconds=10), 5.0)
    assert gate.check(entry("AAPL", 10), context()).allowed
    gate.update_settings(RiskSettings(cooldown_after_exit_seconds=600.0,
                                      cooldown_after_loss_seconds=0.0))
    verdict = gate.check(entry("AAPL", 10), context())
    assert verdict.codes == (RiskCode.COOLDOWN_EXIT,)


def test_plan_when_nothing_is_blocked_then_the_blocked_rules_are_not_called() -> None:
    rule = RiskRule(RiskCode.MARKET_CLOSED, RuleScope.ENTRIES, _exploding,
                    trigger=Trigger.BLOCKED)
    gate = RiskGate(RiskSettings(), UNIVERSE, (rule,))
    assert gate.check(entry("AAPL", 10), context()).allowed


def test_plan_when_a_symbol_is_blocked_then_the_blocked_rule_denies_it() -> None:
    gate = RiskGate(RiskSettings(), UNIVERSE)
    ctx = replace(context(), blocked={"AAPL": {RiskCode.MARKET_CLOSED.value: "closed"}})
    assert gate.check(entry("AAPL", 10), ctx).codes == (RiskCode.MARKET_CLOSED,)
    assert gate.check(entry("MSFT", 10), ctx).allowed


def test_plan_when_stops_are_not_required_then_an_entry_without_stops_passes() -> None:
    gate = RiskGate(RiskSettings(require_stops=False), UNIVERSE)
    verdict = gate.check(entry("AAPL", 10, stop_loss=None, take_profit=None), context())
    assert verdict.allowed
    assert RiskCode.MISSING_STOP in verdict.checked


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cooldown=st.sampled_from([0.0, 30.0]),
    loss_cooldown=st.sampled_from([0.0, 300.0]),
    require_stops=st.booleans(),
    exited_ago=st.sampled_from([None, 5.0, 100.0]),
    loss=st.booleans(),
    state=st.sampled_from(["active", "halted", "day_loss", "drawdown"]),
    blocked=st.sampled_from([{}, {"AAPL": {"market_closed": "closed"}},
                             {"MSFT": {"stale_data": "stale"}}]),
    held=st.sampled_from([0.0, 20.0, -20.0]),
    side=st.sampled_from([Side.BUY, Side.SELL]),
    qty=st.sampled_from([5.0, 20.0, 2_000.0]),
    stops=st.booleans(),
    reduce_only=st.booleans(),
    trader=st.booleans(),
)
def test_plan_when_compared_with_the_full_table_then_every_verdict_is_identical(
    cooldown: float, loss_cooldown: float, require_stops: bool, exited_ago: float | None,
    loss: bool, state: str, blocked: dict[str, dict[str, str]], held: float, side: Side,
    qty: float, stops: bool, reduce_only: bool, trader: bool,
) -> None:
    limits = RiskSettings(cooldown_after_exit_seconds=cooldown,
                          cooldown_after_loss_seconds=loss_cooldown, require_stops=require_stops)
    lean, full = RiskGate(limits, UNIVERSE), RiskGate(limits, UNIVERSE, FULL_TABLE)
    for gate in (lean, full):
        if exited_ago is not None:
            gate.record_exit("AAPL", T0 - timedelta(seconds=exited_ago), -1.0 if loss else 1.0)
        if state == "halted":
            gate.halt("test")
    acct = account(positions={"AAPL": held} if held else None)
    eq = acct.equity
    ctx = context(acct, day_start=eq * 1.04 if state == "day_loss" else None,
                  peak=eq * 1.5 if state == "drawdown" else None)
    ctx = replace(ctx, blocked=blocked, exit_may_pass_halt=trader)
    intent = (entry("AAPL", qty, side, reduce_only=reduce_only) if stops
              else exit_order("AAPL", qty, side, reduce_only=reduce_only))
    for _ in range(2):  # the second check runs the plan kept from the first
        assert _fields(lean.check(intent, ctx)) == _fields(full.check(intent, ctx))
