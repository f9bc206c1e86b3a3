"""`T` on a held position: the trailing-stop dialog, its validation, the level the engine then
holds (persisted, audited with who set it) and the `~` mark in the Positions pane's Stop cell."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Input, Static

from robo_tui.domain.risk import Mode
from robo_tui.ui.screens.trailing import TrailingStopDialog, parse_trail_pct
from robo_tui.ui.widgets import PositionsTable
from robo_tui.ui.widgets.positions import TRAIL_MARK

from .helpers import make_app, make_engine, rows, seed_book, started, wait_async, wait_until

SIZE = (120, 40)


def test_parse_trail_pct_when_typed_then_a_fraction_or_the_reason_it_is_refused() -> None:
    assert parse_trail_pct("2") == 0.02
    assert parse_trail_pct(" 2.5 % ") == 0.025
    for bad in ("", "0", "-1", "50", "75", "abc", "nan", "inf"):
        assert isinstance(parse_trail_pct(bad), str), bad


async def test_trailing_stop_when_T_on_a_held_position_then_the_engine_holds_a_persisted_trail(
        tmp_path: Path) -> None:
    await seed_book(tmp_path)  # AAPL, XOM and BTC-USD held, as after a restart
    engine = make_engine(tmp_path, mode=Mode.PAPER)
    app = make_app(engine, cycles=0)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        positions = app.main.query_one(PositionsTable)
        positions.focus()
        assert positions.selected_symbol() == "AAPL"
        await pilot.press("T")
        await wait_until(pilot, lambda: isinstance(app.screen, TrailingStopDialog),
                         what="the dialog")
        await pilot.press("escape")  # a cancel sets nothing
        await wait_until(pilot, lambda: not isinstance(app.screen, TrailingStopDialog),
                         what="the dialog closed")
        assert "AAPL" not in engine.protection.levels

        await pilot.press("T")
        await wait_until(pilot, lambda: isinstance(app.screen, TrailingStopDialog),
                         what="the dialog")
        dialog = app.screen
        dialog.query_one(Input).value = "60"
        await pilot.press("enter")  # refused: the dialog stays open and says why
        await pilot.pause(0.05)
        assert app.screen is dialog
        assert "less than 50" in str(dialog.query_one("#trail-error", Static).render())
        dialog.query_one(Input).value = "3"
        await pilot.press("enter")

        async def audited() -> bool:
            return bool(await rows(engine.store, "select * from audit_log "
                                                 "where kind = 'protection.trailing'"))

        await wait_async(pilot, audited, what="the audit row")
        level = engine.protection.levels["AAPL"]
        assert (level.trail_pct, level.qty, level.stop_held_by) == (0.03, 40, "robo-tui")
        saved = await rows(engine.store, "select payload from protective_levels "
                                         "where symbol = 'AAPL'")
        assert json.loads(saved[0]["payload"])["trail_pct"] == 0.03
        audit = await rows(engine.store, "select actor from audit_log "
                                         "where kind = 'protection.trailing'")
        assert [a["actor"] for a in audit] == ["ui"]
        assert await rows(engine.store, "select * from orders") == []  # never a venue order

        def stop_cell() -> str:
            return positions.get_cell("AAPL", "stop").plain

        await wait_until(pilot, lambda: stop_cell().startswith(TRAIL_MARK), what="the ~ mark")
        assert level.effective_stop is not None
        assert stop_cell().endswith("ʀ")  # held by robo-tui
