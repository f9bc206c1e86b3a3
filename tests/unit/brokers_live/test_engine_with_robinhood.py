"""The engine in live mode with the robin_stocks Robinhood adapter against the fake Robinhood
(issue 13): a crypto entry carrying a stop is accepted, its stop held by robo-tui (robin_stocks
places no crypto stops) and sent as a reduce-only exit through the gate when a quote reaches it."""

from __future__ import annotations

from pathlib import Path

import pytest

from robo_tui.adapters.brokers.robinhood import RobinhoodBroker, ref_id_for
from robo_tui.config import load_settings
from robo_tui.domain.orders import OrderIntent, OrderStatus, OrderType, Side
from robo_tui.domain.risk import Mode
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from robo_tui.wiring import build_engine, with_overrides
from tests.unit.engine.test_protection import MovableFeed

from .fake_robinhood import FakeRobinhood


def live_engine(server: FakeRobinhood, clock: SimClock, data_dir: Path) -> tuple[Engine, MovableFeed]:
    """An engine on the robin_stocks adapter (live mode), fed by a market the test can move."""
    settings = with_overrides(load_settings(None, environ={
        "ROBO_TUI_ENGINE__LIVE_ENABLED": "true",
        "ROBO_TUI_BROKER__KIND": "robinhood",
        "ROBO_TUI_BROKER__ROBINHOOD__USERNAME": server.username,
        "ROBO_TUI_BROKER__ROBINHOOD__PASSWORD": server.password,
        "ROBO_TUI_BROKER__ROBINHOOD__MFA_TOTP_SECRET": server.totp_seed or "",
        "ROBO_TUI_BROKER__ROBINHOOD__TIMEOUT_SECONDS": "3",
    }), mode=Mode.LIVE)
    engine = build_engine(settings, data_dir=data_dir, clock=clock, intelligence=False)
    assert isinstance(engine.broker, RobinhoodBroker)
    instruments = [i.to_instrument() for i in settings.universe.instruments]
    feed = MovableFeed(instruments, seed=settings.feeds.seed,
                       bar_seconds=settings.feeds.bar_seconds, clock=clock)
    feed.factor = {}
    engine.feed = feed
    return engine, feed


async def test_crypto_entry_with_a_stop_in_live_mode_then_robo_tui_holds_it_and_a_quote_through_it_exits(
        rh_server: FakeRobinhood, clock: SimClock, tmp_path: Path) -> None:
    engine, feed = live_engine(rh_server, clock, tmp_path)
    await engine.start()
    try:
        price = engine.prices["BTC-USD"]
        rh_server.set_price("BTC-USD", price)
        result = await engine.manual_order(OrderIntent(
            "BTC-USD", Side.BUY, 0.01, stop_loss=price * 0.95, take_profit=price * 1.1,
            confidence=0.9))
        assert result.sent, result.verdict.reasons
        await engine.settle(clock.now())
        level = engine.protection.levels["BTC-USD"]
        assert (level.stop_held_by, level.target_held_by) == ("robo-tui", "robo-tui")
        assert level.qty == pytest.approx(0.01)
        assert [o["side"] for o in rh_server.crypto_orders.values()] == ["buy"]  # no venue stop
        assert engine.account.position_qty("BTC-USD") == pytest.approx(0.01)

        rh_server.set_price("BTC-USD", price * 0.94)
        feed.factor = {"BTC-USD": 0.94}
        await engine.tick()
        await engine.settle(clock.now())
        assert engine.account.position_qty("BTC-USD") == pytest.approx(0.0)
        exits = await engine.store.query(
            "select source, reduce_only, status from orders where source = 'protection'")
        assert exits == [{"source": "protection", "reduce_only": 1, "status": "filled"}]
        assert [o["side"] for o in rh_server.crypto_orders.values()] == ["buy", "sell"]
        assert rh_server.positions.get("BTC-USD", 0.0) == pytest.approx(0.0)
        assert engine.protection.levels == {}
    finally:
        await engine.stop()


