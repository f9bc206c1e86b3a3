"""The manual order ticket: symbol, side, quantity or notional, market/limit, optional stop and
target. It submits through `Engine.manual_order` — the same `submit` and the same risk gate as
everything else — and when the gate says no, every reason is listed here and the ticket stays open
so the trader can fix the order (editing any field clears the old verdict).

The symbol is typed (with the universe as suggestions: `→` accepts one). The stop and target
fields suggest the levels the sizer would attach to an entry now (its ATR stop, from the engine's
view), `ctrl+g` fills them in, and the preview shows the risk to the stop in cash and % of equity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from robo_tui.domain.frozen import frozen
from robo_tui.domain.orders import OrderIntent, OrderStatus, OrderType, Side
from robo_tui.ui.widgets.format import fmt_money, fmt_price

if TYPE_CHECKING:
    from robo_tui.engine.engine import Engine, SubmitResult
    from robo_tui.engine.view import Protection


class TicketError(ValueError):
    """A field of the ticket does not make an order (the message says which and why)."""


@frozen
class TicketValues:
    """The raw field values of a ticket, before they become an `OrderIntent`."""

    symbol: str
    side: Side
    size_by: str  # "quantity" | "notional"
    amount: str
    order_type: OrderType
    limit_price: str = ""
    stop_loss: str = ""
    take_profit: str = ""
    reduce_only: bool = False


def _number(text: str, field: str, *, required: bool) -> float | None:
    raw = text.strip().replace(",", "").replace("_", "")
    if not raw:
        if required:
            raise TicketError(f"{field} is required")
        return None
    try:
        value = float(raw)
    except ValueError:
        raise TicketError(f"{field}: {text.strip()!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise TicketError(f"{field} must be a positive number")
    return value


def build_intent(values: TicketValues, *, price: float | None, fractional: bool) -> OrderIntent:
    """The order a ticket describes (TicketError when a field is unusable).

    A notional amount becomes a quantity at `price` (the last price; the limit price for a limit
    order), in whole units unless the instrument trades fractionally.
    """
    amount = _number(values.amount, values.size_by, required=True)
    assert amount is not None
    limit = None
    if values.order_type is OrderType.LIMIT:
        limit = _number(values.limit_price, "limit price", required=True)
    stop = _number(values.stop_loss, "stop loss", required=False)
    target = _number(values.take_profit, "take profit", required=False)
    if values.size_by == "notional":
        ref = limit or price
        if ref is None or not ref > 0:
            raise TicketError(f"no price for {values.symbol} yet: enter a quantity instead")
        quantity = amount / ref
        if not fractional:
            quantity = math.floor(quantity)
        if quantity <= 0:
            raise TicketError(f"{amount:,.2f} buys less than one {values.symbol} at {ref:,.2f}")
    else:
        quantity = amount
        if not fractional and quantity != math.floor(quantity):
            raise TicketError(f"{values.symbol} trades in whole units")
    return OrderIntent(values.symbol, values.side, quantity, order_type=values.order_type,
                       limit_price=limit, stop_loss=stop, take_profit=target,
                       reduce_only=values.reduce_only, reason="manual order ticket")


def verdict_text(result: SubmitResult) -> Text:
    """What the gate and the broker said, every reason on its own line."""
    verdict = result.verdict
    if not verdict.allowed:
        out = Text(f"DENIED by the risk gate ({verdict.state.value}):\n", style="bold")
        for reason in verdict.reasons:
            out.append(f" • {reason.code}: ", style="bold")
            out.append(reason.message)  # plain append: never markup
            out.append("\n")
        return out
    assert result.order is not None
    ack = result.ack
    status = ack.status.value if ack else "sent"
    out = Text(f"{result.order.client_order_id} {result.order.side.value} "
               f"{result.order.quantity:g} {result.order.symbol} → {status}")
    if ack and ack.message:
        out.append(f": {ack.message}")
    return out


class OrderTicket(ModalScreen["SubmitResult | None"]):
    """Manual order entry; dismisses with the result once an order was sent, None if cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("ctrl+s", "submit", "Submit", show=False),
        Binding("ctrl+g", "use_suggested", "Use suggested stop/target", show=False),
    ]

    def __init__(self, engine: Engine, *, symbol: str | None = None,
                 side: Side = Side.BUY, protection: Mapping[str, Protection] | None = None
                 ) -> None:
        super().__init__(classes="dialog")
        self._engine = engine
        self._symbols = list(engine.symbols)
        self._symbol = symbol if symbol in self._symbols else (self._symbols[0] if self._symbols else "")
        self._side = side
        self._protection: Mapping[str, Protection] = protection or {}
        self._verdict_shown = False  # a verdict (or a field error) is on the ticket

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box -wide", id="ticket"):
            yield Label("Manual order — through the risk gate", classes="dialog-title")
            with Grid(id="ticket-grid"):
                yield Label("Symbol")
                yield Input(self._symbol, placeholder="symbol, e.g. AAPL", id="symbol",
                            compact=True, restrict=r"[A-Za-z0-9.\-/=^_]*",
                            suggester=SuggestFromList(self._symbols, case_sensitive=False))
                yield Label("Side")
                yield Select([("buy", Side.BUY), ("sell", Side.SELL)], value=self._side,
                             allow_blank=False, compact=True, id="side")
                yield Label("Size by")
                yield Select([("quantity (units)", "quantity"), ("notional (cash)", "notional")],
                             value="quantity", allow_blank=False, compact=True, id="size-by")
                yield Label("Amount")
                yield Input(placeholder="e.g. 10", id="amount", type="number", compact=True)
                yield Label("Type")
                yield Select([("market", OrderType.MARKET), ("limit", OrderType.LIMIT)],
                             value=OrderType.MARKET, allow_blank=False, compact=True, id="type")
                yield Label("Limit price")
                yield Input(placeholder="limit orders only", id="limit", type="number",
                            disabled=True, compact=True)
                yield Label("Stop loss")
                yield Input(placeholder="optional price", id="stop", type="number", compact=True)
                yield Label("Take profit")
                yield Input(placeholder="optional price", id="target", type="number", compact=True)
                yield Label("")
                yield Checkbox("reduce only (may only shrink a position)", id="reduce")
            yield Static("", id="ticket-preview", classes="dialog-hint")
            yield Static("", id="ticket-result", classes="dialog-result")
            yield Static(Text("tab: next field · → accepts a suggested symbol · ctrl+g: use the "
                              "suggested stop and target · enter / ctrl+s: submit · esc: cancel"),
                         classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Submit (ctrl+s)", id="submit", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#amount", Input).focus()
        self._preview()

    def values(self) -> TicketValues:
        """The fields as they are now."""
        return TicketValues(
            symbol=self.query_one("#symbol", Input).value.strip().upper(),
            side=Side(str(self.query_one("#side", Select).value)),
            size_by=str(self.query_one("#size-by", Select).value),
            amount=self.query_one("#amount", Input).value,
            order_type=OrderType(str(self.query_one("#type", Select).value)),
            limit_price=self.query_one("#limit", Input).value,
            stop_loss=self.query_one("#stop", Input).value,
            take_profit=self.query_one("#target", Input).value,
            reduce_only=self.query_one("#reduce", Checkbox).value,
        )

    def _intent(self, values: TicketValues) -> OrderIntent:
        inst = self._engine.instruments.get(values.symbol)
        return build_intent(values, price=self._engine.prices.get(values.symbol),
                            fractional=bool(inst and inst.fractional))

    def suggested(self, values: TicketValues | None = None) -> tuple[float, float] | None:
        """(stop, target) the sizer would attach to this entry now; None when the order only
        reduces a position or the view has no suggestion for the symbol."""
        values = values or self.values()
        hint = self._protection.get(values.symbol)
        held = self._engine.account.position_qty(values.symbol)
        buying = values.side is Side.BUY
        reduces = values.reduce_only or (held > 0 and not buying) or (held < 0 and buying)
        if hint is None or reduces:
            return None
        return hint.levels(long=buying)

    def action_use_suggested(self) -> None:
        """Fill the stop and target with the suggested levels."""
        levels = self.suggested()
        if levels is None:
            self.notify("No suggestion for this order (it reduces a position, or no bars yet).",
                        severity="warning", markup=False)
            return
        self.query_one("#stop", Input).value = f"{levels[0]:.{_decimals(levels[0])}f}"
        self.query_one("#target", Input).value = f"{levels[1]:.{_decimals(levels[1])}f}"

    @on(Select.Changed)
    @on(Input.Changed)
    @on(Checkbox.Changed)
    def _edited(self) -> None:
        """A field changed: an old verdict no longer describes this order; preview the new one."""
        if self._verdict_shown:
            self._verdict_shown = False
            result = self.query_one("#ticket-result", Static)
            result.set_class(False, "-denied")
            result.update("")
        self._preview()

    def _preview(self) -> None:
        limit = self.query_one("#limit", Input)
        limit.disabled = self.query_one("#type", Select).value is not OrderType.LIMIT
        preview = self.query_one("#ticket-preview", Static)
        values = self.values()
        levels = self.suggested(values)
        stop_in, target_in = self.query_one("#stop", Input), self.query_one("#target", Input)
        stop_in.placeholder = f"suggested {fmt_price(levels[0], values.symbol)}" if levels else "optional price"
        target_in.placeholder = f"suggested {fmt_price(levels[1], values.symbol)}" if levels else "optional price"
        if values.symbol not in self._symbols:
            preview.update(Text(f"{values.symbol or 'symbol'}: not in the universe "
                                f"({', '.join(self._symbols[:8])}{'…' if len(self._symbols) > 8 else ''})"))
            return
        price = self._engine.prices.get(values.symbol)
        held = self._engine.account.position_qty(values.symbol)
        head = f"{values.symbol} last {fmt_price(price, values.symbol)}" if price else f"{values.symbol}: no price yet"
        if held:
            head += f" · held {held:g}"
        try:
            intent = self._intent(values)
        except TicketError as exc:
            preview.update(Text(f"{head} · {exc}" if values.amount.strip() else head))
            return
        ref = intent.limit_price or price or 0.0
        equity = self._engine.account.equity
        share = f" · {intent.quantity * ref / equity:.1%} of equity" if equity > 0 else ""
        line = (f"{head} · {intent.side.value} {intent.quantity:g} "
                f"≈ {fmt_money(intent.quantity * ref)}{share}")
        line += _risk_line(intent, ref, equity, levels)
        preview.update(Text(line))

    @on(Input.Submitted)
    @on(Button.Pressed, "#submit")
    def action_submit(self) -> None:
        """Validate the fields and send the order through the gate."""
        result = self.query_one("#ticket-result", Static)
        try:
            intent = self._intent(self.values())
        except TicketError as exc:
            result.set_class(True, "-denied")
            result.update(Text(str(exc)))
            self._verdict_shown = True
            return
        self._send(intent)

    @work(group="order-ticket", exclusive=True, exit_on_error=False)
    async def _send(self, intent: OrderIntent) -> None:
        result_view = self.query_one("#ticket-result", Static)
        result_view.set_class(False, "-denied")
        result_view.update(Text("submitting…"))
        result = await self._engine.manual_order(intent, source="ui")
        result_view.update(verdict_text(result))
        self._verdict_shown = True
        rejected = result.ack is not None and result.ack.status is OrderStatus.REJECTED
        result_view.set_class(not result.sent or rejected, "-denied")
        if result.sent and not rejected:
            self.dismiss(result)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without sending."""
        self.dismiss(None)


def _decimals(price: float) -> int:
    """Decimals that tell prices of this size apart (cents above 1, more below)."""
    return 2 if abs(price) >= 1 else 6


def _risk_line(intent: OrderIntent, ref: float, equity: float,
               levels: tuple[float, float] | None) -> str:
    """The cash and % of equity lost if the stop is hit (the entered stop, else the suggested
    one, said so); "" for an order with no stop either way."""
    stop, whose = intent.stop_loss, ""
    if stop is None and levels is not None:
        stop, whose = levels[0], " suggested"
    if stop is None or not ref > 0:
        return "\nno stop: the risk is open-ended" if levels is None and not intent.reduce_only \
            else ""
    risk = intent.quantity * abs(ref - stop)
    pct = f" ({risk / equity:.2%} of equity)" if equity > 0 else ""
    return f"\nrisk to the{whose} stop {fmt_price(stop)}: {fmt_money(risk)}{pct}"
