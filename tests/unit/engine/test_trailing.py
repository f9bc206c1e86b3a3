"""Trailing stops a trader sets: `[sizing] trailing_stop_pct` arms one on every entry, and
`Engine.set_trailing` gives one to a held position; robo-tui always holds the trail (never a
venue order), it ratchets only in the position's favour and exits through the risk gate."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from robo_tui.adapters.brokers.paper import PaperBroker
from robo_tui.config import Settings
from robo_tui.domain.orders import OrderIntent, Side
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from robo_tui.engine.view import build_view
from tests.unit.engine.test_engine import make_engine
from tests.unit.engine.test_protection import MovableFeed


def paper_engine(tmp_path: Path, clock: SimClock, trailing_stop_pct: float = 0.0,
                 ) -> tuple[Engine, MovableFeed]:
    """The embedded default (a paper venue that holds stops and targets itself) on a market
    whose AAPL price the test moves."""
    settings = Settings()
    settings = settings.model_copy(update={"sizing": settings.sizing.model_copy(
        update={"trailing_stop_pct": trailing_stop_pct})})
    instruments = [i.to_instrument() for i in settings.universe.instruments]
    feed = MovableFeed(instruments, seed=settings.feeds.seed,
                       bar_seconds=settings.feeds.bar_seconds, clock=clock)
    feed.factor = {}
    engine = make_engine(tmp_path, clock, settings)
    engine.feed = feed
    return engine, feed


def saved_levels(tmp_path: Path) -> dict[str, dict[str, object]]:
    with sqlite3.connect(tmp_path / "robo.db") as db:
        return {s: json.loads(p) for s, p in db.execute(
            "select symbol, payload from protective_levels")}


async def buy_aapl(engine: Engine, qty: float = 2) -> float:
    price = engine.prices["AAPL"]
    result = await engine.manual_order(OrderIntent(
        "AAPL", Side.BUY, qty, stop_loss=price * 0.9, take_profit=price * 1.5, confidence=0.9))
    assert result.sent and result.order is not None, result.verdict.reasons
    return price


def test_sizing_trailing_stop_pct_when_half_or_more_then_config_error() -> None:
    with pytest.raises(ValueError, match="trailing_stop_pct"):
        Settings.model_validate({"sizing": {"trailing_stop_pct": 0.5}})
    assert Settings().sizing.trailing_stop_pct == 0.0  # off by default


async def test_entry_when_trailing_stop_pct_set_then_armed_ratchets_up_and_a_fall_exits_through_the_gate(
        tmp_path: Path, clock: SimClock) -> None:
    engine, feed = paper_engine(tmp_path, clock, trailing_stop_pct=0.05)
    await engine.start()
    try:
        await buy_aapl(engine)
        level = engine.protection.levels["AAPL"]
        fill_price = level.extreme
        assert fill_price is not None and level.trail_pct == 0.05
        assert (level.stop_held_by, level.qty) == ("robo-tui", 2)
        assert level.effective_stop == pytest.approx(fill_price * 0.95)
        assert saved_levels(tmp_path)["AAPL"]["trail_pct"] == 0.05  # written with the fill
        row = build_view(engine).position("AAPL")
        assert row is not None and row.trailing and row.stop_held_by == "robo-tui"

        feed.factor = {"AAPL": 1.10}
        await engine.tick()  # the trail ratchets up, is persisted; nothing fires
        up = engine.protection.levels["AAPL"]
        assert up.extreme is not None and up.extreme > fill_price
        assert up.effective_stop is not None and up.effective_stop > fill_price
        assert saved_levels(tmp_path)["AAPL"]["extreme"] == up.extreme
        assert engine.account.position_qty("AAPL") == 2

        feed.factor = {"AAPL": 1.08}  # a dip that stays above the trail: the trail holds
        await engine.tick()
        assert engine.protection.levels["AAPL"].extreme == up.extreme  # never ratchets down
        assert engine.account.position_qty("AAPL") == 2

        feed.factor = {"AAPL": 1.02}  # above the venue's fixed stop, below the trail
        await engine.tick()
        assert engine.account.position_qty("AAPL") == 0
        rows = await engine.store.query(
            "select side, reduce_only, status from orders where source = 'protection'")
        assert rows == [{"side": "sell", "reduce_only": 1, "status": "filled"}]
        assert "AAPL" not in engine.protection.levels and "AAPL" not in saved_levels(tmp_path)
        assert isinstance(engine.broker, PaperBroker) and engine.broker.protections() == {}
    finally:
        await engine.stop()


async def test_entry_when_trailing_stop_pct_off_then_the_paper_venue_holds_everything(
        tmp_path: Path, clock: SimClock) -> None:
    engine, _ = paper_engine(tmp_path, clock)
    await engine.start()
    try:
        await buy_aapl(engine)
        assert engine.protection.levels == {}
        row = build_view(engine).position("AAPL")
        assert row is not None and not row.trailing and row.stop_held_by == "venue"
    finally:
        await engine.stop()


async def test_set_trailing_when_the_venue_holds_the_stop_then_robo_tui_holds_a_trail_audited(
        tmp_path: Path, clock: SimClock) -> None:
    engine, feed = paper_engine(tmp_path, clock)
    await engine.start()
    try:
        await buy_aapl(engine)
        last = engine.prices["AAPL"]
        level = await engine.set_trailing("AAPL", 0.02, by="ui")
        assert (level.trail_pct, level.qty, level.side, level.extreme) == (0.02, 2, Side.BUY, last)
        assert level.effective_stop == pytest.approx(last * 0.98)
        assert saved_levels(tmp_path)["AAPL"]["trail_pct"] == 0.02
        rows = await engine.store.query(
            "select actor, payload from audit_log where kind = 'protection.trailing'")
        assert [r["actor"] for r in rows] == ["ui"]
        assert json.loads(rows[0]["payload"])["trail_pct"] == 0.02
        feed.factor = {"AAPL": 0.97}
        await engine.tick()
        assert engine.account.position_qty("AAPL") == 0  # the trail fired before the venue stop
    finally:
        await engine.stop()


async def test_set_trailing_when_flat_or_out_of_range_then_refused_and_nothing_saved(
        tmp_path: Path, clock: SimClock) -> None:
    engine, _ = paper_engine(tmp_path, clock)
    await engine.start()
    try:
        with pytest.raises(KeyError):
            await engine.set_trailing("AAPL", 0.02, by="ui")
        await buy_aapl(engine)
        for bad in (0.0, -0.01, 0.5, float("nan")):
            with pytest.raises(ValueError):
                await engine.set_trailing("AAPL", bad, by="ui")
        assert engine.protection.levels == {} and saved_levels(tmp_path) == {}
    finally:
        await engine.stop()


async def test_restart_when_a_ratcheted_trail_was_saved_then_it_resumes_from_its_best_price(
        tmp_path: Path, clock: SimClock) -> None:
    engine, feed = paper_engine(tmp_path, clock, trailing_stop_pct=0.05)
    await engine.start()
    await buy_aapl(engine)
    feed.factor = {"AAPL": 1.10}
    await engine.tick()
    best = engine.protection.levels["AAPL"].extreme
    await engine.stop()
    again, feed = paper_engine(tmp_path, clock, trailing_stop_pct=0.05)
    await again.start()
    try:
        level = again.protection.levels["AAPL"]
        assert (level.trail_pct, level.extreme, level.qty) == (0.05, best, 2)
        feed.factor = {"AAPL": 1.02}  # below the saved trail: it exits at once
        await again.tick()
        assert again.account.position_qty("AAPL") == 0
    finally:
        await again.stop()
