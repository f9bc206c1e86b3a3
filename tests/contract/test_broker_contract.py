"""One suite every `Broker` must pass: submit/ack/fill/poll_fills, cancel, cancel_all,
order_status (UNKNOWN for an id it never saw) and an account that reflects fills.

Each broker enters through a *harness factory*: an async context manager yielding a
`BrokerHarness`, i.e. the broker plus a handle on the market it trades in. The paper broker
drives its market directly; a live broker's harness starts a local fake server on 127.0.0.1
speaking the broker's real protocol and moves prices there. To add a broker, write its factory
(in its own module under tests/contract/ if it is long) and append a `pytest.param` to
`BROKER_HARNESSES`.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any, Literal

import pytest

from robo_tui.adapters.brokers.paper import PaperBroker
from robo_tui.config import PaperCostSettings
from robo_tui.domain.market import AssetClass, Bar, Instrument, Quote
from robo_tui.domain.orders import Fill, Order, OrderIntent, OrderStatus, OrderType, Side
from robo_tui.engine.clock import SimClock
from robo_tui.ports import Broker

START = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)


@dataclass
class BrokerHarness:
    """A broker under test and the controls of the market it trades in.

    `set_price` makes the market trade at a price (a market order then fills near it);
    `settle` lets submitted orders reach the venue and fill (a bar for a next-open paper
    broker, a round trip to a fake server); `price_tolerance` is how far (relative) a fill may
    sit from the set price (spread, slippage); `fee_per_fill` the fee the harness configured.
    """

    broker: Broker
    symbol: str
    set_price: Callable[[float], Awaitable[None]]
    settle: Callable[[], Awaitable[None]]
    price_tolerance: float = 0.0
    fee_per_fill: float = 0.0


HarnessFactory = Callable[[], AbstractAsyncContextManager[BrokerHarness]]


def _paper_factory(fill: Literal["quote", "next_open"]) -> HarnessFactory:
    @asynccontextmanager
    async def factory() -> AsyncIterator[BrokerHarness]:
        clock = SimClock(START)
        broker = PaperBroker(
            cash=100_000.0,
            costs=PaperCostSettings(
                slippage_bps=0.0, fee_per_share=0.0, fee_pct=0.0, fee_min=1.0, fill=fill
            ),
            clock=clock,
            instruments={"AAPL": Instrument("AAPL", AssetClass.STOCK, "tech")},
        )
        price = [0.0]

        async def set_price(p: float) -> None:
            price[0] = p
            clock.advance(1)
            broker.on_quote(Quote("AAPL", clock.now(), p, p, p))

        async def settle() -> None:
            clock.advance(60)
            p = price[0]
            broker.on_bar(Bar("AAPL", clock.now() - timedelta(seconds=60), p, p, p, p, 0.0))

        yield BrokerHarness(broker, "AAPL", set_price, settle, 0.0, 1.0)

    return factory


BROKER_HARNESSES: list[Any] = [
    pytest.param(_paper_factory("quote"), id="paper-quote"),
    pytest.param(_paper_factory("next_open"), id="paper-next-open"),
]

# live brokers against local fake servers (their harness modules import BrokerHarness from here)
from .harness_ib import ib_harness
from .harness_robinhood import robinhood_harness
from .harness_robinhood_crypto import robinhood_crypto_harness

BROKER_HARNESSES += [pytest.param(ib_harness, id="ib"),
                     pytest.param(robinhood_harness, id="robinhood"),
                     pytest.param(robinhood_crypto_harness, id="robinhood-crypto")]

_ids = count(1)


def _order(h: BrokerHarness, side: Side, qty: float, limit: float | None = None) -> Order:
    intent = OrderIntent(
        h.symbol, side, qty, OrderType.LIMIT if limit is not None else OrderType.MARKET,
        limit_price=limit,
    )
    return Order(f"contract-{next(_ids)}", intent, START, "test")


@pytest.fixture(params=BROKER_HARNESSES)
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[BrokerHarness]:
    factory: HarnessFactory = request.param
    async with factory() as h:
        await h.broker.connect()
        try:
            yield h
        finally:
            await h.broker.close()


async def _fills_for(h: BrokerHarness, coid: str) -> list[Fill]:
    await h.settle()
    return [f for f in await h.broker.poll_fills() if f.client_order_id == coid]


async def test_broker_when_described_then_declares_its_capabilities(harness: BrokerHarness) -> None:
    b = harness.broker
    assert isinstance(b.name, str) and b.name
    assert isinstance(b.is_live, bool)
    assert isinstance(b.supports_short, bool)
    assert isinstance(b.supports_fractional, bool)


async def test_broker_when_described_then_declares_what_it_holds_per_asset_class_and_its_timeout(
        harness: BrokerHarness) -> None:
    b = harness.broker
    for asset in AssetClass:
        caps = b.capabilities(asset)
        assert b.holds_stops(asset) is caps.stops
        assert all(isinstance(flag, bool)
                   for flag in (caps.stops, caps.brackets, caps.fractional, caps.shorting))
    if b.restores_from_fills:  # a venue in this process: nothing can be lost on the way
        assert b.order_timeout is None
    else:  # a remote venue: an unanswered submit becomes UNKNOWN after its declared timeout
        assert b.order_timeout is not None and b.order_timeout > 0
        assert b.protections() == {}
        b.restore([], {})  # nothing to rebuild: it keeps its own book
        assert b.reconcile([]) == []


async def test_market_order_when_submitted_then_acknowledged_filled_and_polled_once(
    harness: BrokerHarness,
) -> None:
    await harness.set_price(100.0)
    o = _order(harness, Side.BUY, 10)
    ack = await harness.broker.submit(o)
    assert ack.client_order_id == o.client_order_id
    assert ack.status in (OrderStatus.SUBMITTED, OrderStatus.FILLED), ack.message
    (fill,) = await _fills_for(harness, o.client_order_id)
    assert (fill.symbol, fill.side, fill.quantity) == (harness.symbol, Side.BUY, 10)
    assert fill.price == pytest.approx(100.0, rel=harness.price_tolerance or 1e-12)
    assert await harness.broker.poll_fills() == []
    assert (await harness.broker.order_status(o.client_order_id)).status is OrderStatus.FILLED


async def test_account_when_an_order_filled_then_cash_and_position_reflect_it(
    harness: BrokerHarness,
) -> None:
    await harness.set_price(50.0)
    before = await harness.broker.account()
    o = _order(harness, Side.BUY, 20)
    await harness.broker.submit(o)
    (fill,) = await _fills_for(harness, o.client_order_id)
    after = await harness.broker.account()
    assert after.position_qty(harness.symbol) == before.position_qty(harness.symbol) + 20
    assert after.cash == pytest.approx(before.cash - 20 * fill.price - fill.fee)
    assert fill.fee == pytest.approx(harness.fee_per_fill)
    assert after.positions[harness.symbol].avg_price == pytest.approx(fill.price)


async def test_limit_order_when_far_from_the_market_then_rests_and_cancels(
    harness: BrokerHarness,
) -> None:
    await harness.set_price(100.0)
    o = _order(harness, Side.BUY, 1, limit=50.0)
    ack = await harness.broker.submit(o)
    assert ack.status is OrderStatus.SUBMITTED, ack.message
    assert await _fills_for(harness, o.client_order_id) == []
    assert (await harness.broker.order_status(o.client_order_id)).status is OrderStatus.SUBMITTED
    cancelled = await harness.broker.cancel(o.client_order_id)
    assert cancelled.status is OrderStatus.CANCELLED
    await harness.set_price(40.0)
    assert await _fills_for(harness, o.client_order_id) == []
    assert (await harness.broker.order_status(o.client_order_id)).status is OrderStatus.CANCELLED


async def test_cancel_all_when_several_orders_rest_then_every_one_is_cancelled(
    harness: BrokerHarness,
) -> None:
    await harness.set_price(100.0)
    orders = [_order(harness, Side.BUY, 1, limit=60.0 + i) for i in range(3)]
    for o in orders:
        await harness.broker.submit(o)
    acks = await harness.broker.cancel_all()
    assert {a.client_order_id for a in acks} >= {o.client_order_id for o in orders}
    assert all(a.status is OrderStatus.CANCELLED for a in acks)
    for o in orders:
        assert (await harness.broker.order_status(o.client_order_id)).status is OrderStatus.CANCELLED


async def test_order_status_when_the_id_is_unknown_then_unknown_with_a_message(
    harness: BrokerHarness,
) -> None:
    ack = await harness.broker.order_status("never-submitted-" + str(next(_ids)))
    assert ack.status is OrderStatus.UNKNOWN
    assert ack.message


async def test_submit_when_quantity_is_not_positive_then_rejected_with_a_message(
    harness: BrokerHarness,
) -> None:
    await harness.set_price(100.0)
    ack = await harness.broker.submit(_order(harness, Side.BUY, 0))
    assert ack.status is OrderStatus.REJECTED
    assert ack.message
    ack = await harness.broker.submit(_order(harness, Side.BUY, math.inf))
    assert ack.status is OrderStatus.REJECTED


async def test_venue_orders_when_a_limit_order_rests_then_listed_under_our_id_and_gone_after_cancel(
    harness: BrokerHarness,
) -> None:
    await harness.set_price(100.0)
    o = _order(harness, Side.BUY, 1, limit=50.0)
    assert (await harness.broker.submit(o)).status is OrderStatus.SUBMITTED
    await harness.settle()
    listed = [v for v in await harness.broker.venue_orders()
              if v.client_order_id == o.client_order_id]
    assert [(v.symbol, v.side, v.quantity) for v in listed] == [(harness.symbol, "buy", 1.0)]
    await harness.broker.cancel(o.client_order_id)
    await harness.settle()
    assert o.client_order_id not in {v.client_order_id for v in await harness.broker.venue_orders()}


async def test_increments_when_asked_then_none_or_a_positive_grid(harness: BrokerHarness) -> None:
    grid = await harness.broker.increments(harness.symbol)
    if grid is not None:
        assert grid.price_tick > 0 and grid.quantity_step > 0 and grid.min_quantity >= 0
        assert grid.max_quantity is None or grid.max_quantity >= grid.min_quantity
