"""Alerts: the engine's events turned into messages for people, sent off the order path.

The `AlertRouter` subscribes to the bus. Its handler runs inside `publish`, so it only formats the
event, applies the level and the per-kind rate limit and appends to a bounded queue: it never
awaits, so a slow or dead notifier can never delay an order. Its worker task (`start`/`stop`, a
`Service` the engine runs beside itself) sends each queued alert through the `Notifier` with a
timeout and retries with doubling backoff, and records every alert in the store's audit log as
`alert.sent`, `alert.failed` (after the last retry, or still queued at stop) or `alert.dropped`
(over the rate limit or the queue's size): nothing is lost without a record. Titles and bodies
pass the redactor the wiring gives (every configured secret masked) before they are queued.

Each kind has its own rate limit (`[alerts.per_minute]`, else `per_kind_per_minute`). The daily
summary follows the engine's daily schedule (its `report` job's `ScheduledJobDone`, so there is
one schedule and the journal remembers what ran today); without the schedule it has its own UTC
timer and reads its last summary from the audit log at start. A blocking drift report is one
`drift` alert (`DriftDetected`), not a second one for the engine's error line about it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from robo_tui.config.outbound import ALERT_KINDS, AlertSettings
from robo_tui.domain.events import (
    CycleCompleted,
    DriftDetected,
    EngineErrorOccurred,
    Event,
    ModeChanged,
    OrderDenied,
    OrderFilled,
    PauseChanged,
    ProposalCreated,
    ScheduledJobDone,
    SourceHealthChanged,
    TradingStateChanged,
)
from robo_tui.domain.frozen import frozen
from robo_tui.domain.risk import Mode
from robo_tui.engine.bus import EventBus, Subscription
from robo_tui.ports import Clock, Notifier, Store

log = logging.getLogger(__name__)

LEVELS = ("info", "warning", "critical")
"""Alert levels, quietest first."""

DRIFT_SOURCES = ("recovery", "reconcile", "drift")
"""Engine errors that mean the broker and the journal disagree."""

STOP_GRACE = 2.0
"""Seconds the queue gets to drain when the engine stops (shutdown must stay quick)."""

ROUTINE_SOURCES = ("strategy", "backtest")
"""Order sources whose denials are the gate doing its job, not news for a human."""


SUMMARY_JOB = "report"
"""The daily schedule's job whose `ScheduledJobDone` sends the daily summary."""


@frozen
class Alert:
    """One message for people: its kind (a key of `[alerts.levels]`), level, title and body."""

    kind: str
    level: str
    title: str
    body: str
    ts: datetime


@frozen
class AlertText:
    """What an event says as an alert: its kind, title and body (the level comes from config)."""

    kind: str
    title: str
    body: str


def _side_qty(side: str, quantity: float, symbol: str) -> str:
    return f"{side.upper()} {quantity:g} {symbol}"


