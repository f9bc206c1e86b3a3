"""The pane board: every pane of `PANES` laid out for the terminal it gets, rendering the
engine's view, and reporting what is selected.

Wide terminals (110x32 and up, e.g. 120x40) show every pane at once::

    status bar
    positions                        | risk meters            (slot "upper")
    event feed                       | equity sparkline       (slot "lower" | slot "side")
                                     | strategies
                                     | model selector
    proposals (semi-auto)                                     (slot "bottom")
    footer

From 140 columns the right column (risk, equity, strategies, models) takes half the width, so
the strategies' per-symbol votes and P&L and the models' latency and notes show in full.

Smaller terminals (80x24) keep the essentials — status, positions beside the risk meters, the
feed and the proposals — in the "1 Trade" view, and put the equity sparkline, the strategies and
the model selector in the "2 Ensemble" view (keys 1 and 2, or the tab bar). One screen with CSS
classes, not two screens, so focus and cursors survive a resize.

The board shows things and reports the selection; `MainScreen` adds the actions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Static, Tab, Tabs

from robo_tui.domain.events import Event, SignalsComputed
from robo_tui.domain.risk import Mode
from robo_tui.engine.view import ConsoleView
from robo_tui.ui.messages import EngineEvents, ViewChanged
from robo_tui.ui.panes import PANES, VIEWS, Pane, Slot
from robo_tui.ui.screens.dialogs import FeedFilter
from robo_tui.ui.widgets import (
    EventFeed,
    ModelSelector,
    PositionsTable,
    ProposalsQueue,
    StatusBar,
    StrategyPanel,
)
from robo_tui.ui.widgets.orders import OrdersTable

__all__ = ["VIEWS", "WIDE_FROM", "PaneBoard"]

WIDE_FROM = (110, 32)
"""From this width and height on, every pane is shown at once."""
GROW_FROM = 140
"""From this width on the right column takes half the screen (votes, latency, notes in full)."""


class PaneBoard(Screen[None]):
    """Status bar, view tabs and every registered pane, rendering the engine's latest view."""

    def __init__(self, panes: Sequence[Pane[Any]] = PANES) -> None:
        super().__init__(id="main-screen")
        self.view = "trade"
        """The view shown on a compact terminal."""
        self.feed_filter = FeedFilter()
        """What the feed shows."""
        self.latest: ConsoleView | None = None
        """The engine's view last shown (None until the engine has published one)."""
        self.events_handled = 0
        """Sequence number after the last engine event handled (see `EngineEvents`)."""
        self._specs = tuple(panes)
        self._panes: list[tuple[Pane[Any], Widget]] = []

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Tabs(*(Tab(label, id=f"view-{view}") for view, label in VIEWS), id="views")
        yield Static(Text("starting the engine…"), id="starting")
        with Vertical(id="body"):
            with Horizontal(id="upper", classes="view-trade"):
                yield from self._build("upper")
            with Horizontal(id="lower"):
                yield from self._build("lower")
                with Vertical(id="side", classes="view-ensemble"):
                    yield from self._build("side")
            yield from self._build("bottom")
        yield Footer()

    def _build(self, slot: Slot) -> Iterator[Widget]:
        for spec in self._specs:
            if spec.slot == slot:
                widget = spec.build()
                self._panes.append((spec, widget))
                yield widget

    def on_mount(self) -> None:
        for spec, pane in self._panes:
            if not pane.border_title:
                pane.border_title = spec.title
        self._layout_for(self.size.width, self.size.height)
        self.query_one("#positions").focus()

    # ------------------------------------------------------------------ layout

    @property
    def compact(self) -> bool:
        """Whether one view is shown at a time."""
        return self.has_class("-compact")

    def on_resize(self, event: Resize) -> None:
        self._layout_for(event.size.width, event.size.height)

    def _layout_for(self, width: int, height: int) -> None:
        compact = width < WIDE_FROM[0] or height < WIDE_FROM[1]
        self.set_class(compact, "-compact")
        self.set_class(not compact and width >= GROW_FROM, "-wide")
        footer = self.query_one(Footer)
        # a narrow footer drops the palette hint (ctrl+p still works) to show every key it can
        footer.compact = width < WIDE_FROM[0]
        footer.show_command_palette = width >= WIDE_FROM[0]
        self.show_view(self.view)

    def show_view(self, view: str) -> None:
        """Show `view` on a compact terminal (on a wide one: focus its first pane)."""
        if view not in dict(VIEWS):
            raise ValueError(f"unknown view {view!r}")
        self.view = view
        for name, _ in VIEWS:
            self.set_class(name == view, f"-view-{name}")
        tabs = self.query_one("#views", Tabs)
        if tabs.active != f"view-{view}":
            tabs.active = f"view-{view}"
        focused = self.focused
        if focused is None or not self._shown(focused) or not focused.has_class(f"view-{view}"):
            first = next((p for p in self.query(f".view-{view}") if p.focusable), None)
            if first is not None:
                first.focus()
        if self.latest is not None:
            self.render_view(self.latest)  # the panes just shown catch up

    def _shown(self, widget: Widget) -> bool:
        return not self.compact or widget.has_class(f"view-{self.view}")

    @on(DataTable.RowSelected)
    @on(EventFeed.EventSelected)
    async def _pane_selected(self, event: DataTable.RowSelected | EventFeed.EventSelected) -> None:
        # enter inside a pane (the table or list consumed the key): open what it selected
        event.stop()
        await self.run_action("open_selected")

    @on(Tabs.TabActivated, "#views")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        view = str(event.tab.id).removeprefix("view-")
        if view != self.view:
            self.show_view(view)

    # ------------------------------------------------------------------ data

    def set_started(self, text: str | None) -> None:
        """Show a line above the panes while the engine starts (or why it could not); None hides it."""
        banner = self.query_one("#starting", Static)
        banner.display = text is not None
        if text is not None:
            banner.update(Text(text))

    def on_engine_events(self, message: EngineEvents) -> None:
        """A batch of engine events: into the feed (and votes into the strategy panel); events
        already handled from an earlier, overlapping batch are skipped."""
        events = message.events[max(0, self.events_handled - message.first):]
        self.events_handled = max(self.events_handled, message.end)
        if not events:
            return
        self.query_one(EventFeed).add_events(events)
        strategies = self.query_one(StrategyPanel)
        for event in events:
            if isinstance(event, SignalsComputed):
                strategies.note_signal(event.decision)

    def on_view_changed(self, message: ViewChanged) -> None:
        """The engine published a new view."""
        self.render_view(message.view)

    def render_view(self, view: ConsoleView, *, all_panes: bool = False) -> None:
        """Show `view` in every visible pane (the status bar always; every pane: `all_panes`)."""
        self.latest = view
        self.query_one(StatusBar).update_from(view)
        proposals = self.query_one(ProposalsQueue)
        # the queue matters in semi-auto; elsewhere it only takes room while something is pending
        proposals.set_class(not view.pending and view.mode is not Mode.SEMI_AUTO, "-idle")
        for spec, pane in self._panes:
            if spec.render is not None and (all_panes or self._shown(pane)):
                spec.render(pane, view)

    def set_feed_filter(self, feed_filter: FeedFilter) -> None:
        """Show only what `feed_filter` lets through."""
        self.feed_filter = feed_filter
        kinds = set(feed_filter.kinds) if feed_filter.kinds else None
        self.query_one(EventFeed).set_filter(kinds, feed_filter.symbol)

    # ------------------------------------------------------------------ selection

    def selected_symbol(self) -> str | None:
        """The position under the cursor."""
        return self.query_one(PositionsTable).selected_symbol()

    def selected_proposal_id(self) -> str | None:
        """The pending proposal under the cursor."""
        return self.query_one(ProposalsQueue).selected_proposal_id()

    def selected_order_id(self) -> str | None:
        """The working order under the cursor in the Orders pane."""
        return self.query_one(OrdersTable).selected_order_id()

    def selected_strategy(self) -> str | None:
        """The strategy under the cursor."""
        return self.query_one(StrategyPanel).selected_strategy()

    def selected_model(self) -> tuple[str, str | None] | None:
        """The provider/model highlighted in the model selector."""
        return self.query_one(ModelSelector).selected_choice()

    def selected_event(self) -> Event | None:
        """The feed entry under the cursor."""
        return self.query_one(EventFeed).selected_event()

    def event_detail(self, event: Event) -> Text:
        """The full detail of a feed entry (with the headlines an idea cites)."""
        return self.query_one(EventFeed).detail(event)

    def focused_pane(self) -> str | None:
        """The id of the pane holding the focus (positions, proposals, feed, ...)."""
        node = self.focused
        while node is not None and not isinstance(node, Screen):
            if isinstance(node, Widget) and node.has_class("pane"):
                return node.id
            node = node.parent  # type: ignore[assignment]
        return None
