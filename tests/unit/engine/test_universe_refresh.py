"""The daily universe refresh on a running engine, end to end against the local Kraken-shaped
server (the real ccxt library, unmodified): a market that starts passing the filters joins the
universe with its warm-up history and is traded from the next cycle; a held market that drops
out takes no new entry but keeps its stop, which still fires, and leaves once it is flat."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

pytest.importorskip("ccxt")

from robo_tui.config import Settings
from robo_tui.domain.events import Event, ScheduledJobDone, SignalsComputed
from robo_tui.domain.orders import OrderIntent, Side
from robo_tui.domain.risk import RiskCode
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from robo_tui.engine.schedule import DailySchedule, engine_jobs
from robo_tui.wiring import build_engine
from tests.unit.feeds.kraken_server import FakeKraken

# the discovery at start stamps the kept universe with the wall clock: the market runs near it
T0 = int(time.time()) // 60 * 60
START = T0 - 600 * 60
HIGH_VOLUME = {"v": ["10.0", "1000.0"]}  # 1,000 base units a day: millions of USD
LOW_VOLUME = {"v": ["0.1", "1.0"]}  # one unit a day: below min_volume


@pytest.fixture
def kraken() -> Iterator[FakeKraken]:
    with FakeKraken(START, T0 + 30) as server:
        yield server


@pytest.fixture
async def rig(kraken: FakeKraken, tmp_path: Path, request: pytest.FixtureRequest
              ) -> AsyncIterator[tuple[Engine, SimClock]]:
    """Paper mode (proposals executed at once) unless the test asks for another mode."""
    settings = Settings.model_validate({
        "engine": {"mode": getattr(request, "param", "paper")},
        "feeds": {"kind": "ccxt", "bar_seconds": 60,
                  "ccxt": {"base_url": kraken.url, "rate_limit_ms": 1, "poll_seconds": 1.0}},
        "universe": {"discovery": {"enabled": True, "min_volume": 1_000_000.0}},
        "reports": {"premarket_at": "00:00"},
        "news": {"sample": False},
        "risk": {"max_correlation": 1.0},  # the fake's markets move together by construction
    })
    clock = SimClock(datetime.fromtimestamp(T0 + 30, UTC))
    engine = build_engine(settings, data_dir=tmp_path, clock=clock, intelligence=False)
    await engine.start()
    yield engine, clock
    await engine.stop()


def captured(engine: Engine) -> list[Event]:
    seen: list[Event] = []
    engine.bus.subscribe(seen.append)
    return seen


async def step(engine: Engine, clock: SimClock, kraken: FakeKraken, seconds: int) -> None:
    clock.advance(seconds)
    kraken.now = int(clock.now().timestamp())
    await engine.run_cycle()


async def refresh(engine: Engine, clock: SimClock, kraken: FakeKraken) -> str:
    """Two hours on (the kept universe is then old enough to ask again), the schedule's jobs run."""
    clock.advance(2 * 3600)
    kraken.now = int(clock.now().timestamp())
    seen = captured(engine)
    schedule = DailySchedule(engine, engine_jobs(engine), ZoneInfo("UTC"))
    assert "universe" in await schedule.tick(clock.now())
    (done,) = [e for e in seen if isinstance(e, ScheduledJobDone) and e.job == "universe"]
    assert done.ok, done.summary
    return done.summary


async def test_refresh_when_a_market_starts_passing_then_it_is_warmed_up_and_traded_next_cycle(
        rig: tuple[Engine, SimClock], kraken: FakeKraken) -> None:
    engine, clock = rig
    assert engine.symbols == ["BTC-USD"]  # ETH trades 0.3 M USD a day: below 1 M
    assert engine.rediscover is not None
    kraken.ticker_override["XETHZUSD"] = HIGH_VOLUME

    summary = await refresh(engine, clock, kraken)

    assert "added ETH-USD" in summary
    assert engine.symbols == ["BTC-USD", "ETH-USD"]  # the most traded first (5 M, then 3 M)
    assert len(engine.market["ETH-USD"]) >= engine.settings.engine.warmup_bars
    seen = captured(engine)
    await step(engine, clock, kraken, 60)
    assert any(isinstance(e, SignalsComputed) and e.decision.symbol == "ETH-USD" for e in seen)
    assert engine.quotes["ETH-USD"].last > 0
    bought = engine.account.position_qty("ETH-USD")
    assert bought > 0  # the strategies (auto mode) entered the new symbol in that very cycle
    price = engine.prices["ETH-USD"]
    result = await engine.manual_order(OrderIntent("ETH-USD", Side.BUY, 0.1, stop_loss=price * 0.98,
                                                   take_profit=price * 1.05, confidence=0.9))
    assert result.sent, result.verdict.reasons
    assert engine.account.position_qty("ETH-USD") == pytest.approx(bought + 0.1)


