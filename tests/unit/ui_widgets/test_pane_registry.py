"""The pane registry: the main screen is composed from `PANES`, so a new pane is one widget and
one registry line, rendered from the engine's view like every other pane."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import App
from textual.widgets import Static

from robo_tui.engine.view import ConsoleView, build_view
from robo_tui.ui import app as app_module
from robo_tui.ui.panes import PANES, Pane
from robo_tui.ui.screens.board import PaneBoard

from .conftest import Harness


class CashPane(Static):
    """A throwaway pane: the cash the view reports."""

    DEFAULT_CSS = "CashPane { height: 3; }"

    def update_from(self, view: ConsoleView) -> None:
        """Show the view's cash."""
        self.update(Text(f"cash now {view.cash:,.2f}"))


class BoardApp(App[None]):
    """An app showing a pane board built from `panes`, styled like the console."""

    CSS_PATH = Path(app_module.__file__).with_name("app.tcss")

    def __init__(self, panes: tuple[Pane[Any], ...]) -> None:
        super().__init__()
        self.board = PaneBoard(panes)

    def on_mount(self) -> None:
        self.push_screen(self.board)


def test_registry_when_read_then_ids_are_unique_and_every_view_pane_renders_the_view() -> None:
    ids = [p.id for p in PANES]
    assert len(ids) == len(set(ids))
    assert {p.id for p in PANES if p.render is None} == {"feed"}  # fed by events, not the view


async def test_registry_when_a_pane_is_registered_then_the_board_shows_it_rendered_from_the_view(
    harness: Harness,
) -> None:
    cash = Pane("cash", "Cash", CashPane, "side", "ensemble", CashPane.update_from)
    app = BoardApp((*PANES, cash))
    async with app.run_test(size=(120, 40)) as pilot:
        view = build_view(harness.engine)
        app.board.render_view(view)
        await pilot.pause()
        pane = app.board.query_one("#cash", CashPane)
        assert pane.has_class("pane") and pane.has_class("view-ensemble")
        assert pane.parent is not None and pane.parent.id == "side"
        assert pane.border_title == "Cash"
        assert str(pane.render()) == f"cash now {harness.engine.account.cash:,.2f}"
        assert pane.region.height > 0  # laid out in the side column


async def test_registry_when_a_pane_belongs_to_the_hidden_view_then_it_renders_once_shown(
    harness: Harness,
) -> None:
    cash = Pane("cash", "Cash", CashPane, "side", "ensemble", CashPane.update_from)
    app = BoardApp((*PANES, cash))
    async with app.run_test(size=(80, 24)) as pilot:  # compact: the trade view only
        app.board.render_view(build_view(harness.engine))
        await pilot.pause()
        pane = app.board.query_one("#cash", CashPane)
        assert str(pane.render()) == ""  # hidden panes are not rendered
        app.board.show_view("ensemble")
        await pilot.pause()
        assert str(pane.render()) == f"cash now {harness.engine.account.cash:,.2f}"
