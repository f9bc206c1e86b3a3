"""Approvals are one atomic transition (the console and the shell at once: one order, a clear
answer for the second, never "approved" with no order); cycle summaries count every fill booked
since the previous summary; a restored HALTED state keeps the codes that explain it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from robo_tui.adapters.brokers.paper import PaperBroker
from robo_tui.adapters.feeds.sim import SimulatedMarket
from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.config import Settings
from robo_tui.domain.orders import BrokerAck, Order, OrderIntent, Side
from robo_tui.domain.risk import Mode, TradingState
from robo_tui.domain.signals import ProposalStatus
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine, ProposalNotFound


def make_engine(tmp_path: Path, clock: SimClock, *, broker: PaperBroker | None = None,
                mode: Mode | None = None) -> Engine:
    settings = Settings()
    instruments = [i.to_instrument() for i in settings.universe.instruments]
    feed = SimulatedMarket(instruments, seed=settings.feeds.seed,
                           bar_seconds=settings.feeds.bar_seconds, clock=clock)
    broker = broker or PaperBroker(cash=settings.broker.starting_cash, costs=settings.paper,
                                   clock=clock, instruments={i.symbol: i for i in instruments})
    return Engine(settings, clock=clock, feed=feed, broker=broker,
                  store=SqliteStore(tmp_path / "robo.db"), mode=mode)


class BrokenSubmit(PaperBroker):
    """A paper broker whose submit fails with an error the order path does not expect."""

    async def submit(self, order: Order) -> BrokerAck:
        raise RuntimeError("venue adapter bug")


async def orders_for(engine: Engine, proposal_id: str) -> int:
    rows = await engine.store.query(
        "select count(*) as n from risk_verdicts where proposal_id = ? "
        "and client_order_id is not null", (proposal_id,))
    return int(rows[0]["n"])


async def pending_proposal(engine: Engine) -> str:
    await engine.run_cycle()
    assert engine.pending, "the cycle proposed nothing to approve"
    return next(iter(engine.pending))


async def test_approval_when_the_shell_and_the_console_approve_at_once_then_exactly_one_order(
    tmp_path: Path, clock: SimClock,
) -> None:
    engine = make_engine(tmp_path, clock, mode=Mode.SEMI_AUTO)
    await engine.start()
    try:
        pid = await pending_proposal(engine)
        shell = SqliteStore(tmp_path / "robo.db")
        await shell.open()
        await shell.journal_command("approve", {"proposal_id": pid}, "cli")
        await shell.close()
        tick, ui = await asyncio.gather(engine.tick(), engine.approve(pid, by="ui"),
                                        return_exceptions=True)
        assert tick is None
        if isinstance(ui, BaseException):
            assert isinstance(ui, ProposalNotFound) and "already" in str(ui), ui
        assert await orders_for(engine, pid) == 1
        row = await engine.store.get_proposal(pid)
        assert row is not None and row[1] in (ProposalStatus.SUBMITTED, ProposalStatus.DENIED)
    finally:
        await engine.stop()


async def test_approval_when_the_console_approves_twice_then_the_second_hears_already_decided(
    tmp_path: Path, clock: SimClock,
) -> None:
    engine = make_engine(tmp_path, clock, mode=Mode.SEMI_AUTO)
    await engine.start()
    try:
        pid = await pending_proposal(engine)
        first, second = await asyncio.gather(engine.approve(pid, by="ui"),
                                             engine.approve(pid, by="ui"),
                                             return_exceptions=True)
        assert not isinstance(first, BaseException)
        assert isinstance(second, ProposalNotFound)
        assert f"proposal {pid} is already" in str(second)
        assert await orders_for(engine, pid) == 1
    finally:
        await engine.stop()


async def test_approval_when_sending_fails_unexpectedly_then_the_proposal_is_not_left_approved(
    tmp_path: Path, clock: SimClock,
) -> None:
    settings = Settings()
    instruments = {i.symbol: i.to_instrument() for i in settings.universe.instruments}
    broker = BrokenSubmit(cash=settings.broker.starting_cash, costs=settings.paper, clock=clock,
                          instruments=instruments)
    engine = make_engine(tmp_path, clock, broker=broker, mode=Mode.SEMI_AUTO)
    await engine.start()
    try:
        pid = await pending_proposal(engine)
        with pytest.raises(RuntimeError):
            await engine.approve(pid, by="ui")
        row = await engine.store.get_proposal(pid)
        assert row is not None and row[1] is ProposalStatus.DENIED
    finally:
        await engine.stop()


async def test_summary_when_fills_are_booked_between_cycles_then_the_next_summary_counts_them(
    tmp_path: Path, clock: SimClock,
) -> None:
    engine = make_engine(tmp_path, clock, mode=Mode.SEMI_AUTO)  # the cycle itself sends nothing
    await engine.start()
    try:
        await engine.run_cycle()
        price = engine.prices["AAPL"]
        intent: Any = OrderIntent("AAPL", Side.BUY, 3, stop_loss=price * 0.9,
                                  take_profit=price * 1.5, confidence=0.9)
        result = await engine.manual_order(intent)  # between cycles, from the console
        assert result.sent
        booked = await engine.store.query("select count(*) as n from fills")
        assert booked[0]["n"] >= 1
        clock.advance(60)
        summary = await engine.run_cycle()
        assert summary.orders >= 1
        assert summary.fills >= booked[0]["n"]
    finally:
        await engine.stop()


async def test_restart_when_a_loss_limit_halted_trading_then_the_restored_halt_names_its_codes(
    tmp_path: Path, clock: SimClock,
) -> None:
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        for _ in range(engine.settings.risk.circuit_breaker_failures):
            await engine.monitor.failure("data", "feed down")
        assert engine.state is TradingState.HALTED
        codes = engine.risk.state_codes
        assert codes == ("circuit_breaker",)
    finally:
        await engine.stop()
    again = make_engine(tmp_path, clock)
    await again.start()
    try:
        assert again.state is TradingState.HALTED
        assert again.risk.state_codes == codes
        await again.resume(by="ui")
        assert (await again.store.load_control()).halt_codes == ()
    finally:
        await again.stop()


class HungFeed(SimulatedMarket):
    """The simulated market, whose bars and quotes calls never return."""

    async def next_bars(self, now: Any) -> Any:
        await asyncio.Event().wait()

    async def quotes(self, now: Any) -> Any:
        await asyncio.Event().wait()


async def test_cycle_when_the_feed_hangs_then_it_ends_with_a_data_failure(
    tmp_path: Path, clock: SimClock,
) -> None:
    settings = Settings()
    instruments = [i.to_instrument() for i in settings.universe.instruments]
    feed = HungFeed(instruments, seed=1, bar_seconds=60, clock=clock)
    engine = Engine(settings, clock=clock, feed=feed, broker=PaperBroker(
        cash=settings.broker.starting_cash, costs=settings.paper, clock=clock,
        instruments={i.symbol: i for i in instruments}), store=SqliteStore(tmp_path / "robo.db"))
    engine.feed_timeout = 0.2
    await engine.start()
    try:
        summary = await asyncio.wait_for(engine.run_cycle(), 5.0)
        assert any("market data failed: timed out" in e for e in summary.errors), summary.errors
        assert engine.health["data"][0] is False
    finally:
        await engine.stop()
