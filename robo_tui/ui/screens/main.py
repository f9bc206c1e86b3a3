"""The main screen: every pane of the trading console, laid out for the terminal it gets.

Wide terminals (110x32 and up, e.g. 120x40) show every pane at once::

    status bar
    positions                        | risk meters
    event feed                       | equity sparkline
                                     | strategies
                                     | model selector
    proposals (semi-auto)
    footer

Smaller terminals (80x24) keep the essentials — status, positions beside the risk meters, the
feed and the proposals — in the "1 Trade" view, and put the equity sparkline, the strategies and
the model selector in the "2 Ensemble" view (keys 1 and 2, or the tab bar). One screen with CSS
classes, not two screens, so focus and cursors survive a resize.

The screen shows things and reports the selection; the app runs the actions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Static, Tab, Tabs

from robo_tui.domain.events import (
    BarsReceived,
    CycleCompleted,
    Event,
    PortfolioUpdated,
    QuotesUpdated,
    SignalsComputed,
)
from robo_tui.domain.risk import Mode
from robo_tui.ui.commands import bindings
from robo_tui.ui.messages import EngineEvents
from robo_tui.ui.screens.dialogs import FeedFilter
from robo_tui.ui.widgets import (
    EquitySparkline,
    EventFeed,
    ModelSelector,
    PositionsTable,
    ProposalsQueue,
    RiskMeters,
    StatusBar,
    StrategyPanel,
)

if TYPE_CHECKING:
    from robo_tui.engine.engine import Engine

VIEWS: tuple[tuple[str, str], ...] = (("trade", "1 Trade"), ("ensemble", "2 Ensemble"))
"""The views of a compact terminal (id, tab label)."""

WIDE_FROM = (110, 32)
"""From this width and height on, every pane is shown at once."""

_QUIET = (QuotesUpdated, BarsReceived, PortfolioUpdated, CycleCompleted)
"""Events that only change numbers the timed refresh picks up anyway."""


class MainScreen(Screen[None]):
    """Status, positions, proposals, feed, risk, strategies, models and equity in one screen."""

    BINDINGS: ClassVar[list[BindingType]] = list(bindings(main=True))

    def __init__(self) -> None:
        super().__init__(id="main-screen")
        self.view = "trade"
        """The view shown on a compact terminal."""
        self.feed_filter = FeedFilter()
        """What the feed shows."""
        self.dirty = True
        """Something changed since the panes were last refreshed."""

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Tabs(*(Tab(label, id=f"view-{view}") for view, label in VIEWS), id="views")
        yield Static(Text("starting the engine…"), id="starting")
        with Vertical(id="body"):
            with Horizontal(id="upper", classes="view-trade"):
                yield PositionsTable(id="positions", classes="pane view-trade")
                yield RiskMeters(id="risk", classes="pane view-trade")
            with Horizontal(id="lower"):
                yield EventFeed(id="feed", classes="pane view-trade")
                with Vertical(id="side", classes="view-ensemble"):
                    yield EquitySparkline(id="equity", classes="pane view-ensemble")
                    yield StrategyPanel(id="strategies", classes="pane view-ensemble")
                    yield ModelSelector(id="models", classes="pane view-ensemble")
            yield ProposalsQueue(id="proposals", classes="pane view-trade")
        yield Footer()

    def on_mount(self) -> None:
        titles = {"proposals": "Proposals", "feed": "Event feed", "risk": "Risk",
                  "equity": "Equity", "strategies": "Strategies", "models": "Analyst models"}
        for pane_id, title in titles.items():
            pane = self.query_one(f"#{pane_id}")
            if not pane.border_title:
                pane.border_title = title
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
        self.dirty = True

    def _shown(self, widget: Widget) -> bool:
        return not self.compact or widget.has_class(f"view-{self.view}")

    @on(DataTable.RowSelected)
    @on(EventFeed.EventSelected)
    async def _pane_selected(self, event: DataTable.RowSelected | EventFeed.EventSelected) -> None:
        # enter inside a pane (the table or list consumed the key): open what it selected
        event.stop()
        await self.run_action("app.open_selected")

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
        """A batch of engine events: into the feed (and votes into the strategy panel)."""
        events = message.events
        self.query_one(EventFeed).add_events(events)
        strategies = self.query_one(StrategyPanel)
        for event in events:
            if isinstance(event, SignalsComputed):
                strategies.note_signal(event.decision)
        if not self.dirty:
            self.dirty = any(not isinstance(e, _QUIET) for e in events)

    def refresh_panes(self, engine: Engine, *, all_panes: bool = False) -> None:
        """Re-read the engine into every visible pane (the status bar always)."""
        self.query_one(StatusBar).update_from(engine)
        proposals = self.query_one(ProposalsQueue)
        # the queue matters in semi-auto; elsewhere it only takes room while something is pending
        proposals.set_class(not engine.pending and engine.mode is not Mode.SEMI_AUTO, "-idle")
        for pane in self.query(".pane"):
            if all_panes or self._shown(pane):
                update = getattr(pane, "update_from", None)
                if update is not None:
                    update(engine)
        self.dirty = False

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
