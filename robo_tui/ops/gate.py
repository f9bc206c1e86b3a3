"""What a run checks before it builds the engine, beyond `runtime.check_live`: the mode the last
session left (restored like the kill switch, never silently into LIVE) and, for LIVE, a recent
passing preflight. Both read the journal read-only, before the engine opens it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from robo_tui.config import Settings
from robo_tui.domain.risk import Mode
from robo_tui.ops.record import journal_row, preflight_refusal
from robo_tui.runtime import (
    ExitCode,
    RunError,
    RunOptions,
    check_live,
    load_run_settings,
    resolve_data_dir,
    secrets_of,
)


def persisted_mode(data_dir: Path) -> Mode | None:
    """The mode the journal of `data_dir` holds (set by `m` or a shell), None when never set."""
    row = journal_row(data_dir, "SELECT value FROM control_state WHERE key = 'mode'")
    try:
        return Mode(row[0]) if row and row[0] else None
    except ValueError:
        return None


def restore_mode(options: RunOptions, settings: Settings, data_dir: Path) -> tuple[Settings, str]:
    """`settings` with the persisted mode applied when `--mode` was not given, and a line saying
    so ("" when nothing was restored). A persisted LIVE is never restored silently: without
    --confirm-live the run is refused, saying how to start."""
    from robo_tui.wiring import with_overrides

    if options.mode is not None:
        return settings, ""
    mode = persisted_mode(data_dir)
    if mode is None or mode is settings.engine.mode:
        return settings, ""
    if mode is Mode.LIVE and not options.confirm_live:
        raise RunError("the last session was switched to LIVE and live is never restored "
                       "silently: start with --confirm-live to trade live again, or pass "
                       "--mode paper (or semi-auto, auto)", ExitCode.USAGE)
    line = f"mode {mode.value.upper()} restored from the last session (--mode overrides it)"
    return with_overrides(settings, mode=mode), line


def require_preflight(settings: Settings, data_dir: Path, now: datetime | None = None) -> None:
    """A LIVE run needs a passing preflight from the last `[live] preflight_max_age_minutes`;
    refused (exit 2, like every live refusal) naming the failed checks otherwise. A SHADOW run
    needs a live broker configured (no preflight: it never sends)."""
    if settings.engine.mode is Mode.SHADOW and settings.broker.kind == "paper":
        raise RunError("shadow mode refused to start: it reads the live account; set broker.kind "
                       "to ib, robinhood or robinhood_crypto", ExitCode.USAGE)
    if settings.engine.mode is not Mode.LIVE:
        return
    why = preflight_refusal(settings, data_dir, now or datetime.now(UTC))
    if why is not None:
        raise RunError(f"live mode refused to start:\n  - {why}", ExitCode.USAGE)


def prepare_run(run: RunOptions) -> tuple[Settings, Path, str]:
    """What the console and a headless run do before they build the engine: the run's settings
    with the persisted mode restored, its data dir, and what was restored (""); the live checks
    (on the restored mode too) and the preflight a live start needs; the session log set up.
    Raises `RunError` naming what must change."""
    from robo_tui.logs import setup_logging

    settings = load_run_settings(run)
    check_live(settings, run.confirm_live)
    data_dir = resolve_data_dir(run, settings)
    settings, restored = restore_mode(run, settings, data_dir)
    check_live(settings, run.confirm_live)  # a restored mode is checked the same
    require_preflight(settings, data_dir)
    setup_logging(data_dir, secrets_of(settings), options=settings.logging)
    return settings, data_dir, restored
