"""Storage faults from the command line (issue 17, finding 7): each ends with its own exit code
and a sentence, never a traceback, a hang, "broker unreachable" or a silent fresh account; the
kill switch works when the database cannot be written."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from robo_tui.adapters.store.sqlite import DB_FILENAME, SqliteStore
from robo_tui.domain.orders import Order, OrderIntent, OrderStatus, Side
from robo_tui.runtime import ExitCode

ROOT = Path(__file__).resolve().parents[2]


def robo(data_dir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`robo-tui ARGS --data-dir DATA_DIR` in a fresh process with no user config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROBO_TUI_")}
    env |= {"XDG_CONFIG_HOME": str(data_dir.parent / "xdg"), "HOME": str(data_dir.parent),
            "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])}

    return subprocess.run([sys.executable, "-m", "robo_tui.cli", *args, "--data-dir",
                           str(data_dir)], check=False, capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data dir after one headless session."""
    top = Path(tempfile.mkdtemp(prefix="robo-storage-"))
    folder = top / "data"
    try:
        first = robo(folder, "--headless", "--once")
        assert first.returncode == 0, first.stderr
        yield folder
    finally:
        shutil.rmtree(top, ignore_errors=True)


def _clean(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "unreachable" not in result.stderr, result.stderr


def test_headless_when_the_database_is_zero_length_then_exit_10_and_no_fresh_account(
    data_dir: Path,
) -> None:
    db = data_dir / DB_FILENAME
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(b"")
    result = robo(data_dir, "--headless", "--once")
    _clean(result)
    assert result.returncode == ExitCode.STORAGE_MISSING == 10
    assert "storage missing" in result.stderr and "held a session" in result.stderr
    assert db.stat().st_size == 0


def test_headless_when_the_database_is_corrupted_then_exit_9_refused(data_dir: Path) -> None:
    db = data_dir / DB_FILENAME
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = db.stat().st_size
    with db.open("r+b") as f:
        f.seek(size // 2)
        f.write(os.urandom(min(8192, size // 2)))
    result = robo(data_dir, "--headless", "--once")
    _clean(result)
    assert result.returncode == ExitCode.STORAGE_CORRUPT == 9
    assert "damaged" in result.stderr


def _read_only(paths: list[Path]) -> Iterator[None]:
    """Make `paths` unwritable for this process: chmod, or for root (who ignores modes) the
    immutable attribute."""
    if os.geteuid() != 0:
        for path in paths:
            os.chmod(path, 0o500 if path.is_dir() else 0o400)
        yield
        return
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: cannot make a file read-only")
    done = subprocess.run(["chattr", "+i", *map(str, paths)], check=False, capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"chattr +i refused: {done.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, paths)], check=False)


def test_headless_when_the_database_is_read_only_then_exit_8_not_broker_unreachable(
    data_dir: Path,
) -> None:
    db = data_dir / DB_FILENAME
    files = [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]
    with contextlib.contextmanager(_read_only)(files):
        result = robo(data_dir, "--headless", "--once")
    _clean(result)
    assert result.returncode == ExitCode.STORAGE_READ_ONLY == 8, result.stderr
    assert "cannot be written" in result.stderr


def test_headless_when_another_process_holds_the_lock_then_exit_7(data_dir: Path) -> None:
    other = sqlite3.connect(data_dir / DB_FILENAME, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        result = robo(data_dir, "--headless", "--once")
    finally:
        other.close()
    _clean(result)
    assert result.returncode == ExitCode.STORAGE_LOCKED == 7
    assert "write lock" in result.stderr


def test_halt_when_the_database_cannot_be_opened_then_the_halt_file_still_halts(
    data_dir: Path,
) -> None:
    db = data_dir / DB_FILENAME
    backup = data_dir.parent / "backup.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(db, backup)
    with db.open("r+b") as f:
        f.write(b"garbage" * 20)
    halted = robo(data_dir, "halt", "--reason", "disk trouble")
    _clean(halted)
    assert halted.returncode == 0
    assert "HALTED" in halted.stdout and "halt file" in halted.stderr
    shutil.copy(backup, db)  # the backup (taken before the halt) knows nothing of it
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    run = robo(data_dir, "--headless", "--once")
    assert run.returncode == ExitCode.HALTED, run.stderr
    assert "disk trouble" in run.stderr
    resumed = robo(data_dir, "resume", "--yes")
    assert resumed.returncode == 0, resumed.stderr
    assert not (data_dir / "HALT").exists()
    assert robo(data_dir, "--headless", "--once").returncode == 0


def test_orders_resolve_when_unknown_then_filled_with_the_statement_and_reason(
    data_dir: Path,
) -> None:
    async def an_unknown_order() -> None:
        async with SqliteStore(data_dir / DB_FILENAME) as store:
            order = Order("O-lost", OrderIntent("AAPL", Side.BUY, 2), store._now(), "ui")
            await store.record_order_intent(order)
            await store.update_order("O-lost", OrderStatus.UNKNOWN, None, "timeout")

    asyncio.run(an_unknown_order())
    result = robo(data_dir, "orders", "resolve", "O-lost", "--status", "filled", "--price",
                  "190.5", "--fee", "1.2", "--reason", "per the venue's statement")
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(data_dir / DB_FILENAME) as conn:
        status = conn.execute("SELECT status, message FROM orders "
                              "WHERE client_order_id = 'O-lost'").fetchone()
        fills = conn.execute("SELECT qty, price, fee FROM fills "
                             "WHERE client_order_id = 'O-lost'").fetchall()
    assert status[0] == "filled" and "venue's statement" in status[1]
    assert fills == [(2.0, 190.5, 1.2)]
    again = robo(data_dir, "orders", "resolve", "O-lost", "--status", "cancelled",
                 "--reason", "oops")
    assert again.returncode == ExitCode.USAGE and "already filled" in again.stderr
    missing = robo(data_dir, "orders", "resolve", "O-nope", "--status", "cancelled",
                   "--reason", "x")
    assert missing.returncode == ExitCode.USAGE and "no order O-nope" in missing.stderr
