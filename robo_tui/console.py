"""`robo-tui`: the console's composition root. Settings, live check, data dir and its lock,
logging, then the engine (built by the wiring, after the first frame) with its view publisher and
the stored backtests, handed to the console shell (`robo_tui.ui.app.RoboApp`).

The console package never imports the adapters, the wiring or the runtime; this module is where
they meet it.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Mapping, Sequence

from robo_tui.adapters.store.lock import DataDirLock, DataDirLocked
from robo_tui.backtest.report import stored_report
from robo_tui.backtest.results import FIND_RUN_SQL, LIST_RUNS_SQL, run_listing, stored_run
from robo_tui.engine.engine import Engine
from robo_tui.engine.view import ViewPublisher
from robo_tui.ports import Store
from robo_tui.runtime import (
    ExitCode,
    RunError,
    RunOptions,
    ShutdownWatchdog,
)
from robo_tui.ui.app import UI_STATE_FILE, RoboApp
from robo_tui.ui.screens.backtests import RunReport

__all__ = ["StoredRuns", "run_console"]


class StoredRuns:
    """The backtest runs stored in the data dir's database, read through the store's query port
    (the same rows `robo-tui backtest --list` and `--show` read). A store in memory keeps none:
    its `query` raises NotImplementedError."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def listing(self, limit: int, *, narrow: bool) -> Sequence[tuple[str, Mapping[str, str]]]:
        """The newest `limit` runs, newest first, as `robo-tui backtest --list` shows them."""
        rows = await self._store.query(LIST_RUNS_SQL, (limit,))
        return [(str(row["id"]), run_listing(row, narrow=narrow)) for row in rows]

    async def report(self, run_id: str, *, width: int) -> RunReport | None:
        """The report `robo-tui backtest --show` prints for the run whose id starts with
        `run_id` (the last 50 trades), sized to `width` columns."""
        rows = await self._store.query(FIND_RUN_SQL, (run_id + "%",))
        if not rows:
            return None
        run = stored_run(rows[0])
        return RunReport(run.id, stored_report(run, width=width, color=True, max_trades=50))


class _EngineStore:
    """The stored runs of an engine that is built after the first frame (its store opens then)."""

    def __init__(self) -> None:
        self.engine: Engine | None = None

    def _runs(self) -> StoredRuns:
        if self.engine is None:
            raise NotImplementedError("the engine has not been built yet")
        return StoredRuns(self.engine.store)

    async def listing(self, limit: int, *, narrow: bool) -> Sequence[tuple[str, Mapping[str, str]]]:
        """The newest `limit` runs, newest first."""
        return await self._runs().listing(limit, narrow=narrow)

    async def report(self, run_id: str, *, width: int) -> RunReport | None:
        """The report of the run whose id starts with `run_id`, if it is stored."""
        return await self._runs().report(run_id, width=width)


def _stop_on_sigterm(app: RoboApp) -> None:
    """SIGTERM closes the console like quitting does (the engine stops, the journal is flushed),
    and the process ends within `SHUTDOWN_GRACE` seconds whatever is stuck."""
    watchdog = ShutdownWatchdog()

    def on_sigterm(signum: int, frame: object) -> None:
        watchdog.arm()
        app.exit()

    signal.signal(signal.SIGTERM, on_sigterm)


def run_console(options: RunOptions, *, theme: str | None = None) -> int:
    """`robo-tui`: settings, live check, data dir, lock, logging, engine, then the console.

    Returns the process exit code (a config error or a locked data dir exits before any screen).
    """
    try:
        from robo_tui.ops.gate import prepare_run

        settings, data_dir, _restored = prepare_run(options)  # the restored mode is shown
    except RunError as exc:
        print(f"robo-tui: {exc}", file=sys.stderr)
        return int(exc.code)
    lock = DataDirLock(data_dir)
    try:
        lock.acquire()
    except DataDirLocked as exc:
        print(f"robo-tui: {exc}", file=sys.stderr)
        return int(ExitCode.LOCKED)
    try:
        runs = _EngineStore()

        def build() -> Engine:
            from robo_tui.wiring import attach_outbound, build_engine  # after the first frame

            runs.engine = build_engine(settings, data_dir=data_dir)
            attach_outbound(runs.engine, settings)
            return runs.engine

        app = RoboApp(build, theme=theme, settings_path_for_ui_state=data_dir / UI_STATE_FILE,
                      default_theme=settings.ui.theme, views=ViewPublisher, runs=runs)
        _stop_on_sigterm(app)
        result = app.run()
        code = app.return_code
        return int(code if code is not None else (result or 0))
    finally:
        lock.release()
