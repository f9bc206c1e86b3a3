"""The strategy ensemble: each voter's switch, weight, track record and current vote per symbol.

Rows are the ensemble's strategies (toggle/reweight through the engine), then any analyst voter
that has voted, then the ensemble's own combined score. One column per symbol holds the voter's
latest vote (from the last `SignalsComputed` the app passes to `note_signal`).
"""

from __future__ import annotations

import math
from typing import ClassVar

from rich.console import JustifyMethod
from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from robo_tui.domain.signals import EnsembleDecision
from robo_tui.engine.ensemble import StrategyStats
from robo_tui.engine.view import ConsoleView
from robo_tui.ui.widgets.format import fmt_money, fmt_score
from robo_tui.ui.widgets.safe import safe_text

__all__ = ["StrategyPanel"]

ENSEMBLE_ROW = "\0ensemble"
_ANALYST_PREFIX = "analyst:"
_FIXED: tuple[tuple[str, str], ...] = (
    ("name", "Strategy"), ("on", "On"), ("weight", "Wt"), ("hit", "Hit"), ("trades", "Tr"),
    ("pnl", "P&L"),
)


class StrategyPanel(DataTable[Text]):
    """Enabled state, weight, hit rate, P&L attribution and the current vote per symbol."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "strategies--on", "strategies--off", "strategies--long", "strategies--short",
        "strategies--dim", "strategies--profit", "strategies--loss", "strategies--total",
    }
    DEFAULT_CSS = """
    StrategyPanel { height: auto; max-height: 14; min-height: 3; }
    StrategyPanel > .strategies--on { color: $success; text-style: bold; }
    StrategyPanel > .strategies--off { color: $error; }
    StrategyPanel > .strategies--long { color: $success; }
    StrategyPanel > .strategies--short { color: $error; }
    StrategyPanel > .strategies--dim { color: $foreground-muted; }
    StrategyPanel > .strategies--profit { color: $success; }
    StrategyPanel > .strategies--loss { color: $error; }
    StrategyPanel > .strategies--total { text-style: bold; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        self._shown: dict[str, tuple[tuple[str, str], ...] | None] = {}
        super().__init__(name=name, id=id, classes=classes, cursor_type="row")
        self._symbols: list[str] = []
        self._votes: dict[str, dict[str, float]] = {}  # symbol -> voter -> score
        self._decisions: dict[str, EnsembleDecision] = {}
        self._strategies: set[str] = set()
        self._dirty = True

    # ------------------------------------------------------------------ API

    def note_signal(self, decision: EnsembleDecision) -> None:
        """Remember the latest votes for `decision.symbol` (called for each SignalsComputed)."""
        self._votes[decision.symbol] = {v.voter: v.score for v in decision.votes}
        self._decisions[decision.symbol] = decision
        self._dirty = True

    def selected_strategy(self) -> str | None:
        """The strategy under the cursor; None on an analyst or ensemble row or when empty."""
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except CellDoesNotExist:
            return None
        key = row_key.value
        return key if key in self._strategies else None

    def update_from(self, view: ConsoleView) -> None:
        """Sync rows and cells with the view's ensemble slots and stats (cells change in place)."""
        symbols = list(view.symbols)
        if symbols != self._symbols or not self.columns:
            self._rebuild_columns(symbols)
        slots = view.strategies
        stats = view.strategy_stats
        self._strategies = {s.name for s in slots}
        rows: dict[str, tuple[Text, ...]] = {}
        for slot in slots:
            rows[slot.name] = self._row(slot.name, slot.enabled, slot.weight, stats.get(slot.name))
        analysts = sorted({voter for votes in self._votes.values() for voter in votes
                           if voter.startswith(_ANALYST_PREFIX)}
                          | {name for name in stats if name.startswith(_ANALYST_PREFIX)})
        analyst_weight = view.analyst_weight
        for name in analysts:
            rows[name] = self._row(name, None, analyst_weight, stats.get(name))
        rows[ENSEMBLE_ROW] = self._ensemble_row()
        self._apply(rows)

    def notify_style_update(self) -> None:
        """The theme changed: re-colour every row at the next update."""
        super().notify_style_update()
        for key in self._shown:
            self._shown[key] = None

    # ------------------------------------------------------------------ internals

    def _rebuild_columns(self, symbols: list[str]) -> None:
        self.clear(columns=True)
        self._shown.clear()
        self._symbols = symbols
        for key, label in _FIXED:
            justify: JustifyMethod = "left" if key in ("name", "on") else "right"
            self.add_column(Text(label, justify=justify), key=key)
        for symbol in symbols:
            self.add_column(safe_text(symbol), key=f"sym:{symbol}")
        self.border_title = "Strategies"

    def _apply(self, rows: dict[str, tuple[Text, ...]]) -> None:
        keys = [str(c.value) for c in self.columns]
        for key in list(self._shown):
            if key not in rows:
                self.remove_row(key)
                del self._shown[key]
        for key, cells in rows.items():
            signature = tuple((c.plain, str(c.style)) for c in cells)
            if key not in self._shown:
                if key != ENSEMBLE_ROW and ENSEMBLE_ROW in self._shown:
                    # keep the ensemble row last: re-add it after the new voter
                    self.remove_row(ENSEMBLE_ROW)
                    del self._shown[ENSEMBLE_ROW]
                    self.add_row(*cells, key=key)
                    self._shown[key] = signature
                    ensemble = rows[ENSEMBLE_ROW]
                    self.add_row(*ensemble, key=ENSEMBLE_ROW)
                    self._shown[ENSEMBLE_ROW] = tuple((c.plain, str(c.style)) for c in ensemble)
                    continue
                self.add_row(*cells, key=key)
            elif self._shown[key] != signature:
                old = self._shown[key] or ((None, None),) * len(cells)
                for column, cell, sig, was in zip(keys, cells, signature, old, strict=True):
                    if sig != was:
                        self.update_cell(key, column, cell, update_width=True)
            self._shown[key] = signature
        self._dirty = False

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"strategies--{name}", partial=True)

    def _vote_cell(self, score: float | None) -> Text:
        if score is None or not math.isfinite(score):
            return Text("—", self._style("dim"), justify="right")
        style = self._style("long" if score > 0 else "short" if score < 0 else "dim")
        return Text(fmt_score(score), style, justify="right")

    def _row(self, name: str, enabled: bool | None, weight: float,
             stat: StrategyStats | None) -> tuple[Text, ...]:
        if enabled is None:
            on = Text("ai", self._style("dim"))
        else:
            on = Text("✓ on" if enabled else "✗ off", self._style("on" if enabled else "off"))
        trades = stat.trades if stat is not None else 0
        hit = stat.hit_rate if stat is not None else math.nan
        pnl = stat.pnl if stat is not None else 0.0
        dim = self._style("dim")
        cells = [
            safe_text(name, dim if enabled is False else ""),
            on,
            Text(f"{weight:g}", justify="right"),
            Text("—" if not trades or not math.isfinite(hit) else f"{hit:.0%}", justify="right"),
            Text(str(trades), justify="right"),
            Text(fmt_money(pnl, signed=True), self._style("profit" if pnl >= 0 else "loss")
                 if trades else dim, justify="right"),
        ]
        cells += [self._vote_cell(self._votes.get(s, {}).get(name)) for s in self._symbols]
        return tuple(cells)

    def _ensemble_row(self) -> tuple[Text, ...]:
        total = self._style("total")
        cells = [Text("ensemble", total), Text(""), Text(""), Text(""), Text(""), Text("")]
        for symbol in self._symbols:
            decision = self._decisions.get(symbol)
            if decision is None:
                cells.append(Text("—", self._style("dim"), justify="right"))
                continue
            cell = self._vote_cell(decision.score)
            if decision.direction is not None:
                cell.append(f" {decision.direction.value[0].upper()}")
            cell.stylize(total)
            cells.append(cell)
        return tuple(cells)
