"""IB across a restart (issue 13): the previous session's bracket children are adopted, so an
exit lifts them first (a full exit) or re-protects what is left (a partial exit), and the fake
TWS never sees a short; the contract's grid is asked for with reqContractDetails. The engine
records fills that happened while it was down and reports a trade it never made as drift."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from robo_tui.adapters.brokers.ib import IbBroker
from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.config import Settings, load_settings
from robo_tui.domain.increments import STOCK_INCREMENTS
from robo_tui.domain.orders import Order, OrderIntent, OrderStatus, OrderType, Side
from robo_tui.domain.risk import Mode, RiskCode
from robo_tui.engine.clock import SimClock
from robo_tui.wiring import build_engine, with_overrides

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


async def test_engine_restart_when_the_entry_and_its_stop_filled_while_down_then_both_fills_are_recorded_and_no_drift(
        tws: FakeTws, clock: SimClock, tmp_path: Path) -> None:
    # a previous run sent a bracket and died before recording IB's answer; the stop then fired
    previous = IbBroker(ib_settings(tws.port), clock=clock, live=False)
    await previous.connect()
    entry = Order("O-down-1", OrderIntent("AAPL", Side.BUY, 10, stop_loss=95.0, take_profit=110.0),
                  clock.now(), "strategy")
    assert (await previous.submit(entry)).status is OrderStatus.FILLED
    await tws.settle()
    await previous.close()
    tws.set_price("AAPL", 94.0)  # robo-tui is down: the stop sells the 10 at 94
    async with SqliteStore.for_data_dir(tmp_path) as store:
        await store.record_order_intent(entry)
        await store.update_order(entry.client_order_id, OrderStatus.UNKNOWN, None, "crash")

    engine = build_engine(ib_engine_settings(tws), data_dir=tmp_path, clock=clock,
                          intelligence=False)
    await engine.start()
    try:
        fills = [(f.client_order_id, f.side, f.quantity, f.price, f.reason)
                 for f in await engine.store.fills()]
        assert sorted(fills) == [("O-down-1", Side.BUY, 10.0, 100.0, "order"),
                                 ("O-down-1:sl", Side.SELL, 10.0, 94.0, "stop_loss")]
        assert await engine.store.orders_missing_fills() == []
        report = engine.reconciler.report
        assert report is not None and report.items == ()  # the journal now matches IB
    finally:
        await engine.stop()
    again = build_engine(ib_engine_settings(tws), data_dir=tmp_path, clock=clock,
                         intelligence=False)
    await again.start()  # the same executions are not booked twice
    try:
        assert len(await again.store.fills()) == 2
    finally:
        await again.stop()


async def test_engine_start_when_ib_holds_a_position_robo_tui_never_traded_then_drift_blocks_entries(
        tws: FakeTws, clock: SimClock, tmp_path: Path) -> None:
    manual = IbBroker(ib_settings(tws.port, client_id=99), clock=clock, live=False)
    await manual.connect()  # a trade from TWS itself: not in robo-tui's journal
    assert (await manual.submit(Order("manual-1", OrderIntent("AAPL", Side.BUY, 5), clock.now(),
                                      "tws"))).status is OrderStatus.FILLED
    await manual.close()
    engine = build_engine(ib_engine_settings(tws), data_dir=tmp_path, clock=clock,
                          intelligence=False)
    await engine.start()
    try:
        report = engine.reconciler.report
        assert report is not None and report.blocking
        assert [(i.symbol, i.venue, i.journal) for i in report.items] == [("AAPL", 5.0, 0.0)]
        assert await engine.store.fills() == []  # an execution of an order we never placed
        denied = await engine.manual_order(OrderIntent("AAPL", Side.BUY, 1, stop_loss=90.0,
                                                       take_profit=120.0, confidence=0.9))
        assert not denied.sent and RiskCode.DRIFT.value in denied.verdict.codes
    finally:
        await engine.stop()


def ib_engine_settings(tws: FakeTws) -> Settings:
    return with_overrides(load_settings(None, environ={
        "ROBO_TUI_BROKER__KIND": "ib", "ROBO_TUI_BROKER__IB__PORT": str(tws.port),
        "ROBO_TUI_BROKER__IB__TIMEOUT_SECONDS": "2",
    }), mode=Mode.AUTO)


async def test_engine_order_with_raw_levels_when_sent_to_ib_then_every_price_is_on_the_tick(
        tws: FakeTws, clock: SimClock, tmp_path: Path) -> None:
    engine = build_engine(ib_engine_settings(tws), data_dir=tmp_path, clock=clock,
                          intelligence=False)
    await engine.start()
    try:
        price = engine.prices["AAPL"]
        raw_stop, raw_target = price * 0.9712345678, price * 1.0612345678
        result = await engine.manual_order(OrderIntent("AAPL", Side.BUY, 1, stop_loss=raw_stop,
                                                       take_profit=raw_target, confidence=0.9))
        assert result.sent and result.order is not None, result.verdict.reasons
        intent = result.order.intent
        assert intent.stop_loss == math.floor(raw_stop * 100) / 100  # a long's stop: down
        assert intent.take_profit == math.ceil(raw_target * 100) / 100  # its target: up
        _parent, tp, sl = tws.placed()[-3:]
        assert (float(sl[20]), float(tp[19])) == (intent.stop_loss, intent.take_profit)
    finally:
        await engine.stop()


async def test_engine_restart_when_its_bracket_rests_at_ib_then_no_drift_and_a_resting_tws_order_is_drift(
        tws: FakeTws, clock: SimClock, tmp_path: Path) -> None:
    first = build_engine(ib_engine_settings(tws), data_dir=tmp_path, clock=clock,
                         intelligence=False)
    await first.start()
    price = first.prices["AAPL"]
    bought = await first.manual_order(OrderIntent("AAPL", Side.BUY, 1, stop_loss=price * 0.5,
                                                  take_profit=price * 2, confidence=0.9))
    assert bought.sent, bought.verdict.reasons
    await first.settle(clock.now())
    await first.stop()
    manual = IbBroker(ib_settings(tws.port, client_id=99), clock=clock, live=False)
    await manual.connect()  # a limit order typed into TWS: not ours
    await manual.submit(Order("", OrderIntent("AAPL", Side.BUY, 2, OrderType.LIMIT,
                                              limit_price=50.0), clock.now(), "tws"))
    await manual.close()
    engine = build_engine(ib_engine_settings(tws), data_dir=tmp_path, clock=clock,
                          intelligence=False)
    await engine.start()
    try:
        report = engine.reconciler.report
        assert report is not None and report.blocking
        (item,) = report.items  # the bracket's stop and target are ours: only the TWS order
        assert (item.kind, item.symbol, item.venue) == ("order", "AAPL", 2.0)
        assert "did not place" in item.detail
        await engine.reconciler.accept("cli")
    finally:
        await engine.stop()
    again = build_engine(ib_engine_settings(tws), data_dir=tmp_path, clock=clock,
                         intelligence=False)
    await again.start()
    try:
        report = again.reconciler.report
        assert report is not None and report.items == ()  # accepted: not reported again
    finally:
        await again.stop()


async def test_exit_after_a_restart_when_ib_rejects_it_then_the_lifted_protection_is_rearmed(
        restarted: IbBroker, tws: FakeTws) -> None:
    tws.reject_next = "no trading permissions"
    ack = await restarted.submit(order("AAPL", Side.SELL, 10, reduce_only=True))
    assert ack.status is OrderStatus.REJECTED, ack.message
    await tws.settle()
    assert tws.position(ACCOUNT, "AAPL") == 10.0
    assert sorted((kind, qty) for _ref, kind, qty in resting(tws)) == [("LMT", 10.0), ("STP", 10.0)]
    stop = next(o for o in tws.orders if o.active and o.order_type == "STP")
    assert stop.aux == 95.0
