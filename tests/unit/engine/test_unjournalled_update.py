"""An order update from the broker for an order the journal never recorded (a protective stop
an adapter placed by itself, refused by the venue) is reported as a broker failure; it never
crashes the engine's settle loop (it did: the store raised KeyError out of `tick`)."""

from __future__ import annotations

from pathlib import Path

from robo_tui.adapters.brokers.paper import PaperBroker
from robo_tui.config import Settings
from robo_tui.domain.orders import BrokerAck, OrderStatus
from robo_tui.engine.clock import SimClock
from tests.unit.engine.test_engine import make_engine


class RefusingChildBroker(PaperBroker):
    """The paper venue, reporting once that a stop it placed itself for an entry was refused."""

    reported = False

    async def poll_order_updates(self) -> list[BrokerAck]:
        updates = await super().poll_order_updates()
        if not self.reported:
            self.reported = True
            updates.append(BrokerAck("O-entry-1:sl", OrderStatus.REJECTED, None,
                                     "protective stop-loss for O-entry-1 not placed: refused"))
        return updates


async def test_update_for_an_order_the_journal_lacks_when_settled_then_reported_not_raised(
        tmp_path: Path, clock: SimClock) -> None:
    settings = Settings()
    instruments = {i.symbol: i.to_instrument() for i in settings.universe.instruments}
    broker = RefusingChildBroker(cash=100_000, costs=settings.paper, clock=clock,
                                 instruments=instruments)
    engine = make_engine(tmp_path, clock, broker=broker)
    await engine.start()
    try:
        await engine.settle(clock.now())
        assert broker.reported
        healthy, message = engine.health["broker"]
        assert not healthy and "O-entry-1:sl" in message and "not placed" in message
        await engine.tick()  # the engine keeps running
    finally:
        await engine.stop()
