"""The trailing-stop dialog (`T` on a held position): ask the trail in percent, validated before
it is accepted, so the engine only ever receives a fraction in (0, 0.5).

The dialog only asks; the main screen applies the answer through `Engine.set_trailing`, which
persists the level and records who set it. robo-tui always holds a trailing stop itself (never a
venue order): it follows the best price since it was set and exits through the risk gate.
"""

from __future__ import annotations

import math
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

MAX_TRAIL_PCT = 50.0
"""A trail at or beyond this percent is refused (it would not protect anything)."""


def parse_trail_pct(text: str) -> float | str:
    """The trail typed as a percent ("2", "2.5 %") as a fraction (0.025), or why it is refused."""
    cleaned = text.strip().removesuffix("%").strip()
    if not cleaned:
        return "type the trail in percent, e.g. 2"
    try:
        pct = float(cleaned)
    except ValueError:
        return f"{text.strip()!r} is not a number"
    if not math.isfinite(pct) or not 0 < pct < MAX_TRAIL_PCT:
        return f"the trail must be more than 0 and less than {MAX_TRAIL_PCT:g} %"
    return pct / 100.0


class TrailingStopDialog(ModalScreen[float | None]):
    """Ask the trailing stop of one held position in percent; dismisses with the fraction
    (0.02 for 2 %) or None when cancelled. A bad value keeps the dialog open and says why."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, symbol: str, body: str, *, current_pct: float | None = None) -> None:
        super().__init__(classes="dialog")
        self._symbol = symbol
        self._body = body
        self._current = current_pct

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(Text(f"Trailing stop on {self._symbol}"), classes="dialog-title")
            yield Static(Text(self._body), classes="dialog-body")
            yield Input(value=f"{self._current * 100:g}" if self._current else "",
                        placeholder="trail in % (more than 0, less than 50)", id="trail",
                        max_length=12, compact=True)
            yield Static(Text(""), id="trail-error", classes="dialog-hint")
            yield Static(Text("enter: set · esc: cancel"), classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Set trail", id="confirm", variant="warning", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#confirm")
    def _confirm_pressed(self) -> None:
        parsed = parse_trail_pct(self.query_one(Input).value)
        if isinstance(parsed, str):
            self.query_one("#trail-error", Static).update(Text(parsed))
            return
        self.dismiss(parsed)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Cancel: the position's protection stays as it is."""
        self.dismiss(None)
