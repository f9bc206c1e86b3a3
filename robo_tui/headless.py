"""`robo-tui --headless`: the same engine with no UI, printing one summary (or JSON) per cycle.

Never imports Textual.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any, TextIO

from robo_tui.domain.events import (
    CycleCompleted,
    DriftDetected,
    EngineErrorOccurred,
    Event,
    IdeaGenerated,
    ModeChanged,
    OrderDenied,
    OrderFilled,
    OrderStatusChanged,
    OrderSubmitted,
    PauseChanged,
    ProposalCreated,
    ScheduledJobDone,
    TradingStateChanged,
)
from robo_tui.domain.frozen import frozen
from robo_tui.domain.risk import Mode, TradingState
from robo_tui.engine.engine import Engine, event_payload
from robo_tui.engine.freshness import stale_text
from robo_tui.ports import StorageFault
from robo_tui.runtime import (
    ExitCode,
    RunError,
    RunOptions,
    ShutdownWatchdog,
)

_NOTABLE = (ProposalCreated, OrderDenied, OrderSubmitted, OrderFilled, OrderStatusChanged,
            TradingStateChanged, EngineErrorOccurred, IdeaGenerated, ScheduledJobDone,
            PauseChanged, DriftDetected)


@frozen
class HeadlessOptions:
    """How many cycles to run (None: until SIGINT/SIGTERM)."""

    run: RunOptions
    cycles: int | None = None


def describe(event: Event) -> str:
    """One line for a notable event, for the human summary."""
    if isinstance(event, ProposalCreated):
        p = event.proposal
        check = "ok" if event.precheck.allowed else "would be denied: " + ", ".join(event.precheck.codes)
        return (f"proposal {p.id} {p.side.value} {p.quantity:g} {p.symbol} @ {p.price:,.2f} "
                f"(conf {p.confidence:.2f}; pre-check {check})")
    if isinstance(event, OrderDenied):
        i = event.command.intent
        reasons = "; ".join(r.message for r in event.verdict.reasons)
        return f"DENIED {i.side.value} {i.quantity:g} {i.symbol} from {event.command.source}: {reasons}"
    if isinstance(event, OrderSubmitted):
        o = event.order
        note = event.ack.message if event.ack.message not in ("", event.ack.status.value) else ""
        return (f"order {o.client_order_id} {o.side.value} {o.quantity:g} {o.symbol} "
                f"→ {event.ack.status.value} {note}".rstrip())
    if isinstance(event, OrderFilled):
        f = event.fill
        why = f" ({f.reason})" if f.reason and f.reason != "order" else ""
        return f"fill {f.side.value} {f.quantity:g} {f.symbol} @ {f.price:,.4f} fee {f.fee:.2f}{why}"
    if isinstance(event, OrderStatusChanged):
        return f"order {event.client_order_id} {event.symbol} → {event.status}: {event.message}"
    if isinstance(event, TradingStateChanged):
        return f"trading {event.old.value} → {event.new.value} by {event.by}: {event.reason}"
    if isinstance(event, IdeaGenerated):
        idea = event.idea
        return (f"idea {idea.provider}/{idea.model} {idea.direction.value} {idea.symbol} "
                f"score {idea.score:+.2f} conf {idea.confidence:.2f}")
    if isinstance(event, EngineErrorOccurred):
        return f"error in {event.where}: {event.message}"
    if isinstance(event, DriftDetected):
        return f"DRIFT (blocking) {event.report.sentence()}"
    if isinstance(event, PauseChanged):
        return (f"cycle PAUSED by {_WHO.get(event.by, event.by)}: quotes, fills and protective "
                "stops go on" if event.paused else f"cycle resumed by {_WHO.get(event.by, event.by)}")
    if isinstance(event, ScheduledJobDone):
        return f"schedule {event.job}{'' if event.ok else ' FAILED'}: {event.summary}"
    return type(event).__name__


_WHO = {"cli": "shell", "ui": "console", "risk": "the risk gate"}


def state_line(event: Event) -> str:
    """The line a state or mode change prints when it happens ("state HALTED by shell: why")."""
    if isinstance(event, TradingStateChanged):
        return (f"{event.ts:%Y-%m-%d %H:%M:%S}Z state {event.new.value} by "
                f"{_WHO.get(event.by, event.by)}: {event.reason}")
    if isinstance(event, ModeChanged):
        return (f"{event.ts:%Y-%m-%d %H:%M:%S}Z mode {event.new.value.upper()} by "
                f"{_WHO.get(event.by, event.by)}")
    if isinstance(event, PauseChanged):
        return f"{event.ts:%Y-%m-%d %H:%M:%S}Z {describe(event)}"
    return describe(event)


def summary_line(s: CycleCompleted, *, simulated: bool) -> str:
    """The human summary of one cycle."""
    market = " SIMULATED" if simulated else ""
    if s.mode is Mode.SHADOW:
        market += " [SHADOW: orders recorded, never sent]"
    pct = s.day_pnl / (s.equity - s.day_pnl) * 100 if s.equity - s.day_pnl else 0.0
    return (f"{s.ts:%Y-%m-%d %H:%M:%S}Z cycle {s.cycle} {s.mode.value.upper()} {s.state.value}{market} "
            f"equity {s.equity:,.2f} (day {s.day_pnl:+,.2f} {pct:+.2f}%) cash {s.cash:,.2f} "
            f"positions {s.positions} | news {s.news} ideas {s.ideas} proposals {s.proposals} "
            f"denied {s.denied} orders {s.orders} fills {s.fills} | {s.duration_ms:.0f} ms")


class Sink:
    """Collects a cycle's notable events and prints the summary (text or one JSON object)."""

    def __init__(self, engine: Engine, out: TextIO, *, as_json: bool,
                  on_closed: Callable[[], None] = lambda: None) -> None:
        self._engine = engine
        self._out = out
        self._json = as_json
        self._on_closed = on_closed
        self.closed = False
        self._events: list[Event] = []
        engine.bus.subscribe(self._events.append, *_NOTABLE)
        if not as_json:  # a state or mode change shows at once, not at the next cycle's summary
            engine.bus.subscribe(self._at_once, TradingStateChanged, ModeChanged, PauseChanged)

    def _at_once(self, event: Event) -> None:
        if self.closed:
            return
        try:
            self._out.write(state_line(event) + "\n")
            self._out.flush()
        except BrokenPipeError:
            self.closed = True

    def cycle_done(self, summary: CycleCompleted) -> None:
        """Print one cycle; when the reader has gone (`| head -1`), stop output and the run."""
        try:
            self._write(summary)
        except BrokenPipeError:
            self.closed = True
            # nothing reads stdout any more: point it at /dev/null so the exit flush is quiet
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._out.fileno())
            os.close(devnull)
            self._on_closed()

    def _write(self, summary: CycleCompleted) -> None:
        events, self._events = self._events, []
        if self.closed:
            return
        stale = self._engine.guard.stale_since()
        if self._json:
            record: dict[str, Any] = event_payload(summary)
            record["simulated"] = self._engine.simulated
            record["stale"] = {sym: round((summary.ts - seen).total_seconds(), 3)
                               for sym, seen in stale.items()}
            record["events"] = [event_payload(e) for e in events]
            self._out.write(json.dumps(record, default=str) + "\n")
        else:
            self._out.write(summary_line(summary, simulated=self._engine.simulated) + "\n")
            if stale:
                self._out.write("  " + stale_text(stale, summary.ts) + "\n")
            drift = {e.report.sentence() for e in events if isinstance(e, DriftDetected)}
            for event in events:
                if isinstance(event, TradingStateChanged | PauseChanged):
                    continue  # already shown when it happened
                if (isinstance(event, EngineErrorOccurred) and event.where == "reconcile"
                        and event.message in drift):
                    continue  # the DRIFT line says it
                self._out.write("  " + describe(event) + "\n")
        self._out.flush()