def alert_text(event: Event, *, mode: Mode | None = None) -> AlertText | None:
    """The alert an event makes, or None when it is not one a person needs. `mode` decides
    whether a new proposal waits for approval (semi-auto) or went straight to the gate."""
    if isinstance(event, OrderFilled):
        f = event.fill
        why = f" ({f.reason})" if f.reason and f.reason != "order" else ""
        return AlertText("fill", f"Fill: {_side_qty(f.side.value, f.quantity, f.symbol)} @ {f.price:,.4f}{why}",
                         f"Order {f.client_order_id} filled {f.quantity:g} {f.symbol} at "
                         f"{f.price:,.4f}, fee {f.fee:.2f}{why}.")
    if isinstance(event, OrderDenied):
        if event.command.source in ROUTINE_SOURCES:
            return None
        i = event.command.intent
        reasons = "; ".join(r.message for r in event.verdict.reasons) or "denied"
        return AlertText("denial", f"Denied: {_side_qty(i.side.value, i.quantity, i.symbol)} "
                         f"({event.command.source})", f"The risk gate denied it: {reasons}")
    if isinstance(event, TradingStateChanged):
        breaker = event.by == "risk" and event.reason.startswith("circuit breaker")
        title = f"Trading {event.old.value} -> {event.new.value}"
        body = f"{event.reason} (by {event.by})"
        return AlertText("breaker" if breaker else "state", title, body)
    if isinstance(event, ModeChanged):
        return AlertText("mode", f"Mode {event.old.value} -> {event.new.value}", f"by {event.by}")
    if isinstance(event, PauseChanged):
        return AlertText("pause", "Cycle paused" if event.paused else "Cycle resumed",
                         f"by {event.by}; quotes and protective stops go on" if event.paused
                         else f"by {event.by}")
    if isinstance(event, SourceHealthChanged):
        what = "recovered" if event.healthy else "unhealthy"
        return AlertText("stale", f"{event.source} {what}", event.message or what)
    if isinstance(event, ProposalCreated):
        if mode is not Mode.SEMI_AUTO or not event.precheck.allowed:
            return None
        p = event.proposal
        expires = f", expires {p.expires_at:%H:%M:%S}Z" if p.expires_at else ""
        return AlertText("proposal", f"Approve? {_side_qty(p.side.value, p.quantity, p.symbol)} "
                         f"@ {p.price:,.2f}",
                         f"Proposal {p.id}: notional {p.notional:,.2f}, confidence "
                         f"{p.confidence:.2f}, stop {p.stop_loss}, target {p.take_profit}{expires}. "
                         f"{p.rationale}")
    if isinstance(event, DriftDetected):
        r = event.report
        n = len(r.items)
        return AlertText("drift", f"Drift at {r.broker}: {n} item{'s' if n != 1 else ''}; "
                         "entries wait", r.sentence())
    if isinstance(event, EngineErrorOccurred):
        kind = "drift" if event.where in DRIFT_SOURCES else "error"
        return AlertText(kind, f"{'Drift' if kind == 'drift' else 'Error'} in {event.where}",
                         event.message)
    return None


@dataclass(slots=True)
class _DayTally:
    """What happened since the last daily summary."""

    fills: int = 0
    denials: int = 0
    orders: int = 0
    proposals: int = 0
    last: CycleCompleted | None = None


@dataclass(slots=True)
class AlertStats:
    """Counts of alerts by outcome in this run (for the status line and tests)."""

    queued: int = 0
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def _summary_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


