"""Contract harness for `RobinhoodBroker`: a fake Robinhood API on 127.0.0.1
(tests/unit/brokers_live/fake_robinhood.py) answering robin_stocks' own HTTP session, which a
transport adapter redirects there. The broker logs in with a password and a TOTP code, as in
production. Robinhood charges no commission on stocks, so the fee per fill is zero."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from pydantic import SecretStr

from robo_tui.adapters.brokers.robinhood import RobinhoodBroker
from robo_tui.config import RobinhoodSettings
from robo_tui.engine.clock import SimClock
from tests.unit.brokers_live.fake_robinhood import FakeRobinhood, redirect_robin_stocks

from .test_broker_contract import START, BrokerHarness


def robinhood_harness() -> AbstractAsyncContextManager[BrokerHarness]:
    """The harness factory the contract suite calls (a plain function, so its type is known
    inside the import cycle with the suite)."""
    return _robinhood_harness()


@asynccontextmanager
async def _robinhood_harness() -> AsyncIterator[BrokerHarness]:
    """A live-mode `RobinhoodBroker` against a fresh fake Robinhood."""
    server = FakeRobinhood()
    server.start()
    settings = RobinhoodSettings(username=SecretStr(server.username),
                                 password=SecretStr(server.password),
                                 mfa_totp_secret=SecretStr(server.totp_seed or ""),
                                 timeout_seconds=5.0)
    try:
        with redirect_robin_stocks(server):
            broker = RobinhoodBroker(settings, clock=SimClock(START), live=True, poll_interval=0.0)

            async def set_price(price: float) -> None:
                server.set_price("AAPL", price)

            async def settle() -> None:
                await asyncio.sleep(0)

            try:
                yield BrokerHarness(broker, "AAPL", set_price, settle, 0.0, 0.0)
            finally:
                await broker.close()
    finally:
        server.stop()
