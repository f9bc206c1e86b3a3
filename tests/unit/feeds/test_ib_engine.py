"""The engine paper-trading on the IB feed end to end against the fake TWS: warm-up from
history, streamed bars, a breakout proposal filled by the paper broker on the IB price, and the
symbol marked STALE once TWS goes quiet."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

pytest.importorskip("ib_async")

from robo_tui.adapters.feeds.ib_feed import IbFeed
from robo_tui.engine.clock import SimClock
from tests.unit.brokers_live.fake_tws import FakeTws

from .engine_harness import WARMUP, fills, paper_engine, paper_settings, range_prices

STEP = 60


@pytest.fixture
async def tws(clock: SimClock) -> AsyncIterator[FakeTws]:
    server = FakeTws()
    await server.start()
    now = int(clock.now().timestamp())
    current = now - now % STEP
    closes = range_prices(WARMUP + 20, 100.0)
    server.set_bars("AAPL", [(current - (len(closes) - n) * STEP, c, c + 0.1, c - 0.1, c, 5_000.0)
                             for n, c in enumerate(closes)]
                    + [(current, 100.0, 100.1, 99.9, 100.0, 100.0)])  # the running bar
    server.set_quote("AAPL", 99.99, 100.01, 100.0)
    yield server
    await server.stop()


async def test_paper_on_ib_when_price_breaks_out_then_proposal_filled_and_stale_when_tws_goes_quiet(
        tws: FakeTws, clock: SimClock, tmp_path: Path) -> None:
    settings = paper_settings("AAPL", "stock", {
        "ROBO_TUI_FEEDS__KIND": "ib", "ROBO_TUI_FEEDS__IB__PORT": str(tws.port),
        "ROBO_TUI_FEEDS__IB__TIMEOUT_SECONDS": "3"})
    engine = paper_engine(settings, tmp_path, clock)
    assert isinstance(engine.feed, IbFeed)
    await engine.start()
    try:
        assert len(engine.market["AAPL"]) >= WARMUP  # warmed up from IB's history
        now = int(clock.now().timestamp())
        current = now - now % STEP
        tws.push_bar("AAPL", (current, 100.0, 106.0, 100.0, 106.0, 9_000.0))  # the breakout bar
        tws.push_bar("AAPL", (current + STEP, 106.0, 106.2, 105.9, 106.1, 100.0))
        tws.set_quote("AAPL", 106.05, 106.15, 106.1)
        await tws.settle()
        clock.advance(STEP)
        summary = await engine.run_cycle()
        assert engine.market["AAPL"].close[-1] == 106.0  # the streamed bar reached the engine
        assert summary.proposals >= 1 and summary.orders >= 1, summary
        (fill,) = await fills(engine)
        assert fill["symbol"] == "AAPL" and fill["side"] == "buy"
        assert 105.0 < float(fill["price"]) < 107.5  # on IB's price, not a simulated one
        assert engine.feed.name == "ib"

        clock.advance(4 * STEP)  # the last streamed bar completes and is handed over: fresh
        await engine.run_cycle()
        assert "AAPL" not in engine.guard.stale
        clock.advance(4 * STEP)  # TWS says nothing more
        await engine.run_cycle()
        assert "AAPL" in engine.guard.stale
    finally:
        await engine.stop()


async def test_live_start_on_ib_feed_when_first_quotes_are_fresh_then_it_starts_on_real_prices(
        tws: FakeTws, clock: SimClock, tmp_path: Path) -> None:
    from robo_tui.config import load_settings
    from robo_tui.domain.risk import Mode
    from robo_tui.wiring import build_engine, with_overrides

    settings = with_overrides(load_settings(None, environ={
        "ROBO_TUI_ENGINE__LIVE_ENABLED": "true", "ROBO_TUI_NEWS__SAMPLE": "false",
        "ROBO_TUI_UNIVERSE__INSTRUMENTS": '[{"symbol": "AAPL", "asset_class": "stock"}]',
        "ROBO_TUI_BROKER__KIND": "ib", "ROBO_TUI_BROKER__IB__PORT": str(tws.port),
        "ROBO_TUI_BROKER__IB__TIMEOUT_SECONDS": "3",
        "ROBO_TUI_FEEDS__KIND": "ib", "ROBO_TUI_FEEDS__IB__PORT": str(tws.port),
        "ROBO_TUI_FEEDS__IB__TIMEOUT_SECONDS": "3"}), mode=Mode.LIVE)
    engine = build_engine(settings, data_dir=tmp_path, clock=clock, intelligence=False)
    await engine.start()  # the live check reads the feed's first quotes: present and fresh
    try:
        assert engine.mode is Mode.LIVE and not engine.simulated
        assert engine.prices["AAPL"] == pytest.approx(100.0, rel=0.01)  # IB's history, not fiction
        tws.set_quote("AAPL", 100.49, 100.51, 100.5)
        await tws.settle()
        await engine.run_cycle()
        assert engine.quotes["AAPL"].last == 100.5
    finally:
        await engine.stop()
