"""Risk meters: each limit of the gate measured against the engine's book, with its level."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from robo_tui.adapters.brokers.paper import PaperBroker
from robo_tui.adapters.feeds.sim import SimulatedMarket
from robo_tui.adapters.store.memory import MemoryStore
from robo_tui.config import Settings
from robo_tui.domain.orders import AccountSnapshot, Position
from robo_tui.domain.risk import Mode, TradingState
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from robo_tui.engine.meters import Meter, level_for, risk_meters
from robo_tui.engine.risk import RiskContext

NOW = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
KEYS = ["day_loss", "gross_exposure", "largest_position", "largest_sector", "open_positions",
        "drawdown", "circuit_breaker"]


def engine_with(**risk: Any) -> Engine:
    data: dict[str, Any] = Settings().model_dump()
    data["risk"].update(risk)
    settings = Settings.model_validate(data)
    clock = SimClock(NOW)
    instruments = [i.to_instrument() for i in settings.universe.instruments]
    return Engine(
        settings, clock=clock,
        feed=SimulatedMarket(instruments, seed=1, bar_seconds=60, clock=clock),
        broker=PaperBroker(cash=100_000.0, costs=settings.paper, clock=clock,
                           instruments={i.symbol: i for i in instruments}),
        store=MemoryStore(),
    )


def book(engine: Engine, cash: float, **holdings: tuple[float, float]) -> None:
    """Give the engine an account: symbol=(quantity, price); start of day and peak at 100k."""
    positions = {s.replace("_", "-"): Position(s.replace("_", "-"), q, p)
                 for s, (q, p) in holdings.items()}
    prices = {s: p.avg_price for s, p in positions.items()}
    engine.account = AccountSnapshot(NOW, cash, positions, prices)
    engine.day_start_equity = 100_000.0
    engine.peak_equity = 100_000.0


def by_key(engine: Engine) -> dict[str, Meter]:
    return {m.key: m for m in risk_meters(engine)}


def test_risk_meters_when_flat_then_every_meter_is_ok_in_fixed_order() -> None:
    engine = engine_with()
    book(engine, 100_000.0)
    meters = risk_meters(engine)
    assert [m.key for m in meters] == KEYS
    assert {m.level for m in meters} == {"ok"}
    assert [m.value for m in meters] == [0.0] * 7


def test_day_loss_when_at_75_pct_of_the_reduce_limit_then_warning() -> None:
    engine = engine_with(daily_loss_reduce_pct=0.02, daily_loss_halt_pct=0.03)
    book(engine, 98_500.0)
    day = by_key(engine)["day_loss"]
    assert day.value == pytest.approx(1.5)
    assert day.limit == pytest.approx(3.0)
    assert day.unit == "%"
    assert day.level == "warning"
    assert day.text == "1.5% / 3.0% (reduce 2.0%)"


def test_day_loss_when_at_95_pct_of_the_reduce_limit_then_danger() -> None:
    engine = engine_with(daily_loss_reduce_pct=0.02, daily_loss_halt_pct=0.03)
    book(engine, 98_100.0)
    assert by_key(engine)["day_loss"].level == "danger"


def test_day_loss_when_the_gate_is_reducing_for_it_then_danger() -> None:
    engine = engine_with(daily_loss_reduce_pct=0.02, daily_loss_halt_pct=0.05)
    book(engine, 97_500.0)
    ctx = RiskContext(now=NOW, account=engine.account, mode=Mode.PAPER,
                      day_start_equity=100_000.0, peak_equity=100_000.0)
    assert engine.risk.evaluate(ctx) is TradingState.REDUCING
    day = by_key(engine)["day_loss"]
    assert day.level == "danger"
    assert day.fraction == pytest.approx(0.5)


def test_day_gain_then_day_loss_meter_reads_zero() -> None:
    engine = engine_with()
    book(engine, 101_000.0)
    assert by_key(engine)["day_loss"].value == 0.0


def test_largest_position_when_at_the_limit_then_ok_and_named() -> None:
    engine = engine_with(max_position_pct=0.10)
    book(engine, 90_000.0, AAPL=(50, 200.0))  # 10,000 of 100,000 equity
    position = by_key(engine)["largest_position"]
    assert position.label == "Position AAPL"
    assert position.value == pytest.approx(10.0)
    assert position.level == "ok"  # sized to the limit: normal use, not an alarm


def test_short_position_counts_by_absolute_value() -> None:
    engine = engine_with(max_position_pct=0.10)
    book(engine, 105_000.0, XOM=(-50, 100.0))  # short 5,000 of 100,000 equity
    position = by_key(engine)["largest_position"]
    assert position.value == pytest.approx(5.0)
    assert position.level == "ok"


def test_sector_when_two_symbols_share_it_then_summed_and_ok_under_the_limit() -> None:
    engine = engine_with(max_sector_pct=0.30)
    book(engine, 78_000.0, AAPL=(60, 200.0), MSFT=(25, 400.0))  # 12k + 10k technology
    sector = by_key(engine)["largest_sector"]
    assert sector.label == "Sector Technology"
    assert sector.value == pytest.approx(22.0)
    assert sector.level == "ok"


def test_gross_exposure_when_under_70_pct_then_ok() -> None:
    engine = engine_with(max_gross_exposure_pct=1.0)
    book(engine, 78_000.0, AAPL=(60, 200.0), XOM=(-100, 100.0))  # equity 80k, gross 22k
    gross = by_key(engine)["gross_exposure"]
    assert gross.value == pytest.approx(27.5)
    assert gross.level == "ok"


def test_open_positions_when_at_the_limit_then_ok_as_a_count() -> None:
    engine = engine_with(max_positions=3)
    book(engine, 97_000.0, AAPL=(5, 200.0), XOM=(10, 100.0), JPM=(4, 250.0))
    count = by_key(engine)["open_positions"]
    assert (count.value, count.limit, count.unit, count.text) == (3.0, 3.0, "count", "3 / 3")
    assert count.level == "ok"  # a full book at its configured size


def test_open_positions_when_two_of_three_then_ok() -> None:
    engine = engine_with(max_positions=3)
    book(engine, 98_000.0, AAPL=(5, 200.0), XOM=(10, 100.0))
    assert by_key(engine)["open_positions"].level == "ok"


def test_drawdown_when_8_of_10_pct_from_the_peak_then_warning() -> None:
    engine = engine_with(max_drawdown_pct=0.10)
    book(engine, 92_000.0)
    engine.day_start_equity = 92_000.0
    drawdown = by_key(engine)["drawdown"]
    assert drawdown.value == pytest.approx(8.0)
    assert drawdown.level == "warning"


def test_breaker_when_broker_failures_then_worst_kind_is_shown() -> None:
    engine = engine_with(circuit_breaker_failures=5)
    book(engine, 100_000.0)
    engine.risk.record_failure("data", "x")
    for _ in range(4):
        engine.risk.record_failure("broker", "timeout")
    breaker = by_key(engine)["circuit_breaker"]
    assert (breaker.label, breaker.value, breaker.text) == ("Breaker broker", 4.0, "4 / 5")
    assert breaker.level == "warning"


def test_breaker_when_tripped_then_danger() -> None:
    engine = engine_with(circuit_breaker_failures=2)
    book(engine, 100_000.0)
    engine.risk.record_failure("model", "bad json")
    engine.risk.record_failure("model", "bad json")
    assert engine.state is TradingState.HALTED
    assert by_key(engine)["circuit_breaker"].level == "danger"


def test_meters_when_equity_is_not_positive_then_danger_without_crashing() -> None:
    engine = engine_with()
    book(engine, -5_000.0, AAPL=(10, 100.0))
    meters = by_key(engine)
    assert meters["gross_exposure"].level == "danger"
    assert meters["gross_exposure"].text.startswith("n/a")


@pytest.mark.parametrize(("value", "level"), [
    (0.0, "ok"), (6.99, "ok"), (7.0, "warning"), (8.99, "warning"), (9.0, "danger"),
    (12.0, "danger"),
])
def test_level_for_when_value_crosses_70_and_90_pct_then_level_changes(value: float,
                                                                       level: str) -> None:
    assert level_for(value, 10.0) == level


def test_level_for_when_breached_then_danger_even_at_zero() -> None:
    assert level_for(0.0, 10.0, breached=True) == "danger"


def test_meter_fraction_is_clipped_to_one() -> None:
    meter = Meter("k", "K", 15.0, 10.0, "%", "danger", "15%")
    assert meter.fraction == 1.0


def test_largest_position_when_prices_carried_it_past_the_limit_then_warning() -> None:
    engine = engine_with(max_position_pct=0.10)
    book(engine, 89_000.0, AAPL=(55, 200.0))  # 11,000 of 100,000 equity: 110 % of the limit
    assert by_key(engine)["largest_position"].level == "warning"


def test_largest_position_when_far_past_the_limit_then_danger() -> None:
    engine = engine_with(max_position_pct=0.10)
    book(engine, 87_000.0, AAPL=(65, 200.0))  # 13,000 of 100,000 equity: 130 % of the limit
    assert by_key(engine)["largest_position"].level == "danger"


def test_open_positions_when_past_the_limit_then_danger() -> None:
    engine = engine_with(max_positions=2)
    book(engine, 97_000.0, AAPL=(5, 200.0), XOM=(10, 100.0), JPM=(4, 250.0))
    assert by_key(engine)["open_positions"].level == "danger"


def test_meters_when_the_book_is_full_at_its_configured_size_then_nothing_alarms() -> None:
    engine = engine_with(max_positions=3, max_position_pct=0.10, max_sector_pct=0.30)
    # three positions of 9.9 % each, as the sizer makes them, in three sectors
    book(engine, 70_300.0, AAPL=(49.5, 200.0), XOM=(99, 100.0), JPM=(39.6, 250.0))
    meters = by_key(engine)
    assert {k: m.level for k, m in meters.items()} == {k: "ok" for k in KEYS}
