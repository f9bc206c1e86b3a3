"""Stale symbols are named in the console's status bar ("stale: BTC-USD 3m") and in headless
output, text and JSON: no new entries in them, and the trader sees which and for how long."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

from robo_tui.domain.risk import Mode
from robo_tui.headless import Sink
from robo_tui.ui.widgets.status import StatusBar

from .helpers import cycle_done, make_app, make_engine, screen_text, wait_until

SIZE = (160, 40)


async def test_status_bar_when_a_symbol_goes_stale_then_named_with_its_age_and_cleared_on_data(
        tmp_path: Path) -> None:
    engine = make_engine(tmp_path, mode=Mode.PAPER)
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await cycle_done(pilot)
        now = engine.clock.now()
        guard = engine.guard
        guard.seen("BTC-USD", now - timedelta(minutes=3, seconds=5))  # its last data: 3m ago
        guard.check(now)
        assert "BTC-USD" in guard.stale

        await wait_until(pilot, lambda: "stale: BTC-USD 3m" in screen_text(app),
                         what="the stale symbol in the status bar")
        bar = app.main.query_one(StatusBar)
        assert "stale: BTC-USD 3m" in bar.fit(160).plain
        assert "stale 1" in bar.fit(40).plain or "stale: BTC-USD" in bar.fit(40).plain

        guard.seen("BTC-USD", now)
        guard.check(now)
        await wait_until(pilot, lambda: "stale" not in bar.fit(160).plain,
                         what="the stale mark to clear from the status bar")


async def test_headless_when_a_symbol_is_stale_then_text_and_json_name_it_with_its_age(
        tmp_path: Path) -> None:
    engine = make_engine(tmp_path, mode=Mode.PAPER)
    await engine.start()
    try:
        summary = await engine.run_cycle()
        engine.guard.seen("ETH-USD", summary.ts - timedelta(minutes=4))
        engine.guard.check(summary.ts)
        text, as_json = io.StringIO(), io.StringIO()
        Sink(engine, text, as_json=False).cycle_done(summary)
        Sink(engine, as_json, as_json=True).cycle_done(summary)
    finally:
        await engine.stop()

    assert "  stale: ETH-USD 4m\n" in text.getvalue()
    assert json.loads(as_json.getvalue())["stale"] == {"ETH-USD": 240.0}
