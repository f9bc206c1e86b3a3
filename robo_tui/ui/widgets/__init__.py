"""The console's panes. Each is a Textual widget with `update_from(view)`, which shows the engine's
published `ConsoleView` cheaply (tables update cells in place and keep the cursor). The main
screen composes them from the registry in `robo_tui/ui/panes.py`.

Panes and what the app calls:

- `StatusBar` (status.py): one line, mode/state/equity/P&L/clock/market/connections.
- `PositionsTable` (positions.py): `selected_symbol()`; `s`/`S` or a header click sorts.
- `EventFeed` (feed.py): `add_events(events)`, `set_filter(kinds, symbol)`, `selected_event()`,
  `detail(event)`; posts `EventFeed.EventSelected` on Enter/double-click. `EventDetail` shows
  `detail_text(event)`. The feed is fed by events, not by the view.
- `ProposalsQueue` (proposals.py): `selected_proposal_id()`, `detail()`;
  `proposal_detail_text(proposal, precheck)`.
- `RiskMeters` (meters.py): bars from the view's meters (`robo_tui.engine.meters`).
- `StrategyPanel` (strategies.py): `note_signal(decision)` for each SignalsComputed,
  `selected_strategy()`.
- `ModelSelector` (models.py): `selected_choice()` → (provider, model | None).
- `EquitySparkline` (equity.py): the session's equity curve.
- `safe_text(s)` (safe.py): the only way external text reaches the screen.

Layout guidance for the main screen (every pane renders from 20 columns and 3 rows up):

At 80x24 (the smallest supported)::

    StatusBar                                    (1 row, docked top)
    PositionsTable          | RiskMeters         (~7 rows; meters 34 cols, shows the worst first
                            |                     when short of rows)
    EventFeed                                    (1fr, at least 6 rows)
    ProposalsQueue                               (height auto, max 6; hide when empty and mode is
                                                  not semi-auto)
    Footer                                       (1 row)

  Strategies, models and equity go in a TabbedContent that shares the positions slot (tabs
  "Positions", "Strategies", "Models", "Equity"), or behind a key that toggles a side column.

At 120x40 everything is visible at once::

    StatusBar
    PositionsTable (1fr)          | RiskMeters (40 cols, 7 rows)
                                  | EquitySparkline (40 cols, 3 rows + border)
    EventFeed (1fr)               | StrategyPanel (height auto)
                                  | ModelSelector (height auto)
    ProposalsQueue (auto, max 8)
    Footer

  Use a `-wide` class on the screen (set in `on_resize` when width >= 110 and height >= 32) to
  switch between the two, rather than two screens, so focus and cursors survive a resize.

Borders and titles: the panes set `border_title` (e.g. "Positions (3)") and `border_subtitle`
(sort order, filter, unseen events); give them a `border` in the app's CSS to show it.
"""

from robo_tui.ui.widgets.equity import EquitySparkline
from robo_tui.ui.widgets.feed import EventDetail, EventFeed, detail_text
from robo_tui.ui.widgets.meters import RiskMeters
from robo_tui.ui.widgets.models import ModelSelector
from robo_tui.ui.widgets.positions import PositionsTable
from robo_tui.ui.widgets.proposals import ProposalsQueue, proposal_detail_text
from robo_tui.ui.widgets.safe import safe_str, safe_text
from robo_tui.ui.widgets.status import StatusBar
from robo_tui.ui.widgets.strategies import StrategyPanel

__all__ = [
    "EquitySparkline", "EventDetail", "EventFeed", "ModelSelector", "PositionsTable",
    "ProposalsQueue", "RiskMeters", "StatusBar", "StrategyPanel", "detail_text",
    "proposal_detail_text", "safe_str", "safe_text",
]
