"""Fixtures for the pane tests: a real engine on the simulated market and a one-widget app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widget import Widget

from robo_tui.adapters.store.memory import MemoryStore
from robo_tui.config import Settings
from robo_tui.domain.events import Event
from robo_tui.domain.risk import Mode
from robo_tui.engine.bus import EventBus
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from robo_tui.ui.themes import load_themes
from robo_tui.wiring import build_engine


class WidgetApp(App[None]):
    """A tiny app that mounts one widget under test, with the robo themes registered."""

    CSS = "Screen { layout: vertical; }"

    def __init__(self, widget: Widget, theme: str = "robo-dark") -> None:
        super().__init__()
        self.widget = widget
        self._theme_name = theme

    def compose(self) -> ComposeResult:
        yield self.widget

    def on_mount(self) -> None:
        for theme in load_themes():
            self.register_theme(theme)
        self.theme = self._theme_name


class Harness:
    """An engine with every event it published, and a way to run cycles a minute apart."""

    def __init__(self, engine: Engine, clock: SimClock, events: list[Event]) -> None:
        self.engine = engine
        self.clock = clock
        self.events = events

    async def cycles(self, n: int) -> None:
        for _ in range(n):
            await self.engine.run_cycle()
            self.clock.advance(60)


def make_settings(**sections: dict[str, Any]) -> Settings:
    """Default settings with some fields of some sections replaced."""
    data: dict[str, Any] = Settings().model_dump()
    for name, values in sections.items():
        data[name].update(values)
    return Settings.model_validate(data)


async def start_harness(tmp_path: Path, clock: SimClock, settings: Settings | None = None,
                        *, mode: Mode | None = None, intelligence: bool = True) -> Harness:
    """A started engine wired like the app's (simulated market, paper broker, sample news)."""
    settings = settings or Settings()
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)
    engine = build_engine(settings, data_dir=tmp_path, clock=clock, store=MemoryStore(), bus=bus,
                          intelligence=intelligence)
    if mode is not None:
        engine.mode = mode
    await engine.start()
    return Harness(engine, clock, events)


@pytest.fixture
async def harness(tmp_path: Path, clock: SimClock) -> AsyncIterator[Harness]:
    """A paper engine that has run 12 one-minute cycles (positions, fills, denials, news)."""
    h = await start_harness(tmp_path, clock)
    await h.cycles(12)
    yield h
    await h.engine.stop()


@pytest.fixture
def make_harness(tmp_path: Path, clock: SimClock) -> Callable[..., Any]:
    """Start an engine with custom settings/mode; stopped by the caller."""
    async def make(settings: Settings | None = None, **kw: Any) -> Harness:
        return await start_harness(tmp_path, clock, settings, **kw)
    return make


def screen_text(app: App[Any]) -> str:
    """What the terminal shows now, as plain text (one line per row)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip) for strip in strips)


def screen_segments(app: App[Any]) -> list[str]:
    """Every text segment the compositor would write (to check nothing raw reaches the terminal)."""
    strips = app.screen._compositor.render_strips()
    return [seg.text for strip in strips for seg in strip]


def plain(text: Text) -> str:
    """A Text as the terminal would print it (no styles)."""
    console = Console(width=400, color_system=None, legacy_windows=False)
    with console.capture() as cap:
        console.print(text, end="")
    return cap.get()


MINUTE = timedelta(minutes=1)