async def test_entry_whose_answer_was_lost_when_it_fills_while_down_then_a_restart_books_its_fill_and_protects_it(
        rh_server: FakeRobinhood, clock: SimClock, tmp_path: Path) -> None:
    engine, _ = live_engine(rh_server, clock, tmp_path)
    await engine.start()
    try:
        price = round(engine.prices["AAPL"], 2)
        rh_server.set_price("AAPL", price)
        limit, stop = round(price * 0.98, 2), round(price * 0.9, 2)
        rh_server.fail_after_create = 504  # Robinhood creates the order; its answer is lost
        result = await engine.manual_order(OrderIntent(
            "AAPL", Side.BUY, 10, OrderType.LIMIT, limit_price=limit, stop_loss=stop,
            take_profit=round(price * 1.2, 2), confidence=0.9))
        rh_server.fail_after_create = None
        assert result.order is not None
        coid = result.order.client_order_id
        (row,) = await engine.store.query(
            "select status from orders where client_order_id = ?", (coid,))
        assert row["status"] == OrderStatus.UNKNOWN.value
    finally:
        await engine.stop()  # robo-tui goes down; the adapter's memory of the order goes with it
    (placed,) = rh_server.orders.values()
    assert placed["ref_id"] == ref_id_for(coid) and placed["state"] == "queued"
    rh_server.set_price("AAPL", limit - 1.0)  # the resting entry fills while robo-tui is down
    assert placed["state"] == "filled"

    again, _ = live_engine(rh_server, clock, tmp_path)  # same database, a new adapter
    await again.start()
    try:
        (row,) = await again.store.query(
            "select status, broker_order_id from orders where client_order_id = ?", (coid,))
        assert (row["status"], row["broker_order_id"]) == (OrderStatus.FILLED.value, placed["id"])
        fills = [f for f in await again.store.fills() if f.client_order_id == coid]
        assert [(f.quantity, f.price) for f in fills] == [(10.0, pytest.approx(limit - 1.0))]
        assert again.account.position_qty("AAPL") == pytest.approx(10.0)
        stops = [(o["state"], float(o["quantity"]), float(o["stop_price"]))
                 for o in rh_server.orders.values() if o.get("trigger") == "stop"]
        assert stops == [("queued", 10.0, stop)]  # the GTC stop it carried now rests
        assert again.reconciler.report is not None and not again.reconciler.blocking
    finally:
        await again.stop()


async def test_stock_entry_with_venue_stop_and_engine_target_then_the_oco_names_the_stop_and_the_target_leaves_nothing_resting(
        rh_server: FakeRobinhood, clock: SimClock, tmp_path: Path) -> None:
    engine, feed = live_engine(rh_server, clock, tmp_path)
    await engine.start()
    try:
        price = round(engine.prices["AAPL"], 2)
        rh_server.set_price("AAPL", price)
        result = await engine.manual_order(OrderIntent(
            "AAPL", Side.BUY, 5, stop_loss=round(price * 0.9, 2),
            take_profit=round(price * 1.05, 2), confidence=0.9))
        assert result.sent and result.order is not None, result.verdict.reasons
        await engine.settle(clock.now())
        level = engine.protection.levels["AAPL"]
        assert (level.stop_held_by, level.target_held_by) == ("venue", "robo-tui")
        assert level.oco == result.order.client_order_id + ":sl"  # the venue leg, by name
        (stop,) = [o for o in rh_server.orders.values() if o.get("trigger") == "stop"]
        assert stop["state"] == "queued"

        rh_server.set_price("AAPL", price * 1.06)
        feed.factor = {"AAPL": 1.06}
        await engine.tick()
        await engine.settle(clock.now())
        assert engine.account.position_qty("AAPL") == pytest.approx(0.0)
        assert rh_server.positions.get("AAPL", 0.0) == pytest.approx(0.0)
        assert stop["state"] == "cancelled"
        assert [o for o in rh_server.orders.values() if o["state"] in ("queued", "confirmed")] == []
        assert engine.protection.levels == {}
    finally:
        await engine.stop()
