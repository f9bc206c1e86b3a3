"""The operations commands as a trader runs them, in subprocesses: preflight's exit code and
stored result, a live start refused for want of it, health for monitors, status and proposals
readable in a pipe, and a running headless engine printing a halt and a resume made from a shell."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[")


def robo(*args: str, data: Path, env: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "robo_tui.cli", *args, "--data-dir", str(data)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**os.environ, "COLUMNS": "80", "ROBO_TUI_ENGINE__CYCLE_SECONDS": "1",
                               **(env or {})}, check=False)


def test_preflight_when_run_on_the_offline_default_then_exits_20_and_names_each_fix(
        tmp_path: Path) -> None:
    data = tmp_path / "d"
    run = robo("preflight", data=data)
    assert run.returncode == 20, run.stderr
    lines = run.stdout.splitlines()
    assert any(line.startswith("FAIL  broker") for line in lines)
    assert "fix: set broker.kind to ib, robinhood or robinhood_crypto" in run.stdout
    assert "fix: set feeds.kind to a real market-data source" in run.stdout
    assert "FAIL  news" in run.stdout and "PASS  database" in run.stdout
    assert lines[-1].startswith("preflight FAILED")
    as_json = json.loads(robo("preflight", "--json", data=data).stdout)
    assert as_json["passed"] is False and {"broker", "prices", "news"} <= {
        c["name"] for c in as_json["checks"] if not c["ok"]}


def test_live_start_when_the_last_preflight_failed_then_exit_2_naming_the_failed_checks(
        tmp_path: Path) -> None:
    data = tmp_path / "d"
    robo("preflight", data=data)
    env = {"ROBO_TUI_ENGINE__LIVE_ENABLED": "true", "ROBO_TUI_BROKER__KIND": "ib",
           "ROBO_TUI_FEEDS__KIND": "ccxt", "ROBO_TUI_NEWS__SAMPLE": "false"}
    run = robo("--headless", "--once", "--mode", "live", "--confirm-live", data=data, env=env)
    assert run.returncode == 2
    assert "live mode refused to start" in run.stderr
    assert re.search(r"the last preflight \(.*\) failed: broker, prices", run.stderr), run.stderr


def test_health_when_no_engine_ever_ran_then_exits_22(tmp_path: Path) -> None:
    run = robo("health", data=tmp_path / "d")
    assert run.returncode == 22 and "no heartbeat" in run.stdout


def test_status_when_an_engine_has_run_then_readable_at_80_columns_in_a_pipe(tmp_path: Path) -> None:
    data = tmp_path / "d"
    assert robo("--headless", "--cycles", "2", data=data).returncode == 0
    health = robo("health", data=data)
    assert health.returncode == 21 and "is not running" in health.stdout  # the run has ended
    run = robo("status", data=data)
    assert run.returncode == 0, run.stderr
    assert not ANSI.search(run.stdout)
    for heading in ("engine   not running", "state    ACTIVE", "mode     PAPER", "equity   ",
                    "positions (", "working orders (", "last fills (", "sources ("):
        assert heading in run.stdout
    ids = re.findall(r"O-[0-9a-f]{6}-[0-9a-f]+", run.stdout)
    assert ids, run.stdout
    for line in run.stdout.splitlines():
        if not re.search(r"O-[0-9a-f]{6}-[0-9a-f]+$", line):
            assert len(line) <= 80, line
    status = json.loads(robo("status", "--json", data=data).stdout)
    assert status["mode"] == "paper" and status["equity"] > 0
    listed = robo("proposals", "list", "--all", data=data)
    assert not ANSI.search(listed.stdout)
    for line in listed.stdout.splitlines()[1:-1]:
        assert re.match(r"P-[0-9a-f]{6}-[0-9a-f]+ ", line) and len(line) <= 80, line


def test_headless_when_halted_and_resumed_from_a_shell_then_it_prints_each_state_change(
        tmp_path: Path) -> None:
    data = tmp_path / "d"
    engine = subprocess.Popen(
        [sys.executable, "-m", "robo_tui.cli", "--headless", "--data-dir", str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "ROBO_TUI_ENGINE__CYCLE_SECONDS": "1"})
    try:
        assert engine.stdout is not None
        first = engine.stdout.readline()
        assert " cycle 1 PAPER ACTIVE" in first, first + (engine.stderr.read() if engine.stderr else "")
        assert robo("health", data=data).returncode == 0
        assert robo("halt", "--reason", "coffee break", data=data).returncode == 0
        # the halt file or the journal, whichever the engine reads first: both carry the reason
        seen = _read_until(engine, "state HALTED by shell: ")
        assert robo("health", data=data).returncode == 3
        assert robo("resume", "--yes", data=data).returncode == 0
        seen += _read_until(engine, "state ACTIVE by shell: resumed from the shell")
        assert "coffee break" in seen
    finally:
        engine.terminate()
        engine.wait(timeout=30)
        if engine.stdout:
            engine.stdout.close()
        if engine.stderr:
            engine.stderr.close()


def _read_until(process: subprocess.Popen[str], wanted: str, timeout: float = 60) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen += line
        if wanted in line:
            return seen
    raise AssertionError(f"{wanted!r} not printed; got:\n{seen}")
