"""The engine paper-trading a US stock on the Yahoo feed end to end, at the library boundary
(`Ticker.history`-shaped frames, 15 minutes late): warm-up, delayed bars, a breakout proposal
filled by the paper broker on Yahoo's price, STALE once Yahoo stops answering."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from robo_tui.adapters.feeds.yahoo_feed import YahooFeed, YahooUnavailable
from robo_tui.engine.clock import SimClock
from tests.conftest import FIXED_START

from .engine_harness import WARMUP, fills, paper_engine, paper_settings
from .fake_yahoo import FakeYahoo


async def test_paper_on_yahoo_when_stock_breaks_out_then_filled_on_its_delayed_price_and_stale_when_quiet(
        tmp_path: Path) -> None:
    clock = SimClock(FIXED_START + timedelta(days=1, hours=2))  # Tuesday 11:30 New York
    yahoo = FakeYahoo(clock.now())
    settings = paper_settings("AAPL", "stock", {"ROBO_TUI_FEEDS__YAHOO__POLL_SECONDS": "5"})
    feed = YahooFeed(settings.feeds.yahoo, ["AAPL"], settings.feeds.bar_seconds, clock, fetch=yahoo)
    engine = paper_engine(settings, tmp_path, clock, feed=feed)
    await engine.start()
    try:
        assert len(engine.market["AAPL"]) >= WARMUP  # yesterday's session and this morning's
        await engine.run_cycle()
        assert await fills(engine) == []  # a quiet range: nothing to do
        clock.advance(60)
        yahoo.until = clock.now()
        yahoo.jump_from = clock.now() - timedelta(minutes=16)  # the bar that just became final
        summary = await engine.run_cycle()
        assert engine.market["AAPL"].close[-1] > 180.0 * 1.05
        assert summary.proposals >= 1 and summary.orders >= 1, summary
        (fill,) = await fills(engine)
        assert fill["symbol"] == "AAPL" and fill["side"] == "buy"
        assert 180.0 * 1.04 < float(fill["price"]) < 180.0 * 1.08  # Yahoo's price
        assert engine.feed.name == "yahoo (delayed)"  # what the status bar shows

        yahoo.fail = YahooUnavailable("AAPL: HTTPError: 503")
        clock.advance(4 * 60)
        await engine.run_cycle()
        assert "AAPL" in engine.guard.stale
    finally:
        await engine.stop()
