"""One robo-tui per data dir: an exclusive `flock` on `<data_dir>/robo-tui.lock`.

The kernel drops a `flock` when its holder exits, however it exits (even SIGKILL), so a stale
lock file never blocks the next run. The file is never deleted (deleting a flock'ed file lets two
processes each lock a different inode); it holds the current holder's pid, command and start time
so a refused process can say who is in the way.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

LOCK_FILENAME = "robo-tui.lock"


class DataDirLocked(RuntimeError):
    """Another process holds the data dir; the message says who, since when, and what to do."""

    def __init__(
        self, data_dir: Path, pid: int | None, started: str | None, command: str | None
    ) -> None:
        self.data_dir = data_dir
        self.pid = pid
        self.started = started
        self.command = command
        who = f"pid {pid}" if pid is not None else "pid unknown"
        if started:
            who += f", started {started}"
        if command:
            who += f", command: {command}"
        super().__init__(
            f"another robo-tui ({who}) is using {data_dir}; stop it or use another --data-dir"
        )


class DataDirLock:
    """An exclusive, non-blocking lock on a data dir, held until `release()` or process exit.

    Use as `with DataDirLock(data_dir): ...` or call `acquire()` / `release()`. `acquire()`
    creates the data dir (0700) if missing and raises `DataDirLocked` when another process (or
    another `DataDirLock` in this one) holds it.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / LOCK_FILENAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock now or raise `DataDirLocked`; never waits."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this DataDirLock")
        old_umask = os.umask(0o077)
        try:
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        finally:
            os.umask(old_umask)
        try:
            os.fchmod(fd, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise DataDirLocked(
                self.data_dir,
                _as_int(holder.get("pid")),
                _as_str(holder.get("started")),
                _as_str(holder.get("command")),
            ) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        info = {
            "pid": os.getpid(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "",
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        os.fsync(fd)

    def release(self) -> None:
        """Give the lock up (a no-op when not held)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        raw = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
        data = json.loads(raw) if raw else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _as_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
