"""Protection robo-tui holds where the venue cannot: armed by the entry's fill and persisted with
it, fired on the quotes the engine receives as a reduce-only order through the gate (also while
HALTED), capped to what is held, re-armed after a restart from the same SQLite file; and a
venue's own protective fill is journaled with an order row."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from robo_tui.adapters.brokers.paper import PaperBroker
from robo_tui.adapters.feeds.sim import SimulatedMarket
from robo_tui.config import Settings
from robo_tui.domain.market import Quote
from robo_tui.domain.orders import OrderIntent, Side
from robo_tui.domain.protection import ProtectiveLevel
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from robo_tui.engine.view import build_view
from tests.unit.engine.test_engine import make_engine


class MovableFeed(SimulatedMarket):
    """The simulated market, whose quotes of one symbol are scaled by `factor` (a price move
    the test chooses)."""

    factor: dict[str, float]

    async def quotes(self, now: datetime) -> list[Quote]:
        quotes = await super().quotes(now)
        factor = getattr(self, "factor", {})
        return [replace(q, bid=q.bid * factor[q.symbol], ask=q.ask * factor[q.symbol],
                        last=q.last * factor[q.symbol]) if q.symbol in factor else q
                for q in quotes]


def engine_without_venue_stops(tmp_path: Path, clock: SimClock) -> tuple[Engine, MovableFeed]:
    """An engine on a paper venue that holds no stops or targets: robo-tui holds them all."""
    settings = Settings()
    instruments = [i.to_instrument() for i in settings.universe.instruments]
    feed = MovableFeed(instruments, seed=settings.feeds.seed,
                       bar_seconds=settings.feeds.bar_seconds, clock=clock)
    feed.factor = {}
    broker = PaperBroker(cash=settings.broker.starting_cash, costs=settings.paper, clock=clock,
                         instruments={i.symbol: i for i in instruments}, holds_protection=False)
    engine = make_engine(tmp_path, clock, settings, broker=broker)
    engine.feed = feed
    return engine, feed


def levels_in_db(tmp_path: Path) -> dict[str, str]:
    with sqlite3.connect(tmp_path / "robo.db") as db:
        return dict(db.execute("select symbol, payload from protective_levels"))


async def enter(engine: Engine, qty: float = 4) -> tuple[float, str]:
    price = engine.prices["AAPL"]
    result = await engine.manual_order(OrderIntent("AAPL", Side.BUY, qty, stop_loss=price * 0.95,
                                                   take_profit=price * 1.10, confidence=0.9))
    assert result.sent and result.order is not None, result.verdict.reasons
    return price, result.order.client_order_id


async def test_entry_fill_when_the_venue_holds_no_stops_then_robo_tui_arms_and_persists_both_legs(
        tmp_path: Path, clock: SimClock) -> None:
    engine, _ = engine_without_venue_stops(tmp_path, clock)
    await engine.start()
    try:
        price, coid = await enter(engine)
        level = engine.protection.levels["AAPL"]
        assert (level.qty, level.stop_held_by, level.target_held_by) == (4, "robo-tui", "robo-tui")
        assert level.entry_client_order_id == coid and level.stop == price * 0.95
        assert "AAPL" in levels_in_db(tmp_path)  # written with the fill, one transaction
        row = build_view(engine).position("AAPL")
        assert row is not None and row.held_by == "robo-tui" and row.stop == price * 0.95
    finally:
        await engine.stop()


async def test_quote_through_the_stop_when_engine_held_then_reduce_only_exit_through_the_gate(
        tmp_path: Path, clock: SimClock) -> None:
    engine, feed = engine_without_venue_stops(tmp_path, clock)
    await engine.start()
    try:
        await enter(engine)
        feed.factor = {"AAPL": 0.90}
        await engine.tick()
        assert engine.account.position_qty("AAPL") == 0
        assert "AAPL" not in engine.protection.levels and levels_in_db(tmp_path) == {}
        rows = await engine.store.query(
            "select source, reduce_only, status, side, qty from orders where source='protection'")
        assert rows == [{"source": "protection", "reduce_only": 1, "status": "filled",
                         "side": "sell", "qty": 4.0}]
        verdicts = await engine.store.query(
            "select allowed from risk_verdicts where source = 'protection'")
        assert verdicts == [{"allowed": 1}]
    finally:
        await engine.stop()


async def test_target_when_reached_then_exits_once_and_the_stop_leg_is_gone_too(
        tmp_path: Path, clock: SimClock) -> None:
    engine, feed = engine_without_venue_stops(tmp_path, clock)
    await engine.start()
    try:
        await enter(engine)
        feed.factor = {"AAPL": 1.2}
        await engine.tick()
        await engine.tick()  # the level is gone: nothing more is sent
        assert engine.account.position_qty("AAPL") == 0
        exits = await engine.store.query("select count(*) n from orders where source='protection'")
        assert exits == [{"n": 1}]
        feed.factor = {"AAPL": 0.5}
        await engine.tick()  # the OCO's stop leg went with the target: no second exit, no short
        assert engine.account.position_qty("AAPL") == 0
    finally:
        await engine.stop()


async def test_stop_when_halted_then_the_protective_exit_still_goes_out(
        tmp_path: Path, clock: SimClock) -> None:
    engine, feed = engine_without_venue_stops(tmp_path, clock)
    await engine.start()
    try:
        await enter(engine)
        await engine.halt("kill switch", by="ui")
        feed.factor = {"AAPL": 0.9}
        await engine.tick()
        assert engine.account.position_qty("AAPL") == 0
        rows = await engine.store.query(
            "select state from risk_verdicts where source='protection' and allowed=1")
        assert rows == [{"state": "HALTED"}]
    finally:
        await engine.stop()


async def test_stop_when_part_was_sold_by_hand_then_exit_capped_to_what_is_held_never_a_short(
        tmp_path: Path, clock: SimClock) -> None:
    engine, feed = engine_without_venue_stops(tmp_path, clock)
    await engine.start()
    try:
        await enter(engine, qty=4)
        sold = await engine.manual_order(OrderIntent("AAPL", Side.SELL, 3, reduce_only=True))
        assert sold.sent
        assert engine.protection.levels["AAPL"].qty == 1  # resized with the sell's fill
        feed.factor = {"AAPL": 0.9}
        await engine.tick()
        assert engine.account.position_qty("AAPL") == 0
        rows = await engine.store.query("select qty from orders where source='protection'")
        assert rows == [{"qty": 1.0}]
    finally:
        await engine.stop()


async def test_restart_when_engine_held_levels_were_saved_then_rearmed_before_the_first_decision(
        tmp_path: Path, clock: SimClock) -> None:
    engine, _ = engine_without_venue_stops(tmp_path, clock)
    await engine.start()
    price, _ = await enter(engine)
    await engine.stop()
    again, feed = engine_without_venue_stops(tmp_path, clock)
    await again.start()
    try:
        level = again.protection.levels["AAPL"]
        assert (level.qty, level.stop) == (4, price * 0.95)
        feed.factor = {"AAPL": 0.9}
        await again.tick()
        assert again.account.position_qty("AAPL") == 0
    finally:
        await again.stop()


async def test_restart_when_the_position_went_flat_meanwhile_then_its_level_is_dropped(
        tmp_path: Path, clock: SimClock) -> None:
    engine, _ = engine_without_venue_stops(tmp_path, clock)
    await engine.start()
    await enter(engine)
    await engine.store.save_protective_levels({"MSFT": ProtectiveLevel(
        symbol="MSFT", side=Side.BUY, qty=3, entry_client_order_id="O-gone", stop=1.0)})
    await engine.stop()
    again, _ = engine_without_venue_stops(tmp_path, clock)
    await again.start()
    try:
        assert set(again.protection.levels) == {"AAPL"}
        assert set(levels_in_db(tmp_path)) == {"AAPL"}
    finally:
        await again.stop()


async def test_paper_venue_stop_when_it_fills_then_its_order_is_journaled_with_the_fill(
        tmp_path: Path, clock: SimClock) -> None:
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        price = engine.prices["AAPL"]
        result = await engine.manual_order(OrderIntent(
            "AAPL", Side.BUY, 2, stop_loss=price * 0.999, take_profit=price * 1.5,
            confidence=0.9))
        assert result.sent
        assert engine.protection.levels == {}  # the paper venue holds both legs itself
        assert isinstance(engine.broker, PaperBroker)
        engine.broker.on_quote(Quote("AAPL", clock.now(), price * 0.9, price * 0.9, price * 0.9))
        await engine.settle(clock.now())
        assert engine.account.position_qty("AAPL") == 0
        strays = await engine.store.query(
            "select fill_id from fills f where not exists "
            "(select 1 from orders o where o.client_order_id = f.client_order_id)")
        assert strays == []
        rows = await engine.store.query(
            "select source, status, reduce_only from orders where client_order_id like '%:sl%'")
        assert rows == [{"source": "venue", "status": "filled", "reduce_only": 1}]
    finally:
        await engine.stop()


async def test_trailing_stop_when_price_rises_then_falls_back_then_exits_at_the_ratcheted_level(
        tmp_path: Path, clock: SimClock) -> None:
    engine, feed = engine_without_venue_stops(tmp_path, clock)
    await engine.start()
    try:
        price = engine.prices["AAPL"]
        assert (await engine.manual_order(OrderIntent(
            "AAPL", Side.BUY, 2, stop_loss=price * 0.9, take_profit=price * 1.5,
            confidence=0.9))).sent
        await engine.protection.set_trailing("AAPL", pct=0.05)
        feed.factor = {"AAPL": 1.10}
        await engine.tick()  # the trail ratchets up and is persisted; nothing fires
        level = engine.protection.levels["AAPL"]
        assert level.effective_stop is not None and level.effective_stop > price
        assert levels_in_db(tmp_path)["AAPL"] and engine.account.position_qty("AAPL") == 2
        feed.factor = {"AAPL": 1.03}  # above the fixed stop, below the trail
        await engine.tick()
        assert engine.account.position_qty("AAPL") == 0
        rows = await engine.store.query(
            "select reason from fills where client_order_id in "
            "(select client_order_id from orders where source = 'protection')")
        assert len(rows) == 1
    finally:
        await engine.stop()
