"""IB across a restart (issue 13): the previous session's bracket children are adopted, so an
exit lifts them first (a full exit) or re-protects what is left (a partial exit), and the fake
TWS never sees a short; the contract's grid is asked for with reqContractDetails."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from robo_tui.adapters.brokers.ib import IbBroker
from robo_tui.domain.increments import STOCK_INCREMENTS
from robo_tui.domain.orders import OrderStatus, Side
from robo_tui.engine.clock import SimClock

from .conftest import ib_settings
from .fake_tws import FakeTws
from .test_ib import order

ACCOUNT = "DU1234567"


@pytest.fixture
async def restarted(tws: FakeTws, clock: SimClock) -> AsyncIterator[IbBroker]:
    """A bracket bought in an earlier session (closed), then a new session on the same client."""
    first = IbBroker(ib_settings(tws.port), clock=clock, live=False)
    await first.connect()
    entry = order("AAPL", Side.BUY, 10, stop=95.0, target=110.0)
    assert (await first.submit(entry)).status is OrderStatus.FILLED
    await tws.settle()
    await first.close()
    await tws.settle()
    second = IbBroker(ib_settings(tws.port), clock=clock, live=False)
    await second.connect()
    await tws.settle()
    yield second
    await second.close()


def resting(tws: FakeTws) -> list[tuple[str, str, float]]:
    return sorted((o.order_ref, o.order_type, o.remaining) for o in tws.orders if o.active)


async def test_exit_after_a_restart_with_an_open_bracket_then_its_children_are_cancelled_first_and_no_short(
        restarted: IbBroker, tws: FakeTws) -> None:
    assert len(resting(tws)) == 2  # the earlier session's stop and target rest at IB
    ack = await restarted.submit(order("AAPL", Side.SELL, 10, reduce_only=True))
    assert ack.status is OrderStatus.FILLED, ack.message
    await tws.settle()
    assert resting(tws) == []  # no orphan
    tws.set_price("AAPL", 90.0)  # through the old stop: nothing may fire
    await tws.settle()
    assert tws.position(ACCOUNT, "AAPL") == 0.0


async def test_partial_exit_after_a_restart_then_the_rest_stays_protected_at_the_same_levels(
        restarted: IbBroker, tws: FakeTws) -> None:
    ack = await restarted.submit(order("AAPL", Side.SELL, 4, reduce_only=True))
    assert ack.status is OrderStatus.FILLED, ack.message
    await tws.settle()
    assert tws.position(ACCOUNT, "AAPL") == 6.0
    assert sorted((kind, qty) for _ref, kind, qty in resting(tws)) == [("LMT", 6.0), ("STP", 6.0)]
    tws.set_price("AAPL", 90.0)  # the resized stop closes what is left, and no more
    await tws.settle()
    assert tws.position(ACCOUNT, "AAPL") == 0.0
    assert resting(tws) == []  # its OCA target went with it


async def test_increments_when_tws_sends_no_contract_details_then_the_stock_defaults(
        restarted: IbBroker, tws: FakeTws) -> None:
    assert await restarted.increments("AAPL") == STOCK_INCREMENTS
    assert await restarted.increments("AAPL") == STOCK_INCREMENTS  # asked once
    assert len(tws.contract_details_requests) == 1
    assert await restarted.increments("BTC-USD") is None
