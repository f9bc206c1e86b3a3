"""Small modal dialogs: yes/no confirmation, a reason prompt, and the feed filter.

Every dialog is driven from the keyboard (`y`/enter confirm, `n`/esc cancel) and also has buttons
for the mouse. Text that came from outside is passed in as `rich.text.Text` and shown literally.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, SelectionList, Static
from textual.widgets.selection_list import Selection

from robo_tui.domain.frozen import frozen
from robo_tui.ui.widgets.describe import KINDS

Body = str | Text
"""Dialog text: a plain string (never parsed as markup) or a prepared `Text`."""


def _as_text(body: Body) -> Text:
    return body if isinstance(body, Text) else Text(body)


class ConfirmDialog(ModalScreen[bool]):
    """Ask a yes/no question; dismisses with True only on an explicit yes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Yes", show=False),
        Binding("n,escape", "cancel", "No", show=False),
        Binding("left,right", "switch_button", show=False),
    ]

    def __init__(self, title: str, body: Body, *, confirm: str = "Yes", cancel: str = "No",
                 danger: bool = False, default_yes: bool = False) -> None:
        super().__init__(classes="dialog" + (" -danger" if danger else ""))
        self._title = title
        self._body = _as_text(body)
        self._confirm = confirm
        self._cancel = cancel
        self._danger = danger
        self._default_yes = default_yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(Text(self._title), classes="dialog-title")
            yield Static(self._body, classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self._confirm} (y)", id="confirm",
                             variant="error" if self._danger else "primary", compact=True)
                yield Button(f"{self._cancel} (n)", id="cancel", compact=True)

    def on_mount(self) -> None:
        # the safe default has focus unless the question is harmless
        self.query_one("#confirm" if self._default_yes else "#cancel", Button).focus()

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        """Yes."""
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """No."""
        self.dismiss(False)

    def action_switch_button(self) -> None:
        """Move focus between the two buttons."""
        target = "#cancel" if self.focused is not None and self.focused.id == "confirm" else "#confirm"
        self.query_one(target, Button).focus()


class ReasonDialog(ModalScreen[str | None]):
    """Ask for an optional free-text reason (rejecting a proposal); None means cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, title: str, body: Body, *, placeholder: str = "reason (optional)",
                 confirm: str = "Reject") -> None:
        super().__init__(classes="dialog")
        self._title = title
        self._body = _as_text(body)
        self._placeholder = placeholder
        self._confirm = confirm

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(Text(self._title), classes="dialog-title")
            yield Static(self._body, classes="dialog-body")
            yield Input(placeholder=self._placeholder, id="reason", max_length=500, compact=True)
            yield Static(Text("enter: " + self._confirm.lower() + " · esc: cancel"),
                         classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self._confirm, id="confirm", variant="warning", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#confirm")
    def _confirm_pressed(self) -> None:
        self.dismiss(self.query_one(Input).value.strip())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Cancel: nothing happens."""
        self.dismiss(None)


@frozen
class FeedFilter:
    """What the feed shows: these kinds (empty: the feed's default kinds, everything but market
    ticks, signals and portfolio marks) about this symbol (None: any)."""

    kinds: frozenset[str] = frozenset()
    symbol: str | None = None

    @property
    def active(self) -> bool:
        """Whether anything is filtered out."""
        return bool(self.kinds) or self.symbol is not None

    def describe(self) -> str:
        """A short human description (`kinds: news, risk · symbol: AAPL`)."""
        if not self.active:
            return "the default kinds, every symbol"
        parts = []
        if self.kinds:
            parts.append("kinds: " + ", ".join(sorted(self.kinds)))
        if self.symbol:
            parts.append("symbol: " + self.symbol)
        return " · ".join(parts)


_KIND_LABELS = {
    "news": "News and market events",
    "idea": "Analyst ideas and abstentions",
    "signal": "Strategy signals (ensemble decisions)",
    "proposal": "Proposals and decisions",
    "risk": "Risk verdicts (denials with reasons)",
    "order": "Orders",
    "fill": "Fills",
    "error": "Errors",
    "killswitch": "Kill switch and risk state",
    "mode": "Mode and analyst changes",
    "strategy": "Strategy toggles and weights",
    "telemetry": "Source health and fallbacks",
    "portfolio": "Portfolio marks",
    "cycle": "Cycle summaries",
    "market": "Market ticks",
}
FEED_KINDS: tuple[tuple[str, str], ...] = tuple((k, _KIND_LABELS.get(k, k)) for k in KINDS)
"""The kinds the feed can show, with a label for the filter dialog."""


class FilterDialog(ModalScreen[FeedFilter | None]):
    """Choose which kinds and which symbol the feed shows; None means cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("ctrl+s", "apply", "Apply", show=False),
        Binding("ctrl+l", "clear", "Defaults", show=False),
    ]

    def __init__(self, current: FeedFilter, symbols: Sequence[str]) -> None:
        super().__init__(classes="dialog")
        self._current = current
        self._symbols = tuple(symbols)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box -wide"):
            yield Label("Filter the event feed", classes="dialog-title")
            yield Static(Text("symbol, then tab to the kinds: space ticks (none: the defaults)\n"
                              "enter (in symbol) / ctrl+s: apply · ctrl+l: defaults · esc: cancel"),
                         classes="dialog-hint")
            yield Input(value=self._current.symbol or "", id="symbol", compact=True,
                        placeholder="symbol (empty: any) — " + ", ".join(self._symbols[:6]))
            yield SelectionList[str](*self._selections(), id="kinds")
            yield Static("", id="filter-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply", id="apply", variant="primary", compact=True)
                yield Button("Defaults", id="clear", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def _selections(self) -> Iterable[Selection[str]]:
        for kind, label in FEED_KINDS:
            yield Selection(f"{kind:<11} {label}", kind, kind in self._current.kinds)

    def on_mount(self) -> None:
        self.query_one("#symbol", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#apply")
    def action_apply(self) -> None:
        """Apply the ticked kinds and the symbol."""
        symbol = self.query_one("#symbol", Input).value.strip().upper() or None
        if symbol is not None and self._symbols and symbol not in self._symbols:
            self.query_one("#filter-error", Static).update(
                Text(f"unknown symbol {symbol!r}; the universe is " + ", ".join(self._symbols)))
            return
        kinds = frozenset(self.query_one(SelectionList).selected)
        self.dismiss(FeedFilter(kinds, symbol))

    @on(Button.Pressed, "#clear")
    def action_clear(self) -> None:
        """Back to the default filter (every symbol, the default kinds)."""
        self.dismiss(FeedFilter())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Keep the current filter."""
        self.dismiss(None)
