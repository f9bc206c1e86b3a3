"""One robo-tui per data dir: a second process is refused with who holds it and what to do."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import robo_tui
from robo_tui.adapters.store import DataDirLock, DataDirLocked

REPO = Path(robo_tui.__file__).resolve().parents[1]

HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from robo_tui.adapters.store import DataDirLock

    lock = DataDirLock(Path(sys.argv[1]))
    lock.acquire()
    print("locked", flush=True)
    sys.stdin.readline()  # hold until the parent closes our stdin
    lock.release()
    print("released", flush=True)
    """
)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock on `tmp_path / "data"`."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "data"), "--headless"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def test_acquire_when_another_process_holds_the_dir_then_names_pid_start_and_remedy(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    data = tmp_path / "data"
    with pytest.raises(DataDirLocked) as caught:
        DataDirLock(data).acquire()
    err = caught.value
    assert err.pid == holder.pid
    assert err.started is not None and err.started.startswith("20")
    assert err.command is not None and "--headless" in err.command
    assert str(err).startswith(f"another robo-tui (pid {holder.pid}, started {err.started}")
    assert str(err).endswith(f"is using {data}; stop it or use another --data-dir")


def test_acquire_when_the_holder_releases_then_succeeds(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.close()
    assert holder.stdout.readline().strip() == "released"
    with DataDirLock(tmp_path / "data") as lock:
        assert lock.held
        info = json.loads(lock.path.read_text())
        assert info["pid"] == os.getpid()
    assert not lock.held


def test_acquire_when_the_holder_was_killed_then_the_stale_lock_is_free(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    lock = DataDirLock(tmp_path / "data")
    lock.acquire()  # the file still names the dead pid, but the kernel dropped its flock
    assert json.loads(lock.path.read_text())["pid"] == os.getpid()
    lock.release()


def test_acquire_when_the_same_process_locks_twice_then_the_second_is_refused(
    tmp_path: Path,
) -> None:
    with DataDirLock(tmp_path) as first:
        with pytest.raises(DataDirLocked, match=f"pid {os.getpid()}"):
            DataDirLock(tmp_path).acquire()
        assert first.held
        with pytest.raises(RuntimeError, match="already held"):
            first.acquire()


def test_acquire_when_the_dir_is_missing_then_creates_it_0700_with_a_0600_lock_file(
    tmp_path: Path,
) -> None:
    data = tmp_path / "fresh" / "data"
    old = os.umask(0o000)
    try:
        with DataDirLock(data) as lock:
            file_mode = stat.S_IMODE(lock.path.stat().st_mode)
    finally:
        os.umask(old)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert file_mode == 0o600
    assert lock.path.name == "robo-tui.lock"
    assert lock.path.exists()  # never deleted: deleting a flock'ed file breaks exclusion
