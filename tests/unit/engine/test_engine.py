"""The engine end to end on real adapters: simulated market, paper broker, SQLite store."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from robo_tui.adapters.brokers.paper import PaperBroker
from robo_tui.adapters.feeds.sim import SimulatedMarket
from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.config import Settings
from robo_tui.domain.commands import SubmitOrder
from robo_tui.domain.events import Event, OrderDenied, OrderSubmitted, TradingStateChanged
from robo_tui.domain.market import AssetClass
from robo_tui.domain.orders import (
    AccountSnapshot,
    BrokerAck,
    Fill,
    Order,
    OrderIntent,
    OrderStatus,
    Side,
    VenueCapabilities,
)
from robo_tui.domain.risk import Mode, TradingState
from robo_tui.domain.signals import ProposalStatus
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine, ModeChangeRefused, ProposalNotFound


def settings_for(**sections: dict[str, Any]) -> Settings:
    data: dict[str, Any] = Settings().model_dump()
    for name, values in sections.items():
        for key, value in values.items():
            if isinstance(value, dict):
                data[name][key].update(value)
            else:
                data[name][key] = value
    return Settings.model_validate(data)


def make_engine(tmp_path: Path, clock: SimClock, settings: Settings | None = None,
                broker: Any = None, mode: Mode | None = None) -> Engine:
    settings = settings or Settings()
    instruments = [i.to_instrument() for i in settings.universe.instruments]
    feed = SimulatedMarket(instruments, seed=settings.feeds.seed,
                           bar_seconds=settings.feeds.bar_seconds, clock=clock)
    broker = broker or PaperBroker(cash=settings.broker.starting_cash, costs=settings.paper,
                                   clock=clock, instruments={i.symbol: i for i in instruments})
    return Engine(settings, clock=clock, feed=feed, broker=broker,
                  store=SqliteStore(tmp_path / "robo.db"), mode=mode)


def capture(engine: Engine) -> list[Event]:
    seen: list[Event] = []
    engine.bus.subscribe(seen.append)
    return seen


def buy(symbol: str = "AAPL", qty: float = 1, **kw: Any) -> SubmitOrder:
    intent = OrderIntent(symbol, Side.BUY, qty, confidence=0.9, **kw)
    return SubmitOrder(intent, "ui")


async def test_cycle_on_embedded_default_then_proposals_orders_and_fills_recorded(tmp_path, clock):
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        summary = await engine.run_cycle()
        assert summary.proposals > 0
        assert summary.orders > 0 and summary.fills > 0
        rows = await engine.store.query("select count(*) as n from fills")
        assert rows[0]["n"] == summary.fills
        verdicts = await engine.store.query("select count(*) as n from risk_verdicts")
        assert verdicts[0]["n"] >= summary.orders + summary.denied
        # every filled entry carries its stop and target into the broker
        for symbol, (stop, target) in engine.broker.protections().items():
            assert stop is not None and target is not None, symbol
    finally:
        await engine.stop()


async def test_submit_when_halted_then_denies_and_records_the_verdict(tmp_path, clock):
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        events = capture(engine)
        await engine.halt("test", by="ui")
        result = await engine.submit(buy(stop_loss=1.0, take_profit=10_000.0))
        assert not result.sent and "halted" in result.verdict.codes
        assert any(isinstance(e, OrderDenied) for e in events)
        rows = await engine.store.query("select allowed from risk_verdicts")
        assert [r["allowed"] for r in rows] == [0]
    finally:
        await engine.stop()


async def test_halt_when_restarted_then_still_halted(tmp_path, clock):
    engine = make_engine(tmp_path, clock)
    await engine.start()
    await engine.halt("kill switch", by="ui")
    await engine.stop()
    again = make_engine(tmp_path, clock)
    await again.start()
    try:
        assert again.state is TradingState.HALTED
        summary = await again.run_cycle()
        assert summary.orders == 0
        await again.resume(by="ui")
        assert again.state is TradingState.ACTIVE
    finally:
        await again.stop()


async def test_submit_when_allowed_then_intent_is_durable_before_the_broker_is_called(tmp_path, clock):
    seen_in_store: list[OrderStatus] = []

    class WatchingBroker(PaperBroker):
        async def submit(self, order: Order) -> BrokerAck:
            row = await engine.store.query(
                "select status from orders where client_order_id = ?", (order.client_order_id,))
            seen_in_store.append(OrderStatus(row[0]["status"]))
            return await super().submit(order)

    settings = Settings()
    instruments = {i.symbol: i.to_instrument() for i in settings.universe.instruments}
    broker = WatchingBroker(cash=100_000, costs=settings.paper, clock=clock, instruments=instruments)
    engine = make_engine(tmp_path, clock, broker=broker)
    await engine.start()
    try:
        price = engine.prices["AAPL"]
        result = await engine.submit(buy(stop_loss=price * 0.97, take_profit=price * 1.06))
        assert result.sent, result.verdict.reasons
        assert seen_in_store == [OrderStatus.INTENT]
    finally:
        await engine.stop()


class SlowRemoteBroker:
    """A remote broker (not a simulated venue) whose order answers never arrive in time; the
    account and everything else come from a paper book."""

    name = "slow-remote"
    is_live = False
    supports_short = False
    supports_fractional = True
    order_timeout = 0.05  # declared: the engine gives up waiting after this long
    restores_from_fills = False

    def __init__(self, book: PaperBroker) -> None:
        self.book = book

    def capabilities(self, asset: AssetClass) -> VenueCapabilities:
        return VenueCapabilities(stops=True, brackets=False, fractional=True, shorting=False)

    def holds_stops(self, asset: AssetClass) -> bool:
        return True

    def restore(self, fills: Sequence[Fill],
                protections: Mapping[str, tuple[float | None, float | None]]) -> None:
        pass

    def protections(self) -> dict[str, tuple[float | None, float | None]]:
        return {}

    def reconcile(self, fills: Sequence[Fill]) -> list[str]:
        return []

    async def connect(self) -> None:
        await self.book.connect()

    async def close(self) -> None:
        await self.book.close()

    async def submit(self, order: Order) -> BrokerAck:
        await asyncio.sleep(5)
        return await self.book.submit(order)

    async def cancel(self, client_order_id: str) -> BrokerAck:
        return await self.book.cancel(client_order_id)

    async def cancel_all(self) -> list[BrokerAck]:
        return await self.book.cancel_all()

    async def order_status(self, client_order_id: str) -> BrokerAck:
        return await self.book.order_status(client_order_id)

    async def account(self) -> AccountSnapshot:
        return await self.book.account()

    async def poll_fills(self) -> list[Fill]:
        return await self.book.poll_fills()

    async def poll_order_updates(self) -> list[BrokerAck]:
        return await self.book.poll_order_updates()


async def test_broker_timeout_then_order_is_unknown_not_failed(tmp_path, clock):
    settings = settings_for(broker={"robinhood": {"timeout_seconds": 0.05}})
    instruments = {i.symbol: i.to_instrument() for i in settings.universe.instruments}
    broker = SlowRemoteBroker(PaperBroker(cash=100_000, costs=settings.paper, clock=clock,
                                          instruments=instruments))
    engine = make_engine(tmp_path, clock, settings=settings, broker=broker)
    await engine.start()
    try:
        price = engine.prices["AAPL"]
        result = await engine.submit(buy(stop_loss=price * 0.97, take_profit=price * 1.06))
        assert result.ack is not None and result.ack.status is OrderStatus.UNKNOWN
        rows = await engine.store.query("select status from orders")
        assert rows[0]["status"] == "unknown"
    finally:
        await engine.stop()


async def test_restart_when_an_intent_never_reached_the_broker_then_it_is_reconciled(tmp_path, clock):
    store = SqliteStore(tmp_path / "robo.db")
    await store.open()
    intent = OrderIntent("AAPL", Side.BUY, 1)
    await store.record_order_intent(Order("O-crash", intent, clock.now(), "strategy"))
    await store.close()
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        rows = await engine.store.query("select status, message from orders")
        assert rows[0]["status"] == "cancelled"
        assert "never reached the broker" in rows[0]["message"]
    finally:
        await engine.stop()


async def test_semi_auto_when_approved_then_the_gate_judges_again(tmp_path, clock):
    engine = make_engine(tmp_path, clock, mode=Mode.SEMI_AUTO)
    await engine.start()
    try:
        summary = await engine.run_cycle()
        assert summary.proposals > 0 and summary.orders == 0
        pending = list(engine.pending.values())
        first, second = pending[0], pending[1]
        result = await engine.approve(first.id, by="ui")
        assert result.sent
        await engine.halt("risk off", by="ui")
        denied = await engine.approve(second.id, by="ui")
        assert not denied.sent and "halted" in denied.verdict.codes
        row = await engine.store.get_proposal(second.id)
        assert row is not None and row[1] is ProposalStatus.DENIED
        with pytest.raises(ProposalNotFound):
            await engine.approve(second.id, by="ui")
    finally:
        await engine.stop()


async def test_reject_then_recorded_and_not_submitted(tmp_path, clock):
    engine = make_engine(tmp_path, clock, mode=Mode.SEMI_AUTO)
    await engine.start()
    try:
        await engine.run_cycle()
        proposal = next(iter(engine.pending.values()))
        await engine.reject(proposal.id, by="ui", reason="not today")
        row = await engine.store.get_proposal(proposal.id)
        assert row is not None and row[1] is ProposalStatus.REJECTED
        orders = await engine.store.query("select count(*) as n from orders")
        assert orders[0]["n"] == 0
    finally:
        await engine.stop()


async def test_pending_proposal_when_ttl_passes_then_expires(tmp_path, clock):
    settings = settings_for(engine={"proposal_ttl_seconds": 30})
    engine = make_engine(tmp_path, clock, settings=settings, mode=Mode.SEMI_AUTO)
    await engine.start()
    try:
        await engine.run_cycle()
        assert engine.pending
        clock.advance(31)
        await engine.tick()
        assert not engine.pending
        rows = await engine.store.query("select distinct status from proposals")
        assert {r["status"] for r in rows} == {"expired"}
    finally:
        await engine.stop()


async def test_halt_from_the_shell_when_engine_runs_then_it_halts_at_the_next_tick(tmp_path, clock):
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        events = capture(engine)
        other = SqliteStore(tmp_path / "robo.db")
        await other.open()
        await other.set_control("halt_reason", "from cron", "cli")
        await other.set_control("trading_state", "HALTED", "cli")
        await other.close()
        await engine.tick()
        assert engine.state is TradingState.HALTED
        assert any(isinstance(e, TradingStateChanged) and e.by == "cli" for e in events)
    finally:
        await engine.stop()


async def test_set_mode_live_when_config_does_not_enable_it_then_refused_with_what_is_missing(tmp_path, clock):
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        with pytest.raises(ModeChangeRefused) as info:
            await engine.set_mode(Mode.LIVE, by="ui", confirm_live=True)
        assert "engine.live_enabled" in str(info.value)
        assert engine.mode is Mode.PAPER
    finally:
        await engine.stop()


async def test_manual_order_when_over_the_position_limit_then_denied_with_every_reason(tmp_path, clock):
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        events = capture(engine)
        result = await engine.manual_order(OrderIntent("AAPL", Side.BUY, 1_000_000, confidence=0.9))
        assert not result.sent
        assert {"max_position", "missing_stop"} <= set(result.verdict.codes)
        denied = [e for e in events if isinstance(e, OrderDenied)]
        assert denied and denied[0].verdict is result.verdict
    finally:
        await engine.stop()


async def test_strategy_toggle_then_recorded_in_the_audit_log(tmp_path, clock):
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        await engine.set_strategy("breakout", enabled=False, by="ui")
        await engine.set_strategy("sma_cross", weight=2.5, by="ui")
        slots = {s.name: s for s in engine.ensemble.slots()}
        assert not slots["breakout"].enabled and slots["sma_cross"].weight == 2.5
        await engine.recorder.flush()  # type: ignore[union-attr]
        rows = await engine.store.query(
            "select payload from audit_log where kind = 'event.StrategyChanged'")
        assert len(rows) == 2
    finally:
        await engine.stop()


async def test_stop_when_fired_then_fill_recorded_and_trade_outcome_written(tmp_path, clock):
    quiet = {name: {"enabled": False} for name in ("sma_cross", "mean_reversion", "breakout")}
    engine = make_engine(tmp_path, clock, settings=settings_for(strategies=quiet))
    await engine.start()
    try:
        price = engine.prices["AAPL"]
        result = await engine.submit(buy(qty=5, stop_loss=price * 0.999, take_profit=price * 1.5))
        assert result.sent, result.verdict.reasons
        for _ in range(120):  # minutes of simulated market until the tight stop fires
            clock.advance(60)
            await engine.run_cycle()
            if engine.account.position_qty("AAPL") == 0:
                break
        outcomes = await engine.store.query("select payload from trade_outcomes")
        assert outcomes, "the stop never fired in two simulated hours"
        fills = await engine.store.query("select reason from fills where reason = 'stop_loss'")
        assert fills
    finally:
        await engine.stop()


async def test_events_when_published_then_all_reach_the_audit_log(tmp_path, clock):
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        events = capture(engine)
        await engine.run_cycle()
        recorded = [e for e in events if type(e).__name__ not in ("BarsReceived", "QuotesUpdated")]
        rows = await engine.store.query("select count(*) as n from audit_log where kind like 'event.%'")
        assert rows[0]["n"] == len(recorded)
    finally:
        await engine.stop()


async def test_order_submitted_event_carries_the_allowing_verdict(tmp_path, clock):
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        events = capture(engine)
        price = engine.prices["MSFT"]
        await engine.submit(SubmitOrder(OrderIntent("MSFT", Side.BUY, 2, stop_loss=price * 0.95,
                                                    take_profit=price * 1.1, confidence=0.8), "cli"))
        submitted = [e for e in events if isinstance(e, OrderSubmitted)]
        assert submitted and submitted[0].verdict.allowed and submitted[0].order.source == "cli"
    finally:
        await engine.stop()


def test_clock_in_these_tests_is_fixed(clock):
    assert clock.now() + timedelta(0) == clock.now()


async def test_resume_after_a_loss_halt_when_restarted_then_the_accepted_loss_does_not_halt_again(tmp_path, clock):
    seed = SqliteStore(tmp_path / "robo.db")
    await seed.open()  # the day began 10% richer than the account is now: far past the halt limit
    await seed.set_control("day_start", f"{clock.now().date().isoformat()}|110000.0", "test")
    await seed.close()
    engine = make_engine(tmp_path, clock)
    await engine.start()
    await engine.run_cycle()
    assert engine.state is TradingState.HALTED
    await engine.resume(by="ui")
    assert engine.state is TradingState.ACTIVE
    await engine.stop()
    again = make_engine(tmp_path, clock)
    await again.start()
    try:
        await again.run_cycle()
        assert again.state is TradingState.ACTIVE
    finally:
        await again.stop()


async def test_halt_journaled_when_no_engine_runs_then_the_next_start_is_halted_and_stays_so(
        tmp_path, clock):
    shell = SqliteStore(tmp_path / "robo.db")
    await shell.open()
    await shell.journal_command("halt", {"reason": "risk review"}, "cli")
    await shell.close()
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        assert engine.state is TradingState.HALTED
        assert await engine.store.pending_commands() == []
        assert (await engine.store.load_control()).halted
    finally:
        await engine.stop()
    again = make_engine(tmp_path, clock)
    await again.start()
    try:
        assert again.state is TradingState.HALTED  # latched across restarts
        assert again.risk.state_reason == "risk review"
    finally:
        await again.stop()


async def test_resume_journaled_when_engine_runs_halted_then_it_trades_again_at_the_next_tick(
        tmp_path, clock):
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        await engine.halt("test", by="ui")
        events = capture(engine)
        shell = SqliteStore(tmp_path / "robo.db")
        await shell.open()
        await shell.journal_command("resume", {}, "cli")
        await shell.close()
        await engine.tick()
        assert engine.state is TradingState.ACTIVE
        assert any(isinstance(e, TradingStateChanged) and e.by == "cli" for e in events)
        assert (await engine.store.load_control()).trading_state is TradingState.ACTIVE
    finally:
        await engine.stop()


async def test_approval_journaled_when_engine_runs_then_submitted_through_the_gate_once(
        tmp_path, clock):
    engine = make_engine(tmp_path, clock, mode=Mode.SEMI_AUTO)
    await engine.start()
    try:
        await engine.run_cycle()
        proposal = next(iter(engine.pending.values()))
        shell = SqliteStore(tmp_path / "robo.db")
        await shell.open()
        await shell.journal_command("approve", {"proposal_id": proposal.id}, "cli")
        await shell.close()
        await engine.tick()
        await engine.tick()
        assert proposal.id not in engine.pending
        row = await engine.store.get_proposal(proposal.id)
        assert row is not None and row[1] in (ProposalStatus.SUBMITTED, ProposalStatus.DENIED)
        verdicts = await engine.store.query(
            "select count(*) as n from risk_verdicts where proposal_id = ?", (proposal.id,))
        assert verdicts[0]["n"] == 1
    finally:
        await engine.stop()


async def test_halt_written_elsewhere_when_the_engine_saves_its_own_control_first_then_still_halts(
        tmp_path, clock):
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        other = SqliteStore(tmp_path / "robo.db")
        await other.open()
        await other.set_control("trading_state", "HALTED", "cli")
        await other.close()
        await engine.set_mode(Mode.SEMI_AUTO, by="ui")  # writes the control record before the sync
        await engine.tick()
        assert engine.state is TradingState.HALTED
    finally:
        await engine.stop()
