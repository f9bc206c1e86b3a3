"""The semi-auto queue asks a human only what makes sense: one pending proposal per symbol and
direction (also across a restart), and nothing the gate's pre-check already refuses."""

from __future__ import annotations

from pathlib import Path

from robo_tui.adapters.brokers.paper import PaperBroker
from robo_tui.adapters.feeds.sim import SimulatedMarket
from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.config import Settings
from robo_tui.domain.events import Event, ProposalCreated, ProposalDecided
from robo_tui.domain.risk import Mode
from robo_tui.domain.signals import ProposalStatus
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine


def make_engine(tmp_path: Path, clock: SimClock) -> Engine:
    settings = Settings()
    instruments = [i.to_instrument() for i in settings.universe.instruments]
    feed = SimulatedMarket(instruments, seed=settings.feeds.seed,
                           bar_seconds=settings.feeds.bar_seconds, clock=clock)
    broker = PaperBroker(cash=settings.broker.starting_cash, costs=settings.paper, clock=clock,
                         instruments={i.symbol: i for i in instruments})
    return Engine(settings, clock=clock, feed=feed, broker=broker,
                  store=SqliteStore(tmp_path / "robo.db"), mode=Mode.SEMI_AUTO)


def trades(engine: Engine) -> list[tuple[str, str]]:
    return sorted((p.symbol, p.side.value) for p in engine.pending.values())


async def test_queue_when_the_same_trade_is_proposed_again_then_one_waits_and_the_drop_is_audited(
    tmp_path: Path, clock: SimClock,
) -> None:
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        await engine.run_cycle()
        assert engine.pending, "the cycle proposed nothing"
        first = next(iter(engine.pending.values()))
        decision = engine.ensemble.decide(first.symbol, engine.market[first.symbol], clock.now(), [])
        again = engine.build_proposal(first.symbol, 1 if first.side.value == "buy" else -1,
                                      decision, clock.now())
        assert again is not None and again.id != first.id
        await engine.propose(again)
        assert [p.id for p in engine.pending.values() if p.symbol == first.symbol] == [first.id]
        assert await engine.store.get_proposal(again.id) is None
        rows = await engine.store.query(
            "select payload from audit_log where kind = 'proposal.duplicate'")
        assert len(rows) == 1 and again.id in rows[0]["payload"] and first.id in rows[0]["payload"]
    finally:
        await engine.stop()


async def test_queue_when_the_engine_restarts_then_what_is_pending_is_not_proposed_again(
    tmp_path: Path, clock: SimClock,
) -> None:
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        await engine.run_cycle()
        before = trades(engine)
        assert before, "the cycle proposed nothing"
    finally:
        await engine.stop()

    restarted = make_engine(tmp_path, clock)
    await restarted.start()
    try:
        assert trades(restarted) == before  # the queue survives the restart
        await restarted.run_cycle()
        assert trades(restarted) == before
        assert len(set(trades(restarted))) == len(trades(restarted))
        rows = await restarted.store.query(
            "select count(*) as n from proposals where status = 'pending'")
        assert rows[0]["n"] == len(before)
    finally:
        await restarted.stop()


async def test_queue_when_the_precheck_fails_then_it_is_recorded_and_shown_but_not_queued(
    tmp_path: Path, clock: SimClock,
) -> None:
    engine = make_engine(tmp_path, clock)
    seen: list[Event] = []
    engine.bus.subscribe(seen.append, ProposalCreated, ProposalDecided)
    await engine.start()
    try:
        for symbol in engine.symbols:  # a losing exit just now: every entry is in cooldown
            engine.risk.record_exit(symbol, clock.now(), -1.0)
        await engine.run_cycle()
        created = [e for e in seen if isinstance(e, ProposalCreated)]
        assert created, "the cycle proposed nothing"
        assert all(not e.precheck.allowed for e in created)
        assert engine.pending == {}
        for event in created:
            row = await engine.store.get_proposal(event.proposal.id)
            assert row is not None and row[1] is ProposalStatus.DENIED
        decided = [e for e in seen if isinstance(e, ProposalDecided)]
        assert {e.proposal.id for e in decided} == {e.proposal.id for e in created}
        assert all("pre-check failed" in e.reason and "closed at a loss" in e.reason for e in decided)
    finally:
        await engine.stop()
