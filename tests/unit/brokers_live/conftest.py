"""Fixtures: a fake TWS and a fake Robinhood on 127.0.0.1, and brokers connected to them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import SecretStr

from robo_tui.adapters.brokers.ib import IbBroker
from robo_tui.adapters.brokers.robinhood import RobinhoodBroker
from robo_tui.config import IbSettings, RobinhoodSettings
from robo_tui.engine.clock import SimClock

from .fake_robinhood import FakeRobinhood, redirect_robin_stocks
from .fake_tws import FakeTws


@pytest.fixture
async def tws() -> AsyncIterator[FakeTws]:
    server = FakeTws(commission_per_share=0.005, commission_min=1.0)
    await server.start()
    server.set_price("AAPL", 100.0)
    server.set_price("BTC-USD", 50_000.0)
    yield server
    await server.stop()


def ib_settings(port: int, *, timeout: float = 2.0, account: str = "", client_id: int = 7) -> IbSettings:
    return IbSettings(host="127.0.0.1", port=port, client_id=client_id, account=account,
                      timeout_seconds=timeout)


@pytest.fixture
async def ib(tws: FakeTws, clock: SimClock) -> AsyncIterator[IbBroker]:
    broker = IbBroker(ib_settings(tws.port), clock=clock, live=False)
    await broker.connect()
    yield broker
    await broker.close()


@pytest.fixture
def rh_server() -> Iterator[FakeRobinhood]:
    server = FakeRobinhood()
    server.start()
    server.set_price("AAPL", 100.0)
    server.set_price("BTC-USD", 50_000.0)
    with redirect_robin_stocks(server):
        yield server
    server.stop()


def rh_settings(server: FakeRobinhood, *, password: str | None = None, timeout: float = 3.0) -> RobinhoodSettings:
    return RobinhoodSettings(username=SecretStr(server.username),
                             password=SecretStr(password or server.password),
                             mfa_totp_secret=SecretStr(server.totp_seed or ""),
                             timeout_seconds=timeout)


@pytest.fixture
async def rh(rh_server: FakeRobinhood, clock: SimClock) -> AsyncIterator[RobinhoodBroker]:
    broker = RobinhoodBroker(rh_settings(rh_server), clock=clock, live=True, poll_interval=0.0)
    await broker.connect()
    yield broker
    rh_server.release_hung()
    await broker.close()
