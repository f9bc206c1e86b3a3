"""The Backtests screen: the runs `robo-tui backtest` stored, newest first, and each one's report.

The runs come from a `RunCatalogue` the composition root hands in (over the data dir's database:
the same runs `robo-tui backtest --list` and `--show` print); the report is the same renderable,
sized to the detail view.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import ClassVar, Protocol

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label, Static

from robo_tui.domain.frozen import frozen
from robo_tui.ui.screens.detail import DetailScreen

LIMIT = 200
"""How many of the newest runs the screen lists."""

COLUMNS: tuple[tuple[str, bool], ...] = (
    ("id", False), ("when (UTC)", False), ("return", True), ("sharpe", True), ("max DD", True),
    ("trades", True), ("strategies", False), ("symbols", False), ("kind", False), ("bars", True),
)  # fmt: skip
"""The listing's columns (headers of `run_listing`), figures first so that a narrow terminal
shows them (the rest scrolls sideways), and whether each is right-aligned."""

NARROW_BELOW = 140
"""Below this many columns the list uses `run_listing`'s narrow cells."""

EMPTY = (
    "No stored backtests yet. Every run of `robo-tui backtest` is stored here, e.g.\n"
    "  robo-tui backtest --data GOOG.csv --strategy sma_cross --param fast=10 --param slow=20"
)


@frozen
class RunReport:
    """One stored run's report, ready to show."""

    run_id: str
    body: RenderableType


class RunCatalogue(Protocol):
    """The stored backtest runs, handed in by the composition root. Raises NotImplementedError
    when the store keeps none (in memory), `sqlite3.Error`, `OSError`, `ValueError` or
    `KeyError` when it cannot be read."""

    async def listing(self, limit: int, *, narrow: bool) -> Sequence[tuple[str, Mapping[str, str]]]:
        """The newest `limit` runs, newest first: (run id, cells by the headers of `COLUMNS`)."""
        ...

    async def report(self, run_id: str, *, width: int) -> RunReport | None:
        """The report of the stored run whose id starts with `run_id`, sized to `width`
        columns (None when no such run is stored)."""
        ...


class BacktestsScreen(ModalScreen[None]):
    """Stored backtest runs; enter opens the highlighted run's report, r reloads the list."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", key_display="esc"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self, runs: RunCatalogue) -> None:
        super().__init__(classes="dialog")
        self._runs = runs

    def compose(self) -> ComposeResult:
        yield Footer()  # its own keys; the main footer underneath would advertise others
        with Vertical(classes="dialog-box -full", id="backtests"):
            yield Label(Text("Backtests (newest first)"), classes="dialog-title")
            yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
            yield Static(id="runs-note")
            yield Static(Text("enter: report · r: reload · esc: close"), classes="dialog-hint")

    async def on_mount(self) -> None:
        table = self.query_one("#runs", DataTable)
        for header, right in COLUMNS:
            table.add_column(Text(header, justify="right" if right else "left"), key=header)
        table.focus()
        await self.action_reload()

    async def action_reload(self) -> None:
        """Read the newest runs from the catalogue again."""
        table = self.query_one("#runs", DataTable)
        table.clear()
        try:
            listed = await self._runs.listing(LIMIT, narrow=self.app.size.width < NARROW_BELOW)
        except NotImplementedError:
            self._note("This engine's store is in memory: it keeps no backtests.")
            return
        except (sqlite3.Error, OSError, ValueError, KeyError) as exc:  # locked, damaged: say so
            self._note(f"Could not read the stored backtests: {type(exc).__name__}: {exc}")
            return
        for run_id, cells in listed:
            table.add_row(*(Text(cells[h], justify="right" if right else "left")
                            for h, right in COLUMNS), key=run_id)  # fmt: skip
        self._note("" if listed else EMPTY)

    def _note(self, text: str) -> None:
        note = self.query_one("#runs-note", Static)
        note.update(Text(text))
        note.display = bool(text)

    async def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a run: its report in the detail view."""
        event.stop()
        if event.row_key.value is not None:
            await self.show_run(event.row_key.value)

    async def show_run(self, run_id: str) -> None:
        """Open the stored run `run_id`'s report (the one `robo-tui backtest --show` prints)."""
        # the detail view's text area: 96% of the screen less its border, padding and scrollbar
        width = max(40, self.app.size.width * 96 // 100 - 6)
        try:
            report = await self._runs.report(run_id, width=width)
        except (sqlite3.Error, OSError, ValueError, KeyError) as exc:
            self.notify(f"Could not read run {run_id[:12]}: {type(exc).__name__}: {exc}",
                        severity="error", markup=False)  # fmt: skip
            return
        if report is None:
            self.notify(f"Run {run_id[:12]} is no longer stored.", severity="warning")
            return
        self.app.push_screen(DetailScreen(f"Backtest {report.run_id[:12]}", report.body))

    def action_close(self) -> None:
        """Back to the console."""
        self.dismiss(None)
