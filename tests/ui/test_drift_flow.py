"""Pilot test: the drift report from the console (`D`): shown, accepted after a confirmation,
and the gate lets entries through again."""

from __future__ import annotations

from pathlib import Path

from robo_tui.domain.drift import DriftItem, DriftReport
from robo_tui.domain.orders import OrderIntent, Side
from robo_tui.domain.risk import Mode, RiskCode
from robo_tui.ui.screens.dialogs import ConfirmDialog

from .helpers import make_app, make_engine, started, wait_until

SIZE = (120, 40)


async def test_drift_key_when_a_report_blocks_then_confirmed_accept_lets_entries_through(
        tmp_path: Path) -> None:
    engine = make_engine(tmp_path, mode=Mode.PAPER)
    app = make_app(engine, cycles=0)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        # what a start against a live venue found (the reconciler's check is tested with the fakes)
        item = DriftItem("position", "AAPL", 5.0, 0.0, "AAPL: ib holds 5 that robo-tui never traded")
        engine.reconciler.report = DriftReport("ib", engine.clock.now(), (item,))
        price = engine.prices["AAPL"]
        entry = OrderIntent("AAPL", Side.BUY, 1, stop_loss=price * 0.97, take_profit=price * 1.06,
                            confidence=0.9)
        assert RiskCode.DRIFT.value in engine.risk.check(
            entry, engine.risk_context(engine.clock.now())).codes
        await pilot.press("D")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the dialog")
        await pilot.press("y")
        await wait_until(pilot, lambda: not engine.reconciler.blocking, what="accepted")
        report = engine.reconciler.report
        assert report is not None and report.accepted_by == "ui"
        assert RiskCode.DRIFT.value not in engine.risk.check(
            entry, engine.risk_context(engine.clock.now())).codes
