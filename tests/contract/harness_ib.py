"""Contract harness for `IbBroker`: a fake TWS on 127.0.0.1 speaking the TWS API wire protocol
(tests/unit/brokers_live/fake_tws.py); prices are set on the fake exchange, and `settle` lets
its messages reach the client. Commission is zero (IBKR Lite on US stocks), so the average cost
TWS reports equals the fill price, as the suite expects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from robo_tui.adapters.brokers.ib import IbBroker
from robo_tui.config import IbSettings
from robo_tui.engine.clock import SimClock
from tests.unit.brokers_live.fake_tws import FakeTws

from .test_broker_contract import START, BrokerHarness


def ib_harness() -> AbstractAsyncContextManager[BrokerHarness]:
    """The harness factory the contract suite calls (a plain function, so its type is known
    inside the import cycle with the suite)."""
    return _ib_harness()


@asynccontextmanager
async def _ib_harness() -> AsyncIterator[BrokerHarness]:
    """An `IbBroker` (paper account DU1234567) against a fresh fake TWS."""
    server = FakeTws(accounts=("DU1234567",), cash=100_000.0)
    port = await server.start()
    broker = IbBroker(IbSettings(host="127.0.0.1", port=port, client_id=7, timeout_seconds=3.0),
                      clock=SimClock(START), live=False)

    async def set_price(price: float) -> None:
        server.set_price("AAPL", price)
        await server.settle()

    try:
        yield BrokerHarness(broker, "AAPL", set_price, server.settle, 0.0, 0.0)
    finally:
        await broker.close()
        await server.stop()
