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
