"""The engine with the IB adapter against the fake TWS: what the engine does at start with the
orders a crashed run left behind (reconciliation by client order id = IB orderRef)."""

from __future__ import annotations

from pathlib import Path

from robo_tui.adapters.brokers.ib import IbBroker
from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.config import load_settings
from robo_tui.domain.orders import Order, OrderIntent, OrderStatus, OrderType, Side
from robo_tui.domain.risk import Mode
from robo_tui.engine.clock import SimClock
from robo_tui.wiring import build_engine, with_overrides

from .conftest import ib_settings
from .fake_tws import FakeTws


async def test_engine_start_when_a_crashed_run_left_orders_then_ib_tells_what_became_of_them(
    tws: FakeTws, clock: SimClock, tmp_path: Path,
) -> None:
    # a previous run sent two orders and died before recording IB's answers
    previous = IbBroker(ib_settings(tws.port), clock=clock, live=False)
    await previous.connect()
    filled = Order("O-crash-filled", OrderIntent("AAPL", Side.BUY, 5), clock.now(), "strategy")
    resting = Order("O-crash-resting", OrderIntent("AAPL", Side.BUY, 2, OrderType.LIMIT, limit_price=60.0),
                    clock.now(), "strategy")
    never_sent = Order("O-crash-intent", OrderIntent("AAPL", Side.BUY, 1), clock.now(), "strategy")
    lost = Order("O-crash-lost", OrderIntent("AAPL", Side.BUY, 1), clock.now(), "strategy")
    await previous.submit(filled)
    await previous.submit(resting)
    await previous.close()
    store = SqliteStore.for_data_dir(tmp_path)
    await store.open()
    for o, status in ((filled, OrderStatus.UNKNOWN), (resting, OrderStatus.SUBMITTED),
                      (never_sent, OrderStatus.INTENT), (lost, OrderStatus.UNKNOWN)):
        await store.record_order_intent(o)
        if status is not OrderStatus.INTENT:
            await store.update_order(o.client_order_id, status, None, "crash")
    await store.close()

    settings = with_overrides(load_settings(None, environ={
        "ROBO_TUI_BROKER__KIND": "ib", "ROBO_TUI_BROKER__IB__PORT": str(tws.port),
        "ROBO_TUI_BROKER__IB__TIMEOUT_SECONDS": "2",
    }), mode=Mode.AUTO)
    engine = build_engine(settings, data_dir=tmp_path, clock=clock, intelligence=False)
    assert isinstance(engine.broker, IbBroker)
    await engine.start()
    rows = {r["client_order_id"]: r["status"] for r in await engine.store.query(
        "select client_order_id, status from orders")}
    await engine.stop()
    assert rows == {
        "O-crash-filled": OrderStatus.FILLED.value,
        "O-crash-resting": OrderStatus.SUBMITTED.value,
        "O-crash-intent": OrderStatus.CANCELLED.value,  # never reached the broker
        # sent, but IB has no trace of it: unclear, so UNKNOWN until the trader checks
        "O-crash-lost": OrderStatus.UNKNOWN.value,
    }
