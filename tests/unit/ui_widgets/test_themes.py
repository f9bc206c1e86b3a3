"""Themes: palette files load into Textual themes, match the built-ins, and broken files are skipped."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from robo_tui.engine.view import build_view
from robo_tui.ui.themes import (
    BUILTIN_PALETTES,
    THEME_NAMES,
    ThemeError,
    default_theme_folder,
    load_theme_file,
    load_themes,
    next_theme,
)
from robo_tui.ui.widgets.feed import EventFeed
from robo_tui.ui.widgets.status import StatusBar

from .conftest import Harness, WidgetApp, screen_text


def test_load_themes_then_the_three_robo_themes_come_first() -> None:
    themes = load_themes()
    assert [t.name for t in themes][:3] == list(THEME_NAMES)
    dark, light, contrast = themes[:3]
    assert dark.dark and not light.dark and contrast.dark
    assert contrast.background == "#000000" and contrast.foreground == "#ffffff"
    assert dark.variables["profit"] == dark.success and dark.variables["loss"] == dark.error


@pytest.mark.parametrize("filename", ["dark.toml", "light.toml", "high-contrast.toml"])
def test_theme_files_match_the_built_in_palettes(filename: str) -> None:
    data = tomllib.loads((default_theme_folder() / filename).read_text(encoding="utf-8"))
    assert data == BUILTIN_PALETTES[data["name"]]


def test_load_themes_when_folder_is_missing_then_built_ins(tmp_path: Path) -> None:
    themes = load_themes(tmp_path / "nowhere")
    assert [t.name for t in themes] == list(THEME_NAMES)
    assert themes[0].primary == BUILTIN_PALETTES["robo-dark"]["primary"]


def test_load_themes_when_a_file_is_broken_then_it_is_skipped_and_others_load(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "bad.toml").write_text('name = "robo-dark"\nprimary = "not-a-colour"\n')
    (tmp_path / "garbage.toml").write_text("this is [not toml")
    (tmp_path / "solar.toml").write_text('name = "solar"\nprimary = "#b58900"\ndark = false\n')
    themes = load_themes(tmp_path)
    assert [t.name for t in themes] == [*THEME_NAMES, "solar"]
    assert themes[0].primary == BUILTIN_PALETTES["robo-dark"]["primary"]
    assert "bad.toml" in caplog.text and "not a colour" in caplog.text
    assert "garbage.toml" in caplog.text


def test_load_theme_file_when_unknown_key_then_error_names_it(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text('name = "x"\nprimary = "#123456"\nprimery = "#000000"\n')
    with pytest.raises(ThemeError, match="primery"):
        load_theme_file(path)


def test_next_theme_cycles_and_recovers_from_unknown_names() -> None:
    assert next_theme("robo-dark") == "robo-light"
    assert next_theme("robo-light") == "robo-high-contrast"
    assert next_theme("robo-high-contrast") == "robo-dark"
    assert next_theme("textual-dark") == "robo-dark"
    assert next_theme("b", ["a", "b"]) == "a"


@pytest.mark.parametrize("theme", THEME_NAMES)
async def test_every_theme_renders_the_panes(harness: Harness, theme: str) -> None:
    bar = StatusBar()
    app = WidgetApp(bar, theme=theme)
    async with app.run_test(size=(100, 4)) as pilot:
        assert app.theme == theme
        bar.update_from(build_view(harness.engine))
        await pilot.pause()
        assert "PAPER" in screen_text(app)


async def test_switching_theme_then_feed_lines_are_recoloured(harness: Harness) -> None:
    feed = EventFeed()
    app = WidgetApp(feed)
    async with app.run_test(size=(100, 10)) as pilot:
        feed.add_events(harness.events)
        feed.set_filter({"news"}, None)
        await pilot.pause()
        before = feed.get_component_rich_style("event-feed--news", partial=True)
        app.theme = "robo-light"
        await pilot.pause()
        after = feed.get_component_rich_style("event-feed--news", partial=True)
        assert before != after
        line = feed.render_line(0)
        assert any(seg.style is not None and seg.style.color == after.color for seg in line)
