"""Market sessions, the live refusals, bad ticks and per-symbol staleness (issue 12)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from robo_tui.config import Settings
from robo_tui.domain.market import AssetClass, Bar, Instrument, Quote
from robo_tui.domain.risk import RiskCode
from robo_tui.domain.sessions import MarketSessions, Phase
from robo_tui.engine.bus import EventBus
from robo_tui.engine.engine import live_requirements
from robo_tui.engine.freshness import MarketGuard
from robo_tui.engine.health import Health
from tests.unit.risk.builders import account, context, entry, exit_order, make_gate

NYSE = MarketSessions()


@pytest.mark.parametrize(("when", "label", "open_"), [
    (datetime(2026, 1, 5, 15, 0, tzinfo=UTC), "US open", True),
    (datetime(2026, 11, 27, 17, 0, tzinfo=UTC), "US half day", True),  # day after Thanksgiving
    (datetime(2026, 11, 27, 19, 0, tzinfo=UTC), "US closed", False),  # after the 13:00 close
    (datetime(2026, 12, 25, 15, 0, tzinfo=UTC), "US closed (holiday)", False),
    (datetime(2026, 1, 10, 15, 0, tzinfo=UTC), "US closed", False),  # Saturday
])
def test_session_when_holidays_and_half_days_then_known(when: datetime, label: str,
                                                        open_: bool) -> None:
    assert NYSE.status(when).label == label
    assert NYSE.is_open(AssetClass.STOCK, when) is open_
    assert NYSE.is_open(AssetClass.CRYPTO, when) is True


def test_session_when_extended_hours_allowed_then_pre_market_is_tradable() -> None:
    pre = datetime(2026, 1, 5, 13, 0, tzinfo=UTC)  # 8:00 New York
    assert NYSE.status(pre).phase is Phase.PRE
    assert not NYSE.tradable(AssetClass.STOCK, pre)
    assert MarketSessions(extended_hours=True).tradable(AssetClass.STOCK, pre)


def _guard(sessions: MarketSessions | None = NYSE, prices: dict[str, float] | None = None,
           bus: EventBus | None = None) -> MarketGuard:
    instruments = {"AAPL": Instrument("AAPL"), "BTC-USD": Instrument("BTC-USD", AssetClass.CRYPTO)}
    health = Health(bus=bus or EventBus(), clock=_Clock(), risk=make_gate(), on_trip=_no_trip)
    return MarketGuard(instruments=instruments, prices=prices if prices is not None else {},
                       health=health, bar_seconds=60, stale_after_bars=3, sessions=sessions)


class _Clock:
    def now(self) -> datetime:
        return datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


async def _no_trip(*_: object) -> None:
    return None


def test_gate_when_stock_entry_outside_session_then_denied_market_closed_but_crypto_allowed() -> None:
    saturday = datetime(2026, 1, 10, 15, 0, tzinfo=UTC)
    gate = make_gate()
    blocked = _guard().blocked(saturday, {})
    ctx = replace(context(account(), now=saturday), blocked=blocked)
    assert RiskCode.MARKET_CLOSED in gate.check(entry("AAPL", 1), ctx).codes
    assert RiskCode.MARKET_CLOSED not in gate.check(entry("BTC-USD", 0.01), ctx).codes


def test_gate_when_exit_outside_session_then_not_judged_by_the_session_rule() -> None:
    saturday = datetime(2026, 1, 10, 15, 0, tzinfo=UTC)
    ctx = replace(context(account(positions={"AAPL": 10}), now=saturday),
                  blocked=_guard().blocked(saturday, {}))
    assert RiskCode.MARKET_CLOSED not in make_gate().check(exit_order("AAPL", 5), ctx).codes


@pytest.mark.parametrize(("quote", "why"), [
    (Quote("AAPL", datetime(2026, 1, 5, tzinfo=UTC), 101.0, 100.0, 100.5), "crossed"),
    (Quote("AAPL", datetime(2026, 1, 5, tzinfo=UTC), 0.0, 0.0, 0.0), "zero"),
    (Quote("AAPL", datetime(2026, 1, 5, tzinfo=UTC), 0.0, 0.0, float("nan")), "not a number"),
    (Quote("AAPL", datetime(2026, 1, 5, tzinfo=UTC), 9999.0, 10001.0, 10000.0), "x the last"),
])
def test_quote_when_bad_tick_then_rejected_with_reason(quote: Quote, why: str) -> None:
    problem = _guard(prices={"AAPL": 100.0}).quote_problem(quote)
    assert problem is not None and why in problem


def test_bar_when_100x_print_then_rejected_and_a_sane_bar_accepted() -> None:
    guard = _guard(prices={"AAPL": 100.0})
    ts = datetime(2026, 1, 5, 15, tzinfo=UTC)
    assert guard.bar_problem(Bar("AAPL", ts, 100, 101, 99, 10_000, 1)) is not None
    assert guard.bar_problem(Bar("AAPL", ts, 100, 101, -1, 100, 1)) is not None
    assert guard.bar_problem(Bar("AAPL", ts, 100, 101, 99, 100.5, 1)) is None


def test_symbol_when_data_older_than_the_multiple_then_stale_blocked_and_announced() -> None:
    bus = EventBus()
    seen: list[object] = []
    bus.subscribe(seen.append)
    guard = _guard(bus=bus)
    t0 = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
    guard.seen("BTC-USD", t0)
    guard.check(t0 + timedelta(seconds=179))
    assert "BTC-USD" not in guard.stale
    guard.check(t0 + timedelta(seconds=181))
    assert RiskCode.STALE_DATA in guard.blocked(t0, {})["BTC-USD"]
    assert any(getattr(e, "source", "") == "data:BTC-USD" for e in seen)
    guard.seen("BTC-USD", t0 + timedelta(seconds=200))
    guard.check(t0 + timedelta(seconds=201))
    assert "BTC-USD" not in guard.stale


def test_live_requirements_when_simulated_feed_and_sample_news_then_each_named() -> None:
    settings = Settings.model_validate({"engine": {"live_enabled": True},
                                        "broker": {"kind": "robinhood"}})
    missing = live_requirements(settings, confirm_live=True)
    assert any("feeds.kind" in m and "simulated" in m for m in missing)
    assert any("news.sample" in m for m in missing)
    replay = settings.model_copy(update={"feeds": settings.feeds.model_copy(update={"kind": "replay"})})
    assert any("replayed" in m for m in live_requirements(replay, confirm_live=True))


class _At:
    def __init__(self, now: datetime) -> None:
        self.t = now

    def now(self) -> datetime:
        return self.t


async def test_simulated_market_when_us_closed_then_no_stock_bars_or_quotes_but_crypto_goes_on() -> None:
    from robo_tui.adapters.feeds.sim import SimulatedMarket

    friday_close = datetime(2026, 1, 9, 20, 58, tzinfo=UTC)  # 15:58 New York
    clock = _At(friday_close)
    sim = SimulatedMarket([Instrument("AAPL"), Instrument("BTC-USD", AssetClass.CRYPTO)],
                          seed=1, bar_seconds=60, clock=clock, sessions=NYSE,
                          max_catchup=10_000)
    clock.t = datetime(2026, 1, 10, 15, 0, tzinfo=UTC)  # Saturday
    bars = await sim.next_bars(clock.t)
    symbols = {b.symbol for b in bars}
    assert symbols == {"AAPL", "BTC-USD"}
    assert max(b.ts for b in bars if b.symbol == "AAPL") < datetime(2026, 1, 9, 21, 0, tzinfo=UTC)
    assert [q.symbol for q in await sim.quotes(clock.t)] == ["BTC-USD"]
