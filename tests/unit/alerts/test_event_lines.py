"""A pause and a drift report have their own lines in the console's feed and in headless output
(not a class name and its fields)."""

from __future__ import annotations

from datetime import UTC, datetime

from robo_tui.domain.drift import DriftItem, DriftReport
from robo_tui.domain.events import DriftDetected, PauseChanged
from robo_tui.headless import describe, state_line
from robo_tui.ui.widgets.describe import summary_text

TS = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
ITEMS = tuple(DriftItem("position", s, 1.0, 0.0, f"{s}: ib holds 1 that robo-tui never traded")
              for s in ("AAPL", "MSFT", "NVDA", "TSLA"))
DRIFT = DriftDetected(ts=TS, report=DriftReport("ib", TS, ITEMS))


def test_console_feed_when_paused_or_resumed_then_it_says_who_and_that_stops_go_on() -> None:
    assert summary_text(PauseChanged(ts=TS, paused=True, by="cli")).plain == (
        "cycle PAUSED by cli: quotes, fills and protective stops go on")
    assert summary_text(PauseChanged(ts=TS, paused=False, by="telegram:42")).plain == (
        "cycle resumed by telegram:42")


def test_console_feed_when_drift_is_detected_then_it_names_the_items_and_what_waits() -> None:
    line = summary_text(DRIFT).plain
    assert line.startswith("DRIFT at ib: AAPL: ib holds 1 that robo-tui never traded; MSFT")
    assert "(+1 more)" in line and "TSLA" not in line
    assert line.endswith("new entries wait until it is accepted (D)")


def test_headless_when_paused_from_a_shell_then_a_timed_line_names_the_shell() -> None:
    assert state_line(PauseChanged(ts=TS, paused=True, by="cli")) == (
        "2026-01-05 15:00:00Z cycle PAUSED by shell: quotes, fills and protective stops go on")
    assert describe(PauseChanged(ts=TS, paused=False, by="ui")) == "cycle resumed by console"


def test_headless_when_drift_is_detected_then_the_line_is_the_report_sentence() -> None:
    assert describe(DRIFT) == "DRIFT (blocking) " + DRIFT.report.sentence()
    assert "robo-tui drift accept" in describe(DRIFT)
