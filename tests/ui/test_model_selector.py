"""The model selector tells the truth: why a provider is unavailable, in full, and choosing one
takes a confirmation that says the analyst abstains until it is reachable."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.text import Text

from robo_tui.domain.risk import Mode
from robo_tui.ui.screens.dialogs import ConfirmDialog
from robo_tui.ui.screens.main import MainScreen
from robo_tui.ui.widgets import ModelSelector

from .helpers import make_app, make_engine, screen_text, started, wait_until


async def _selector_on(pilot, app, provider: str) -> ModelSelector:  # type: ignore[no-untyped-def]
    await asyncio.wait_for(app.models_ready.wait(), 20)
    selector: ModelSelector = app.main.query_one(ModelSelector)
    await wait_until(pilot, lambda: selector.row_count >= 4 and any(
        selector.get_row_at(i)[-1].plain for i in range(selector.row_count)),
        what="the providers and their reasons")
    selector.focus()
    row = next(i for i in range(selector.row_count)
               if selector.get_row_at(i)[1].plain == provider)
    selector.move_cursor(row=row)
    await pilot.pause()
    return selector


async def test_selector_when_openai_has_no_key_then_the_note_names_the_variable_in_full(
        tmp_path: Path) -> None:
    app = make_app(make_engine(tmp_path, mode=Mode.PAPER), cycles=0)
    async with app.run_test(size=(160, 50)) as pilot:
        await started(pilot)
        selector = await _selector_on(pilot, app, "openai")
        note = selector.get_row_at(selector.cursor_row)[-1]
        assert isinstance(note, Text)
        assert "ROBO_TUI_ANALYSTS__OPENAI_API_KEY" in note.plain
        assert "no OpenAI API key: set RO" in screen_text(app)  # no longer stuck at "no m"
        assert "Ollama is not reachable a" in screen_text(app)


async def test_selector_when_an_unavailable_provider_is_chosen_then_a_confirmation_says_why(
        tmp_path: Path) -> None:
    engine = make_engine(tmp_path, mode=Mode.PAPER)
    app = make_app(engine, cycles=0)
    async with app.run_test(size=(160, 50)) as pilot:
        await started(pilot)
        await _selector_on(pilot, app, "anthropic")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the dialog")
        text = screen_text(app)
        assert "ROBO_TUI_ANALYSTS__ANTHROPIC_API_KEY" in text
        assert "abstains" in text
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen), what="the main screen")
        await pilot.pause(0.2)
        assert engine.analyst_catalogue()["active"]["provider"] == "rules"


async def test_palette_when_opened_then_only_robos_theme_command_is_offered(tmp_path: Path) -> None:
    app = make_app(make_engine(tmp_path, mode=Mode.PAPER), cycles=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Theme" not in titles and "Quit" in titles