@pytest.mark.parametrize("rig", ["semi-auto"], indirect=True)  # only the trader's orders
async def test_refresh_when_a_held_market_drops_out_then_no_entry_but_its_stop_fires_and_it_leaves(
        rig: tuple[Engine, SimClock], kraken: FakeKraken, tmp_path: Path) -> None:
    engine, clock = rig
    await step(engine, clock, kraken, 30)
    price = engine.prices["BTC-USD"]
    entry = await engine.manual_order(OrderIntent("BTC-USD", Side.BUY, 0.02, stop_loss=price * 0.98,
                                                  take_profit=price * 1.05, confidence=0.9))
    assert entry.sent, entry.verdict.reasons
    kraken.ticker_override["XETHZUSD"] = HIGH_VOLUME
    kraken.ticker_override["XXBTZUSD"] = LOW_VOLUME

    summary = await refresh(engine, clock, kraken)

    assert "leaving when flat (no new entries) BTC-USD" in summary
    assert "BTC-USD" in engine.instruments and "BTC-USD" in engine.symbols  # still followed
    more = await engine.manual_order(OrderIntent("BTC-USD", Side.BUY, 0.01, stop_loss=price * 0.98,
                                                 take_profit=price * 1.05, confidence=0.9))
    assert not more.sent
    assert RiskCode.LEFT_UNIVERSE.value in {r.code for r in more.verdict.reasons}
    assert engine.account.position_qty("BTC-USD") == pytest.approx(0.02)

    # a restart meanwhile: the kept universe leaves BTC out, the position keeps it followed
    await engine.stop()
    engine = build_engine(engine.settings, data_dir=tmp_path, clock=clock, intelligence=False)
    await engine.start()
    try:
        await held_symbol_leaves(engine, clock, kraken)
    finally:
        await engine.stop()


async def held_symbol_leaves(engine: Engine, clock: SimClock, kraken: FakeKraken) -> None:
    """After a restart: BTC is still followed (leaving), its stop fires, the next refresh drops it."""
    assert engine.symbols == ["ETH-USD", "BTC-USD"]
    assert "BTC-USD" in engine.leaving and engine.account.position_qty("BTC-USD") == pytest.approx(0.02)
    assert len(engine.market["BTC-USD"]) >= engine.settings.engine.warmup_bars

    # the price falls through the stop: the stop still fires and the position is closed
    crash = engine.prices["BTC-USD"] * 0.9
    kraken.ticker_override["XXBTZUSD"] = {**LOW_VOLUME, "c": [f"{crash:.1f}", "0.1"],
                                          "b": [f"{crash - 0.5:.1f}", "1", "1.0"],
                                          "a": [f"{crash + 0.5:.1f}", "1", "1.0"]}
    await step(engine, clock, kraken, 60)
    await engine.tick()
    assert engine.account.position_qty("BTC-USD") == 0

    clock.advance(24 * 3600)  # the next day's refresh: flat now, so it leaves
    kraken.now = int(clock.now().timestamp())
    change = await engine.set_universe(await engine.rediscover(clock.now()))  # type: ignore[misc]
    assert change.removed == ("BTC-USD",)
    assert "BTC-USD" not in engine.instruments and engine.symbols == ["ETH-USD"]
    assert engine.leaving == {}


async def test_engine_jobs_when_discovery_off_then_no_universe_job(tmp_path: Path) -> None:
    engine = build_engine(Settings(), data_dir=tmp_path, clock=SimClock(datetime(2026, 1, 2, tzinfo=UTC)),
                          intelligence=False)
    assert engine.rediscover is None
    assert "universe" not in [j.name for j in engine_jobs(engine)]