class AlertRouter:
    """Formats events into alerts, rate-limits and queues them, and sends them from its own
    task through the notifier, recording every outcome in the store (a `Service`)."""

    name = "alerts"

    def __init__(self, settings: AlertSettings, *, bus: EventBus, notifier: Notifier, store: Store,
                 clock: Clock, mode: Callable[[], Mode], redact: Callable[[str], str] = str,
                 follow_schedule: bool = False) -> None:
        self._settings = settings
        self._notifier = notifier
        self._store = store
        self._clock = clock
        self._mode = mode
        self._redact = redact
        self._levels: dict[str, str] = {k: getattr(settings.levels, k) for k in ALERT_KINDS}
        self._floor = LEVELS.index(settings.min_level)
        self._queue: deque[Alert] = deque()
        self._recent: dict[str, deque[datetime]] = {}
        self._records: list[tuple[datetime, str, dict[str, Any], str]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._follow_schedule = follow_schedule
        """True: the daily summary follows the schedule's report job (the engine's one daily
        schedule, remembered across restarts in the journal); False: its own UTC timer."""
        self._summary_at = _summary_time(settings.daily_summary_at)
        now = clock.now()
        self._summary_day: date | None = now.date() if now.time() >= self._summary_at else None
        self._drift_said = ""
        self._tally = _DayTally()
        self.stats = AlertStats()
        self._subscription: Subscription | None = bus.subscribe(self._on_event)

    # ------------------------------------------------------------------ on the publisher's path

    def _on_event(self, event: Event) -> None:
        """The bus handler: format, filter, rate-limit and queue. Never awaits."""
        self._count(event)
        if isinstance(event, DriftDetected):
            self._drift_said = event.report.sentence()
        elif (isinstance(event, EngineErrorOccurred) and event.message == self._drift_said
              and event.where == "reconcile"):
            return  # the engine's error line for a drift report already alerted as drift
        text = alert_text(event, mode=self._mode())
        if text is not None:
            self.push(text, event.ts)
        if isinstance(event, ScheduledJobDone) and self._follow_schedule:
            if event.job == SUMMARY_JOB:
                self._summarise(event.ts, report=event.summary if event.ok else "")
        elif isinstance(event, CycleCompleted) and not self._follow_schedule:
            self._maybe_summarise(event)

    def _count(self, event: Event) -> None:
        tally = self._tally
        if isinstance(event, OrderFilled):
            tally.fills += 1
        elif isinstance(event, OrderDenied):
            tally.denials += 1
        elif isinstance(event, ProposalCreated):
            tally.proposals += 1
        elif isinstance(event, CycleCompleted):
            tally.orders += event.orders
            tally.last = event

    def _maybe_summarise(self, cycle: CycleCompleted) -> None:
        """The timer's summary (no daily schedule): once a UTC day at the first cycle after
        `daily_summary_at`, never twice a day across restarts (`start` reads the last one)."""
        now = cycle.ts
        if now.time() < self._summary_at or self._summary_day == now.date():
            return
        self._summarise(now)

    def _summarise(self, now: datetime, *, report: str = "") -> None:
        """Queue the daily summary: the last cycle's account, the day's counts and, when the
        schedule's report card ran, its headline."""
        self._summary_day = now.date()
        last = self._tally.last
        tally, self._tally = self._tally, _DayTally(last=last)
        card = f" Report card: {report}." if report else ""
        if last is None:
            self.push(AlertText(
                "summary", f"Daily summary {now:%Y-%m-%d}",
                f"No cycle has run yet; since the last summary {tally.proposals} proposals, "
                f"{tally.fills} fills, {tally.denials} denials.{card}"), now)
            return
        self.push(AlertText(
            "summary", f"Daily summary {now:%Y-%m-%d}: equity {last.equity:,.2f} ({last.day_pnl:+,.2f})",
            f"{last.mode.value.upper()} {last.state.value}; cash {last.cash:,.2f}, "
            f"{last.positions} positions; since the last summary {tally.proposals} proposals, "
            f"{tally.orders} orders, {tally.fills} fills, {tally.denials} denials.{card}"), now)

    def push(self, text: AlertText, ts: datetime) -> None:
        """Queue one alert if its level is on and its kind is under the rate limit; otherwise
        record it dropped (an `off` kind is not an alert at all and is not recorded)."""
        level = self._levels.get(text.kind, "info")
        if level == "off" or LEVELS.index(level) < self._floor:
            return
        alert = Alert(kind=text.kind, level=level, title=self._redact(text.title),
                      body=self._redact(text.body), ts=ts)
        self.stats.by_kind[alert.kind] = self.stats.by_kind.get(alert.kind, 0) + 1
        now = self._clock.now()
        recent = self._recent.setdefault(alert.kind, deque())
        while recent and now - recent[0] >= timedelta(minutes=1):
            recent.popleft()
        if len(recent) >= self._settings.per_minute.limit(alert.kind,
                                                          self._settings.per_kind_per_minute):
            self._record("dropped", alert, reason="rate limit")
            return
        if len(self._queue) >= self._settings.queue_size:
            self._record("dropped", alert, reason="queue full")
            return
        recent.append(now)
        self._queue.append(alert)
        self.stats.queued += 1
        self._wake.set()

    def _record(self, outcome: str, alert: Alert, *, reason: str = "", attempts: int = 0) -> None:
        setattr(self.stats, outcome, getattr(self.stats, outcome) + 1)
        payload: dict[str, Any] = {"kind": alert.kind, "level": alert.level, "title": alert.title,
                                   "body": alert.body, "notifier": self._notifier.name,
                                   "event_ts": alert.ts.isoformat()}
        if reason:
            payload["reason"] = self._redact(reason)
        if attempts:
            payload["attempts"] = attempts
        self._records.append((self._clock.now(), f"alert.{outcome}", payload, "alerts"))
        if outcome != "sent":
            log.warning("alert %s %s: %s (%s)", outcome, alert.kind, alert.title, payload.get("reason", ""))
        self._wake.set()

    # ------------------------------------------------------------------ the worker

    async def start(self) -> None:
        """Learn from the journal the day of the last daily summary (a restart does not send
        a second one), then start the sending task."""
        if not self._follow_schedule:
            await self._load_summary_day()
        if self._task is None:
            self._task = asyncio.create_task(self._work(), name="alerts")

    async def stop(self, *, grace: float | None = None) -> None:
        """Give the queue `grace` seconds (`STOP_GRACE` by default) to drain, then record
        whatever is still queued as failed, stop listening and write the records."""
        if self._subscription is not None:
            self._subscription.cancel()
            self._subscription = None
        task, self._task = self._task, None
        if task is not None:
            wait = min(STOP_GRACE, self._settings.timeout_seconds) if grace is None else grace
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    while self._queue:
                        await asyncio.sleep(0.02)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while self._queue:
            self._record("failed", self._queue.popleft(), reason="not sent before the engine stopped")
        await self._flush()

    async def _load_summary_day(self) -> None:
        try:
            rows = await self._store.query(
                "SELECT payload FROM audit_log WHERE kind IN ('alert.sent', 'alert.failed', "
                "'alert.dropped') AND json_extract(payload, '$.kind') = 'summary' "
                "ORDER BY id DESC LIMIT 1")
        except Exception as exc:  # noqa: BLE001 - unreadable: fall back to "not before now"
            log.warning("alerts could not read the last daily summary: %s", exc)
            return
        self._summary_day = None  # the journal knows: today's summary is sent once, even late
        if rows:
            with contextlib.suppress(ValueError, TypeError, KeyError):
                payload = json.loads(rows[0]["payload"])
                self._summary_day = datetime.fromisoformat(payload["event_ts"]).date()

    async def _work(self) -> None:
        while True:
            await self._flush()
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            alert = self._queue[0]
            outcome, attempts, reason = await self._send(alert)
            if self._queue and self._queue[0] is alert:
                self._queue.popleft()
            self._record(outcome, alert, reason=reason, attempts=attempts)

    async def _send(self, alert: Alert) -> tuple[str, int, str]:
        s = self._settings
        reason = ""
        for attempt in range(s.retries + 1):
            try:
                async with asyncio.timeout(s.timeout_seconds):
                    await self._notifier.notify(alert.title, alert.body, alert.level)
                return "sent", attempt + 1, ""
            except TimeoutError:
                reason = f"timed out after {s.timeout_seconds:g} s"
            except Exception as exc:  # noqa: BLE001 - any notifier failure is retried, then recorded
                reason = str(exc) or type(exc).__name__
            if attempt < s.retries:
                await asyncio.sleep(s.backoff_seconds * 2 ** attempt)
        return "failed", s.retries + 1, reason

    async def _flush(self) -> None:
        rows, self._records = self._records, []
        if not rows:
            return
        try:
            await self._store.audit_many(rows)
        except Exception as exc:  # noqa: BLE001 - the store's own fault is the engine's to report
            log.error("could not record %d alerts: %s", len(rows), exc)


__all__ = ["LEVELS", "Alert", "AlertRouter", "AlertStats", "AlertText", "alert_text"]
