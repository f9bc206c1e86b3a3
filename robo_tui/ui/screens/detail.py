"""The detail view: the full text of one feed entry or one proposal, scrollable.

For a pending proposal the view also takes `a` (approve) and `r` (reject), so the trader can read
the whole rationale and the pre-check and decide without going back.
"""

from __future__ import annotations

from typing import ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static


class DetailScreen(ModalScreen[str | None]):
    """Shows `body` (any rich renderable, already made safe by the caller); dismisses with
    "approve", "reject" or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,enter", "close", "Close", key_display="esc"),
        Binding("a", "decide('approve')", "Approve", show=False),
        Binding("r", "decide('reject')", "Reject", show=False),
    ]

    def __init__(self, title: str, body: RenderableType, *, proposal_id: str | None = None) -> None:
        super().__init__(classes="dialog")
        self._title = title
        self._body = body
        self.proposal_id = proposal_id
        """The pending proposal shown, if any (enables approve and reject)."""

    def compose(self) -> ComposeResult:
        yield Footer()  # its own keys; the main footer underneath would advertise others
        with Vertical(classes="dialog-box -full", id="detail"):
            yield Label(Text(self._title), classes="dialog-title")
            with VerticalScroll(id="detail-scroll"):
                yield Static(self._body, id="detail-body")
            hint = "esc / enter: close · up/down: scroll"
            if self.proposal_id is not None:
                hint = "a: approve · r: reject · " + hint
            yield Static(Text(hint), classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#detail-scroll").focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Approve and reject exist only for a pending proposal."""
        if action == "decide":
            return self.proposal_id is not None
        return True

    def action_close(self) -> None:
        """Back to the console."""
        self.dismiss(None)

    def action_decide(self, decision: str) -> None:
        """Close and let the console approve or reject this proposal."""
        self.dismiss(decision)
