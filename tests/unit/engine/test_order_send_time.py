"""An order is stamped with the time it is sent, not the time its cycle started."""

from __future__ import annotations

from pathlib import Path

from robo_tui.adapters.brokers.paper import PaperBroker
from robo_tui.adapters.feeds.sim import SimulatedMarket
from robo_tui.adapters.store.codec import ts_text
from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.config import Settings
from robo_tui.domain.orders import Side
from robo_tui.domain.signals import Proposal
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
                  store=SqliteStore(tmp_path / "robo.db"))


async def test_proposal_when_sent_after_its_cycle_started_then_the_order_has_the_send_time(
        tmp_path: Path, clock: SimClock) -> None:
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        cycle_start = clock.now()
        price = engine.book.prices["AAPL"]
        proposal = Proposal("P-send", cycle_start, "AAPL", Side.BUY, 1.0, price, price * 0.95,
                            price * 1.1, 0.9, "test")
        clock.advance(7.0)  # the cycle took a while (a slow model, say)
        await engine.propose(proposal)
        rows = await engine.store.query("select ts from orders where source = 'strategy'")
        assert [row["ts"] for row in rows] == [ts_text(clock.now())]
        assert clock.now() != cycle_start
    finally:
        await engine.stop()