async def run_headless(options: HeadlessOptions, *, out: TextIO = sys.stdout,
                       err: TextIO = sys.stderr) -> int:
    """Run the engine without UI; returns the process exit code."""
    from robo_tui.adapters.store.lock import DataDirLock, DataDirLocked
    from robo_tui.engine.engine import LiveRefused
    from robo_tui.ops.gate import prepare_run
    from robo_tui.wiring import WiringError, attach_outbound, build_engine

    try:
        settings, data_dir, restored = prepare_run(options.run)
    except RunError as exc:
        err.write(f"robo-tui: {exc}\n")
        return int(exc.code)
    if restored:
        err.write(f"robo-tui: {restored}\n")
    lock = DataDirLock(data_dir)
    try:
        lock.acquire()
    except DataDirLocked as exc:
        err.write(f"robo-tui: {exc}\n")
        return int(ExitCode.LOCKED)
    try:
        try:
            engine = build_engine(settings, data_dir=data_dir)
            attach_outbound(engine, settings)
        except WiringError as exc:
            err.write(f"robo-tui: {exc}\n")
            return int(ExitCode.USAGE)
        stop = asyncio.Event()
        sink = Sink(engine, out, as_json=options.run.json, on_closed=stop.set)
        try:
            await engine.start()
        except LiveRefused as exc:
            err.write(f"robo-tui: {exc}\n")
            await engine.stop()
            return int(ExitCode.USAGE)
        except (ConnectionError, OSError, TimeoutError) as exc:
            err.write(f"robo-tui: broker or market data unreachable: {exc}\n")
            await engine.stop()
            return int(ExitCode.UNREACHABLE)
        except StorageFault:
            with contextlib.suppress(StorageFault):
                await engine.stop()  # closes the store, so no aiosqlite thread outlives the run
            raise
        watchdog = ShutdownWatchdog(err=err)

        def stop_asked() -> None:
            stop.set()
            watchdog.arm()  # the process ends in bounded time whatever is stuck

        _install_signal_handlers(stop_asked)
        try:
            await engine.run(cycles=options.cycles, stop=stop, on_cycle=sink.cycle_done)
        finally:
            await engine.stop()  # the watchdog, once armed, stays armed until the process ends
        if engine.state is TradingState.HALTED:
            err.write(f"robo-tui: trading is HALTED ({engine.risk.halt_reason or 'kill switch'}); "
                      "no new orders were placed. `robo-tui resume` restores trading.\n")
            return int(ExitCode.HALTED)
        return int(ExitCode.OK)
    except StorageFault as exc:  # full, locked, read-only, corrupt, missing: each its own code
        err.write(f"robo-tui: {exc.what}: {exc}\n")
        return exc.exit_code
    finally:
        lock.release()


def _install_signal_handlers(callback: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, callback)
        except (NotImplementedError, RuntimeError):  # not the main thread
            pass
