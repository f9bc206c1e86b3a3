"""A live start needs a recent passing preflight (stored in the journal), and the mode the last
session left is restored, never silently into LIVE."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.config import load_settings
from robo_tui.domain.risk import Mode
from robo_tui.ops.checks import CheckResult, PreflightReport
from robo_tui.ops.gate import persisted_mode, require_preflight, restore_mode
from robo_tui.ops.record import last_preflight, preflight_refusal, save_report
from robo_tui.runtime import ExitCode, RunError, RunOptions
from robo_tui.wiring import with_overrides

from .conftest import NOW, fresh_feed

LIVE = with_overrides(load_settings(None, environ={"ROBO_TUI_ENGINE__LIVE_ENABLED": "true",
                                                   "ROBO_TUI_BROKER__KIND": "ib"}), mode=Mode.LIVE)


def report(*failed: str, minutes_ago: float = 0) -> PreflightReport:
    names = ("broker", "prices", "limits")
    return PreflightReport(ts=NOW - timedelta(minutes=minutes_ago), checks=tuple(
        CheckResult(n, n not in failed, "detail", "" if n not in failed else f"fix {n}")
        for n in names))


async def stored(data: Path, *reports: PreflightReport) -> None:
    store = SqliteStore.for_data_dir(data)
    await store.open()
    for r in reports:
        await save_report(store, r)
    await store.close()


async def test_live_start_when_a_passing_preflight_ran_minutes_ago_then_allowed(tmp_path: Path) -> None:
    await stored(tmp_path, report("prices", minutes_ago=30), report(minutes_ago=10))
    assert last_preflight(tmp_path) is not None
    assert preflight_refusal(LIVE, tmp_path, NOW) is None
    require_preflight(LIVE, tmp_path, NOW)  # does not raise


async def test_live_start_when_no_preflight_ever_ran_then_refused_saying_run_it(tmp_path: Path) -> None:
    with pytest.raises(RunError) as info:
        require_preflight(LIVE, tmp_path, NOW)
    assert info.value.code is ExitCode.USAGE
    assert "no preflight has run" in str(info.value) and "robo-tui preflight" in str(info.value)


async def test_live_start_when_the_last_preflight_failed_then_refused_naming_the_failed_checks(
        tmp_path: Path) -> None:
    await stored(tmp_path, report(minutes_ago=20), report("broker", "limits", minutes_ago=5))
    why = preflight_refusal(LIVE, tmp_path, NOW)
    assert why is not None and "failed: broker, limits" in why


async def test_live_start_when_the_pass_is_older_than_the_limit_then_refused_with_its_age(
        tmp_path: Path) -> None:
    await stored(tmp_path, report(minutes_ago=90))
    why = preflight_refusal(LIVE, tmp_path, NOW)
    assert why is not None and "90 minutes old (allowed 60)" in why
    longer = LIVE.model_copy(update={"live": LIVE.live.model_copy(
        update={"preflight_max_age_minutes": 120.0})})
    assert preflight_refusal(longer, tmp_path, NOW) is None


def test_paper_start_when_no_preflight_ran_then_not_asked_for_one(tmp_path: Path) -> None:
    require_preflight(load_settings(None, environ={}), tmp_path, NOW)


async def set_mode_in_journal(data: Path, mode: Mode) -> None:
    store = SqliteStore.for_data_dir(data)
    await store.open()
    await store.set_control("mode", mode.value, "ui")
    await store.close()


async def test_restart_when_the_last_session_switched_to_semi_auto_then_semi_auto_is_restored(
        tmp_path: Path) -> None:
    await set_mode_in_journal(tmp_path, Mode.SEMI_AUTO)
    assert persisted_mode(tmp_path) is Mode.SEMI_AUTO
    settings, line = restore_mode(RunOptions(), load_settings(None, environ={}), tmp_path)
    assert settings.engine.mode is Mode.SEMI_AUTO
    assert line == "mode SEMI-AUTO restored from the last session (--mode overrides it)"


async def test_restart_when_mode_is_given_on_the_command_line_then_it_wins(tmp_path: Path) -> None:
    await set_mode_in_journal(tmp_path, Mode.SEMI_AUTO)
    base = with_overrides(load_settings(None, environ={}), mode=Mode.AUTO)
    settings, line = restore_mode(RunOptions(mode=Mode.AUTO), base, tmp_path)
    assert settings.engine.mode is Mode.AUTO and line == ""


async def test_restart_when_the_last_session_was_live_without_confirm_live_then_refused(
        tmp_path: Path) -> None:
    await set_mode_in_journal(tmp_path, Mode.LIVE)
    with pytest.raises(RunError) as info:
        restore_mode(RunOptions(), load_settings(None, environ={}), tmp_path)
    assert "never restored silently" in str(info.value) and "--confirm-live" in str(info.value)
    settings, _ = restore_mode(RunOptions(confirm_live=True), LIVE, tmp_path)
    assert settings.engine.mode is Mode.LIVE


def test_restart_when_the_journal_is_unreadable_then_no_mode_is_restored(tmp_path: Path) -> None:
    (tmp_path / "robo-tui.sqlite3").write_bytes(b"not a database")
    assert persisted_mode(tmp_path) is None
    assert last_preflight(tmp_path) is None


async def test_switch_to_live_in_a_session_when_no_preflight_passed_then_refused_saying_run_it(
        tmp_path: Path) -> None:
    from robo_tui.engine.clock import SimClock
    from robo_tui.engine.engine import ModeChangeRefused
    from robo_tui.wiring import build_engine

    settings = load_settings(None, environ={
        "ROBO_TUI_ENGINE__LIVE_ENABLED": "true", "ROBO_TUI_BROKER__KIND": "ib",
        "ROBO_TUI_FEEDS__KIND": "ccxt", "ROBO_TUI_NEWS__SAMPLE": "false"})
    engine = build_engine(settings, data_dir=tmp_path, clock=SimClock(NOW), intelligence=False,
                          feed=fresh_feed())
    with pytest.raises(ModeChangeRefused) as info:
        await engine.set_mode(Mode.LIVE, by="ui", confirm_live=True)
    assert "no preflight has run" in str(info.value)
    assert engine.mode is Mode.PAPER
