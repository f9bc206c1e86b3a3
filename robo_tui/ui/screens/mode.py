"""The mode switch dialog: pick paper / semi-auto / auto / live and confirm.

LIVE needs the confirmation phrase typed exactly, and the engine still refuses unless the config
enables live trading with a live broker; its `ModeChangeRefused` message is shown here, in full,
and the dialog stays open.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from robo_tui.domain.risk import Mode

LIVE_PHRASE = "TRADE LIVE"
"""What the trader types to confirm switching to LIVE."""

MODE_HELP: dict[Mode, str] = {
    Mode.PAPER: "simulated fills on the paper broker; nothing reaches a real account",
    Mode.SEMI_AUTO: "every proposal waits for you to approve (a) or reject (r)",
    Mode.AUTO: "proposals that pass the risk gate are sent without asking",
    Mode.LIVE: "REAL MONEY: orders go to the live broker",
}

SWITCHABLE: tuple[Mode, ...] = tuple(m for m in Mode if m is not Mode.SHADOW)
"""The modes `m` offers: SHADOW starts only from the command line (it needs the live broker)."""

ApplyMode = Callable[[Mode, bool], Awaitable[str | None]]
"""Switch the engine to a mode (`confirm_live`); returns None when done, else why it was refused."""


class ModeDialog(ModalScreen[Mode | None]):
    """Choose a mode; dismisses with the new mode once the engine accepted it, None if cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, current: Mode, apply: ApplyMode) -> None:
        super().__init__(classes="dialog")
        self._current = current
        self._apply = apply
        self._choice: Mode | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box -wide"):
            yield Label(f"Switch mode (now {self._current.value.upper()})", classes="dialog-title")
            yield OptionList(*(self._option(m) for m in SWITCHABLE), id="modes")
            with Vertical(id="live-confirm"):
                yield Static(Text.assemble(
                    ("LIVE trades real money. ", "bold"),
                    f"Type {LIVE_PHRASE} and press enter to confirm."), classes="dialog-body")
                yield Input(placeholder=LIVE_PHRASE, id="phrase", max_length=40, compact=True)
            yield Static("", id="mode-message", classes="dialog-error")
            yield Static(Text("up/down: choose · enter: switch · esc: cancel"),
                         classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Switch", id="switch", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def _option(self, mode: Mode) -> Option:
        mark = "●" if mode is self._current else " "
        label = Text.assemble(f"{mark} ", (f"{mode.value.upper():<10}", "bold"), MODE_HELP[mode])
        return Option(label, id=mode.value)

    def on_mount(self) -> None:
        self.query_one("#live-confirm").display = False
        options = self.query_one(OptionList)
        options.highlighted = SWITCHABLE.index(self._current) if self._current in SWITCHABLE else 0
        options.focus()

    @on(OptionList.OptionSelected)
    def _mode_chosen(self, event: OptionList.OptionSelected) -> None:
        self._choose(Mode(str(event.option.id)))

    @on(Button.Pressed, "#switch")
    def _switch_pressed(self) -> None:
        options = self.query_one(OptionList)
        if self._choice is Mode.LIVE:
            self._confirm_live()
        elif options.highlighted is not None:
            self._choose(SWITCHABLE[options.highlighted])

    def _choose(self, mode: Mode) -> None:
        self._choice = mode
        message = self.query_one("#mode-message", Static)
        message.update("")
        if mode is self._current:
            self.dismiss(None)
            return
        if mode is Mode.LIVE:
            self.query_one("#live-confirm").display = True
            self.query_one("#phrase", Input).focus()
            return
        self.query_one("#live-confirm").display = False
        self._run(mode, False)

    @on(Input.Submitted, "#phrase")
    def _confirm_live(self) -> None:
        typed = self.query_one("#phrase", Input).value.strip()
        if typed != LIVE_PHRASE:
            self.query_one("#mode-message", Static).update(
                Text(f"The phrase does not match: type {LIVE_PHRASE} exactly."))
            return
        self._run(Mode.LIVE, True)

    @work(group="mode-switch", exclusive=True, exit_on_error=False)
    async def _run(self, mode: Mode, confirm_live: bool) -> None:
        message = self.query_one("#mode-message", Static)
        message.update(Text(f"switching to {mode.value.upper()}…"))
        refused = await self._apply(mode, confirm_live)
        if refused is None:
            self.dismiss(mode)
        else:
            message.update(Text(refused))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Keep the current mode."""
        self.dismiss(None)
