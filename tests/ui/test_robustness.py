"""The console under bad input and failure: hostile headlines, a dying engine loop, a locked data
dir, and the keys that must always work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robo_tui.adapters.store.lock import DataDirLock
from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.console import run_console
from robo_tui.domain.events import EngineErrorOccurred, NewsReceived
from robo_tui.domain.news import NewsItem
from robo_tui.domain.orders import AccountSnapshot
from robo_tui.domain.risk import Mode, TradingState
from robo_tui.runtime import ExitCode, RunOptions
from robo_tui.ui.commands import ACTIONS
from robo_tui.ui.screens.detail import DetailScreen
from robo_tui.ui.screens.help import HelpScreen
from robo_tui.ui.screens.main import MainScreen
from robo_tui.ui.widgets import EventFeed, StrategyPanel

from .helpers import (
    START,
    cycle_done,
    make_app,
    make_engine,
    screen_text,
    settings_for,
    started,
    wait_until,
)

SIZE = (120, 40)

HOSTILE = (
    "[bold red]x[/] markup must stay literal",
    "\x1b[31mred\x1b[0m ANSI escape and \x1b]0;owned\x07 title change",
    "zero\u200bwidth\u200djoiner\ufeffbom",
    "right-to-left \u202eevil.exe\u202c override",
    "[link=https://evil.invalid]click[/link] and [/] stray close",
)


def _news(i: int, title: str) -> NewsReceived:
    item = NewsItem(f"H-{i}", "hostile", title, title, "https://evil.invalid", START, START,
                    ("AAPL",))
    return NewsReceived(ts=START, item=item)


async def test_hostile_headlines_when_published_then_rendered_literally_without_error(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, mode=Mode.PAPER)
    app = make_app(engine, cycles=0)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        for i, title in enumerate(HOSTILE):
            engine.bus.publish(_news(i, title))
        feed = app.main.query_one(EventFeed)
        await wait_until(pilot, lambda: len(feed.visible_events()) >= len(HOSTILE), what="feed")
        await pilot.pause(0.2)
        shown = screen_text(app)
        assert "[bold red]x[/] markup must stay literal" in shown
        assert "␛[31mred␛[0m" in shown, "ESC is shown as a visible symbol, not sent to the terminal"
        assert "zero<U+200B>width<U+200D>joiner<U+FEFF>bom" in shown
        assert "<U+202E>evil.exe<U+202C>" in shown
        assert "[link=https://evil.invalid]click[/link]" in shown
        for raw in ("\x1b", "\u202e", "\u200b", "\x07"):
            assert raw not in shown
        # and the detail view of the newest one as well
        feed.focus()
        await pilot.press("end", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), what="the detail")
        detail = screen_text(app)
        assert "[/] stray close" in detail and "\x1b" not in detail
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen), what="back")


class FailingStore(SqliteStore):
    """A store whose position snapshot write breaks after the first cycle (a full disk, say)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.snapshots = 0

    async def save_positions(self, account: AccountSnapshot) -> None:
        self.snapshots += 1
        if self.snapshots > 1:
            raise OSError("disk full (test)")
        await super().save_positions(account)


async def test_engine_loop_when_it_dies_then_error_shown_app_usable_and_kill_switch_works(
        tmp_path: Path) -> None:
    store = FailingStore(tmp_path / "robo.db")
    # a short cycle so the failing second one comes quickly
    settings = settings_for(Mode.PAPER, engine={"cycle_seconds": 0.2})
    engine = make_engine(tmp_path, settings=settings, store=store)
    app = make_app(engine, cycles=None)
    async with app.run_test(size=SIZE) as pilot:
        await cycle_done(pilot)
        await wait_until(pilot, lambda: app._run_worker is not None and app._run_worker.is_finished,
                         timeout=15, what="the engine loop to fail")
        await pilot.pause(0.3)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "engine loop stopped" in errors[-1].message
        assert "disk full" in errors[-1].message
        feed = app.main.query_one(EventFeed)
        logged = [e for e in feed.visible_events() if isinstance(e, EngineErrorOccurred)]
        assert any(e.where == "console/engine-run" and "disk full" in e.message for e in logged)
        assert "disk full" in screen_text(app)
        # still usable: the help opens, and the kill switch halts and latches
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await pilot.press("escape", "f9")
        await wait_until(pilot, lambda: engine.state is TradingState.HALTED, what="HALTED")
        await pilot.pause(0.2)
        assert await engine.store.get_control("trading_state") == "HALTED"
        audit = await engine.store.query("select payload from audit_log "
                                         "where kind = 'event.EngineErrorOccurred'")
        assert any("console/engine-run" in r["payload"] for r in audit), "the failure is audited"


