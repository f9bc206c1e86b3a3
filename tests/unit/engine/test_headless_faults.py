"""`robo-tui --headless` as a process: a FIFO as the news file does not stop its cycles, SIGTERM
ends it promptly while a news server never answers, and the shutdown watchdog bounds any stop."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from robo_tui.runtime import ExitCode, ShutdownWatchdog
from tests.unit.news.slow_servers import slow_server


def clean_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROBO_TUI_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg-config")  # no user config
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    env["ROBO_TUI_ENGINE__CYCLE_SECONDS"] = "0.3"
    env["ROBO_TUI_NEWS__SAMPLE"] = "false"
    env.update(settings)
    return env


def headless(tmp_path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "robo_tui.cli", "--headless", *args,
            "--data-dir", str(tmp_path / "data")]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_headless_when_the_news_file_is_a_fifo_then_its_three_cycles_complete(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "f")
    run = subprocess.run(headless(tmp_path, "--cycles", "3", "--news", "f"), check=False, cwd=tmp_path,
                         env=clean_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    cycles = [line for line in run.stdout.splitlines() if " cycle " in line]
    assert len(cycles) == 3, run.stdout


def test_headless_when_sigterm_arrives_while_news_never_answers_then_it_exits_promptly(
    tmp_path: Path,
) -> None:
    with slow_server(trickle=None) as silent:
        proc = subprocess.Popen(
            headless(tmp_path, "--news", silent.url("/feed.xml")), cwd=tmp_path,
            env=clean_env(tmp_path, ROBO_TUI_NEWS__TIMEOUT_SECONDS="60"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()  # the first cycle's summary
            assert " cycle 1 " in first, first + (proc.stderr.read() if proc.stderr else "")
            deadline = time.monotonic() + 10
            while silent.connections == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert silent.connections > 0, "the news source was never polled"
            proc.send_signal(signal.SIGTERM)
            started = time.monotonic()
            code = proc.wait(timeout=15)
            took = time.monotonic() - started
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert code == ExitCode.OK
    assert took < 5.0, f"SIGTERM took {took:.1f} s with a news fetch hanging"


def test_watchdog_when_the_grace_runs_out_then_it_ends_the_process_with_forced_stop() -> None:
    exits: list[int] = []
    done = threading.Event()
    err = io.StringIO()

    def fake_exit(code: int) -> None:
        exits.append(code)
        done.set()

    watchdog = ShutdownWatchdog(0.05, err=err, exit=fake_exit)
    watchdog.arm()
    assert done.wait(2.0)
    assert exits == [ExitCode.FORCED_STOP]
    assert "exiting now" in err.getvalue()


def test_watchdog_when_a_second_signal_comes_then_it_ends_the_process_at_once() -> None:
    exits: list[int] = []
    watchdog = ShutdownWatchdog(60.0, err=io.StringIO(), exit=exits.append)
    watchdog.arm()
    assert exits == []
    watchdog.arm()
    assert exits == [ExitCode.FORCED_STOP]
