"""The "Done means" of engine-held protection, against the fake official Crypto Trading API in
live mode: BTC-USD is bought with a venue-held stop-loss and a take-profit robo-tui holds (the
venue has no brackets for crypto); the engine restarts on the same database and the same venue;
the price reaches the target; the engine exits through the gate, the venue's stop is cancelled,
nothing is left working and the journal holds one closed trade."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from robo_tui.adapters.brokers.robinhood_crypto.broker import RobinhoodCryptoBroker, venue_client_id
from robo_tui.config import load_settings
from robo_tui.domain.orders import OrderIntent, Side
from robo_tui.domain.risk import Mode
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from robo_tui.engine.view import build_view
from robo_tui.wiring import build_engine, with_overrides
from tests.unit.engine.test_protection import MovableFeed

from .fake_robinhood_crypto import FakeCryptoApi


@pytest.fixture
async def api() -> AsyncIterator[FakeCryptoApi]:
    server = FakeCryptoApi(page_size=3)
    await server.start()
    yield server
    await server.stop()


def live_engine(api: FakeCryptoApi, clock: SimClock, data_dir: Path) -> tuple[Engine, MovableFeed]:
    settings = with_overrides(load_settings(None, environ={
        "ROBO_TUI_ENGINE__LIVE_ENABLED": "true",
        "ROBO_TUI_BROKER__KIND": "robinhood_crypto",
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__API_KEY": api.api_key,
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__PRIVATE_KEY": api.private_key,
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__BASE_URL": api.base_url,
        "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__TIMEOUT_SECONDS": "2",
    }), mode=Mode.LIVE)
    engine = build_engine(settings, data_dir=data_dir, clock=clock, intelligence=False)
    assert isinstance(engine.broker, RobinhoodCryptoBroker)
    instruments = [i.to_instrument() for i in settings.universe.instruments]
    feed = MovableFeed(instruments, seed=settings.feeds.seed,
                       bar_seconds=settings.feeds.bar_seconds, clock=clock)
    feed.factor = {}
    engine.feed = feed
    return engine, feed


async def test_btc_with_venue_stop_and_engine_target_when_restarted_and_target_reached_then_exits_cleanly(
        api: FakeCryptoApi, clock: SimClock, tmp_path: Path) -> None:
    engine, _ = live_engine(api, clock, tmp_path)
    await engine.start()
    price = engine.prices["BTC-USD"]
    api.set_price("BTC-USD", price)
    try:
        result = await engine.manual_order(OrderIntent(
            "BTC-USD", Side.BUY, 0.01, stop_loss=price * 0.95, take_profit=price * 1.05,
            confidence=0.9))
        assert result.sent, result.verdict.reasons
        level = engine.protection.levels["BTC-USD"]
        assert (level.stop_held_by, level.target_held_by) == ("venue", "robo-tui")
        assert level.qty == pytest.approx(0.01)
        (stop,) = [o for o in api.orders.values() if o["type"] == "stop_loss"]
        assert stop["state"] == "open"
        # the OCO pair: the target robo-tui holds names the venue's stop as its other leg
        assert level.oco.endswith(":sl") and venue_client_id(level.oco) == stop["client_order_id"]
        row = build_view(engine).position("BTC-USD")
        assert row is not None and (row.stop_held_by, row.target_held_by) == ("venue", "robo-tui")
    finally:
        await engine.stop()

    again, feed = live_engine(api, clock, tmp_path)  # same database, same venue
    await again.start()
    try:
        level = again.protection.levels["BTC-USD"]
        assert level.target == pytest.approx(price * 1.05)
        assert again.broker.venue_stop_id(level.entry_client_order_id) == level.oco  # adopted
        api.set_price("BTC-USD", price * 1.06)
        feed.factor = {"BTC-USD": 1.06}
        await again.tick()
        await again.settle(clock.now())
        assert again.account.position_qty("BTC-USD") == pytest.approx(0.0)
        exits = await again.store.query(
            "select source, reduce_only, status from orders where source = 'protection'")
        assert exits == [{"source": "protection", "reduce_only": 1, "status": "filled"}]
        verdicts = await again.store.query(
            "select allowed from risk_verdicts where source = 'protection'")
        assert verdicts == [{"allowed": 1}]
        assert [o["state"] for o in api.orders.values() if o["type"] == "stop_loss"] == ["canceled"]
        assert len(api.requests_to("POST", f"/api/v1/crypto/trading/orders/{stop['id']}/cancel")) == 1
        assert again.broker.venue_stop_id(level.entry_client_order_id) == ""
        assert [o for o in api.orders.values() if o["state"] in ("open", "partially_filled")] == []
        assert again.protection.levels == {}
        assert await again.store.protective_levels() == []
        trades = await again.store.query("select count(*) n from trade_outcomes")
        assert trades == [{"n": 1}]
    finally:
        await again.stop()


async def test_partial_exit_when_the_venue_rearms_its_stop_then_the_oco_names_the_new_stop_across_a_restart_and_the_target_cancels_it(
        api: FakeCryptoApi, clock: SimClock, tmp_path: Path) -> None:
    engine, _ = live_engine(api, clock, tmp_path)
    await engine.start()
    price = engine.prices["BTC-USD"]
    api.set_price("BTC-USD", price)
    try:
        result = await engine.manual_order(OrderIntent(
            "BTC-USD", Side.BUY, 0.02, stop_loss=price * 0.95, take_profit=price * 1.05,
            confidence=0.9))
        assert result.sent and result.order is not None, result.verdict.reasons
        entry = result.order.client_order_id
        assert engine.protection.levels["BTC-USD"].oco == f"{entry}:sl"

        sold = await engine.manual_order(OrderIntent("BTC-USD", Side.SELL, 0.01, reduce_only=True))
        assert sold.sent, sold.verdict.reasons
        await engine.settle(clock.now())
        stops = [o for o in api.orders.values() if o["type"] == "stop_loss"]
        assert [s["state"] for s in stops] == ["canceled", "open"]
        resting = stops[1]
        assert Decimal(resting["stop_loss_order_config"]["asset_quantity"]) == Decimal("0.01")
        level = engine.protection.levels["BTC-USD"]
        assert level.qty == pytest.approx(0.01)
        assert level.oco == f"{entry}:sl2" and venue_client_id(level.oco) == resting["client_order_id"]
        assert (await engine.store.protective_levels())[0].oco == level.oco  # persisted
    finally:
        await engine.stop()

    again, feed = live_engine(api, clock, tmp_path)  # the adopted `:sl2` is the entry's again
    await again.start()
    try:
        assert isinstance(again.broker, RobinhoodCryptoBroker)
        assert again.broker.venue_stop_id(entry) == f"{entry}:sl2"
        assert again.protection.levels["BTC-USD"].oco == f"{entry}:sl2"
        api.set_price("BTC-USD", price * 1.06)
        feed.factor = {"BTC-USD": 1.06}
        await again.tick()
        await again.settle(clock.now())
        assert again.account.position_qty("BTC-USD") == pytest.approx(0.0)
        assert [o["state"] for o in api.orders.values() if o["type"] == "stop_loss"] == [
            "canceled", "canceled"]
        assert [o for o in api.orders.values() if o["state"] in ("open", "partially_filled")] == []
        assert again.protection.levels == {}
        assert again.broker.venue_stop_id(entry) == ""
    finally:
        await again.stop()
