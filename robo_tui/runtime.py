"""What every run (console, headless, shell commands) does first: settings, checks, data dir, lock.

Failures are `RunError`s carrying the exit code the command line returns.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import field
from enum import IntEnum
from pathlib import Path
from typing import TextIO

from robo_tui.config import (
    ConfigError,
    Settings,
    default_data_dir,
    load_settings,
    resolve_config_path,
)
from robo_tui.domain.frozen import frozen
from robo_tui.domain.risk import Mode


class ExitCode(IntEnum):
    """Exit codes of `robo-tui` (headless mode and shell commands)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    HALTED = 3
    LOCKED = 4
    UNREACHABLE = 5
    STORAGE_FULL = 6
    STORAGE_LOCKED = 7
    STORAGE_READ_ONLY = 8
    STORAGE_CORRUPT = 9
    STORAGE_MISSING = 10
    FORCED_STOP = 11
    """A stop was asked (SIGTERM, SIGINT) and the run had not ended `SHUTDOWN_GRACE` seconds
    later (or a second signal came): the process ended at once."""


SHUTDOWN_GRACE = 10.0
"""Seconds a run gets to stop cleanly after SIGTERM/SIGINT before the process ends anyway."""


class ShutdownWatchdog:
    """Bounds a shutdown: `arm()` (from the first stop signal) starts a timer thread that ends
    the process with `ExitCode.FORCED_STOP` if it is still running `grace` seconds later, whatever
    is stuck (a thread blocked in a read, a hung close); a second `arm()` ends it at once. The
    timer is a daemon thread, so it also fires while the interpreter waits for other threads."""

    def __init__(self, grace: float = SHUTDOWN_GRACE, *, err: TextIO | None = None,
                 exit: Callable[[int], object] = os._exit) -> None:
        self.grace = grace
        self._err = err or sys.stderr
        self._exit = exit
        self._timer: threading.Timer | None = None

    def arm(self) -> None:
        """The first call starts the countdown; a second one ends the process now."""
        if self._timer is not None:
            self._force("a second stop signal")
            return
        self._timer = threading.Timer(self.grace, self._force,
                                      args=(f"not stopped {self.grace:g} s after the signal",))
        self._timer.daemon = True
        self._timer.start()

    def _force(self, why: str) -> None:
        try:
            self._err.write(f"robo-tui: {why}; exiting now (open orders stay with the broker; "
                            "the kill switch and the journal are as last written)\n")
            self._err.flush()
        finally:
            self._exit(int(ExitCode.FORCED_STOP))


class RunError(Exception):
    """A run cannot go on; `code` is what the process exits with."""

    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.code = code


@frozen
class RunOptions:
    """The common command-line options."""

    config: Path | None = None
    data_dir: Path | None = None
    mode: Mode | None = None
    json: bool = False
    confirm_live: bool = False
    analyst: str | None = None
    news: tuple[str, ...] = field(default_factory=tuple)


def load_run_settings(options: RunOptions) -> Settings:
    """Settings from the config file and environment, with this run's overrides applied."""
    from robo_tui.wiring import with_overrides

    path = resolve_config_path(options.config)
    try:
        settings = load_settings(path)
        return with_overrides(settings, mode=options.mode, analyst=options.analyst,
                              news=options.news)
    except ConfigError as exc:
        raise RunError(f"config error: {exc}", ExitCode.USAGE) from exc
    except ValueError as exc:  # an override that does not validate
        raise RunError(f"bad option: {exc}", ExitCode.USAGE) from exc


def check_live(settings: Settings, confirm_live: bool) -> None:
    """LIVE refuses to start unless everything it needs is there; says exactly what is missing."""
    from robo_tui.engine.engine import live_requirements

    if settings.engine.mode is not Mode.LIVE:
        return
    missing = live_requirements(settings, confirm_live)
    if missing:
        raise RunError("live mode refused to start:\n  - " + "\n  - ".join(missing), ExitCode.USAGE)


def resolve_data_dir(options: RunOptions, settings: Settings) -> Path:
    """--data-dir, else storage.data_dir, else the user data dir."""
    path = options.data_dir or settings.storage.data_dir or default_data_dir()
    return path.expanduser()


def secrets_of(settings: Settings) -> Sequence[str]:
    """The secret values to redact from logs."""
    from robo_tui.logs import secret_values

    return secret_values(settings)
