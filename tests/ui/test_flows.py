"""Pilot tests: the real console drives the real engine; each checks the engine and the database,
not only the screen."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from robo_tui.domain.risk import Mode, TradingState
from robo_tui.domain.signals import ProposalStatus
from robo_tui.engine.engine import Engine
from robo_tui.engine.ensemble import StrategySlot
from robo_tui.ui.screens.detail import DetailScreen
from robo_tui.ui.screens.dialogs import ConfirmDialog, ReasonDialog
from robo_tui.ui.screens.main import MainScreen
from robo_tui.ui.screens.mode import LIVE_PHRASE, ModeDialog
from robo_tui.ui.screens.order_ticket import OrderTicket
from robo_tui.ui.widgets import ModelSelector, PositionsTable, ProposalsQueue, StrategyPanel

from .helpers import (
    cycle_done,
    make_app,
    make_engine,
    rows,
    screen_text,
    seed_book,
    settings_for,
    started,
    wait_async,
    wait_until,
)

SIZE = (120, 40)


async def test_approve_when_a_proposal_is_selected_then_it_is_submitted_and_recorded(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, mode=Mode.SEMI_AUTO)
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await cycle_done(pilot)
        assert engine.pending, "semi-auto: the first cycle leaves proposals waiting"
        queue = app.main.query_one(ProposalsQueue)
        queue.focus()
        proposal_id = queue.selected_proposal_id()
        assert proposal_id is not None
        await pilot.press("a")
        await wait_until(pilot, lambda: proposal_id not in engine.pending, what="the approval")

        async def recorded() -> bool:
            found = await rows(engine.store, "select status, decided_by from proposals where id = ?",
                               proposal_id)
            return bool(found) and found[0]["status"] == ProposalStatus.SUBMITTED.value

        await wait_async(pilot, recorded, what="the proposal row to say submitted")
        orders = await rows(engine.store, "select source, status from orders where proposal_id = ?",
                            proposal_id)
        assert orders and orders[0]["status"] in ("submitted", "filled")
        verdicts = await rows(engine.store,
                              "select allowed from risk_verdicts where proposal_id = ?", proposal_id)
        assert [v["allowed"] for v in verdicts] == [1], "approval went through the gate again"


async def test_approve_when_the_gate_now_denies_then_the_denial_is_shown_and_recorded(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, mode=Mode.SEMI_AUTO)
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await cycle_done(pilot)
        queue = app.main.query_one(ProposalsQueue)
        queue.focus()
        proposal_id = queue.selected_proposal_id()
        assert proposal_id is not None
        await engine.halt("risk off", by="test")  # the proposal was fine; now the gate says no
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), what="the denial")
        assert "halted" in screen_text(app)
        assert any("DENIED" in n.title or "DENIED" in n.message for n in app._notifications)
        found = await rows(engine.store, "select status from proposals where id = ?", proposal_id)
        assert found[0]["status"] == ProposalStatus.DENIED.value
        verdicts = await rows(engine.store,
                              "select allowed, codes from risk_verdicts where proposal_id = ?",
                              proposal_id)
        assert verdicts and verdicts[-1]["allowed"] == 0 and "halted" in verdicts[-1]["codes"]


async def test_reject_when_a_reason_is_typed_then_recorded_with_it_and_nothing_sent(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, mode=Mode.SEMI_AUTO)
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await cycle_done(pilot)
        queue = app.main.query_one(ProposalsQueue)
        queue.focus()
        await pilot.press("down")
        proposal_id = queue.selected_proposal_id()
        assert proposal_id is not None
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, ReasonDialog), what="the dialog")
        await pilot.press(*"earnings tomorrow", "enter")
        await wait_until(pilot, lambda: proposal_id not in engine.pending, what="the rejection")

        async def recorded() -> bool:
            found = await rows(engine.store,
                               "select status, decision_reason from proposals where id = ?",
                               proposal_id)
            return bool(found[0]["status"] == ProposalStatus.REJECTED.value)

        await wait_async(pilot, recorded, what="the rejected row")
        found = await rows(engine.store, "select decision_reason, decided_by from proposals "
                                         "where id = ?", proposal_id)
        assert found[0]["decision_reason"] == "earnings tomorrow"
        assert found[0]["decided_by"] == "ui"
        assert await rows(engine.store, "select * from orders where proposal_id = ?",
                          proposal_id) == []


async def test_kill_switch_when_f9_then_halted_at_once_and_latched_in_the_database(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, mode=Mode.PAPER)
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await cycle_done(pilot)
        await pilot.press("f9")
        await wait_until(pilot, lambda: engine.state is TradingState.HALTED, what="HALTED")
        await wait_async(pilot, _control_is(engine, "trading_state", "HALTED"),
                         what="the latched state")
        await pilot.pause(0.3)
        assert "HALTED" in screen_text(app)

        # resume needs a confirmation; "n" keeps the halt
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the dialog")
        await pilot.press("n")
        await pilot.pause(0.1)
        assert engine.state is TradingState.HALTED

        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the dialog")
        await pilot.press("y")
        await wait_until(pilot, lambda: engine.state is TradingState.ACTIVE, what="ACTIVE")
        await wait_async(pilot, _control_is(engine, "trading_state", "ACTIVE"),
                         what="the resumed state")


async def test_kill_switch_when_a_dialog_is_open_then_it_still_halts(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, mode=Mode.PAPER)
    app = make_app(engine, cycles=0)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, OrderTicket), what="the ticket")
        await pilot.press("ctrl+k")  # also "delete to end of line" in an input: the kill switch wins
        await wait_until(pilot, lambda: engine.state is TradingState.HALTED, what="HALTED")
        await wait_async(pilot, _control_is(engine, "trading_state", "HALTED"),
                         what="the latched state")


async def test_manual_order_when_the_gate_denies_then_every_reason_is_shown_and_recorded(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, mode=Mode.PAPER)
    app = make_app(engine, cycles=0)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, OrderTicket), what="the ticket")
        await pilot.press(*"5000", "enter")  # 5,000 AAPL, no stop: far beyond the position limit
        await wait_async(pilot, _denials_for(engine, "AAPL"), what="the recorded denial")
        await pilot.pause(0.1)
        assert isinstance(app.screen, OrderTicket), "a denied ticket stays open"
        shown = screen_text(app)
        verdict = (await rows(engine.store, "select allowed, source, codes, reasons "
                                            "from risk_verdicts where symbol = 'AAPL'"))[-1]
        assert verdict["allowed"] == 0 and verdict["source"] == "ui"
        codes = [c for c in verdict["codes"].strip("[]").replace('"', "").split(",") if c]
        assert len(codes) >= 2, "this order breaks several rules"
        assert "DENIED" in shown
        for code in codes:
            assert code.strip() in shown, f"reason {code} is shown"
        assert await rows(engine.store, "select * from orders") == []


async def test_mode_switch_when_live_without_live_config_then_refused_with_the_reason(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, mode=Mode.PAPER)
    app = make_app(engine, cycles=0)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("m")
        await wait_until(pilot, lambda: isinstance(app.screen, ModeDialog), what="the dialog")
        await pilot.press("end", "enter")  # LIVE is last
        await pilot.press(*LIVE_PHRASE, "enter")
        await wait_until(pilot, lambda: "LIVE refused" in screen_text(app), what="the refusal")
        assert "engine.live_enabled" in screen_text(app)
        assert engine.mode is Mode.PAPER
        assert isinstance(app.screen, ModeDialog), "the dialog stays open with the reason"
        assert await engine.store.get_control("mode") in (None, "paper")


async def test_mode_switch_when_semi_auto_confirmed_then_engine_and_database_change(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, mode=Mode.PAPER)
    app = make_app(engine, cycles=0)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("m")
        await wait_until(pilot, lambda: isinstance(app.screen, ModeDialog), what="the dialog")
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: engine.mode is Mode.SEMI_AUTO, what="SEMI-AUTO")
        await wait_async(pilot, _control_is(engine, "mode", "semi-auto"), what="the mode row")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen), what="the main screen")


async def test_model_switch_when_enter_on_the_selector_then_engine_selects_and_audits(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, mode=Mode.PAPER)
    app = make_app(engine, cycles=0)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        selector = app.main.query_one(ModelSelector)
        await wait_until(pilot, lambda: selector.selected_choice() is not None, what="models")
        selector.focus()
        assert selector.selected_choice() == ("rules", "lexicon-v1")
        await pilot.press("enter")

        async def audited() -> bool:
            await engine.recorder.flush()  # type: ignore[union-attr]
            found = await rows(engine.store, "select payload, actor from audit_log "
                                             "where kind = 'event.AnalystSelected'")
            return bool(found)

        await wait_async(pilot, audited, what="the audit row")
        found = await rows(engine.store, "select payload, actor from audit_log "
                                         "where kind = 'event.AnalystSelected'")
        assert found[0]["actor"] == "ui" and "rules" in found[0]["payload"]
        assert engine.analyst_catalogue()["active"]["provider"] == "rules"


async def test_strategy_toggle_when_space_then_slot_disabled_and_audited(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, mode=Mode.PAPER)
    app = make_app(engine, cycles=0)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        panel = app.main.query_one(StrategyPanel)
        await wait_until(pilot, lambda: panel.selected_strategy() is not None, what="strategies")
        panel.focus()
        name = panel.selected_strategy()
        assert name is not None
        await pilot.press("space")
        await wait_until(pilot, lambda: not _slot(engine, name).enabled, what="the toggle")
        await pilot.press("plus")
        await wait_until(pilot, lambda: _slot(engine, name).weight > 1.0, what="the weight")
        assert _slot(engine, name).weight == 1.1

        async def audited() -> bool:
            await engine.recorder.flush()  # type: ignore[union-attr]
            return len(await rows(engine.store, "select * from audit_log "
                                                "where kind = 'event.StrategyChanged'")) >= 2

        await wait_async(pilot, audited, what="the audit rows")
        found = await rows(engine.store, "select payload, actor from audit_log "
                                         "where kind = 'event.StrategyChanged' order by id")
        first, second = (json.loads(r["payload"]) for r in found[:2])
        assert (first["name"], first["enabled"], found[0]["actor"]) == (name, False, "ui")
        assert (second["name"], second["weight"]) == (name, 1.1)


async def test_quit_when_confirmed_then_engine_stopped_and_database_closed(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, mode=Mode.PAPER)
    app = make_app(engine, cycles=None)  # the engine loop runs until quit
    async with app.run_test(size=SIZE) as pilot:
        await cycle_done(pilot)
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the dialog")
        await pilot.press("y")
        await pilot.pause(0.5)
    assert app.return_code == 0
    assert not engine._started
    found = await _fresh_rows(tmp_path, "select kind from audit_log where kind = 'engine.stop'")
    assert found, "engine.stop() ran and its audit row reached the database"


def _control_is(engine: Engine, key: str, value: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return bool(await engine.store.get_control(key) == value)
    return check


def _denials_for(engine: Engine, symbol: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        found = await rows(engine.store, "select allowed from risk_verdicts where symbol = ?",
                           symbol)
        return any(r["allowed"] == 0 for r in found)
    return check


def _slot(engine: Engine, name: str) -> StrategySlot:
    return next(s for s in engine.ensemble.slots() if s.name == name)


async def _fresh_rows(data_dir: Path, sql: str) -> list[dict[str, object]]:
    from robo_tui.adapters.store.sqlite import SqliteStore

    store = SqliteStore.for_data_dir(data_dir)
    await store.open()
    try:
        return await store.query(sql)
    finally:
        await store.close()


async def test_flatten_when_confirmed_then_a_reduce_only_order_goes_through_the_gate(tmp_path: Path) -> None:
    await seed_book(tmp_path)  # AAPL, XOM and BTC-USD held, as after a restart
    engine = make_engine(tmp_path, mode=Mode.PAPER)
    app = make_app(engine, cycles=0)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        positions = app.main.query_one(PositionsTable)
        positions.focus()
        assert positions.selected_symbol() == "AAPL"
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the dialog")
        await pilot.press("n")  # a "no" sends nothing
        await pilot.pause(0.1)
        assert await rows(engine.store, "select * from orders") == []
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the dialog")
        await pilot.press("y")

        async def sent() -> bool:
            return bool(await rows(engine.store, "select * from orders where symbol = 'AAPL'"))

        await wait_async(pilot, sent, what="the flatten order")
        order = (await rows(engine.store, "select side, qty, reduce_only, source from orders"))[0]
        assert (order["side"], order["qty"], order["reduce_only"], order["source"]) == \
            ("sell", 40, 1, "ui")
        verdict = await rows(engine.store, "select allowed from risk_verdicts where symbol = 'AAPL'")
        assert [v["allowed"] for v in verdict] == [1]


async def test_pause_when_p_then_the_cycle_stops_and_the_risk_state_stays(tmp_path: Path) -> None:
    settings = settings_for(Mode.PAPER, engine={"cycle_seconds": 0.2})
    engine = make_engine(tmp_path, settings=settings)
    app = make_app(engine, cycles=None)
    async with app.run_test(size=SIZE) as pilot:
        await cycle_done(pilot)
        await pilot.press("p")
        await wait_until(pilot, lambda: engine.paused, what="paused")
        await pilot.pause(0.4)  # a cycle that had started finishes
        cycles = engine.cycle
        await pilot.pause(0.8)
        assert engine.cycle == cycles, "no cycle runs while paused"
        assert engine.state is TradingState.ACTIVE
        assert "PAUSED" in screen_text(app)
        await pilot.press("p")
        await wait_until(pilot, lambda: engine.cycle > cycles, what="cycles again")


async def test_ctrl_c_when_pressed_then_quits_at_once_and_the_engine_stops(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, mode=Mode.PAPER)
    app = make_app(engine, cycles=None)
    async with app.run_test(size=SIZE) as pilot:
        await cycle_done(pilot)
        await pilot.press("ctrl+c")
        await pilot.pause(0.5)
    assert app.return_code == 0
    assert not engine._started
