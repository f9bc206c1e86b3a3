"""Reconciliation after a reconnect within a run (issue 13), the engine on the IB adapter against
the fake TWS: the connection drops, something happens at the venue meanwhile, the adapter
reconnects; a trade robo-tui never made is a blocking drift report, a plain reconnect and a fill
of our own order while the connection was down are not (the fill is booked first)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from robo_tui.adapters.brokers.ib import IbBroker, load_ib_module
from robo_tui.config import load_settings
from robo_tui.domain.orders import OrderIntent, OrderType, Side
from robo_tui.domain.risk import Mode, RiskCode
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from robo_tui.wiring import build_engine, with_overrides

from .fake_tws import FakeTws

ACCOUNT = "DU1234567"


@pytest.fixture
async def engine(tws: FakeTws, clock: SimClock, tmp_path: Path) -> AsyncIterator[Engine]:
    settings = with_overrides(load_settings(None, environ={
        "ROBO_TUI_BROKER__KIND": "ib", "ROBO_TUI_BROKER__IB__PORT": str(tws.port),
        "ROBO_TUI_BROKER__IB__TIMEOUT_SECONDS": "2",
    }), mode=Mode.AUTO)
    engine = build_engine(settings, data_dir=tmp_path, clock=clock, intelligence=False)
    assert isinstance(engine.broker, IbBroker)
    await engine.start()
    tws.set_price("AAPL", engine.prices["AAPL"])
    yield engine
    await engine.stop()


async def manual_buy_in_tws(tws: FakeTws, qty: float) -> None:
    """A trader buys `qty` AAPL from another API client (TWS itself, as far as we know)."""
    mod = load_ib_module()
    other = mod.IB()
    await other.connectAsync("127.0.0.1", tws.port, clientId=99, timeout=2)
    other.placeOrder(mod.Stock("AAPL", "SMART", "USD"), mod.MarketOrder("BUY", qty))
    await tws.settle()
    other.disconnect()
    await tws.settle()


async def reconnect(engine: Engine, tws: FakeTws, *, settles_after: int = 3) -> None:
    """Run the engine's ticks until the adapter opened its second session, then a few more."""
    broker = engine.broker
    assert isinstance(broker, IbBroker)
    deadline = time.monotonic() + 15
    while broker.sessions < 2:
        assert time.monotonic() < deadline, "the adapter did not reconnect"
        await engine.tick()
        await asyncio.sleep(0.2)
    for _ in range(settles_after):
        await tws.settle()
        await engine.tick()


async def test_reconnect_after_a_manual_trade_while_down_then_a_drift_report_blocks_entries(
        engine: Engine, tws: FakeTws) -> None:
    assert engine.reconciler.report is not None and not engine.reconciler.blocking
    tws.drop_connections()
    await tws.settle()
    await manual_buy_in_tws(tws, 5)
    assert tws.position(ACCOUNT, "AAPL") == 5.0
    await reconnect(engine, tws)
    report = engine.reconciler.report
    assert report is not None and report.blocking
    (item,) = report.items
    assert (item.symbol, item.venue, item.journal) == ("AAPL", 5.0, 0.0)
    price = engine.prices["AAPL"]
    denied = await engine.manual_order(OrderIntent(
        "AAPL", Side.BUY, 1, stop_loss=price * 0.95, take_profit=price * 1.1, confidence=0.9))
    assert not denied.sent and RiskCode.DRIFT.value in denied.verdict.codes


async def test_plain_reconnect_with_nothing_changed_then_no_drift(
        engine: Engine, tws: FakeTws) -> None:
    tws.drop_connections()
    await tws.settle()
    await reconnect(engine, tws)
    assert engine.broker.sessions == 2  # type: ignore[attr-defined]
    report = engine.reconciler.report
    assert report is not None and not report.blocking


async def test_reconnect_when_our_own_order_filled_while_down_then_its_fill_is_booked_and_no_drift(
        engine: Engine, tws: FakeTws) -> None:
    price = engine.prices["AAPL"]
    limit = round(price * 0.98, 2)
    result = await engine.manual_order(OrderIntent(
        "AAPL", Side.BUY, 4, OrderType.LIMIT, limit_price=limit, stop_loss=round(price * 0.9, 2),
        take_profit=round(price * 1.2, 2), confidence=0.9))
    assert result.sent, result.verdict.reasons
    await tws.settle()
    tws.drop_connections()
    await tws.settle()
    tws.set_price("AAPL", limit - 0.5)  # the resting entry fills while robo-tui is cut off
    assert tws.position(ACCOUNT, "AAPL") == 4.0
    await reconnect(engine, tws)
    fills = await engine.store.fills()
    assert [(f.symbol, f.quantity) for f in fills] == [("AAPL", 4.0)]
    report = engine.reconciler.report
    assert report is not None
    assert not report.blocking, report.sentence()
