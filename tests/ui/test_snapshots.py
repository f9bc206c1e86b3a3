"""Snapshot tests of the console on a deterministic day: fixed seed, a SimClock at
2026-01-05 14:30 UTC, positions and proposals with fixed ids restored from the store, and a fixed
set of feed entries. Update with `pytest tests/ui --snapshot-update` after looking at the diff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from robo_tui.domain.risk import Mode, TradingState
from robo_tui.ui.app import RoboApp
from robo_tui.ui.screens.detail import DetailScreen
from robo_tui.ui.screens.help import HelpScreen
from robo_tui.ui.widgets import ProposalsQueue

from .helpers import START, feed_events, make_app, make_engine, started, wait_until

Snap = Callable[..., bool]


def _app(data_dir: Path) -> RoboApp:
    return make_app(make_engine(data_dir, mode=Mode.SEMI_AUTO), cycles=0)


def _prepare(then: Iterable[Callable[[Pilot[Any], RoboApp], Any]] = ()) -> Callable[[Pilot[Any]], Any]:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = await started(pilot)
        engine = app.engine
        assert engine is not None
        await asyncio.wait_for(app.models_ready.wait(), 20)  # the selector shows what was found
        for event in feed_events():
            engine.bus.publish(event)
        # a session's equity curve (the loop would append one point per cycle)
        engine.equity_history.extend(
            (START + timedelta(minutes=i), 100_000.0 + 40.0 * i - (i % 3) * 55.0)
            for i in range(30))
        await pilot.pause(0.4)
        for step in then:
            await step(pilot, app)
        await pilot.pause(0.3)

    return run_before


async def _open_first_proposal(pilot: Pilot[Any], app: RoboApp) -> None:
    app.main.query_one(ProposalsQueue).focus()
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), what="the detail")


async def _open_help(pilot: Pilot[Any], app: RoboApp) -> None:
    await pilot.press("question_mark")
    await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")


async def _kill_switch(pilot: Pilot[Any], app: RoboApp) -> None:
    await pilot.press("f9")
    assert app.engine is not None
    engine = app.engine
    await wait_until(pilot, lambda: engine.state is TradingState.HALTED, what="HALTED")
    await pilot.pause(0.4)


def test_main_screen_at_120x40_shows_every_pane(snap_compare: Snap, seeded_dir: Path) -> None:
    assert snap_compare(_app(seeded_dir), terminal_size=(120, 40), run_before=_prepare())


def test_main_screen_at_100x30_shows_the_trade_view(snap_compare: Snap, seeded_dir: Path) -> None:
    assert snap_compare(_app(seeded_dir), terminal_size=(100, 30), run_before=_prepare())


def test_main_screen_at_160x50_grows_the_right_column(snap_compare: Snap, seeded_dir: Path) -> None:
    assert snap_compare(_app(seeded_dir), terminal_size=(160, 50), run_before=_prepare())


def test_main_screen_at_80x24_shows_the_trade_view(snap_compare: Snap, seeded_dir: Path) -> None:
    assert snap_compare(_app(seeded_dir), terminal_size=(80, 24), run_before=_prepare())


def test_main_screen_at_80x24_shows_the_ensemble_view(snap_compare: Snap,
                                                      seeded_dir: Path) -> None:
    assert snap_compare(_app(seeded_dir), terminal_size=(80, 24), press=["2"],
                        run_before=_prepare())


def test_proposal_detail(snap_compare: Snap, seeded_dir: Path) -> None:
    assert snap_compare(_app(seeded_dir), terminal_size=(120, 40),
                        run_before=_prepare([_open_first_proposal]))


def test_help_screen(snap_compare: Snap, seeded_dir: Path) -> None:
    assert snap_compare(_app(seeded_dir), terminal_size=(120, 40),
                        run_before=_prepare([_open_help]))


def test_halted_state(snap_compare: Snap, seeded_dir: Path) -> None:
    assert snap_compare(_app(seeded_dir), terminal_size=(120, 40),
                        run_before=_prepare([_kill_switch]))
