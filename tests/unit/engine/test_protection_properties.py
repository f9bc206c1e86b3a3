"""Properties of engine-held protection over random sequences of entries (filled whole or in
parts), exits by hand, price moves through the levels and restarts (a new engine on the same
SQLite file): a position is never without its stop, and a protective order never opens one."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robo_tui.adapters.brokers.paper import FLAT_EPSILON
from robo_tui.adapters.store.memory import MemoryStore
from robo_tui.config import Settings
from robo_tui.domain.orders import Fill, Order, OrderIntent, Side, VenueCapabilities
from robo_tui.engine.account import AccountBook
from robo_tui.engine.bus import EventBus
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from robo_tui.engine.health import Health
from robo_tui.engine.protection import ProtectionBook
from robo_tui.engine.risk import RiskGate
from tests.unit.engine.test_protection import engine_without_venue_stops

T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)

# ---------------------------------------------------------------- the book alone (fast, many)

_book_steps = st.lists(st.one_of(
    st.tuples(st.just("entry"), st.sampled_from([Side.BUY, Side.SELL]),
              st.lists(st.integers(1, 5), min_size=1, max_size=4)),  # an entry's partial fills
    st.tuples(st.just("reduce"), st.integers(1, 8)),                  # a sell/buy back by hand
), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(_book_steps)
def test_book_when_entries_fill_in_parts_and_are_reduced_then_it_covers_exactly_what_is_held(
        steps: list[tuple[object, ...]]) -> None:
    book = ProtectionBook(broker=lambda: _NoVenue(), instruments={}, store=MemoryStore(),  # type: ignore[arg-type,return-value]
                          book=AccountBook(T0, 100_000.0), health=_health())
    held = 0.0
    for n, step in enumerate(steps):
        if step[0] == "entry":
            side, parts = step[1], step[2]
            assert isinstance(side, Side) and isinstance(parts, list)
            stop = 90.0 if side is Side.BUY else 110.0
            order = Order(f"O-{n}", OrderIntent("X", side, float(sum(parts)), stop_loss=stop),
                          T0, "ui")
            for i, part in enumerate(parts):
                book.after_fill(_fill(f"{n}-{i}", order.client_order_id, side, part), order)
                held += side.sign * part
                _covers(book, held)
        else:
            want = step[1]
            assert isinstance(want, int)
            if abs(held) <= FLAT_EPSILON:
                continue
            qty = min(float(want), abs(held))  # a reduce-only order never crosses zero
            side = Side.SELL if held > 0 else Side.BUY
            book.after_fill(_fill(f"r{n}", f"M-{n}", side, qty), None)
            held += side.sign * qty
            _covers(book, held)


def _health() -> Health:
    async def trip(reason: str) -> None:
        return None
    return Health(bus=EventBus(), clock=SimClock(T0), risk=RiskGate(Settings().risk, {}),
                  on_trip=trip)


class _NoVenue:
    """A venue that holds nothing: robo-tui holds every leg."""

    def capabilities(self, asset: object) -> VenueCapabilities:
        return VenueCapabilities(stops=False, brackets=False, fractional=True, shorting=True)


def _fill(fid: str, coid: str, side: Side, qty: float) -> Fill:
    return Fill(fid, coid, "X", side, float(qty), 100.0, 0.0, T0)


def _covers(book: ProtectionBook, held: float) -> None:
    level = book.levels.get("X")
    if abs(held) <= FLAT_EPSILON:
        assert level is None
        return
    assert level is not None and level.has_stop, "a position without its stop"
    assert level.side is (Side.BUY if held > 0 else Side.SELL)
    assert abs(level.qty - abs(held)) < 1e-9


# ---------------------------------------------------------------- the engine (slow, fewer)

_engine_steps = st.lists(st.one_of(
    st.tuples(st.just("entry"), st.integers(1, 5)),
    st.tuples(st.just("sell"), st.integers(1, 6)),
    st.tuples(st.just("move"), st.sampled_from([0.8, 0.97, 1.0, 1.03, 1.2])),
    st.tuples(st.just("restart"), st.just(0)),
), min_size=1, max_size=8)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_engine_steps)
def test_engine_when_fills_exits_moves_and_restarts_then_never_unprotected_never_opened_by_a_stop(
        steps: list[tuple[str, float]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_run_engine(Path(tmp), steps))


async def _run_engine(tmp: Path, steps: list[tuple[str, float]]) -> None:
    clock = SimClock(T0)
    engine, feed = engine_without_venue_stops(tmp, clock)
    await engine.start()
    base = engine.prices["AAPL"]
    factor = 1.0
    try:
        for kind, value in steps:
            if kind == "entry":
                price = base * factor
                await engine.manual_order(OrderIntent(
                    "AAPL", Side.BUY, float(value), stop_loss=price * 0.9,
                    take_profit=price * 1.1, confidence=0.9))
            elif kind == "sell":
                held = engine.account.position_qty("AAPL")
                if held > 0:
                    await engine.manual_order(OrderIntent(
                        "AAPL", Side.SELL, min(float(value), held), reduce_only=True))
            elif kind == "move":
                factor = float(value)
                feed.factor = {"AAPL": factor}
                await engine.tick()
            else:
                await engine.stop()
                engine, feed = engine_without_venue_stops(tmp, clock)
                feed.factor = {"AAPL": factor}
                await engine.start()
            await _check(engine)
    finally:
        await engine.stop()


async def _check(engine: Engine) -> None:
    await engine.orders.refresh_account()
    held = engine.account.position_qty("AAPL")
    assert held >= -FLAT_EPSILON, "a protective order opened a short"
    level = engine.protection.levels.get("AAPL")
    if held > FLAT_EPSILON:
        assert level is not None and level.has_stop, "a position without its stop"
        assert level.qty >= held - 1e-9 and level.side is Side.BUY
    stored = {lv.symbol: lv for lv in await engine.store.protective_levels()}
    assert stored.get("AAPL") == level, "the persisted protection differs from the one held"
    protective = await engine.store.query(
        "select f.side, f.qty from fills f join orders o using (client_order_id) "
        "where o.source = 'protection'")
    assert all(r["side"] == "sell" for r in protective)
