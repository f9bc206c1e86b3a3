"""The console's status bar names a real feed and its delay, with no SIMULATED tag: Yahoo
(always delayed) and IB when the account gets delayed data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from robo_tui.adapters.feeds.yahoo_feed import YahooFeed
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from robo_tui.engine.view import build_view
from robo_tui.ui.widgets.status import StatusBar
from tests.conftest import FIXED_START
from tests.unit.brokers_live.fake_tws import FakeTws
from tests.unit.ui_widgets.conftest import WidgetApp

from .engine_harness import paper_engine, paper_settings
from .fake_yahoo import FakeYahoo


async def status_line(engine: Engine) -> str:
    bar = StatusBar()
    async with WidgetApp(bar).run_test(size=(160, 3)) as pilot:
        bar.update_from(build_view(engine))
        await pilot.pause()
        return bar.fit(160).plain


async def test_status_bar_when_paper_on_yahoo_then_feed_shows_delayed_and_no_simulated_tag(
        tmp_path: Path) -> None:
    clock = SimClock(FIXED_START + timedelta(days=1, hours=2))
    settings = paper_settings("AAPL", "stock", {})
    feed = YahooFeed(settings.feeds.yahoo, ["AAPL"], 60, clock, fetch=FakeYahoo(clock.now()))
    engine = paper_engine(settings, tmp_path, clock, feed=feed)
    await engine.start()
    try:
        await engine.run_cycle()
        line = await status_line(engine)
    finally:
        await engine.stop()
    assert "feed yahoo (delayed)●" in line and "SIMULATED" not in line


@pytest.fixture
async def tws(clock: SimClock) -> AsyncIterator[FakeTws]:
    server = FakeTws()
    await server.start()
    now = int(clock.now().timestamp())
    server.set_bars("AAPL", [(now - now % 60 - n * 60, 100.0, 100.1, 99.9, 100.0, 10.0)
                             for n in range(320, -1, -1)])
    server.set_quote("AAPL", 99.99, 100.01, 100.0)
    server.live_entitled = False  # no market-data subscription: TWS serves delayed data
    yield server
    await server.stop()


async def test_status_bar_when_ib_serves_delayed_data_then_feed_shows_ib_delayed(
        tws: FakeTws, clock: SimClock, tmp_path: Path) -> None:
    pytest.importorskip("ib_async")
    settings = paper_settings("AAPL", "stock", {"ROBO_TUI_FEEDS__KIND": "ib",
                                                "ROBO_TUI_FEEDS__IB__PORT": str(tws.port)})
    engine = paper_engine(settings, tmp_path, clock)
    await engine.start()
    try:
        await engine.run_cycle()
        line = await status_line(engine)
    finally:
        await engine.stop()
    assert "feed ib (delayed)●" in line and "SIMULATED" not in line