async def test_palette_when_kill_switch_chosen_then_halted(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, mode=Mode.PAPER)
    app = make_app(engine, cycles=0)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"kill switch")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: engine.state is TradingState.HALTED, what="HALTED")


async def test_help_when_opened_then_lists_every_key(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, mode=Mode.PAPER)
    app = make_app(engine, cycles=0)
    async with app.run_test(size=(120, 60)) as pilot:
        await started(pilot)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await pilot.pause(0.1)
        shown = screen_text(app)
        for action in ACTIONS:
            assert action.key_label in shown, action.key_label
            assert action.help[:40] in shown, action.help


async def test_compact_layout_when_80x24_then_views_switch_and_panes_are_reachable(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, mode=Mode.SEMI_AUTO)
    app = make_app(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await cycle_done(pilot)
        main = app.main
        assert main.compact
        shown = screen_text(app)
        for title in ("Positions", "Risk", "Event feed", "Proposals"):
            assert title in shown, title
        assert "Strategies" not in shown
        await pilot.press("2")
        await pilot.pause(0.3)
        shown = screen_text(app)
        for title in ("Strategies", "Analyst models", "Equity"):
            assert title in shown, title
        assert isinstance(app.focused, StrategyPanel), "the view's first pane takes the focus"
        await pilot.press("space")  # the keys work in the compact view too
        await wait_until(pilot, lambda: not engine.ensemble.slots()[0].enabled, what="toggle")
        await pilot.press("1")
        await pilot.pause(0.2)
        assert "Positions" in screen_text(app)
        await pilot.resize_terminal(120, 40)
        await pilot.pause(0.3)
        assert not main.compact
        shown = screen_text(app)
        for title in ("Positions", "Risk", "Event feed", "Proposals", "Strategies",
                      "Analyst models", "Equity"):
            assert title in shown, title


async def test_theme_when_cycled_then_remembered_and_the_option_overrides(tmp_path: Path) -> None:
    state = tmp_path / "ui-state.json"
    engine = make_engine(tmp_path / "a", mode=Mode.PAPER)
    app = make_app(engine, cycles=0, theme=None, ui_state=state)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        assert app.theme == "robo-dark"
        await pilot.press("t")
        await pilot.pause(0.1)
        chosen = app.theme
    assert chosen != "robo-dark"
    assert json.loads(state.read_text())["theme"] == chosen
    assert state.stat().st_mode & 0o777 == 0o600

    again = make_app(make_engine(tmp_path / "b", mode=Mode.PAPER), cycles=0, theme=None,
                     ui_state=state)
    async with again.run_test(size=SIZE) as pilot:
        assert again.theme == chosen
    forced = make_app(make_engine(tmp_path / "c", mode=Mode.PAPER), cycles=0,
                      theme="robo-high-contrast", ui_state=state)
    async with forced.run_test(size=SIZE) as pilot:
        assert forced.theme == "robo-high-contrast"


def test_run_console_when_the_data_dir_is_locked_then_exits_4(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with DataDirLock(tmp_path):
        code = run_console(RunOptions(data_dir=tmp_path))
    assert code == ExitCode.LOCKED
    assert "another robo-tui" in capsys.readouterr().err


def test_run_console_when_the_config_is_broken_then_exits_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[engine]\nmode = 'yolo'\n")
    code = run_console(RunOptions(config=config, data_dir=tmp_path))
    assert code == ExitCode.USAGE
    assert "config error" in capsys.readouterr().err

