"""Contract harness for `RobinhoodBroker` (placeholder until the fake Robinhood server lands)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from .test_broker_contract import BrokerHarness


@asynccontextmanager
async def robinhood_harness() -> AsyncIterator[BrokerHarness]:
    pytest.skip("robinhood harness not built yet")
    yield  # type: ignore[misc]
