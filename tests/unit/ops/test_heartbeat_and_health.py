"""The heartbeat an engine rewrites each cycle and state change, and `health`'s verdict on it."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from robo_tui.config import load_settings
from robo_tui.domain.risk import TradingState
from robo_tui.engine.clock import SimClock
from robo_tui.ops.exitcodes import OpsExit
from robo_tui.ops.health import judge
from robo_tui.ops.heartbeat import Heartbeat, heartbeat_path, read_heartbeat
from robo_tui.wiring import build_engine

from .conftest import NOW


async def test_engine_when_it_runs_a_cycle_then_the_heartbeat_says_when_and_what(
        tmp_path: Path, clock: SimClock) -> None:
    settings = load_settings(None, environ={"ROBO_TUI_ENGINE__CYCLE_SECONDS": "7"})
    engine = build_engine(settings, data_dir=tmp_path, clock=clock, intelligence=False)
    await engine.start()
    try:
        assert read_heartbeat(heartbeat_path(tmp_path)) is None  # no cycle yet
        await engine.run_cycle()
        beat = read_heartbeat(heartbeat_path(tmp_path))
        assert beat is not None
        assert (beat.pid, beat.cycle, beat.state, beat.mode) == (os.getpid(), 1, "ACTIVE", "paper")
        assert beat.cycle_seconds == 7 and beat.equity is not None
        assert oct(heartbeat_path(tmp_path).stat().st_mode & 0o777) == "0o600"
        await engine.store.journal_command("halt", {"reason": "lunch"}, "cli")
        await engine.tick()  # the shell's halt, between cycles
        halted = read_heartbeat(heartbeat_path(tmp_path))
        assert halted is not None and halted.state == TradingState.HALTED.value
        assert halted.cycle == 1 and halted.last_cycle_at == beat.last_cycle_at
    finally:
        await engine.stop()
    assert not list(tmp_path.glob(".heartbeat.json.*"))  # no temporary file left behind


def beat(*, age: float, state: str = "ACTIVE", cycle_seconds: float = 10.0) -> Heartbeat:
    last = NOW - timedelta(seconds=age)
    return Heartbeat(pid=os.getpid(), started_at=last - timedelta(hours=1), written_at=last,
                     last_cycle_at=last, cycle=42, state=state, mode="auto",
                     cycle_seconds=cycle_seconds)


def test_health_when_the_last_cycle_is_recent_then_ok() -> None:
    verdict = judge(beat(age=20), NOW)
    assert verdict.code is OpsExit.OK and verdict.message.startswith("ok: AUTO ACTIVE, cycle 42")


def test_health_when_three_cycles_and_the_grace_passed_then_stale() -> None:
    assert judge(beat(age=59), NOW).code is OpsExit.OK  # 3 x 10 s + 30 s
    verdict = judge(beat(age=61), NOW)
    assert verdict.code is OpsExit.HEARTBEAT_STALE and "allowed 60s" in verdict.message
    assert judge(beat(age=61), NOW, max_age=120).code is OpsExit.OK


def test_health_when_the_process_is_gone_then_stale_naming_the_pid() -> None:
    verdict = judge(beat(age=1), NOW, alive=False)
    assert verdict.code is OpsExit.HEARTBEAT_STALE and "is not running" in verdict.message


def test_health_when_trading_is_halted_then_the_halted_code() -> None:
    assert judge(beat(age=1, state="HALTED"), NOW).code is OpsExit.HALTED


def test_health_when_no_heartbeat_then_missing() -> None:
    assert judge(None, NOW).code is OpsExit.HEARTBEAT_MISSING


def test_read_heartbeat_when_the_file_is_garbage_then_none(tmp_path: Path) -> None:
    heartbeat_path(tmp_path).write_text("{half")
    assert read_heartbeat(heartbeat_path(tmp_path)) is None
