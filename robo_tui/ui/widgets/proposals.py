"""The proposals queue (semi-auto): pending trades waiting for a human, with what stands behind them.

Each row: id, symbol, side, quantity, notional, the strategy votes, the risk gate's pre-check right
now (allowed, or the denial codes), time to expiry counting down, and the analyst rationale. Rows
are keyed by proposal id and updated in place, so the cursor stays on the proposal being read.
The pre-check comes with the engine's view (the engine side runs the gate, never this pane).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import JustifyMethod
from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from robo_tui.domain.risk import RiskVerdict
from robo_tui.domain.signals import Proposal
from robo_tui.engine.view import ConsoleView
from robo_tui.ui.widgets.describe import proposal_detail_text, votes_text
from robo_tui.ui.widgets.format import fmt_countdown, fmt_money, fmt_qty
from robo_tui.ui.widgets.safe import safe_text

__all__ = ["ProposalsQueue", "proposal_detail_text"]

_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "Id"), ("symbol", "Symbol"), ("side", "Side"), ("qty", "Qty"),
    ("notional", "Notional"), ("expires", "Expires"), ("precheck", "Pre-check"),
    ("votes", "Votes"), ("rationale", "Rationale"),
)
COLUMN_KEYS: tuple[str, ...] = tuple(c[0] for c in _COLUMNS)
_RATIONALE_CHARS = 80


class ProposalsQueue(DataTable[Text]):
    """Pending proposals, oldest first; `selected_proposal_id` is what `a`/`r` act on."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "proposals--buy", "proposals--sell", "proposals--allowed", "proposals--denied",
        "proposals--urgent", "proposals--soon", "proposals--dim",
    }
    DEFAULT_CSS = """
    ProposalsQueue { height: auto; max-height: 12; min-height: 3; }
    ProposalsQueue > .proposals--buy { color: $success; text-style: bold; }
    ProposalsQueue > .proposals--sell { color: $error; text-style: bold; }
    ProposalsQueue > .proposals--allowed { color: $success; }
    ProposalsQueue > .proposals--denied { color: $error; text-style: bold; }
    ProposalsQueue > .proposals--urgent { color: $error; text-style: bold; }
    ProposalsQueue > .proposals--soon { color: $warning; }
    ProposalsQueue > .proposals--dim { color: $foreground-muted; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        self._shown: dict[str, tuple[tuple[str, str], ...] | None] = {}
        super().__init__(name=name, id=id, classes=classes, cursor_type="row")
        self._prechecks: dict[str, RiskVerdict] = {}
        self._proposals: dict[str, Proposal] = {}

    def on_mount(self) -> None:
        for key, label in _COLUMNS:
            justify: JustifyMethod = "right" if key in ("qty", "notional", "expires") else "left"
            self.add_column(Text(label, justify=justify), key=key)
        self.border_title = "Proposals"

    # ------------------------------------------------------------------ API

    def selected_proposal_id(self) -> str | None:
        """The id of the proposal under the cursor (None when the queue is empty)."""
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except CellDoesNotExist:
            return None
        return row_key.value

    def selected_proposal(self) -> Proposal | None:
        """The proposal under the cursor."""
        pid = self.selected_proposal_id()
        return self._proposals.get(pid) if pid is not None else None

    def precheck_of(self, proposal_id: str) -> RiskVerdict | None:
        """The last pre-check computed for a shown proposal."""
        return self._prechecks.get(proposal_id)

    def detail(self, proposal_id: str | None = None) -> Text | None:
        """The full detail of a shown proposal (the selected one by default)."""
        pid = proposal_id or self.selected_proposal_id()
        proposal = self._proposals.get(pid) if pid else None
        if proposal is None:
            return None
        return proposal_detail_text(proposal, self._prechecks.get(proposal.id))

    def update_from(self, view: ConsoleView) -> None:
        """Sync rows with the view's pending proposals: add new ones, drop decided ones, update
        the countdown and the pre-check in place."""
        if not self.columns:
            return
        pending = {p.proposal.id: p.proposal for p in view.pending}
        self._prechecks = {p.proposal.id: p.precheck for p in view.pending
                           if p.precheck is not None}
        now = view.now
        for pid in list(self._shown):
            if pid not in pending:
                self.remove_row(pid)
                del self._shown[pid]
                self._prechecks.pop(pid, None)
        for pid, proposal in sorted(pending.items(), key=lambda kv: kv[1].ts):
            left = (proposal.expires_at - now).total_seconds() if proposal.expires_at else None
            cells = self._cells(proposal, self._prechecks.get(pid), left)
            signature = tuple((c.plain, str(c.style)) for c in cells)
            if pid not in self._shown:
                self.add_row(*cells, key=pid)
            elif self._shown[pid] != signature:
                old = self._shown[pid] or ((None, None),) * len(cells)
                for key, cell, sig, was in zip(COLUMN_KEYS, cells, signature, old, strict=True):
                    if sig != was:
                        self.update_cell(pid, key, cell, update_width=key != "rationale")
            self._shown[pid] = signature
        self._proposals = pending
        self.border_title = f"Proposals ({len(pending)})"

    def notify_style_update(self) -> None:
        """The theme changed: re-colour every row at the next update."""
        super().notify_style_update()
        for pid in self._shown:
            self._shown[pid] = None

    # ------------------------------------------------------------------ internals

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"proposals--{name}", partial=True)

    def _cells(self, p: Proposal, precheck: RiskVerdict | None,
               left: float | None) -> tuple[Text, ...]:
        side = p.side.value.upper() + (" ↓" if p.reduce_only else "")
        if precheck is None:
            check = Text("…", self._style("dim"))
        elif precheck.allowed:
            check = Text("allowed", self._style("allowed"))
        else:
            check = safe_text(", ".join(precheck.codes) or precheck.state.value,
                              self._style("denied"))
        if left is None:
            expires = Text("—", self._style("dim"), justify="right")
        else:
            style: Style | str = ""
            if left <= 10:
                style = self._style("urgent")
            elif left <= 30:
                style = self._style("soon")
            expires = Text(fmt_countdown(left), style, justify="right")
        rationale = safe_text(p.rationale)
        rationale.truncate(_RATIONALE_CHARS, overflow="ellipsis")
        votes = votes_text(tuple(v for v in p.votes if v.score == v.score), limit=4)
        return (
            safe_text(p.id, self._style("dim")),
            safe_text(p.symbol, "bold"),
            Text(side, self._style("buy" if p.side.sign > 0 else "sell")),
            Text(fmt_qty(p.quantity), justify="right"),
            Text(fmt_money(p.notional), justify="right"),
            expires,
            check,
            votes,
            rationale,
        )

    def key_signature(self) -> dict[str, Any]:
        """What each shown row holds, as plain text (for tests and debugging)."""
        return {pid: [c for c, _ in sig] for pid, sig in self._shown.items() if sig}
