"""The order ticket: a typeable symbol with suggestions, the sizer's suggested stop and target
with the risk to the stop in the preview, and an old denial cleared when the order is edited."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Static

from robo_tui.domain.risk import Mode
from robo_tui.ui.screens.order_ticket import OrderTicket

from .helpers import cycle_done, make_app, make_engine, wait_until


def _text(ticket: OrderTicket, selector: str) -> str:
    return str(ticket.query_one(selector, Static).render())


async def test_ticket_when_a_symbol_is_typed_then_stop_target_and_risk_to_the_stop_are_suggested(
        tmp_path: Path) -> None:
    engine = make_engine(tmp_path, mode=Mode.PAPER)
    app = make_app(engine, cycles=1)
    async with app.run_test(size=(120, 40)) as pilot:
        await cycle_done(pilot)
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, OrderTicket), what="the ticket")
        ticket = app.screen
        assert isinstance(ticket, OrderTicket)
        symbol = ticket.query_one("#symbol", Input)
        symbol.focus()
        symbol.value = ""
        flat = next(s for s in engine.symbols if not engine.account.position_qty(s) and "-" not in s)
        await pilot.press(*flat[:-1].lower())
        await pilot.press("right")  # accept the suggestion
        assert symbol.value.upper() == flat
        ticket.query_one("#amount", Input).focus()
        await pilot.press(*"10")
        await pilot.pause(0.2)
        levels = ticket.suggested()
        assert levels is not None
        stop, target = levels
        price = engine.prices[flat]
        assert stop < price < target
        assert "suggested" in ticket.query_one("#stop", Input).placeholder
        preview = _text(ticket, "#ticket-preview")
        assert "risk to the suggested stop" in preview
        risk = 10 * (price - stop)
        assert f"{risk:,.2f}" in preview
        await pilot.press("ctrl+g")
        await pilot.pause(0.1)
        assert float(ticket.query_one("#stop", Input).value) == round(stop, 2)
        assert "risk to the stop" in _text(ticket, "#ticket-preview")


async def test_ticket_when_denied_and_then_edited_then_the_old_denial_is_cleared(
        tmp_path: Path) -> None:
    engine = make_engine(tmp_path, mode=Mode.PAPER)
    app = make_app(engine, cycles=1)
    async with app.run_test(size=(120, 40)) as pilot:
        await cycle_done(pilot)
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, OrderTicket), what="the ticket")
        ticket = app.screen
        assert isinstance(ticket, OrderTicket)
        await pilot.press(*"5000", "enter")  # far beyond the position limit
        await wait_until(pilot, lambda: "DENIED" in _text(ticket, "#ticket-result"),
                         what="the denial")
        await pilot.press("backspace")  # 500: a new order, not yet judged
        await wait_until(pilot, lambda: "DENIED" not in _text(ticket, "#ticket-result"),
                         what="the cleared verdict")
        assert _text(ticket, "#ticket-result").strip() == ""
