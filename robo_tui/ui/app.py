"""The robo-tui console: a Textual app that runs the engine in its own event loop.

How it fits together:

- The engine runs as workers of this app (same asyncio loop): one starts it after the first frame
  (building it first, in a thread, when given a factory), one runs its cycle loop. Worker errors
  are handled in one place (`on_worker_state_changed`): a clear notification, an entry in the
  feed (and so the audit log), and the app stays usable.
- Bus events are buffered by a synchronous subscriber and handed to the main screen as one
  `EngineEvents` message ten times a second, so thousands of events a second cannot flood the UI.
  The panes re-read the engine (`update_from`) on a 4 Hz timer.
- Every action goes through the engine's public methods (approve, reject, manual_order, flatten,
  halt, resume, set_mode, set_strategy, select_analyst); orders always pass `Engine.submit` and its
  one risk gate. The kill switch calls `Engine.halt` directly and works on every screen, even when
  the engine loop has died.
- Quitting stops the cycle, then `Engine.stop()` (audit log flushed, adapters and database closed).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import App
from textual.binding import BindingType
from textual.worker import Worker, WorkerState

from robo_tui.domain.events import EngineErrorOccurred, Event
from robo_tui.domain.risk import Mode, TradingState
from robo_tui.ui.commands import ConsoleCommands, bindings
from robo_tui.ui.messages import EngineEvents, EngineStarted, EngineStopped
from robo_tui.ui.screens.main import MainScreen

if TYPE_CHECKING:
    from robo_tui.engine.bus import Subscription
    from robo_tui.engine.engine import Engine, SubmitResult
    from robo_tui.runtime import RunOptions

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
"""How often the panes re-read the engine (4 Hz)."""
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
    only starts the engine (tests then drive it themselves).
    """

    TITLE = "robo-tui"
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    COMMANDS: ClassVar[set[Any]] = App.COMMANDS | {ConsoleCommands}
    BINDINGS: ClassVar[list[BindingType]] = list(bindings(main=False))

    def __init__(self, engine: Engine | Callable[[], Engine], *, theme: str | None = None,
                 settings_path_for_ui_state: Path | None = None, cycles: int | None = None,
                 default_theme: str = DEFAULT_THEME) -> None:
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
        self.engine_started = asyncio.Event()
        """Set once `Engine.start()` has completed (tests wait on it)."""
        self.models_ready = asyncio.Event()
        """Set once the first model discovery has finished (tests wait on it)."""
        self.engine_ready_error: str | None = None
        """Why the engine could not start, if it could not."""
        self._stop = asyncio.Event()
        self._buffer: list[Event] = []
        self._last_flush = 0.0
        self._subscription: Subscription | None = None
        self._halt_requested = False
        self._stopped = False
        self._run_worker: Worker[None] | None = None
        self.events_absorbed = 0
        """Bus events handed to the feed so far (the benchmark reads it)."""

    # ------------------------------------------------------------------ lifecycle

    def on_mount(self) -> None:
        self._install_themes()
        self.main = MainScreen()
        self.push_screen(self.main)
        self.set_interval(EVENT_FLUSH_SECONDS, self._flush_events, name="events")
        self.set_interval(PANE_REFRESH_SECONDS, self._refresh_panes, name="panes")
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
        await engine.start()
        if self._halt_requested:
            await engine.halt("kill switch pressed while starting", by="ui")
        self.engine_started.set()
        self.post_message(EngineStarted())

    def on_engine_started(self, _: EngineStarted) -> None:
        assert self.engine is not None
        self.main.set_started(None)
        self.main.refresh_panes(self.engine, all_panes=True)
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
            self._refresh_panes()
            if not quiet:
                ready = [str(p.get("name")) for p in catalogue.get("providers", [])
                         if p.get("available")]
                self._say("Analyst providers available: " + (", ".join(ready) or "none"),
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
            self._say(f"The engine ran its {self._cycles} cycle(s) and stopped.", timeout=4)

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
        self._say(message, severity="error", title="Error", timeout=15)
        self._publish_error(worker.name or "console", message,
                            fatal=worker.name in ("engine-start", "engine-run"))

    def _publish_error(self, where: str, message: str, *, fatal: bool = False) -> None:
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
        from robo_tui.ui.screens.dialogs import ConfirmDialog

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
        self.main.post_message(EngineEvents(events))
        if self.engine is not None:
            self._flush_audit(self.engine)

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

    def _refresh_panes(self) -> None:
        engine = self.engine
        if engine is None or not self.engine_started.is_set() or self._stopped:
            return
        try:
            self.main.refresh_panes(engine)
        except Exception as exc:  # a pane's bug must not take the console down
            log.exception("pane refresh failed")
            self._say(f"A pane failed to refresh: {exc}", severity="error")

    @property
    def engine_loop_running(self) -> bool:
        """Whether the engine's cycle loop is running (paused counts: it still ticks)."""
        return self._run_worker is not None and not self._run_worker.is_finished

    # ------------------------------------------------------------------ helpers

    def _say(self, message: str, *, severity: str = "information", title: str = "",
             timeout: float | None = None) -> None:
        """A notification; the text is never parsed as markup (it may quote outside text)."""
        self.notify(message, title=title, severity=severity, timeout=timeout,  # type: ignore[arg-type]
                    markup=False)

    def _ready_engine(self) -> Engine | None:
        """The engine if it has started, else None (and says why)."""
        if self.engine is None or not self.engine_started.is_set():
            self._say(self.engine_ready_error or "The engine is still starting.",
                      severity="warning")
            return None
        return self.engine

    def _spawn(self, work: Any, name: str) -> None:
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
            self._say("Kill switch armed: trading will be HALTED as soon as the engine has "
                      "started.", severity="error", title="KILL SWITCH")
            return
        self._spawn(self._halt(engine), "kill-switch")

    async def _halt(self, engine: Engine) -> None:
        await engine.halt("kill switch (console)", by="ui")
        self.refresh_bindings()
        self._refresh_panes()
        self._say("Trading HALTED. Open orders cancelled. ctrl+r resumes (with confirmation).",
                  severity="error", title="KILL SWITCH", timeout=8)

    def action_resume(self) -> None:
        """Leave HALTED after a confirmation dialog."""
        from robo_tui.ui.screens.dialogs import ConfirmDialog

        engine = self._ready_engine()
        if engine is None:
            return
        if engine.state is not TradingState.HALTED:
            self._say(f"Trading is {engine.state.value}, not halted.", severity="warning")
            return
        body = Text("Trading is HALTED")
        reason = engine.risk.halt_reason
        if reason:
            from robo_tui.ui.widgets.safe import safe_text

            body.append(": ")
            body.append_text(safe_text(reason))
        day_loss = engine.day_start_equity - engine.account.equity
        body.append(".\n\nResuming lets the engine and the trader send new orders again. "
                    "The losses taken so far are accepted: the day-loss and drawdown limits count "
                    f"from equity now ({engine.account.equity:,.2f}; today so far "
                    f"{-day_loss:+,.2f}). Every other limit still applies.")

        def answered(yes: bool | None) -> None:
            if yes:
                self._spawn(self._resume(engine), "resume")

        self.push_screen(ConfirmDialog("Resume trading?", body, confirm="Resume", danger=True),
                         answered)

    async def _resume(self, engine: Engine) -> None:
        await engine.resume(by="ui")
        self.refresh_bindings()
        self._refresh_panes()
        self._say(f"Trading resumed: {engine.state.value}.", title="Resumed")

    def action_toggle_pause(self) -> None:
        """Pause or resume the cycle; the risk state is untouched (quotes and stops go on)."""
        engine = self._ready_engine()
        if engine is None:
            return
        engine.pause(not engine.paused)
        self._refresh_panes()
        self._say("Engine cycle PAUSED (quotes and stops still run; risk state unchanged). "
                  "p resumes." if engine.paused else "Engine cycle resumed.",
                  severity="warning" if engine.paused else "information")

    def action_restart_engine(self) -> None:
        """Retry a failed start, or restart the cycle loop after it stopped."""
        if self.engine is not None and self.engine_started.is_set():
            if self._run_worker is not None and not self._run_worker.is_finished:
                self._say("The engine loop is running.")
                return
            self.main.set_started(None)
            self._start_loop()
            self._say("Engine loop restarted.")
            return
        if any(w.name == "engine-start" and not w.is_finished for w in self.workers):
            self._say("The engine is still starting.")
            return
        self.engine_ready_error = None
        self.main.set_started("starting the engine…")
        self._boot()

    # ------------------------------------------------------------------ proposals

    def action_approve(self) -> None:
        """Approve the selected proposal (the gate judges it again, now)."""
        engine = self._ready_engine()
        if engine is None:
            return
        proposal_id = self.main.selected_proposal_id()
        if proposal_id is None:
            self._say("No proposal selected (the queue is empty or not in semi-auto mode).",
                      severity="warning")
            return
        self._spawn(self._approve(engine, proposal_id), "approve")

    async def _approve(self, engine: Engine, proposal_id: str) -> None:
        from robo_tui.engine.engine import ProposalNotFound

        try:
            result = await engine.approve(proposal_id, by="ui")
        except ProposalNotFound:
            self._say(f"Proposal {proposal_id} is no longer pending (decided or expired).",
                      severity="warning")
            return
        self._refresh_panes()
        if result.sent and result.order is not None:
            order, ack = result.order, result.ack
            self._say(f"Approved {proposal_id}: {order.side.value} {order.quantity:g} "
                      f"{order.symbol} → {ack.status.value if ack else 'sent'}", title="Approved")
            return
        self._show_denial(f"Approved {proposal_id}, but the risk gate DENIED it now", result)

    def _show_denial(self, title: str, result: SubmitResult) -> None:
        """A denial is shown, never swallowed: a notification and the full detail."""
        from robo_tui.ui.screens.detail import DetailScreen
        from robo_tui.ui.screens.order_ticket import verdict_text

        reasons = "; ".join(f"{r.code}: {r.message}" for r in result.verdict.reasons)
        self._say(f"{title}: {reasons or 'no reason given'}", severity="error", title="DENIED",
                  timeout=12)
        self.push_screen(DetailScreen(title, verdict_text(result)))

    def action_reject(self) -> None:
        """Reject the selected proposal, with an optional reason."""
        from robo_tui.ui.screens.dialogs import ReasonDialog

        engine = self._ready_engine()
        if engine is None:
            return
        proposal_id = self.main.selected_proposal_id()
        if proposal_id is None:
            self._say("No proposal selected.", severity="warning")
            return
        proposal = engine.pending.get(proposal_id)
        summary = proposal_id
        if proposal is not None:
            summary = (f"{proposal.side.value.upper()} {proposal.quantity:g} {proposal.symbol} "
                       f"(≈ {proposal.notional:,.2f})")

        def answered(reason: str | None) -> None:
            if reason is not None:
                self._spawn(self._reject(engine, proposal_id, reason), "reject")

        self.push_screen(ReasonDialog("Reject proposal", f"Reject {summary}?"), answered)

    async def _reject(self, engine: Engine, proposal_id: str, reason: str) -> None:
        from robo_tui.engine.engine import ProposalNotFound

        try:
            await engine.reject(proposal_id, by="ui", reason=reason)
        except ProposalNotFound:
            self._say(f"Proposal {proposal_id} is no longer pending.", severity="warning")
            return
        self._refresh_panes()
        self._say(f"Rejected {proposal_id}" + (f": {reason}" if reason else "."), title="Rejected")

    # ------------------------------------------------------------------ orders

    def action_order_ticket(self, symbol: str = "") -> None:
        """Open the manual order ticket (prefilled with the selected position's symbol)."""
        from robo_tui.ui.screens.order_ticket import OrderTicket

        engine = self._ready_engine()
        if engine is None:
            return

        def done(result: SubmitResult | None) -> None:
            if result is not None and result.order is not None:
                ack = result.ack
                self._say(f"Order {result.order.side.value} {result.order.quantity:g} "
                          f"{result.order.symbol} → {ack.status.value if ack else 'sent'}"
                          + (f": {ack.message}" if ack and ack.message else ""), title="Order")
                self._refresh_panes()

        self.push_screen(OrderTicket(engine, symbol=symbol or self.main.selected_symbol()), done)

    def action_flatten(self) -> None:
        """Flatten the selected position (after confirming)."""
        from robo_tui.ui.screens.dialogs import ConfirmDialog

        engine = self._ready_engine()
        if engine is None:
            return
        symbol = self.main.selected_symbol()
        held = engine.account.position_qty(symbol) if symbol else 0.0
        if not symbol or abs(held) < 1e-12:
            self._say("No position selected.", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._spawn(self._flatten(engine, [symbol]), "flatten")

        self.push_screen(ConfirmDialog(
            f"Flatten {symbol}?",
            f"{'Sell' if held > 0 else 'Buy'} {abs(held):g} {symbol} at market (reduce-only), "
            "through the risk gate.", confirm="Flatten", danger=True), answered)

    def action_flatten_all(self) -> None:
        """Flatten every position (after confirming)."""
        from robo_tui.ui.screens.dialogs import ConfirmDialog

        engine = self._ready_engine()
        if engine is None:
            return
        held = {s: p.quantity for s, p in engine.account.positions.items() if abs(p.quantity) > 1e-12}
        if not held:
            self._say("There are no positions to flatten.", severity="warning")
            return
        lines = ", ".join(f"{q:+g} {s}" for s, q in sorted(held.items()))

        def answered(yes: bool | None) -> None:
            if yes:
                self._spawn(self._flatten(engine, None), "flatten-all")

        self.push_screen(ConfirmDialog(
            f"Flatten ALL {len(held)} positions?",
            f"Close {lines} at market (reduce-only orders through the risk gate).",
            confirm="Flatten all", danger=True), answered)

    async def _flatten(self, engine: Engine, symbols: list[str] | None) -> None:
        if symbols is None:
            results = await engine.flatten_all(by="ui")
        else:
            results = [r for s in symbols if (r := await engine.flatten(s, by="ui")) is not None]
        self._refresh_panes()
        for result in results:
            if not result.sent:
                self._show_denial("Flatten DENIED by the risk gate", result)
            else:
                assert result.order is not None
                status = result.ack.status.value if result.ack else "sent"
                self._say(f"Flatten {result.order.symbol}: {result.order.side.value} "
                          f"{result.order.quantity:g} → {status}", title="Flatten")

    # ------------------------------------------------------------------ mode, strategies, models

    def action_change_mode(self) -> None:
        """Open the mode switch dialog."""
        from robo_tui.ui.screens.mode import ModeDialog

        engine = self._ready_engine()
        if engine is None:
            return

        async def apply(mode: Mode, confirm_live: bool) -> str | None:
            from robo_tui.engine.engine import ModeChangeRefused

            try:
                await engine.set_mode(mode, by="ui", confirm_live=confirm_live)
            except ModeChangeRefused as exc:
                self._say(str(exc), severity="error", title="Mode change refused", timeout=12)
                return str(exc)
            except Exception as exc:  # a broker that cannot connect, ...
                log.exception("mode switch failed")
                return f"Switching to {mode.value} failed: {type(exc).__name__}: {exc}"
            return None

        def switched(mode: Mode | None) -> None:
            if mode is not None:
                self._refresh_panes()
                self._say(f"Mode is now {mode.value.upper()}.", title="Mode",
                          severity="warning" if mode is Mode.LIVE else "information")

        self.push_screen(ModeDialog(engine.mode, apply), switched)

    def action_toggle_strategy(self) -> None:
        """Switch the selected strategy on or off (through the engine, audited)."""
        engine = self._ready_engine()
        name = self.main.selected_strategy()
        if engine is None:
            return
        if name is None:
            self._say("No strategy selected (3 shows the strategies).", severity="warning")
            return
        slot = next((s for s in engine.ensemble.slots() if s.name == name), None)
        if slot is None:
            return
        self._spawn(self._set_strategy(engine, name, enabled=not slot.enabled), "strategy")

    def action_strategy_weight(self, step: float) -> None:
        """Raise or lower the selected strategy's weight (0..10)."""
        engine = self._ready_engine()
        name = self.main.selected_strategy()
        if engine is None:
            return
        if name is None:
            self._say("No strategy selected (3 shows the strategies).", severity="warning")
            return
        slot = next((s for s in engine.ensemble.slots() if s.name == name), None)
        if slot is None:
            return
        weight = round(min(10.0, max(0.0, slot.weight + step)), 2)
        if weight == slot.weight:
            self._say(f"{name} weight stays {weight:g} (limits 0..10).", severity="warning")
            return
        self._spawn(self._set_strategy(engine, name, weight=weight), "strategy")

    async def _set_strategy(self, engine: Engine, name: str, *, enabled: bool | None = None,
                            weight: float | None = None) -> None:
        await engine.set_strategy(name, enabled=enabled, weight=weight, by="ui")
        self._refresh_panes()
        slot = next(s for s in engine.ensemble.slots() if s.name == name)
        self._say(f"Strategy {name}: {'on' if slot.enabled else 'OFF'}, weight {slot.weight:g}.",
                  title="Strategy")

    def action_select_model(self) -> None:
        """Make the highlighted model the active analyst (through the engine, recorded)."""
        engine = self._ready_engine()
        if engine is None:
            return
        choice = self.main.selected_model()
        if choice is None:
            self._say("No model highlighted in the model selector.", severity="warning")
            return
        self._spawn(self._select_model(engine, *choice), "model")

    async def _select_model(self, engine: Engine, provider: str, model: str | None) -> None:
        try:
            await engine.select_analyst(provider, model, by="ui")
        except Exception as exc:  # noqa: BLE001 - an unbuildable provider keeps the old one
            self._say(f"Cannot switch to {provider}/{model or 'default'}: {exc}",
                      severity="error", title="Model")
            self._publish_error("model", f"switch to {provider}/{model or 'default'} failed: {exc}")
            return
        self._refresh_panes()
        active = engine.analyst_catalogue().get("active", {})
        self._say(f"Analyst now {active.get('provider', provider)}/{active.get('model', model)}.",
                  title="Model")

    # ------------------------------------------------------------------ view

    def action_open_selected(self) -> None:
        """Enter: the detail of the selected feed entry or proposal; on the model selector,
        switch to the highlighted model."""
        pane = self.main.focused_pane()
        engine = self.engine
        if pane == "models":
            self.action_select_model()
        elif pane == "proposals":
            self._open_proposal()
        elif pane == "feed":
            self._open_event()
        elif pane == "positions" and engine is not None:
            self.action_order_ticket(self.main.selected_symbol() or "")
        elif pane == "strategies":
            self.action_toggle_strategy()

    def _open_event(self) -> None:
        from robo_tui.ui.screens.detail import DetailScreen

        event = self.main.selected_event()
        if event is None:
            self._say("No feed entry selected.", severity="warning")
            return
        self.push_screen(DetailScreen(f"{event.kind}: {type(event).__name__}",
                                      self.main.event_detail(event)))

    def _open_proposal(self) -> None:
        from robo_tui.ui.screens.detail import DetailScreen
        from robo_tui.ui.widgets import proposal_detail_text

        engine = self._ready_engine()
        proposal_id = self.main.selected_proposal_id()
        if engine is None or proposal_id is None:
            return
        proposal = engine.pending.get(proposal_id)
        if proposal is None:
            self._say(f"Proposal {proposal_id} is no longer pending.", severity="warning")
            return
        body = proposal_detail_text(proposal, engine.precheck(proposal))

        def decided(decision: str | None) -> None:
            if decision == "approve":
                self._spawn(self._approve(engine, proposal_id), "approve")
            elif decision == "reject":
                self.action_reject()

        self.push_screen(DetailScreen(f"Proposal {proposal.symbol}", body,
                                      proposal_id=proposal_id), decided)

    def action_filter_feed(self) -> None:
        """Filter the event feed by kind and symbol."""
        from robo_tui.ui.screens.dialogs import FeedFilter, FilterDialog

        symbols = list(self.engine.symbols) if self.engine is not None else []

        def chosen(result: FeedFilter | None) -> None:
            if result is not None:
                self.main.set_feed_filter(result)
                self._say("Feed shows " + result.describe() + ".")

        self.push_screen(FilterDialog(self.main.feed_filter, symbols), chosen)

    def action_show_view(self, view: str) -> None:
        """Switch the compact view (or focus its first pane on a wide terminal)."""
        self.main.show_view(view)
        self._refresh_panes()

    def action_backtests(self) -> None:
        """The stored backtest runs and their reports."""
        from robo_tui.ui.screens.backtests import BacktestsScreen

        if self.engine is None:
            self.notify("The engine has not started yet.", severity="warning")
            return
        self.push_screen(BacktestsScreen(self.engine.store))

    def action_help(self) -> None:
        """The help screen with every key."""
        from robo_tui.ui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    # ------------------------------------------------------------------ themes

    def _install_themes(self) -> None:
        from robo_tui.ui.themes import load_themes

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
            self._say(f"Unknown theme {self._requested_theme!r}; themes: {', '.join(names)}.",
                      severity="warning")

    def action_cycle_theme(self) -> None:
        """Switch to the next theme and remember it."""
        from robo_tui.ui.themes import next_theme

        self.theme = next_theme(self.theme)
        self._ui_state["theme"] = self.theme
        save_ui_state(self._ui_state_path, self._ui_state)
        self._say(f"Theme: {self.theme}")


def run_console(options: RunOptions, *, theme: str | None = None) -> int:
    """`robo-tui`: settings, live check, data dir, lock, logging, engine, then the console.

    Returns the process exit code (a config error or a locked data dir exits before any screen).
    """
    from robo_tui.adapters.store.lock import DataDirLock, DataDirLocked
    from robo_tui.logs import setup_logging
    from robo_tui.runtime import (
        ExitCode,
        RunError,
        check_live,
        load_run_settings,
        resolve_data_dir,
        secrets_of,
    )

    try:
        settings = load_run_settings(options)
        check_live(settings, options.confirm_live)
        data_dir = resolve_data_dir(options, settings)
        setup_logging(data_dir, secrets_of(settings))
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
        def build() -> Engine:
            from robo_tui.wiring import build_engine

            return build_engine(settings, data_dir=data_dir)

        app = RoboApp(build, theme=theme, settings_path_for_ui_state=data_dir / UI_STATE_FILE,
                      default_theme=settings.ui.theme)
        result = app.run()
        code = app.return_code
        return int(code if code is not None else (result or 0))
    finally:
        lock.release()

