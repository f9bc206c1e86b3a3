"""The help screen (`?`): every key, generated from the same table as the bindings and palette."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

from robo_tui.ui.commands import ACTIONS, PANE_KEYS


def help_table() -> Table:
    """Every console key with what it does, grouped as on the help screen (fits 120x40)."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True, min_width=16)
    table.add_column()
    groups: dict[str, list[tuple[str, str]]] = {}
    for item in ACTIONS:
        groups.setdefault(item.group, []).append((item.key_label, item.help))
    groups["Panes and dialogs"] = list(PANE_KEYS)
    for group, rows in groups.items():
        table.add_row(Text(group, style="bold underline"), "")
        for key, text in rows:
            table.add_row(Text(f"  {key}"), Text(text))
    return table


class HelpScreen(ModalScreen[None]):
    """Lists every key; any of esc, q, ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "close", "Close", key_display="esc")]

    def compose(self) -> ComposeResult:
        yield Footer()  # its own keys; the main footer underneath would advertise others
        with Vertical(classes="dialog-box -full", id="help-box"):
            yield Label("robo-tui keys — everything is also in the command palette (ctrl+p)",
                        classes="dialog-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(help_table(), id="help-table")
            yield Static(Text("esc / q / ?: close · up/down: scroll"), classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    def action_close(self) -> None:
        """Back to the console."""
        self.dismiss(None)
