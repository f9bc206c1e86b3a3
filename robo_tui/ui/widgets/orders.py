"""The orders blotter: every working order (sent and not yet done, UNKNOWN included), oldest
first, with its type, prices, what has filled, its age, who placed it and who holds it.

Rows are keyed by client order id and updated in place, so the cursor stays on the order being
read; `selected_order_id` is what the cancel key acts on (the screen asks the engine; this pane
never does).
"""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from robo_tui.domain.orders import OrderType, Side
from robo_tui.engine.view import ConsoleView, WorkingOrder
from robo_tui.ui.widgets.format import fmt_countdown, fmt_price, fmt_qty
from robo_tui.ui.widgets.safe import safe_text

__all__ = ["OrdersTable"]

_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "Id"), ("symbol", "Symbol"), ("side", "Side"), ("type", "Type"), ("qty", "Qty"),
    ("price", "Price"), ("stop", "Stop"), ("filled", "Filled"), ("age", "Age"), ("by", "By"),
    ("held", "Held by"),
)
COLUMN_KEYS: tuple[str, ...] = tuple(c[0] for c in _COLUMNS)


class OrdersTable(DataTable[Text]):
    """Working orders, oldest first; `selected_order_id` is what the cancel key acts on."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"orders--buy", "orders--sell", "orders--dim"}
    DEFAULT_CSS = """
    OrdersTable { height: auto; max-height: 10; min-height: 3; }
    OrdersTable > .orders--buy { color: $success; text-style: bold; }
    OrdersTable > .orders--sell { color: $error; text-style: bold; }
    OrdersTable > .orders--dim { color: $foreground-muted; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        self._shown: dict[str, tuple[str, ...]] = {}
        super().__init__(name=name, id=id, classes=classes, cursor_type="row")

    def on_mount(self) -> None:
        for key, label in _COLUMNS:
            self.add_column(Text(label), key=key)
        self.border_title = "Orders (0)"
        self.styles.display = "none"  # until an order works

    def selected_order_id(self) -> str | None:
        """The client order id under the cursor; None when the blotter is empty."""
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except CellDoesNotExist:
            return None
        return row_key.value

    def update_from(self, view: ConsoleView) -> None:
        """Sync rows with the view's working orders: add new ones, drop done ones, update the
        filled quantity and the age in place."""
        if not self.columns:
            return
        working = {w.order.client_order_id: w for w in view.orders}
        for cid in list(self._shown):
            if cid not in working:
                self.remove_row(cid)
                del self._shown[cid]
        for cid, row in working.items():
            cells = self._cells(row, view)
            signature = tuple(c.plain for c in cells)
            if cid not in self._shown:
                self.add_row(*cells, key=cid)
            elif self._shown[cid] != signature:
                for key, cell, sig, was in zip(COLUMN_KEYS, cells, signature, self._shown[cid],
                                               strict=True):
                    if sig != was:
                        self.update_cell(cid, key, cell)
            self._shown[cid] = signature
        self.border_title = f"Orders ({len(working)})"
        # hidden while nothing works; when shown, the layout's CSS decides (compact views)
        if working:
            self.styles.clear_rule("display")
        else:
            self.styles.display = "none"

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"orders--{name}", partial=True)

    def _cells(self, row: WorkingOrder, view: ConsoleView) -> tuple[Text, ...]:
        order = row.order
        it = order.intent
        buy = it.side is Side.BUY
        side = Text(it.side.value.upper() + (" ↓" if it.reduce_only else ""),
                    style=self._style("buy" if buy else "sell"))
        price = (fmt_price(it.limit_price, order.symbol) if it.order_type is OrderType.LIMIT
                 else "market")
        age = max(0.0, (view.now - order.created_at).total_seconds())
        dim = self._style("dim")
        return (Text(order.client_order_id, style=dim), safe_text(order.symbol), side,
                Text(it.order_type.value), Text(fmt_qty(it.quantity), justify="right"),
                Text(price, justify="right"),
                Text(fmt_price(it.stop_loss, order.symbol), justify="right"),
                Text(f"{fmt_qty(row.filled)}/{fmt_qty(it.quantity)}", justify="right"),
                Text(fmt_countdown(age) if age >= 1 else "0:00", justify="right"),
                safe_text(order.source),
                Text(row.held_by))
