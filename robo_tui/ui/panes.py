"""Every pane of the main screen in one table: which widget, where it sits, which compact view it
belongs to and what of the engine's view it renders. The main screen is composed from `PANES`,
so adding a pane is one widget file plus one line here (see docs/console.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Literal, TypeVar

from textual.widget import Widget

from robo_tui.domain.frozen import frozen
from robo_tui.engine.view import ConsoleView
from robo_tui.ui.widgets import (
    EquitySparkline,
    EventFeed,
    ModelSelector,
    PositionsTable,
    ProposalsQueue,
    RiskMeters,
    StrategyPanel,
)
from robo_tui.ui.widgets.orders import OrdersTable

__all__ = ["PANES", "SLOTS", "VIEWS", "Pane", "Slot", "ViewName"]

Slot = Literal["upper", "lower", "side", "bottom"]
"""Where a pane sits: the upper row (beside the positions), the lower row (beside the side
column), the side column (stacked), or full width at the bottom."""
SLOTS: tuple[Slot, ...] = ("upper", "lower", "side", "bottom")

ViewName = Literal["trade", "ensemble"]
VIEWS: tuple[tuple[ViewName, str], ...] = (("trade", "1 Trade"), ("ensemble", "2 Ensemble"))
"""The views of a compact terminal (id, tab label)."""

W = TypeVar("W", bound=Widget)


@frozen
class Pane(Generic[W]):
    """One pane of the main screen."""

    id: str
    """Its widget id (also what `focused_pane()` reports)."""
    title: str
    """Its border title until the widget sets a fuller one."""
    widget: Callable[..., W]
    """Builds the widget (called with `id=` and `classes=`)."""
    slot: Slot
    view: ViewName
    """The compact view that shows it (a wide terminal shows every pane)."""
    render: Callable[[W, ConsoleView], None] | None
    """Shows the engine's view in the widget; None for a pane fed by events instead."""

    def build(self) -> W:
        """A new widget for this pane, with the classes the layout and CSS expect."""
        return self.widget(id=self.id, classes=f"pane view-{self.view}")


PANES: tuple[Pane[Any], ...] = (
    Pane("positions", "Positions", PositionsTable, "upper", "trade", PositionsTable.update_from),
    Pane("risk", "Risk", RiskMeters, "upper", "trade", RiskMeters.update_from),
    Pane("feed", "Event feed", EventFeed, "lower", "trade", None),
    Pane("equity", "Equity", EquitySparkline, "side", "ensemble", EquitySparkline.update_from),
    Pane("strategies", "Strategies", StrategyPanel, "side", "ensemble", StrategyPanel.update_from),
    Pane("models", "Analyst models", ModelSelector, "side", "ensemble", ModelSelector.update_from),
    Pane("proposals", "Proposals", ProposalsQueue, "bottom", "trade", ProposalsQueue.update_from),
    Pane("orders", "Orders", OrdersTable, "bottom", "trade", OrdersTable.update_from),
)
"""The main screen's panes, in layout (and tab) order within each slot."""
