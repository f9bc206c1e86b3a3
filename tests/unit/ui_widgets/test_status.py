"""The status bar: everything at a glance, LIVE and HALTED unmistakable, fits any width."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rich.style import Style
from textual.color import Color

from robo_tui.domain.market import AssetClass, Instrument
from robo_tui.domain.risk import Mode
from robo_tui.engine.view import build_view
from robo_tui.ui.widgets.status import StatusBar, market_session

from .conftest import Harness, WidgetApp, screen_text


def _style_of(bar: StatusBar, width: int, word: str) -> Style:
    line = bar.fit(width)
    start = line.plain.index(word)
    style = Style()
    for span in line.spans:
        if span.start <= start < span.end:
            style += span.style if isinstance(span.style, Style) else Style.parse(span.style)
    return style


async def test_status_bar_after_cycles_then_shows_mode_state_equity_pnl_clock_and_sources(
        harness: Harness) -> None:
    bar = StatusBar()
    app = WidgetApp(bar)
    async with app.run_test(size=(160, 3)) as pilot:
        bar.update_from(build_view(harness.engine))
        await pilot.pause()
        line = screen_text(app).splitlines()[0]
        engine = harness.engine
        assert " PAPER " in line and " ACTIVE " in line and "SIMULATED" in line
        assert f"{engine.account.equity:,.2f}" in line
        assert f"{engine.day_pnl:+,.2f}" in line
        assert engine.clock.now().strftime("%H:%M:%S") + " UTC" in line
        assert "feed sim●" in line and "broker paper●" in line and "AI rules/lexicon-v1●" in line
        assert "US open" in line


async def test_status_bar_when_live_and_halted_then_both_are_solid_error_blocks(
        harness: Harness) -> None:
    bar = StatusBar()
    app = WidgetApp(bar)
    async with app.run_test(size=(120, 3)) as pilot:
        await harness.engine.halt("kill switch pressed", by="ui")
        harness.engine.mode = Mode.LIVE
        bar.update_from(build_view(harness.engine))
        await pilot.pause()
        line = bar.fit(120).plain
        assert " LIVE " in line and " HALTED: kill switch pressed " in line
        error = app.current_theme.error
        assert error is not None
        for word in ("LIVE", "HALTED"):
            style = _style_of(bar, 120, word)  # reverse video of the error colour: a solid block
            assert style.reverse and style.bold
            assert style.color is not None and style.color.triplet is not None
            want = Color.parse(error).rgb
            assert max(abs(a - b) for a, b in zip(style.color.triplet, want, strict=True)) <= 8
        harness.engine.mode = Mode.PAPER
        bar.update_from(build_view(harness.engine))
        assert not _style_of(bar, 120, "PAPER").reverse


@pytest.mark.parametrize("width", [20, 30, 40, 60, 80, 100, 200])
async def test_status_bar_at_any_width_then_fits_and_keeps_mode_and_state(
        harness: Harness, width: int) -> None:
    bar = StatusBar()
    app = WidgetApp(bar)
    async with app.run_test(size=(max(width, 20), 3)) as pilot:
        harness.engine.pause(True)
        bar.update_from(build_view(harness.engine))
        await pilot.pause()
        line = bar.fit(width)
        assert line.cell_len <= width
        assert "PAPER" in line.plain and "ACT" in line.plain
        if width >= 80:
            assert "PAUSED" in line.plain and "SIMULATED" in line.plain
            assert f"{harness.engine.account.equity:,.2f}" in line.plain


async def test_status_bar_when_a_source_fails_then_it_is_marked(harness: Harness) -> None:
    bar = StatusBar()
    app = WidgetApp(bar)
    async with app.run_test(size=(160, 3)) as pilot:
        harness.engine.health["broker"] = (False, "connection refused")
        bar.update_from(build_view(harness.engine))
        await pilot.pause()
        assert "broker paper✗" in bar.fit(160).plain


@pytest.mark.parametrize(("when", "expected"), [
    (datetime(2026, 1, 5, 15, 0, tzinfo=UTC), "US open"),  # 10:00 New York, Monday
    (datetime(2026, 1, 5, 13, 0, tzinfo=UTC), "US pre-market"),
    (datetime(2026, 1, 5, 22, 0, tzinfo=UTC), "US after-hours"),
    (datetime(2026, 1, 6, 3, 0, tzinfo=UTC), "US closed"),
    (datetime(2026, 1, 10, 15, 0, tzinfo=UTC), "US closed"),  # Saturday
    (datetime(2026, 7, 6, 13, 45, tzinfo=UTC), "US open"),  # 9:45 EDT
])
def test_market_session_follows_new_york_hours(when: datetime, expected: str) -> None:
    assert market_session(when, [Instrument("AAPL")])[0] == expected


def test_market_session_when_crypto_only_then_always_open() -> None:
    crypto = [Instrument("BTC-USD", AssetClass.CRYPTO)]
    assert market_session(datetime(2026, 1, 10, 3, 0, tzinfo=UTC), crypto) == ("crypto 24/7", "24/7")
