"""The rule table: one registry the gate and the meters read, and a rule added in one object."""

from __future__ import annotations

import re
from pathlib import Path

from robo_tui.config import RiskSettings
from robo_tui.domain.orders import Side
from robo_tui.domain.risk import RiskCode, TradingState
from robo_tui.engine.meter import Meter, MeterBook, level_for
from robo_tui.engine.meters import rule_meters
from robo_tui.engine.risk import RiskGate
from robo_tui.engine.risk_facts import GateMemory, OrderFacts
from robo_tui.engine.risk_rules import RISK_RULES, RiskRule, RuleScope
from tests.unit.risk.builders import UNIVERSE, account, context, entry, make_gate

DOCS = Path(__file__).resolve().parents[3] / "docs" / "risk.md"
MAX_ORDER_QTY = "max_order_quantity"


def _too_many_units(f: OrderFacts, m: GateMemory, notes: list[str]) -> str | None:
    """A throwaway rule: at most 20 units per order."""
    qty = f.intent.quantity
    return f"quantity {qty:g} is above 20 units" if qty > 20 else None


def _units_meter(book: MeterBook) -> Meter:
    units = float(len(book.values))
    return Meter("units", "Units", units, 20.0, "count", level_for(units, 20.0), f"{units:g} / 20")


THROWAWAY = RiskRule(MAX_ORDER_QTY, RuleScope.ENTRIES, _too_many_units, _units_meter)


def book(state: TradingState = TradingState.ACTIVE, codes: tuple[str, ...] = (),
         equity: float = 100_000.0) -> MeterBook:
    return MeterBook(RiskSettings(), equity, {"AAPL": 5_000.0}, {"Technology": 5_000.0},
                     100_000.0, 100_000.0, state, codes, {})


def test_gate_when_a_throwaway_rule_is_registered_then_it_denies_with_its_own_code() -> None:
    gate = RiskGate(RiskSettings(), UNIVERSE, (*RISK_RULES, THROWAWAY))
    verdict = gate.check(entry("AAPL", 30), context())
    assert verdict.codes == (MAX_ORDER_QTY,)
    assert verdict.reasons[0].message == "quantity 30 is above 20 units"
    assert verdict.checked[-1] == MAX_ORDER_QTY
    assert gate.check(entry("AAPL", 10), context()).allowed


def test_gate_when_a_throwaway_rule_is_registered_then_exits_are_not_judged_by_it() -> None:
    gate = RiskGate(RiskSettings(), UNIVERSE, (*RISK_RULES, THROWAWAY))
    ctx = context(account(positions={"AAPL": 50}))
    verdict = gate.check(entry("AAPL", 30, Side.SELL), ctx)
    assert verdict.allowed
    assert MAX_ORDER_QTY not in verdict.checked


def test_meters_when_a_throwaway_rule_is_registered_then_its_meter_follows_the_standard_ones(
) -> None:
    gate = RiskGate(RiskSettings(), UNIVERSE, (*RISK_RULES, THROWAWAY))
    keys = [m.key for m in rule_meters(gate.rules, book())]
    assert keys == ["day_loss", "gross_exposure", "largest_position", "largest_sector",
                    "open_positions", "drawdown", "units", "circuit_breaker"]


def test_gate_when_built_without_rules_then_it_judges_only_by_its_table() -> None:
    gate = RiskGate(RiskSettings(), UNIVERSE, ())
    verdict = gate.check(entry("ZZZ", -1), context())
    assert verdict.allowed and verdict.checked == ()


def test_risk_rules_when_listed_then_every_risk_code_has_a_rule() -> None:
    assert {r.code for r in RISK_RULES} == set(RiskCode)


def test_risk_rules_when_listed_then_every_code_has_a_line_in_docs_risk_md() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", DOCS.read_text(), flags=re.MULTILINE))
    assert {str(r.code) for r in RISK_RULES} <= documented


def test_state_codes_when_the_day_loss_reduces_then_name_the_daily_loss_limit() -> None:
    gate = make_gate(daily_loss_reduce_pct=0.02, daily_loss_halt_pct=0.05)
    assert gate.evaluate(context(day_start=102_500.0)) is TradingState.REDUCING
    assert gate.state_codes == (RiskCode.MAX_DAILY_LOSS,)
    gate.resume()
    assert gate.state_codes == ()


def test_state_codes_when_the_breaker_trips_then_name_it_and_the_operator_halt_names_none(
) -> None:
    gate = make_gate(circuit_breaker_failures=2)
    gate.record_failure("broker", "timeout")
    gate.record_failure("broker", "timeout")
    assert gate.state_codes == ("circuit_breaker",)
    gate.resume()
    gate.halt("day loss and drawdown worry me")
    assert gate.state_codes == ()


def test_day_loss_meter_when_the_operator_halts_in_those_words_then_not_breached() -> None:
    meters = {m.key: m for m in rule_meters(RISK_RULES, book(TradingState.HALTED))}
    assert meters["day_loss"].level == "ok"
    assert meters["drawdown"].level == "ok"


def test_day_loss_and_drawdown_meters_when_their_codes_set_the_state_then_danger() -> None:
    codes = (RiskCode.MAX_DAILY_LOSS.value, RiskCode.MAX_DRAWDOWN.value)
    meters = {m.key: m for m in rule_meters(RISK_RULES, book(TradingState.HALTED, codes))}
    assert meters["day_loss"].level == "danger"
    assert meters["drawdown"].level == "danger"
    assert meters["circuit_breaker"].level == "ok"


def test_reducing_denial_when_the_entry_is_fractional_then_names_the_day_loss() -> None:
    gate = make_gate(daily_loss_reduce_pct=0.02, daily_loss_halt_pct=0.05)
    verdict = gate.check(entry("AAPL", 0.5), context(day_start=102_500.0, fractional=False))
    assert verdict.state is TradingState.REDUCING
    reducing = next(r for r in verdict.reasons if r.code == "reducing_not_risk_reducing")
    assert reducing.message.startswith("trading is REDUCING (day loss 2.44%")
