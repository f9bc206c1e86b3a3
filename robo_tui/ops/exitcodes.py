"""The exit codes of the operations commands (`preflight`, `health`, `status`).

They continue `robo_tui.runtime.ExitCode` (0-11) from 20 so that monitors can tell them apart
from the engine's own codes; `HALTED` (3) keeps its meaning everywhere.
"""

from __future__ import annotations

from enum import IntEnum


class OpsExit(IntEnum):
    """What `robo-tui preflight` and `robo-tui health` exit with (documented in docs/cli.md)."""

    OK = 0
    HALTED = 3
    """The heartbeat says trading is HALTED (the same code a halted headless run ends with)."""
    PREFLIGHT_FAILED = 20
    """At least one preflight check failed; each failed line names its fix."""
    HEARTBEAT_STALE = 21
    """The heartbeat is older than allowed, or the process that wrote it is gone."""
    HEARTBEAT_MISSING = 22
    """No heartbeat file (no engine has run a cycle in this data dir) or it cannot be read."""
