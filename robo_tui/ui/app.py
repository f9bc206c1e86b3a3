"""The robo-tui console shell: a Textual app that runs the engine in its own event loop.

How it fits together:

- The engine runs as workers of this app (same asyncio loop): one starts it after the first frame
  (building it first, in a thread, when given a factory), one runs its cycle loop. Worker errors
  are handled in one place (`on_worker_state_changed`): a clear notification, an entry in the
  feed (and so the audit log), and the app stays usable.
- Bus events are buffered by a synchronous subscriber and handed to the main screen as one
  `EngineEvents` message ten times a second, so thousands of events a second cannot flood the UI.
- The panes render the engine's view (`robo_tui.engine.view`): a `ViewPublisher` rebuilds it when
  something shown changed (polled at 4 Hz, and at once after an action) and the app hands each new
  view to the main screen as a `ViewChanged` message. No pane reads the engine.
- The pane actions live with the main screen (`screens/main.py`), which calls the engine's public
  methods; the shell keeps the engine's lifecycle, safety (kill switch, resume, pause), quitting and
  themes. The kill switch calls `Engine.halt` directly and works on every screen, even when the
  engine loop has died. `run_console` (settings, data-dir lock, wiring) is the composition root's,
  in `robo_tui/console.py`.
- Quitting stops the cycle, then `Engine.stop()` (audit log flushed, adapters and database closed).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import App, SystemCommand
from textual.binding import BindingType
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from robo_tui.domain.events import EngineErrorOccurred, Event
from robo_tui.domain.risk import TradingState
from robo_tui.engine.engine import Engine
from robo_tui.engine.view import ConsoleView, ViewPublisher, ViewUpdated
from robo_tui.ui.commands import ConsoleCommands, bindings
from robo_tui.ui.messages import EngineEvents, EngineStarted, EngineStopped, ViewChanged
from robo_tui.ui.screens.backtests import RunCatalogue
from robo_tui.ui.screens.dialogs import ConfirmDialog
from robo_tui.ui.screens.help import HelpScreen
from robo_tui.ui.screens.main import MainScreen
from robo_tui.ui.shell import Severity
from robo_tui.ui.themes import load_themes, next_theme
from robo_tui.ui.widgets.safe import safe_text

if TYPE_CHECKING:
    from robo_tui.engine.bus import Subscription

log = logging.getLogger(__name__)

UI_STATE_FILE = "ui-state.json"
"""The console's own small state file in the data dir (theme choice)."""

DEFAULT_THEME = "robo-dark"

EVENT_FLUSH_SECONDS = 0.1
"""How often buffered bus events reach the feed (10 Hz)..."""
BUSY_FLUSH_SECONDS = 0.25
"""...and at most this often (4 Hz) while a burst is on, so rendering leaves room for keys."""
AUDIT_BATCH = 200
"""Audit rows pending before the console writes them itself (see `RoboApp._flush_audit`)."""
BUSY_BATCH = 500
"""A batch at least this big counts as a burst (5,000 events a second at 10 Hz)."""
PANE_REFRESH_SECONDS = 0.25
"""How often the engine's view is polled for changes (4 Hz)."""
MODEL_DISCOVERY_SECONDS = 300.0
"""How often the model selector re-discovers providers and models (also from the palette)."""
STOP_GRACE_SECONDS = 5.0
"""How long quitting waits for a running cycle to finish before cancelling it."""


