"""The heartbeat file a running engine rewrites after every cycle and state change.

A monitor (systemd, cron, a phone) reads it through `robo-tui health`; `robo-tui status` reads
it for "engine running since". The file is replaced atomically (write a temporary file beside
it, fsync, rename), so a reader never sees half a heartbeat.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from robo_tui.domain.events import CycleCompleted, Event, ModeChanged, TradingStateChanged

HEARTBEAT_FILENAME = "heartbeat.json"
"""The heartbeat's name in the data dir."""


class Heartbeat(BaseModel):
    """One heartbeat: who wrote it, when the last cycle ran and what the engine was doing."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    pid: int
    started_at: datetime
    """When the engine process started (status shows "engine running since")."""
    written_at: datetime
    """When this heartbeat was written (a cycle or a state change)."""
    last_cycle_at: datetime | None = None
    """The wall-clock time the last cycle completed; None before the first."""
    cycle: int = 0
    state: str = ""
    mode: str = ""
    equity: float | None = None
    day_pnl: float | None = None
    cycle_seconds: float = 60.0
    """The engine's cycle period: `health` allows a few of these before calling it stale."""


def heartbeat_path(data_dir: Path) -> Path:
    """Where the heartbeat of the engine using `data_dir` lives."""
    return Path(data_dir) / HEARTBEAT_FILENAME


def write_heartbeat(path: Path, beat: Heartbeat) -> None:
    """Replace the heartbeat file atomically (0600, like the database)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    data = beat.model_dump_json().encode()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read_heartbeat(path: Path) -> Heartbeat | None:
    """The heartbeat in `path`; None when there is none or it cannot be read."""
    try:
        raw: Any = json.loads(path.read_text())
        return Heartbeat.model_validate(raw)
    except (OSError, ValueError, ValidationError):
        return None


class HeartbeatWriter:
    """Subscribed to the engine's bus by the composition root: rewrites the heartbeat after each
    cycle (`CycleCompleted`) and each state or mode change, so a halt from the shell shows in
    the file at once. A write that fails (a full disk) never disturbs the engine."""

    EVENTS: tuple[type[Event], ...] = (CycleCompleted, TradingStateChanged, ModeChanged)

    def __init__(self, path: Path, *, cycle_seconds: float, mode: str,
                 now: Callable[[], datetime] | None = None) -> None:
        self.path = path
        self._now = now or (lambda: datetime.now(UTC))
        started = self._now()
        self._beat = Heartbeat(pid=os.getpid(), started_at=started, written_at=started,
                               mode=mode, cycle_seconds=cycle_seconds)
        self.failures = 0

    def __call__(self, event: Event) -> None:
        """Fold `event` into the heartbeat and write it."""
        now = self._now()
        changes: dict[str, Any] = {"written_at": now}
        if isinstance(event, CycleCompleted):
            changes.update(last_cycle_at=now, cycle=event.cycle, state=event.state.value,
                           mode=event.mode.value, equity=event.equity, day_pnl=event.day_pnl)
        elif isinstance(event, TradingStateChanged):
            changes["state"] = event.new.value
        elif isinstance(event, ModeChanged):
            changes["mode"] = event.new.value
        self._beat = self._beat.model_copy(update=changes)
        try:
            write_heartbeat(self.path, self._beat)
        except OSError:
            self.failures += 1
