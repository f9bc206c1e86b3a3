"""Robinhood stocks across a restart (issue 13): the earlier session's GTC stop sell is adopted,
so an exit lifts it first (not refused "Not enough shares to sell") and re-arms it for what is
left; a full exit leaves no orphan stop."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from robo_tui.adapters.brokers.robinhood import RobinhoodBroker, ref_id_for
from robo_tui.domain.orders import OrderStatus, Side
from robo_tui.engine.clock import SimClock

from .conftest import rh_settings
from .fake_robinhood import FakeRobinhood
from .test_robinhood import order


@pytest.fixture
async def restarted(rh_server: FakeRobinhood, clock: SimClock) -> AsyncIterator[RobinhoodBroker]:
    first = RobinhoodBroker(rh_settings(rh_server), clock=clock, live=True, poll_interval=0.0)
    await first.connect()
    assert (await first.submit(order("AAPL", Side.BUY, 10, stop=95.0))).status is OrderStatus.FILLED
    await first.close()
    second = RobinhoodBroker(rh_settings(rh_server), clock=clock, live=True, poll_interval=0.0)
    await second.connect()
    yield second
    rh_server.release_hung()
    await second.close()


def stops(server: FakeRobinhood) -> list[tuple[str, float, float]]:
    return [(o["state"], float(o["quantity"]), float(o["stop_price"]))
            for o in server.orders.values() if o.get("trigger") == "stop"]


async def test_full_exit_after_a_restart_then_the_old_stop_is_lifted_and_nothing_rests(
        restarted: RobinhoodBroker, rh_server: FakeRobinhood) -> None:
    ack = await restarted.submit(order("AAPL", Side.SELL, 10, reduce_only=True))
    assert ack.status is OrderStatus.FILLED, ack.message
    await restarted.poll_fills()
    assert stops(rh_server) == [("cancelled", 10.0, 95.0)]
    assert (await restarted.account()).positions == {}


async def test_partial_exit_after_a_restart_then_the_stop_is_rearmed_for_what_is_left(
        restarted: RobinhoodBroker, rh_server: FakeRobinhood) -> None:
    ack = await restarted.submit(order("AAPL", Side.SELL, 4, reduce_only=True))
    assert ack.status is OrderStatus.FILLED, ack.message
    assert stops(rh_server) == [("cancelled", 10.0, 95.0), ("queued", 6.0, 95.0)]
    rh_server.set_price("AAPL", 94.0)
    fills = await restarted.poll_fills()
    assert [(f.reason, f.quantity) for f in fills if f.reason == "stop_loss"] == [("stop_loss", 6.0)]
    assert (await restarted.account()).positions == {}


async def test_order_status_after_a_restart_then_an_earlier_sessions_order_is_found_by_its_ref_id(
        rh_server: FakeRobinhood, clock: SimClock) -> None:
    first = RobinhoodBroker(rh_settings(rh_server), clock=clock, live=True, poll_interval=0.0)
    await first.connect()
    rh_server.fail_after_create = 504  # created at Robinhood, the answer lost
    o = order("AAPL", Side.BUY, 3)
    assert (await first.submit(o)).status is OrderStatus.UNKNOWN
    rh_server.fail_after_create = None
    await first.close()
    twin = order("AAPL", Side.BUY, 3)  # same symbol, side, quantity, minute: only ref_id tells
    second = RobinhoodBroker(rh_settings(rh_server), clock=clock, live=True, poll_interval=0.0)
    await second.connect()
    try:
        assert (await second.submit(twin)).status is OrderStatus.FILLED
        ack = await second.order_status(o.client_order_id)  # no recall: searched by ref_id alone
        lost = next(r for r in rh_server.orders.values() if r["ref_id"] == ref_id_for(o.client_order_id))
        assert (ack.status, ack.broker_order_id) == (OrderStatus.FILLED, lost["id"])
        fills = [f for f in await second.poll_fills() if f.client_order_id == o.client_order_id]
        assert [f.quantity for f in fills] == [3.0]
        never = await second.order_status("O-never-sent")
        assert never.status is OrderStatus.UNKNOWN
    finally:
        await second.close()
