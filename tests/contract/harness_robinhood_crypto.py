"""Contract harness for `RobinhoodCryptoBroker`: a fake of the official Crypto Trading API on
127.0.0.1 (tests/unit/brokers_live/fake_robinhood_crypto.py) that checks every request's
Ed25519 signature, answering the broker's own httpx client. Robinhood crypto charges no
commission (its spread is in the price), so the fee per fill is zero."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from pydantic import SecretStr

from robo_tui.adapters.brokers.robinhood_crypto.broker import RobinhoodCryptoBroker
from robo_tui.config import RobinhoodCryptoSettings
from robo_tui.engine.clock import SimClock
from tests.unit.brokers_live.fake_robinhood_crypto import FakeCryptoApi

from .test_broker_contract import START, BrokerHarness


def robinhood_crypto_harness() -> AbstractAsyncContextManager[BrokerHarness]:
    """The harness factory the contract suite calls (a plain function, so its type is known
    inside the import cycle with the suite)."""
    return _robinhood_crypto_harness()


@asynccontextmanager
async def _robinhood_crypto_harness() -> AsyncIterator[BrokerHarness]:
    """A live-mode `RobinhoodCryptoBroker` trading BTC-USD against a fresh fake API."""
    server = FakeCryptoApi()
    url = await server.start()
    settings = RobinhoodCryptoSettings(api_key=SecretStr(server.api_key),
                                       private_key=SecretStr(server.private_key),
                                       base_url=url, timeout_seconds=3.0)
    broker = RobinhoodCryptoBroker(settings, clock=SimClock(START), live=True, poll_interval=0.0)

    async def set_price(price: float) -> None:
        server.set_price("BTC-USD", price)

    async def settle() -> None:
        await asyncio.sleep(0)

    try:
        yield BrokerHarness(broker, "BTC-USD", set_price, settle, 0.0, 0.0)
    finally:
        await broker.close()
        await server.stop()
