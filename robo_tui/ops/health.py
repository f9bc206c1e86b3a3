"""`robo-tui health`: is the engine in this data dir alive, fresh and trading? For monitors.

Fresh means the last cycle ended within `max_age` seconds (by default three cycles plus half a
minute) and the process that wrote the heartbeat still runs on this machine.
"""

from __future__ import annotations

import os
from datetime import datetime

from robo_tui.domain.frozen import frozen
from robo_tui.ops.exitcodes import OpsExit
from robo_tui.ops.heartbeat import Heartbeat

GRACE_SECONDS = 30.0
"""Slack added to three cycle periods before a heartbeat counts as stale."""


@frozen
class HealthVerdict:
    """What `health` found: the exit code and one line saying why."""

    code: OpsExit
    message: str
    age_seconds: float | None = None


def default_max_age(beat: Heartbeat) -> float:
    """Seconds a heartbeat stays fresh: three cycles plus `GRACE_SECONDS`."""
    return 3 * beat.cycle_seconds + GRACE_SECONDS


def process_alive(pid: int) -> bool:
    """Whether a process with `pid` runs on this machine (signal 0 checks without sending)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def judge(beat: Heartbeat | None, now: datetime, *, max_age: float | None = None,
          alive: bool | None = None) -> HealthVerdict:
    """The verdict on `beat` at `now` (`alive` None: ask the operating system about its pid)."""
    if beat is None:
        return HealthVerdict(OpsExit.HEARTBEAT_MISSING,
                             "no heartbeat: no engine has completed a cycle in this data dir")
    last = beat.last_cycle_at or beat.written_at
    age = (now - last).total_seconds()
    limit = default_max_age(beat) if max_age is None else max_age
    running = process_alive(beat.pid) if alive is None else alive
    if not running:
        return HealthVerdict(OpsExit.HEARTBEAT_STALE,
                             f"engine pid {beat.pid} is not running (last cycle {age:.0f}s ago)", age)
    if age > limit:
        return HealthVerdict(OpsExit.HEARTBEAT_STALE,
                             f"stale: last cycle {age:.0f}s ago (allowed {limit:.0f}s), pid {beat.pid}",
                             age)
    if beat.state == "HALTED":
        return HealthVerdict(OpsExit.HALTED, f"HALTED: engine pid {beat.pid} runs but trading is "
                             f"halted (last cycle {age:.0f}s ago)", age)
    return HealthVerdict(OpsExit.OK, f"ok: {beat.mode.upper()} {beat.state}, cycle {beat.cycle}, "
                         f"last {age:.0f}s ago, pid {beat.pid}", age)
