"""Reconciliation in live mode against the fake Crypto Trading API (issue 13): a holding robo-tui
never traded (a manual trade in the broker's app) is a blocking drift report that denies entries
but lets exits pass, until a trader accepts it from the shell; an accepted drift is not reported
again after a restart; the report is in the headless output. An UNKNOWN order that filled while
robo-tui was down is FILLED with its fill after a restart. `robo-tui flatten` from the shell exits
through the engine's order path, HALTED included. The pair's increments reach the sizer."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr

from robo_tui.adapters.brokers.robinhood_crypto.broker import RobinhoodCryptoBroker
from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.config import RobinhoodCryptoSettings, load_settings
from robo_tui.domain.drift import REPORT_KEY, DriftReport
from robo_tui.domain.orders import Order, OrderIntent, OrderStatus, Side
from robo_tui.domain.risk import Mode, RiskCode, TradingState
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from robo_tui.engine.sizing import SizeRequest
from robo_tui.headless import Sink
from robo_tui.wiring import build_engine, with_overrides

from .fake_robinhood_crypto import FakeCryptoApi


@pytest.fixture
async def api() -> AsyncIterator[FakeCryptoApi]:
    server = FakeCryptoApi(page_size=3)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def make_engine(api: FakeCryptoApi, clock: SimClock, tmp_path: Path) -> Callable[[], Engine]:
    def make() -> Engine:
        settings = with_overrides(load_settings(None, environ={
            "ROBO_TUI_ENGINE__LIVE_ENABLED": "true",
            "ROBO_TUI_BROKER__KIND": "robinhood_crypto",
            "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__API_KEY": api.api_key,
            "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__PRIVATE_KEY": api.private_key,
            "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__BASE_URL": api.base_url,
            "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__TIMEOUT_SECONDS": "2",
        }), mode=Mode.LIVE)
        engine = build_engine(settings, data_dir=tmp_path, clock=clock, intelligence=False)
        assert isinstance(engine.broker, RobinhoodCryptoBroker)
        engine.broker.test_api = api  # type: ignore[attr-defined]
        return engine
    return make


async def start(engine: Engine) -> Engine:
    await engine.start()
    assert isinstance(engine.broker, RobinhoodCryptoBroker)
    # the venue quotes what the engine's (simulated) feed says, as the other engine tests do
    engine.broker.test_api.set_price("BTC-USD", price(engine))  # type: ignore[attr-defined]
    return engine


def price(engine: Engine) -> float:
    return engine.book.prices.get("BTC-USD") or engine.account.prices["BTC-USD"]


@pytest.fixture
async def engine(make_engine: Callable[[], Engine]) -> AsyncIterator[Engine]:
    e = await start(make_engine())
    yield e
    await e.stop()


def entry(engine: Engine, qty: float = 0.01) -> OrderIntent:
    p = price(engine)
    return OrderIntent("BTC-USD", Side.BUY, qty, stop_loss=p * 0.95, take_profit=p * 1.1,
                       confidence=0.9)


async def test_start_when_the_venue_matches_the_journal_then_no_drift_and_entries_pass(
        engine: Engine) -> None:
    report = engine.reconciler.report
    assert report is not None and report.items == () and not report.blocking
    result = await engine.manual_order(entry(engine))
    assert result.sent, result.verdict.reasons


async def test_start_when_the_venue_holds_a_manual_trade_then_a_blocking_drift_report_denies_entries(
        api: FakeCryptoApi, make_engine: Callable[[], Engine]) -> None:
    api.holdings["BTC"] = Decimal("0.5")  # bought in the Robinhood app while robo-tui was down
    engine = await start(make_engine())
    try:
        report = engine.reconciler.report
        assert report is not None and report.blocking
        (item,) = report.items
        assert (item.symbol, item.venue, item.journal) == ("BTC-USD", 0.5, 0.0)
        stored = await engine.store.get_control(REPORT_KEY)
        assert stored is not None and DriftReport.from_json(stored).blocking
        denied = await engine.manual_order(entry(engine))
        assert not denied.sent and RiskCode.DRIFT.value in denied.verdict.codes
        assert "never traded" in denied.verdict.reasons[-1].message
        exit_ = await engine.manual_order(OrderIntent("BTC-USD", Side.SELL, 0.05, reduce_only=True))
        assert exit_.sent, exit_.verdict.reasons  # exits pass a drift report
    finally:
        await engine.stop()


async def test_drift_accept_from_the_shell_when_the_engine_runs_then_entries_pass_and_a_restart_does_not_report_it_again(
        api: FakeCryptoApi, make_engine: Callable[[], Engine]) -> None:
    api.holdings["BTC"] = Decimal("0.01")
    engine = await start(make_engine())
    try:
        assert engine.reconciler.blocking
        await engine.store.journal_command("drift_accept", {}, "cli")  # `robo-tui drift accept`
        await engine._sync_control()  # what the control lane does every second
        assert not engine.reconciler.blocking
        assert engine.reconciler.report is not None
        assert engine.reconciler.report.accepted_by == "cli"
        result = await engine.manual_order(entry(engine))
        assert result.sent, result.verdict.reasons
    finally:
        await engine.stop()
    again = await start(make_engine())
    try:
        report = again.reconciler.report
        assert report is not None and report.items == ()  # 0.01 accepted + 0.01 journaled
    finally:
        await again.stop()


async def test_flatten_from_the_shell_when_halted_then_the_position_is_closed_through_the_gate(
        api: FakeCryptoApi, engine: Engine) -> None:
    bought = await engine.manual_order(entry(engine, 0.02))
    assert bought.sent and engine.account.position_qty("BTC-USD") == pytest.approx(0.02)
    await engine.halt("F9", by="ui")
    await engine.store.journal_command("flatten", {"symbol": "BTC-USD"}, "cli")
    await engine._sync_control()
    await engine.settle(engine.clock.now())
    assert engine.state is TradingState.HALTED
    assert engine.account.position_qty("BTC-USD") == pytest.approx(0.0)
    rows = await engine.store.query(
        "select status from orders where source = 'cli' and client_order_id != ?",
        (bought.order.client_order_id,))
    assert [r["status"] for r in rows] == [OrderStatus.FILLED.value]
    assert not [o for o in api.orders.values() if o["state"] == "open"]  # its stop lifted first


async def test_start_when_the_venue_lists_the_pair_then_the_sizer_rounds_to_its_increments(
        api: FakeCryptoApi, engine: Engine) -> None:
    _code, quote_inc, asset_inc, least, most = api.pairs["BTC-USD"]
    grid = engine.sizer.increments["BTC-USD"]
    assert (grid.price_tick, grid.quantity_step, grid.min_quantity, grid.max_quantity) == (
        float(quote_inc), float(asset_inc), float(least), float(most))
    sized = engine.sizer.size(SizeRequest("BTC-USD", 1, 50_123.456789, 1_234.5678901, 0.9,
                                          100_000.0, 100_000.0, fractional=True, live=True))
    assert sized.quantity > 0
    for level in (sized.stop_loss, sized.take_profit):
        assert level is not None and round(level, 2) == level  # on the 0.01 tick
    assert sized.stop_loss is not None and sized.take_profit is not None
    assert sized.stop_loss <= 50_123.456789 - 2 * 1_234.5678901  # rounded away from the price
    assert sized.take_profit >= 50_123.456789 + 2 * 2 * 1_234.5678901 - 0.01
    assert abs(sized.quantity / 1e-8 - round(sized.quantity / 1e-8)) < 1e-6


async def test_restart_when_an_unknown_order_filled_while_down_then_filled_with_its_fill_and_no_drift(
        api: FakeCryptoApi, make_engine: Callable[[], Engine], clock: SimClock,
        tmp_path: Path) -> None:
    # the previous run sent the order, lost the answer and died; the venue filled it meanwhile
    previous = RobinhoodCryptoBroker(crypto_settings(api), clock=clock, live=True)
    await previous.connect()
    api.set_price("BTC-USD", 50_000.0)
    lost = Order("O-lost-1", OrderIntent("BTC-USD", Side.BUY, 0.01), clock.now(), "strategy")
    assert (await previous.submit(lost)).status is OrderStatus.FILLED
    await previous.close()
    async with SqliteStore.for_data_dir(tmp_path) as store:
        await store.record_order_intent(lost)
        await store.update_order(lost.client_order_id, OrderStatus.UNKNOWN, None, "crash")

    engine = await start(make_engine())
    try:
        rows = await engine.store.query("select status from orders where client_order_id = ?",
                                        (lost.client_order_id,))
        assert [r["status"] for r in rows] == [OrderStatus.FILLED.value]
        fills = [(f.side, f.quantity, f.price) for f in await engine.store.fills()]
        assert fills == [(Side.BUY, 0.01, 50_000.0)]
        assert await engine.store.orders_missing_fills() == []
        report = engine.reconciler.report
        assert report is not None and report.items == ()
    finally:
        await engine.stop()


def crypto_settings(api: FakeCryptoApi) -> RobinhoodCryptoSettings:
    return RobinhoodCryptoSettings(api_key=SecretStr(api.api_key),
                                   private_key=SecretStr(api.private_key), base_url=api.base_url,
                                   timeout_seconds=2)


async def test_headless_output_when_a_drift_report_blocks_then_the_first_cycle_shows_it(
        api: FakeCryptoApi, make_engine: Callable[[], Engine]) -> None:
    api.holdings["BTC"] = Decimal("0.5")
    engine = make_engine()
    out = io.StringIO()
    sink = Sink(engine, out, as_json=False)  # subscribed before start, as run_headless does
    await start(engine)
    try:
        sink.cycle_done(await engine.run_cycle())
    finally:
        await engine.stop()
    assert "drift at robinhood_crypto: BTC-USD: robinhood_crypto holds 0.5" in out.getvalue()
