"""A resume after a halt re-bases the loss limits (losses the trader accepted are not counted
twice) but never the day's P&L the trader sees: the status bar, the view and the cycle summary
keep counting from the equity the day opened with, also after a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from robo_tui.adapters.brokers.paper import PaperBroker
from robo_tui.adapters.feeds.sim import SimulatedMarket
from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.config import Settings
from robo_tui.domain.events import PortfolioUpdated
from robo_tui.domain.risk import Mode
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from robo_tui.engine.view import build_view

LOSS = 70.0


def make_engine(tmp_path: Path, clock: SimClock) -> Engine:
    settings = Settings()
    instruments = [i.to_instrument() for i in settings.universe.instruments]
    feed = SimulatedMarket(instruments, seed=settings.feeds.seed,
                           bar_seconds=settings.feeds.bar_seconds, clock=clock)
    broker = PaperBroker(cash=settings.broker.starting_cash, costs=settings.paper, clock=clock,
                         instruments={i.symbol: i for i in instruments})
    # semi-auto: the cycles send nothing, so equity stays the starting cash
    return Engine(settings, clock=clock, feed=feed, broker=broker,
                  store=SqliteStore(tmp_path / "robo.db"), mode=Mode.SEMI_AUTO)


def day_loss_meter(engine: Engine) -> float:
    view = build_view(engine)
    return next(m.value for m in view.meters if m.key == "day_loss")


async def test_day_pnl_when_the_trader_resumes_after_a_halt_then_the_shown_pnl_stays_the_days(
    tmp_path: Path, clock: SimClock,
) -> None:
    engine = make_engine(tmp_path, clock)
    marks: list[PortfolioUpdated] = []
    engine.bus.subscribe(marks.append, PortfolioUpdated)
    await engine.start()
    try:
        equity = engine.account.equity
        # the day opened LOSS higher than equity now: down LOSS on the day
        engine.replay_day(clock.now().date().isoformat(), equity + LOSS)
        assert engine.day_pnl == pytest.approx(-LOSS)
        assert day_loss_meter(engine) > 0
        await engine.halt("test", by="ui")
        await engine.resume(by="ui")
        summary = await engine.run_cycle()

        view = build_view(engine)
        assert view.day_pnl == pytest.approx(-LOSS)
        assert view.day_start_equity == pytest.approx(equity + LOSS)
        assert summary.day_pnl == pytest.approx(-LOSS)
        assert marks[-1].day_pnl_pct == pytest.approx(-LOSS / (equity + LOSS))
        # the loss limits count from equity at the resume
        assert engine.risk_context(clock.now()).day_start_equity == pytest.approx(equity)
        assert day_loss_meter(engine) == pytest.approx(0.0)
    finally:
        await engine.stop()


async def test_day_pnl_when_the_engine_restarts_after_a_resume_then_both_marks_are_kept(
    tmp_path: Path, clock: SimClock,
) -> None:
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        equity = engine.account.equity
        engine.replay_day(clock.now().date().isoformat(), equity + LOSS)
        await engine.halt("test", by="ui")
        await engine.resume(by="ui")
    finally:
        await engine.stop()

    restarted = make_engine(tmp_path, clock)
    await restarted.start()
    try:
        assert restarted.day_pnl == pytest.approx(-LOSS)
        assert build_view(restarted).day_start_equity == pytest.approx(equity + LOSS)
        assert restarted.risk_context(clock.now()).day_start_equity == pytest.approx(equity)
        assert day_loss_meter(restarted) == pytest.approx(0.0)
    finally:
        await restarted.stop()


async def test_day_pnl_when_a_new_day_starts_then_the_open_and_the_limit_base_move_together(
    tmp_path: Path, clock: SimClock,
) -> None:
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        engine.replay_day("2000-01-01", engine.account.equity + LOSS)
        await engine.run_cycle()  # the cycle finds a new day and opens it at equity now
        assert engine.day_pnl == pytest.approx(0.0)
        assert engine.risk_context(clock.now()).day_start_equity == pytest.approx(
            engine.account.equity)
    finally:
        await engine.stop()
