"""Pilot tests: HALTED stops the robot, not the trader (F9 then flatten, shift+F9 halt and
flatten all after a confirmation)."""

from __future__ import annotations

from pathlib import Path

from robo_tui.domain.risk import Mode, TradingState
from robo_tui.ui.screens.dialogs import ConfirmDialog
from robo_tui.ui.widgets import PositionsTable

from .helpers import make_app, make_engine, rows, seed_book, started, wait_async, wait_until

SIZE = (120, 40)


async def test_flatten_when_f9_halted_first_then_the_exit_still_goes_out(tmp_path: Path) -> None:
    await seed_book(tmp_path)  # AAPL, XOM and BTC-USD held
    engine = make_engine(tmp_path, mode=Mode.PAPER)
    app = make_app(engine, cycles=0)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("f9")
        await wait_until(pilot, lambda: engine.state is TradingState.HALTED, what="HALTED")
        positions = app.main.query_one(PositionsTable)
        positions.focus()
        assert positions.selected_symbol() == "AAPL"
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the dialog")
        await pilot.press("y")

        async def sent() -> bool:
            return bool(await rows(engine.store, "select * from orders where symbol = 'AAPL'"))

        await wait_async(pilot, sent, what="the flatten order")
        verdict = await rows(engine.store,
                             "select allowed, state from risk_verdicts where symbol = 'AAPL'")
        assert [(v["allowed"], v["state"]) for v in verdict] == [(1, "HALTED")]
        await wait_until(pilot, lambda: engine.account.position_qty("AAPL") == 0, what="flat")
        assert engine.state is TradingState.HALTED


async def test_halt_and_flatten_when_confirmed_then_halted_and_every_position_closed(
        tmp_path: Path) -> None:
    await seed_book(tmp_path)
    engine = make_engine(tmp_path, mode=Mode.PAPER)
    app = make_app(engine, cycles=0)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        assert engine.account.positions
        await pilot.press("shift+f9")
        await wait_until(pilot, lambda: engine.state is TradingState.HALTED, what="HALTED")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the dialog")
        await pilot.press("y")
        await wait_until(pilot, lambda: not any(abs(p.quantity) > 1e-12 for p in
                                                engine.account.positions.values()),
                         what="every position closed")
        assert engine.state is TradingState.HALTED


async def test_orders_pane_when_a_limit_order_works_then_it_is_listed_and_cancelled(
        tmp_path: Path) -> None:
    from robo_tui.domain.orders import OrderIntent, OrderType, Side
    from robo_tui.ui.widgets.orders import OrdersTable

    engine = make_engine(tmp_path, mode=Mode.PAPER)
    app = make_app(engine, cycles=0)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        price = engine.prices["AAPL"]
        result = await engine.manual_order(OrderIntent(
            "AAPL", Side.BUY, 1, OrderType.LIMIT, limit_price=round(price * 0.8, 2),
            stop_loss=round(price * 0.7, 2), take_profit=round(price * 1.2, 2), confidence=0.9))
        assert result.ack is not None and result.ack.status.is_open
        cid = result.ack.client_order_id
        app.refresh_view()
        orders = app.main.query_one(OrdersTable)
        await wait_until(pilot, lambda: orders.selected_order_id() == cid, what="the order row")
        row = [c.plain for c in orders.get_row(cid)]
        assert row[1] == "AAPL" and row[3] == "limit" and row[9] == "ui" and row[10] == "venue"
        orders.focus()
        await pilot.press("delete")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the dialog")
        await pilot.press("n")  # a "no" cancels nothing
        await pilot.pause(0.1)
        assert cid in engine.orders.open_orders
        await pilot.press("delete")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the dialog")
        await pilot.press("y")
        await wait_until(pilot, lambda: cid not in engine.orders.open_orders, what="the cancel")

        async def cancelled() -> bool:
            found = await rows(engine.store,
                               f"select status from orders where client_order_id = '{cid}'")
            return bool(found) and found[0]["status"] == "cancelled"

        await wait_async(pilot, cancelled, what="the cancelled order row")
        await wait_until(pilot, lambda: orders.row_count == 0, what="the row gone")
