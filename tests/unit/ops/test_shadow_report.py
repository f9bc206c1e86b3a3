"""A shadow session end to end: the engine's would-be orders (judged, journaled, never sent to the
fake Robinhood API) and its own price marks make the report card's shadow section."""

from __future__ import annotations

import pytest

from robo_tui.domain.orders import OrderIntent, Side
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from robo_tui.reports.account import build_account_report
from tests.unit.brokers_live.fake_robinhood_crypto import FakeCryptoApi
from tests.unit.ops.test_shadow import shadow  # noqa: F401 - the shadow engine fixture


async def test_shadow_report_when_a_session_ran_then_each_would_be_order_is_priced_from_the_marks(
        api: FakeCryptoApi, shadow: Engine, clock: SimClock) -> None:  # noqa: F811
    await shadow.run_cycle()
    entry_mark = shadow.book.prices["BTC-USD"]
    entry_ts = clock.now()
    price = entry_mark
    result = await shadow.manual_order(OrderIntent("BTC-USD", Side.BUY, 0.01,
                                                   stop_loss=price * 0.95, take_profit=price * 1.1))
    assert result.verdict.allowed and str(result.ack.message if result.ack else "").startswith(
        "SHADOW")
    for _ in range(6):
        clock.advance(shadow.settings.feeds.bar_seconds)
        await shadow.run_cycle()
        for symbol, mark in shadow.book.prices.items():
            api.set_price(symbol, mark)
    marks = await shadow.store.query(
        "SELECT ts, price FROM market_snapshots WHERE symbol = 'BTC-USD' AND ts > ? "
        "ORDER BY ts", (entry_ts.isoformat(timespec="microseconds"),))
    horizon_hours = 3 * shadow.settings.feeds.bar_seconds / 3600

    report = await build_account_report(shadow.store, "daily", clock.now(),
                                        shadow_horizon_hours=horizon_hours)

    assert report.shadow is not None
    (order,) = [o for o in report.shadow.orders if o.source == "ui"]  # the strategies' too
    assert (order.symbol, order.side, order.quantity, order.source) == ("BTC-USD", "buy", 0.01, "ui")
    assert order.entry_price == pytest.approx(entry_mark)
    later = [float(m["price"]) for m in marks][2]  # the third mark after the order: 3 bars later
    assert order.exit_price == pytest.approx(later)
    assert order.pnl == pytest.approx((later - entry_mark) * 0.01)
    assert report.shadow.pnl == pytest.approx(sum(o.pnl for o in report.shadow.scored))
    assert all(o.entry_price > 0 for o in report.shadow.orders)
    assert api.orders == {}  # nothing was ever sent