def load_ui_state(path: Path | None) -> dict[str, Any]:
    """The saved UI state ({} when there is none or it is unreadable)."""
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_ui_state(path: Path | None, state: dict[str, Any]) -> None:
    """Write the UI state atomically (0600); a failure is logged, never raised."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state, handle, indent=2, sort_keys=True)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("could not save the UI state to %s: %s", path, exc)


class RoboApp(App[int]):
    """The trading console around one engine.

    `engine` is a ready-built engine (tests build their own on a SimClock and a temporary store)
    or a function that builds one; a function is called in a thread after the first frame so the
    console paints at once. `cycles`: None runs the engine loop until quit, N runs N cycles, 0
    only starts the engine (tests then drive it themselves). `views` builds the engine's view
    publisher (the composition root's; by default a `ViewPublisher`), `runs` is the stored
    backtest catalogue (None: the console lists none).
    """

    TITLE = "robo-tui"
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    COMMANDS: ClassVar[set[Any]] = App.COMMANDS | {ConsoleCommands}
    BINDINGS: ClassVar[list[BindingType]] = list(bindings(main=False))

    def __init__(self, engine: Engine | Callable[[], Engine], *, theme: str | None = None,
                 settings_path_for_ui_state: Path | None = None, cycles: int | None = None,
                 default_theme: str = DEFAULT_THEME,
                 views: Callable[[Engine], ViewPublisher] = ViewPublisher,
                 runs: RunCatalogue | None = None) -> None:
        super().__init__()
        # an Engine is not callable; a factory is (checked without importing the engine)
        self._factory: Callable[[], Engine] | None = engine if callable(engine) else None
        self.engine: Engine | None = None if callable(engine) else engine
        """The engine (None until a factory has built it)."""
        self._ui_state_path = settings_path_for_ui_state
        self._ui_state = load_ui_state(settings_path_for_ui_state)
        self._requested_theme = theme
        self._default_theme = default_theme
        self._cycles = cycles
        self._make_views = views
        self._runs = runs
        self.views: ViewPublisher | None = None
        """The engine's view publisher (None until the engine is there)."""
        self.engine_started = asyncio.Event()
        """Set once `Engine.start()` has completed (tests wait on it)."""
        self.models_ready = asyncio.Event()
        """Set once the first model discovery has finished (tests wait on it)."""
        self.engine_ready_error: str | None = None
        """Why the engine could not start, if it could not."""
        self._stop = asyncio.Event()
        self._buffer: list[Event] = []
        self._queued: EngineEvents | None = None  # the last batch posted
        self._posted = 0  # events posted to the screen so far (their sequence numbers)
        self._last_flush = 0.0
        self._subscription: Subscription | None = None
        self._halt_requested = False
        self._stopped = False
        self._run_worker: Worker[None] | None = None
        self.events_absorbed = 0
        """Bus events handed to the feed so far (the benchmark reads it)."""

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's own palette commands, without its "Theme" (robo's `t` is the one that is
        remembered and keeps the profit/loss colours)."""
        for command in super().get_system_commands(screen):
            if command.title != "Theme":
                yield command

    # ------------------------------------------------------------------ lifecycle

    def on_mount(self) -> None:
        self._install_themes()
        self.main = MainScreen(self, runs=self._runs)
        self.push_screen(self.main)
        self.set_interval(EVENT_FLUSH_SECONDS, self._flush_events, name="events")
        self.set_interval(PANE_REFRESH_SECONDS, self.refresh_view, name="panes")
        # the first frame comes first; the engine starts right after it
        self.call_after_refresh(self._boot)

    def _boot(self) -> None:
        self.run_worker(self._start_engine(), name="engine-start", group="engine",
                        exit_on_error=False)

    async def _start_engine(self) -> None:
        if self.engine is None:
            assert self._factory is not None
            self.engine = await asyncio.to_thread(self._factory)
        engine = self.engine
        if self._subscription is None:
            self._subscription = engine.bus.subscribe(self._buffer.append)
        if self.views is None:
            self.views = self._make_views(engine)
            self.views.subscribe(self._on_view)
        await engine.start()
        if self._halt_requested:
            await engine.halt("kill switch pressed while starting", by="ui")
        self.engine_started.set()
        self.post_message(EngineStarted())

    def on_engine_started(self, _: EngineStarted) -> None:
        assert self.views is not None
        self.main.set_started(None)
        view = self.views.poll(force=True) or self.views.latest
        if view is not None:
            self.main.render_view(view, all_panes=True)
        # paint the live panes before the first cycle takes the loop for a while; discover the
        # models after it (discovery loads the provider SDKs, which takes a moment)
        if self._cycles != 0:
            self.call_after_refresh(self._start_loop)
        else:
            self.call_after_refresh(self.action_refresh_models, True)
        self.set_interval(MODEL_DISCOVERY_SECONDS, lambda: self.action_refresh_models(quiet=True),
                          name="model-discovery")

    def action_refresh_models(self, quiet: bool = False) -> None:
        """Ask which analyst providers and models are available now (Ollama models discovered,
        OpenAI/Anthropic when keys are configured); never blocks trading."""
        engine = self.engine if self.engine_started.is_set() else None
        if engine is None or self._stopped or \
                any(w.name == "model-discovery" and not w.is_finished for w in self.workers):
            return

        async def discover() -> None:
            try:
                catalogue = await engine.refresh_analysts()
            finally:
                self.models_ready.set()
            self.refresh_view(force=True)  # the catalogue changes without a bus event
            if not quiet:
                ready = [str(p.get("name")) for p in catalogue.get("providers", [])
                         if p.get("available")]
                self.say("Analyst providers available: " + (", ".join(ready) or "none"),
                          title="Models")

        self.run_worker(discover(), name="model-discovery", group="models", exit_on_error=False)

    def _start_loop(self) -> None:
        assert self.engine is not None
        self._stop = asyncio.Event()
        self._run_worker = self.run_worker(self._run_engine(), name="engine-run", group="engine",
                                           exit_on_error=False)

    async def _run_engine(self) -> None:
        assert self.engine is not None
        await self.engine.run(cycles=self._cycles, stop=self._stop)
        self.post_message(EngineStopped("stopped" if self._stop.is_set() else "cycles done"))

    def on_engine_stopped(self, message: EngineStopped) -> None:
        if message.reason == "cycles done":
            self.say(f"The engine ran its {self._cycles} cycle(s) and stopped.", timeout=4)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker failures are handled: say what failed, log it, keep going."""
        worker = event.worker
        if event.state is not WorkerState.ERROR:
            return
        error = worker.error
        what = {
            "engine-start": "The engine could not start",
            "engine-run": "The engine loop stopped with an error",
        }.get(worker.name, f"{worker.name or 'A background task'} failed")
        message = f"{what}: {type(error).__name__}: {error}"
        log.error("%s", message, exc_info=error)
        if worker.name == "engine-start":
            self.engine_ready_error = message
            self.main.set_started(message + " — the kill switch still works; "
                                  "'Restart the engine' in the palette (ctrl+p) retries.")
        elif worker.name == "engine-run":
            self.main.set_started(message + " — trading cycles are stopped; the kill switch "
                                  "still works; 'Restart the engine' in the palette retries.")
        self.say(message, severity="error", title="Error", timeout=15)
        self.publish_error(worker.name or "console", message,
                            fatal=worker.name in ("engine-start", "engine-run"))

    def publish_error(self, where: str, message: str, *, fatal: bool = False) -> None:
        """Put a console-side failure in the feed and the audit log (through the engine's bus)."""
        engine = self.engine
        if engine is None:
            return
        engine.bus.publish(EngineErrorOccurred(ts=engine.clock.now(), where=f"console/{where}",
                                               message=message, fatal=fatal))

    async def shutdown_engine(self) -> None:
        """Stop the cycle (waiting for a running one to finish), then `Engine.stop()`; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        for worker in list(self.workers):
            if worker.group != "engine" or worker.is_finished:
                continue
            if worker.name == "engine-run":
                try:
                    await asyncio.wait_for(worker.wait(), STOP_GRACE_SECONDS)
                except Exception:  # noqa: BLE001 - timed out, failed or cancelled: cancel it
                    worker.cancel()
            else:
                worker.cancel()
        engine = self.engine
        if engine is not None:
            self._flush_events()
            if self._subscription is not None:
                self._subscription.cancel()
            if self.views is not None:
                self.views.close()
            try:
                await engine.stop()
            except Exception:
                log.exception("engine stop failed")

    async def on_unmount(self) -> None:
        # the last chance for a clean stop when the app ends some other way
        await self.shutdown_engine()

    async def action_quit(self) -> None:
        """Quit now (ctrl+c, ctrl+q): the engine still stops cleanly first."""
        await self.shutdown_engine()
        self.exit(0)

    def action_request_quit(self) -> None:
        """Quit after confirming (q)."""
        async def answered(yes: bool | None) -> None:
            if yes:
                await self.action_quit()

        self.push_screen(ConfirmDialog(
            "Quit robo-tui?",
            "The engine stops after the current cycle; the database is closed cleanly. "
            "Positions and open orders stay as they are.", confirm="Quit", default_yes=True),
            answered)

    # ------------------------------------------------------------------ event pipe

    def _flush_events(self) -> None:
        if not self.models_ready.is_set() and self.engine is not None \
                and self.engine.last_cycle is not None:
            self.action_refresh_models(quiet=True)  # the first cycle is done
        if not self._buffer:
            if self.engine is not None:
                self._flush_audit(self.engine)
            return
        now = time.monotonic()
        if len(self._buffer) >= BUSY_BATCH and now - self._last_flush < BUSY_FLUSH_SECONDS:
            return
        self._last_flush = now
        events, self._buffer[:] = tuple(self._buffer), []
        self.events_absorbed += len(events)
        self.main.post_message(self._next_batch(events))
        if self.engine is not None:
            self._flush_audit(self.engine)

    def _next_batch(self, events: tuple[Event, ...]) -> EngineEvents:
        """A new batch carrying `events` and, while the last batch posted is still queued, that
        batch's events too, so the newer batch supersedes it (`EngineEvents.can_replace`)."""
        first = self._posted
        self._posted += len(events)
        queued = self._queued
        if queued is not None and queued.end > self.main.events_handled:
            batch = EngineEvents(queued.events + events, queued.first)
        else:
            batch = EngineEvents(events, first)
        self._queued = batch
        return batch

    def _flush_audit(self, engine: Engine) -> None:
        """Write the engine's buffered audit rows now when it will not soon: the loop flushes
        after every cycle and tick, but it may be stopped, and in a burst many small writes keep
        the console responsive where one large one would stall it."""
        recorder = engine.recorder
        if recorder is None or not recorder.pending or self._stopped:
            return
        if self.engine_loop_running and recorder.pending < AUDIT_BATCH:
            return
        if any(w.name == "audit-flush" and not w.is_finished for w in self.workers):
            return
        self.run_worker(recorder.flush(), name="audit-flush", group="audit", exit_on_error=False)

    def refresh_view(self, *, force: bool = False) -> ConsoleView | None:
        """Rebuild the engine's view if something shown changed, or always when `force` (the
        main screen gets it as a `ViewChanged`); the latest view, None before the engine has
        started."""
        views = self.views
        if views is None or not self.engine_started.is_set() or self._stopped:
            return None
        try:
            return views.poll(force=force) or views.latest
        except Exception as exc:  # a bug in the view must not take the console down
            log.exception("view refresh failed")
            self.say(f"The panes could not be refreshed: {exc}", severity="error")
            return views.latest

    def _on_view(self, update: ViewUpdated) -> None:
        self.main.post_message(ViewChanged(update.view))

    @property
    def engine_loop_running(self) -> bool:
        """Whether the engine's cycle loop is running (paused counts: it still ticks)."""
        return self._run_worker is not None and not self._run_worker.is_finished

    # ------------------------------------------------------------------ helpers

    def say(self, message: str, *, severity: Severity = "information", title: str = "",
            timeout: float | None = None) -> None:
        """A notification; the text is never parsed as markup (it may quote outside text)."""
        self.notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def ready_engine(self) -> Engine | None:
        """The engine if it has started, else None (and says why)."""
        if self.engine is None or not self.engine_started.is_set():
            self.say(self.engine_ready_error or "The engine is still starting.",
                     severity="warning")
            return None
        return self.engine

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run an engine call in a worker; its failure lands in `on_worker_state_changed`."""
        self.run_worker(work, name=name, group="actions", exit_on_error=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Resume shows in the footer only when halted."""
        if action == "resume":
            engine = self.engine
            return engine is not None and engine.state is TradingState.HALTED
        return True

    # ------------------------------------------------------------------ safety

    def action_kill_switch(self) -> None:
        """HALT now: no confirmation, open orders cancelled, latched until resumed."""
        engine = self.engine
        if engine is None:
            self._halt_requested = True
            self.say("Kill switch armed: trading will be HALTED as soon as the engine has "
                      "started.", severity="error", title="KILL SWITCH")
            return
        self.spawn(self._halt(engine), "kill-switch")

    async def _halt(self, engine: Engine) -> None:
        await engine.halt("kill switch (console)", by="ui")
        self.refresh_bindings()
        self.refresh_view()
        self.say("Trading HALTED: the robot sends nothing; your reduce-only exits (x flatten, "
                 "shift+F9 halt and flatten all) still go out. Open orders cancelled. ctrl+r "
                 "resumes (with confirmation); F9 again does not.",
                 severity="error", title="KILL SWITCH", timeout=8)

    def action_halt_and_flatten(self) -> None:
        """HALT now, then, after a confirmation, close every position (reduce-only exits pass the
        halt: HALTED stops the robot, not the trader)."""
        engine = self.ready_engine()
        if engine is None:
            return
        self.spawn(self._halt(engine), "kill-switch")  # halting needs no confirmation
        held = {s: p.quantity for s, p in engine.account.positions.items()
                if abs(p.quantity) > 1e-12}
        if not held:
            return
        lines = ", ".join(f"{q:+g} {s}" for s, q in sorted(held.items()))

        def answered(yes: bool | None) -> None:
            if yes:
                self.spawn(self._flatten_all(engine), "halt-and-flatten")

        self.push_screen(ConfirmDialog(
            "Trading is HALTED. Flatten ALL positions too?",
            f"Close {lines} at market with reduce-only orders through the risk gate. Trading "
            "stays HALTED (ctrl+r resumes).", confirm="Flatten all", danger=True), answered)

    async def _flatten_all(self, engine: Engine) -> None:
        results = await engine.flatten_all(by="ui")
        self.refresh_view()
        sent = [r for r in results if r.sent]
        denied = [r for r in results if not r.sent]
        text = f"Flatten all while HALTED: {len(sent)} exit order(s) sent"
        if denied:
            text += "; denied: " + "; ".join(
                f"{r.verdict.reasons[0].message}" for r in denied if r.verdict.reasons)
        self.say(text, severity="error" if denied else "information", title="Halt and flatten")

    def action_resume(self) -> None:
        """Leave HALTED after a confirmation dialog."""
        engine = self.ready_engine()
        if engine is None:
            return
        if engine.state is not TradingState.HALTED:
            self.say(f"Trading is {engine.state.value}, not halted.", severity="warning")
            return
        body = Text("Trading is HALTED")
        reason = engine.risk.halt_reason
        if reason:
            body.append(": ")
            body.append_text(safe_text(reason))
        day_loss = -engine.day_pnl
        body.append(".\n\nResuming lets the engine and the trader send new orders again. "
                    "The losses taken so far are accepted: the day-loss and drawdown limits count "
                    f"from equity now ({engine.account.equity:,.2f}; today so far "
                    f"{-day_loss:+,.2f}). Every other limit still applies.")

        def answered(yes: bool | None) -> None:
            if yes:
                self.spawn(self._resume(engine), "resume")

        self.push_screen(ConfirmDialog("Resume trading?", body, confirm="Resume", danger=True),
                         answered)

    def action_drift(self) -> None:
        """Show the drift report; a blocking one is accepted after a confirmation."""
        engine = self.ready_engine()
        if engine is None:
            return
        report = engine.reconciler.report
        if report is None:
            self.say("No drift report: the paper broker rebuilds its book from the journal, and "
                     "a live venue is compared at start.", title="Drift")
            return
        body = safe_text(report.sentence())
        for item in report.items:
            body.append("\n• ")
            body.append_text(safe_text(item.detail))
        if not report.blocking:
            self.say(body.plain, title="Drift")
            return
        body.append("\n\nAccepting makes what the venue holds the baseline: new entries are "
                    "allowed again and the same difference is not reported at the next start.")

        def answered(yes: bool | None) -> None:
            if yes:
                self.spawn(self._accept_drift(engine), "drift-accept")

        self.push_screen(ConfirmDialog("Accept the drift report?", body, confirm="Accept",
                                       danger=True), answered)

    async def _accept_drift(self, engine: Engine) -> None:
        await engine.reconciler.accept("ui")
        self.refresh_view()
        self.say("Drift accepted: new entries are allowed again.", title="Drift")

    async def _resume(self, engine: Engine) -> None:
        await engine.resume(by="ui")
        self.refresh_bindings()
        self.refresh_view()
        self.say(f"Trading resumed: {engine.state.value}.", title="Resumed")

    def action_toggle_pause(self) -> None:
        """Pause or resume the cycle; the risk state is untouched (quotes and stops go on)."""
        engine = self.ready_engine()
        if engine is None:
            return
        engine.pause(not engine.paused)
        self.refresh_view()
        self.say("Engine cycle PAUSED (quotes and stops still run; risk state unchanged). "
                  "p resumes." if engine.paused else "Engine cycle resumed.",
                  severity="warning" if engine.paused else "information")

    def action_restart_engine(self) -> None:
        """Retry a failed start, or restart the cycle loop after it stopped."""
        if self.engine is not None and self.engine_started.is_set():
            if self._run_worker is not None and not self._run_worker.is_finished:
                self.say("The engine loop is running.")
                return
            self.main.set_started(None)
            self._start_loop()
            self.say("Engine loop restarted.")
            return
        if any(w.name == "engine-start" and not w.is_finished for w in self.workers):
            self.say("The engine is still starting.")
            return
        self.engine_ready_error = None
        self.main.set_started("starting the engine…")
        self._boot()

    def action_help(self) -> None:
        """The help screen with every key."""
        self.push_screen(HelpScreen())

    # ------------------------------------------------------------------ themes

    def _install_themes(self) -> None:
        names = []
        for theme in load_themes():
            self.register_theme(theme)
            names.append(theme.name)
        wanted = [self._requested_theme, self._ui_state.get("theme"), self._default_theme,
                  DEFAULT_THEME]
        for name in wanted:
            if isinstance(name, str) and name in self.available_themes:
                self.theme = name
                break
        if self._requested_theme and self.theme != self._requested_theme:
            self.say(f"Unknown theme {self._requested_theme!r}; themes: {', '.join(names)}.",
                      severity="warning")

    def action_cycle_theme(self) -> None:
        """Switch to the next theme and remember it."""
        self.theme = next_theme(self.theme)
        self._ui_state["theme"] = self.theme
        save_ui_state(self._ui_state_path, self._ui_state)
        self.say(f"Theme: {self.theme}")
