"""Positions: a live, sortable table of what is held.

Rows are keyed by symbol and updated cell by cell (only cells whose value changed), so the cursor
and the selection survive the 4 Hz refresh. `s` cycles the sort column, `S` reverses it, and a
click on a header sorts by that column (again: reverses).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

from rich.console import JustifyMethod
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from robo_tui.domain.frozen import frozen
from robo_tui.engine.view import ConsoleView
from robo_tui.ui.widgets.format import fmt_money, fmt_pct, fmt_price, fmt_qty
from robo_tui.ui.widgets.safe import safe_text

__all__ = ["PositionRow", "PositionsTable", "position_rows"]


@frozen
class PositionRow:
    """One held position as the table shows it."""

    symbol: str
    side: str
    quantity: float
    avg_price: float
    last: float | None
    unrealized: float
    pct_equity: float
    stop: float | None
    target: float | None
    stop_by: str = ""
    """Who holds the stop: "venue", "robo-tui" or "" (only the position's record)."""
    target_by: str = ""
    """Who holds the target (as `stop_by`)."""
    trailing: bool = False
    """Whether the stop trails the best price (shown with `TRAIL_MARK`)."""


TRAIL_MARK = "~"
"""Prefix of a stop that trails the best price (robo-tui holds every trail)."""

ROBO_MARK = " ʀ"
"""Suffix of a stop or target robo-tui holds itself (watched on every price); a level without
it rests at the venue (or is only the position's record)."""


def position_rows(view: ConsoleView) -> list[PositionRow]:
    """Every non-zero position of `view`, marked at its latest price, with its stop/target and
    who holds each (robo-tui, the venue, or only the position's record)."""
    equity = view.equity
    rows = []
    for held in view.positions:
        pos, last = held.position, held.last
        mark = last if last is not None else pos.avg_price
        rows.append(PositionRow(
            symbol=pos.symbol, side="LONG" if pos.quantity > 0 else "SHORT",
            quantity=abs(pos.quantity), avg_price=pos.avg_price, last=last,
            unrealized=pos.unrealized_pnl(mark),
            pct_equity=abs(pos.quantity * mark) / equity if equity > 0 else math.nan,
            stop=held.stop, target=held.target,
            stop_by=held.stop_held_by or "", target_by=held.target_held_by or "",
            trailing=held.trailing,
        ))
    return rows


def _nan_last(value: float | None) -> tuple[int, float]:
    if value is None or not math.isfinite(value):
        return (1, 0.0)
    return (0, value)


# column key, label, sort key
_COLUMNS: tuple[tuple[str, str, Callable[[PositionRow], Any]], ...] = (
    ("symbol", "Symbol", lambda r: r.symbol),
    ("side", "Side", lambda r: r.side),
    ("qty", "Qty", lambda r: r.quantity),
    ("avg", "Avg", lambda r: r.avg_price),
    ("last", "Last", lambda r: _nan_last(r.last)),
    ("upnl", "Unreal P&L", lambda r: r.unrealized),
    ("pct", "% Eq", lambda r: _nan_last(r.pct_equity)),
    ("stop", "Stop", lambda r: _nan_last(r.stop)),
    ("target", "Target", lambda r: _nan_last(r.target)),
)
COLUMN_KEYS: tuple[str, ...] = tuple(c[0] for c in _COLUMNS)
_LABELS = {k: label for k, label, _ in _COLUMNS}
_SHORT_LABELS = {"upnl": "P&L"}
"""Headers for a narrow table (a header wider than its values costs a column)."""
_LAYOUTS: tuple[tuple[frozenset[str], bool], ...] = (
    (frozenset(), False),
    (frozenset({"avg"}), False),
    (frozenset({"avg"}), True),
    (frozenset({"avg", "target"}), True),
    (frozenset({"avg", "target", "stop"}), True),
    (frozenset({"avg", "target", "stop", "side"}), True),
    (frozenset({"avg", "target", "stop", "pct"}), True),
)
"""(columns dropped, short headers) from the widest layout to the narrowest: the entry price
goes first (the P&L says what it did), then target and stop (the chart and the ticket show
them), then the side column, its word moving into the quantity's sign and colour (-99.905217
in red for a short: three crypto positions with long quantities keep % of equity at 80x24);
symbol, qty, last and unrealised P&L always stay."""
_CELL_PADDING = 2  # DataTable's default cell padding, both sides


def fit_columns(rows: list[tuple[str, ...]], width: int) -> tuple[tuple[str, str], ...]:
    """(key, header) of the columns to show in `width` cells for `rows` (plain cell texts in
    `COLUMN_KEYS` order): the widest layout of `_LAYOUTS` whose columns all fit."""
    widths = {k: max((len(r[i]) for r in rows), default=0) for i, k in enumerate(COLUMN_KEYS)}
    qty, side = COLUMN_KEYS.index("qty"), COLUMN_KEYS.index("side")
    signed = max((len(r[qty]) + (r[side] == "SHORT") for r in rows), default=0)
    chosen: tuple[tuple[str, str], ...] = ()
    for dropped, short in _LAYOUTS:
        chosen = tuple((k, _SHORT_LABELS.get(k, _LABELS[k]) if short else _LABELS[k])
                       for k in COLUMN_KEYS if k not in dropped)
        wide = dict(widths, qty=signed) if "side" in dropped else widths
        need = sum(max(len(label), wide[k]) + _CELL_PADDING for k, label in chosen)
        if need <= width:
            break
    return chosen


class PositionsTable(DataTable[Text]):
    """Symbol, side, qty, avg price, last, unrealized P&L, % of equity, stop and target; a
    narrow table drops columns in `_LAYOUTS` order so P&L and % of equity are never cut."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "cycle_sort", "Sort", show=False),
        Binding("S", "reverse_sort", "Reverse sort", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "positions--profit", "positions--loss", "positions--long", "positions--short",
        "positions--dim",
    }
    DEFAULT_CSS = """
    PositionsTable { height: 1fr; min-height: 3; }
    PositionsTable > .positions--profit { color: $success; }
    PositionsTable > .positions--loss { color: $error; }
    PositionsTable > .positions--long { color: $success; text-style: bold; }
    PositionsTable > .positions--short { color: $error; text-style: bold; }
    PositionsTable > .positions--dim { color: $foreground-muted; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        self._rows: dict[str, PositionRow] = {}
        self._shown: dict[str, tuple[tuple[str, str, tuple[Any, ...]], ...] | None] = {}
        super().__init__(name=name, id=id, classes=classes, cursor_type="row",
                         zebra_stripes=True)
        self._plain: dict[str, str] = {}  # symbol -> its cell text (the sort looks rows up by it)
        self._layout: tuple[tuple[str, str], ...] = ()
        self.sort_column: str = "symbol"
        """The column the rows are ordered by."""
        self.sort_reverse: bool = False
        """Whether the order is descending."""

    def on_mount(self) -> None:
        self._set_columns(tuple((k, label) for k, label, _ in _COLUMNS))
        self.border_title = "Positions"

    def on_resize(self) -> None:
        """Another width may fit other columns."""
        self._relayout()

    @property
    def shown_columns(self) -> tuple[str, ...]:
        """The keys of the columns shown now (a narrow table drops some)."""
        return tuple(k for k, _ in self._layout)

    def _set_columns(self, layout: tuple[tuple[str, str], ...]) -> None:
        self.clear(columns=True)
        self._shown.clear()
        self._plain.clear()
        self._layout = layout
        for key, label in layout:
            justify: JustifyMethod = "left" if key in ("symbol", "side") else "right"
            self.add_column(Text(label, justify=justify), key=key)

    def _relayout(self) -> bool:
        """Choose the columns for the width now; True when they changed (rows then re-added)."""
        width = self.scrollable_content_region.width
        if width <= 0 or not self.columns:
            return False
        plain = [tuple(c.plain for c in self._cells(r)) for r in self._rows.values()]
        layout = fit_columns(plain, width)
        if layout == self._layout:
            return False
        self._set_columns(layout)
        rows, self._rows = self._rows, {}
        if rows:
            self._show(rows)
        return True

    # ------------------------------------------------------------------ API

    def selected_symbol(self) -> str | None:
        """The symbol under the cursor (None when the table is empty)."""
        if not self.row_count or self.cursor_row < 0:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except CellDoesNotExist:
            return None
        return row_key.value

    def update_from(self, view: ConsoleView) -> None:
        """Bring the rows up to date: add, remove, and update only the cells that changed."""
        if not self.columns:
            return  # not mounted yet
        rows = {r.symbol: r for r in position_rows(view)}
        if rows == self._rows:
            return
        self._show(rows)
        self._relayout()

    def _show(self, rows: dict[str, PositionRow]) -> None:
        selected = self.selected_symbol()
        order_changed = False
        for symbol in list(self._shown):
            if symbol not in rows:
                self.remove_row(symbol)
                del self._shown[symbol]
                self._plain.pop(symbol, None)
                order_changed = True
        sort_key = self._sort_key()
        shown = self.shown_columns
        signed = "side" not in shown
        for symbol, row in rows.items():
            cells = tuple(c for k, c in zip(COLUMN_KEYS, self._cells(row, signed=signed),
                                            strict=True) if k in shown)
            signature = tuple((c.plain, str(c.style), tuple(c.spans)) for c in cells)
            old = self._shown.get(symbol)
            if symbol not in self._plain:
                self.add_row(*cells, key=symbol)
                self._plain[symbol] = cells[0].plain
                order_changed = True
            elif old != signature:
                old_cells = old or ((None, None, None),) * len(cells)
                for key, new, new_sig, was in zip(shown, cells, signature, old_cells,
                                                  strict=True):
                    if new_sig != was:
                        self.update_cell(symbol, key, new, update_width=True)
                previous = self._rows.get(symbol)
                if previous is None or sort_key(previous) != sort_key(row):
                    order_changed = True
            self._shown[symbol] = signature
        self._rows = rows
        self.border_title = f"Positions ({len(rows)})"
        if order_changed:
            self._apply_sort(keep=selected)

    def notify_style_update(self) -> None:
        """The theme or CSS changed: re-colour every cell at the next update."""
        super().notify_style_update()
        if self._shown:
            for symbol in self._shown:
                self._shown[symbol] = None
            self._rows = {}

    def sort_by(self, column: str, *, reverse: bool | None = None) -> None:
        """Order the rows by `column` (one of `COLUMN_KEYS`), keeping the selected row selected."""
        if column not in COLUMN_KEYS:
            raise ValueError(f"unknown column {column!r}; one of {', '.join(COLUMN_KEYS)}")
        self.sort_column = column
        if reverse is not None:
            self.sort_reverse = reverse
        self._apply_sort(keep=self.selected_symbol())

    # ------------------------------------------------------------------ actions

    def action_cycle_sort(self) -> None:
        """Sort by the next column."""
        i = COLUMN_KEYS.index(self.sort_column)
        self.sort_by(COLUMN_KEYS[(i + 1) % len(COLUMN_KEYS)], reverse=False)
        self.notify_sort()

    def action_reverse_sort(self) -> None:
        """Reverse the order."""
        self.sort_by(self.sort_column, reverse=not self.sort_reverse)

    def notify_sort(self) -> None:
        """Show the sort column in the border subtitle."""
        arrow = "↓" if self.sort_reverse else "↑"
        labels = {k: v for k, v, _ in _COLUMNS}
        self.border_subtitle = f"sort: {labels[self.sort_column]} {arrow}"

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        """A click on a header sorts by that column; a second click reverses."""
        event.stop()
        column = str(event.column_key.value)
        if column == self.sort_column:
            self.sort_by(column, reverse=not self.sort_reverse)
        else:
            self.sort_by(column, reverse=False)

    # ------------------------------------------------------------------ internals

    def _sort_key(self) -> Callable[[PositionRow], Any]:
        return next(k for c, _, k in _COLUMNS if c == self.sort_column)

    def _apply_sort(self, *, keep: str | None) -> None:
        key = self._sort_key()
        by_plain = {plain: self._rows.get(symbol) for symbol, plain in self._plain.items()}

        def row_key(cell: Text) -> Any:
            row = by_plain.get(cell.plain)
            return (0, key(row), cell.plain) if row is not None else (1, 0, cell.plain)

        self.sort("symbol", key=row_key, reverse=self.sort_reverse)
        self.notify_sort()
        if keep is not None and keep in self._rows:
            self.move_cursor(row=self.get_row_index(keep), animate=False)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"positions--{name}", partial=True)

    def _cells(self, r: PositionRow, *, signed: bool = False) -> tuple[Text, ...]:
        """The row's cells in `COLUMN_KEYS` order; `signed`: the quantity carries the side (a
        short negative, both coloured) for a layout without the side column."""
        pnl_style = self._style("profit" if r.unrealized >= 0 else "loss")
        side_style = self._style("long" if r.side == "LONG" else "short")
        dim = self._style("dim")
        qty = fmt_qty(r.quantity)
        return (
            safe_text(r.symbol),
            Text(r.side, side_style),
            Text(("-" if r.side != "LONG" else "") + qty, side_style, justify="right")
            if signed else Text(qty, justify="right"),
            Text(fmt_price(r.avg_price, r.symbol), justify="right"),
            Text(fmt_price(r.last, r.symbol), justify="right"),
            Text(fmt_money(r.unrealized, signed=True), pnl_style, justify="right"),
            Text(fmt_pct(r.pct_equity, digits=1), justify="right"),
            self._level(r.stop, r.stop_by, dim, r.symbol, trailing=r.trailing),
            self._level(r.target, r.target_by, dim, r.symbol),
        )

    @staticmethod
    def _level(price: float | None, held_by: str, dim: Style, symbol: str, *,
               trailing: bool = False) -> Text:
        """A stop or target cell in the symbol's precision; one robo-tui holds carries
        `ROBO_MARK`, a trailing stop starts with `TRAIL_MARK`."""
        text = Text(fmt_price(price, symbol), dim if price is None else Style(), justify="right")
        if price is not None and trailing:
            text = Text.assemble((TRAIL_MARK, dim), text, justify="right")
        if price is not None and held_by == "robo-tui":
            text.append(ROBO_MARK, dim)
        return text
