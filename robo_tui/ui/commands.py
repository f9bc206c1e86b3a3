"""Every console action in one table: the key bindings, the footer, the help screen and the command
palette are all generated from `ACTIONS`, so they can never disagree.

An action runs on the app shell (engine lifecycle, safety, quitting, themes) or on the main
screen, which owns the panes and their actions; `ConsoleAction.shell` says which.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from robo_tui.domain.frozen import frozen
from robo_tui.ui.screens.board import PaneBoard


@frozen
class ConsoleAction:
    """One thing the trader can do: its keys, the app action it runs and how it is described."""

    keys: str
    """Textual key names, comma separated (the first is the one shown)."""
    action: str
    """The action name (without `action_`), on the app or the main screen (`shell`)."""
    title: str
    """Short name (palette entry, footer label)."""
    help: str
    """One sentence for the help screen and the palette."""
    group: str
    """Help screen section."""
    priority: bool = False
    """Works on every screen, even inside dialogs and inputs (the kill switch)."""
    main_only: bool = True
    """Only meaningful on the main screen (acts on its selection)."""
    label: str = ""
    """How the key is written for humans (default: derived from `keys`)."""
    shell: bool = False
    """Runs on the app shell; else on the main screen (only for `main_only` actions)."""

    @property
    def on_app(self) -> bool:
        """Whether the app runs it (every action that works beyond the main screen does)."""
        return self.shell or not self.main_only

    @property
    def key_label(self) -> str:
        """The keys as a human reads them (`F9 / ctrl+k`)."""
        if self.label:
            return self.label
        return " / ".join(KEY_NAMES.get(k, k) for k in self.keys.split(","))


KEY_NAMES = {
    "f9": "F9", "question_mark": "?", "plus": "+", "minus": "-", "equals_sign": "=",
    "space": "space", "enter": "enter", "escape": "esc",
}

ACTIONS: tuple[ConsoleAction, ...] = (
    ConsoleAction("f9,ctrl+k", "kill_switch", "Kill switch",
                  "Halt trading now: HALTED at once, open orders cancelled, latched until resumed.",
                  "Safety", priority=True, main_only=False),
    ConsoleAction("shift+f9", "halt_and_flatten", "Halt and flatten all",
                  "Halt trading and close every position with reduce-only market orders (confirm).",
                  "Safety", priority=True, main_only=False, label="shift+F9"),
    ConsoleAction("ctrl+r", "resume", "Resume",
                  "Leave HALTED after confirming in a dialog (the only way out of the kill switch).",
                  "Safety", main_only=False),
    ConsoleAction("p", "toggle_pause", "Pause",
                  "Pause or resume the engine cycle without touching the risk state.",
                  "Safety", shell=True),
    ConsoleAction("a", "approve", "Approve",
                  "Approve the selected proposal; it passes the risk gate again, now.",
                  "Trading"),
    ConsoleAction("r", "reject", "Reject",
                  "Reject the selected proposal, with an optional reason.", "Trading"),
    ConsoleAction("o", "order_ticket", "Order",
                  "Open the manual order ticket (through the same risk gate).", "Trading"),
    ConsoleAction("x", "flatten", "Flatten",
                  "Flatten the selected position with a reduce-only market order (confirm).",
                  "Trading"),
    ConsoleAction("X", "flatten_all", "Flatten all",
                  "Flatten every position (confirm).", "Trading", label="X (shift+x)"),
    ConsoleAction("T", "trailing_stop", "Trailing stop",
                  "Set a trailing stop in percent on the selected position (robo-tui holds it).",
                  "Trading", label="T (shift+t)"),
    ConsoleAction("delete", "cancel_order", "Cancel order",
                  "Cancel the working order selected in the Orders pane (confirm).", "Trading",
                  label="del (orders)"),
    ConsoleAction("D", "drift", "Drift report",
                  "Show what the live venue holds that the journal cannot explain; accepting it "
                  "(confirm) lets new entries through again.", "Trading", main_only=False,
                  label="D (shift+d)"),
    ConsoleAction("m", "change_mode", "Mode",
                  "Switch paper / semi-auto / auto / live (confirm; LIVE needs a typed phrase).",
                  "Trading"),
    ConsoleAction("space", "toggle_strategy", "Toggle strategy",
                  "Switch the selected strategy on or off (recorded in the audit log).",
                  "Ensemble and models"),
    ConsoleAction("plus,equals_sign", "strategy_weight(0.1)", "Weight +",
                  "Raise the selected strategy's weight by 0.1.", "Ensemble and models",
                  label="+"),
    ConsoleAction("minus", "strategy_weight(-0.1)", "Weight -",
                  "Lower the selected strategy's weight by 0.1.", "Ensemble and models"),
    ConsoleAction("", "select_model", "Use the highlighted model",
                  "Make the model highlighted in the model selector the active analyst.",
                  "Ensemble and models", label="enter (models)"),
    ConsoleAction("", "refresh_models", "Refresh models",
                  "Discover the analyst providers and models available now (also every 5 min).",
                  "Ensemble and models", label="palette", shell=True),
    ConsoleAction("enter", "open_selected", "Details",
                  "Open the full detail of the selected feed entry or proposal.", "View"),
    ConsoleAction("f", "filter_feed", "Filter",
                  "Filter the event feed by kind and symbol.", "View"),
    ConsoleAction("1", "show_view('trade')", "Trade view",
                  "Positions, risk, feed, proposals (below 110x32 one view shows at a time).",
                  "View"),
    ConsoleAction("2", "show_view('ensemble')", "Ensemble view",
                  "Equity sparkline, strategies and the model selector.", "View"),
    ConsoleAction("c", "chart", "Chart",
                  "Chart of the selected position's symbol: candles, volume, entries and exits, "
                  "stop and target, the analyst's ideas; +/- zoom, arrows pan.", "View"),
    ConsoleAction("b", "backtests", "Backtests",
                  "The stored backtest runs, newest first; enter shows a run's report.", "View"),
    ConsoleAction("t", "cycle_theme", "Theme",
                  "Switch to the next theme (remembered for the next start).", "View",
                  main_only=False),
    ConsoleAction("question_mark", "help", "Help", "Show every key.", "View",
                  main_only=False),
    ConsoleAction("q", "request_quit", "Quit", "Quit after confirming; the engine stops cleanly.",
                  "View", shell=True),
    ConsoleAction("", "restart_engine", "Restart the engine",
                  "Retry a failed engine start, or restart the cycle loop after it stopped.",
                  "Safety", main_only=False, label="palette"),
    ConsoleAction("ctrl+c", "quit", "Quit now",
                  "Quit at once; the engine still stops cleanly.", "View", priority=True,
                  main_only=False),
)
"""Every action, in help-screen order."""

PANE_KEYS: tuple[tuple[str, str], ...] = (
    ("tab / shift+tab", "Move between panes"),
    ("↑ ↓ pgup pgdn", "Move the selection in the focused pane"),
    ("s / S (positions)", "Sort by the next column / reverse the order"),
    ("ctrl+p", "Command palette: every action by name"),
    ("esc", "Close a dialog or detail view"),
)
"""Keys handled by the panes and by Textual itself, listed on the help screen."""


FOOTER_ORDER: tuple[str, ...] = (
    "kill_switch", "resume", "approve", "reject", "order_ticket", "help", "request_quit",
    "flatten", "change_mode", "toggle_pause", "filter_feed",
)
"""Footer entries, most important first: a narrow terminal shows the first ones (the kill
switch, the proposal and order keys, then help and quit, so `?` always says the rest)."""


def bindings(*, main: bool) -> list[Binding]:
    """Textual bindings for the app (`main=False`: keys that work on every screen) or the main
    screen (`main=True`: its own keys, plus every footer entry, in `FOOTER_ORDER`, so the footer
    lists the kill switch first whatever the terminal width)."""
    result = []
    if main:
        by_action = {a.action: a for a in ACTIONS}
        for name in FOOTER_ORDER:
            item = by_action[name]
            result.append(Binding(item.keys, _target(item), item.title, show=True,
                                  priority=item.priority, key_display=_footer_key(item)))
    for item in ACTIONS:
        if item.main_only != main or not item.keys or (main and item.action in FOOTER_ORDER):
            continue
        action = item.action if main is False else _target(item)
        result.append(Binding(item.keys, action, item.title, show=False, priority=item.priority,
                              key_display=_footer_key(item)))
    return result


def _target(item: ConsoleAction) -> str:
    """The action as a main-screen binding names it (the app's carry the `app.` namespace)."""
    return f"app.{item.action}" if item.on_app else item.action


def _footer_key(item: ConsoleAction) -> str | None:
    first = item.keys.split(",")[0]
    return KEY_NAMES.get(first) if first in KEY_NAMES else None


def palette_actions(*, on_main: bool) -> Iterable[ConsoleAction]:
    """The actions the palette offers on the current screen."""
    return (a for a in ACTIONS if on_main or not a.main_only)


def _display(item: ConsoleAction) -> str:
    # the palette parses prompts as markup: no square brackets here
    return f"{item.title}  ·  {item.key_label}"


class ConsoleCommands(Provider):
    """Command palette provider: every console action, searchable by name, with its key."""

    def _on_main(self) -> bool:
        return isinstance(self.screen, PaneBoard)

    async def discover(self) -> Hits:
        """Everything, before the trader types."""
        for item in palette_actions(on_main=self._on_main()):
            yield DiscoveryHit(_display(item), partial(self._run, item), text=item.title,
                               help=item.help)

    async def search(self, query: str) -> Hits:
        """Actions whose name or description matches the query."""
        matcher = self.matcher(query)
        for item in palette_actions(on_main=self._on_main()):
            text = _display(item)
            score = max(matcher.match(text), matcher.match(item.help) * 0.5)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self._run, item), text=text,
                          help=item.help)

    async def _run(self, item: ConsoleAction) -> None:
        await self.app.run_action(item.action, None if item.on_app else self.screen)
