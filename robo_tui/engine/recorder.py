"""Writes every engine event (except raw market ticks) to the append-only audit log, in batches.

A symbol's strategy signals are recomputed every cycle but change only when a bar or an idea
does: a `SignalsComputed` whose votes equal the last one recorded for its symbol is not written
again (the trail still holds every change; unchanged cycles are implied), which keeps a day at
5 s cycles from writing ~17,000 identical rows per symbol."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from robo_tui.domain.events import BarsReceived, Event, QuotesUpdated, SignalsComputed
from robo_tui.domain.serialize import to_jsonable
from robo_tui.domain.signals import EnsembleDecision
from robo_tui.engine.bus import EventBus, Subscription
from robo_tui.ports import Store

log = logging.getLogger(__name__)

_SKIP = (BarsReceived, QuotesUpdated)  # market data goes to market_snapshots instead


class EventRecorder:
    """Buffers bus events and appends them to the store's audit log on `flush`.

    Nothing is dropped: the buffer is unbounded and a failed write keeps the rows for the next
    flush. Publishing stays synchronous and cheap; the I/O happens in `flush`.
    """

    def __init__(self, bus: EventBus, store: Store) -> None:
        self._store = store
        self._events: list[Event] = []
        self._sub: Subscription = bus.subscribe(self._on_event)
        self._lock = asyncio.Lock()
        self._signals: dict[str, tuple[object, ...]] = {}
        self.written = 0
        self.unchanged = 0
        """Signal events not written because they repeated the symbol's last one."""

    def _on_event(self, event: Event) -> None:
        if isinstance(event, _SKIP):
            return
        if isinstance(event, SignalsComputed):
            key = _content(event.decision)
            if self._signals.get(event.decision.symbol) == key:
                self.unchanged += 1
                return
            self._signals[event.decision.symbol] = key
        self._events.append(event)  # serialised at flush, off the publisher's path

    @property
    def pending(self) -> int:
        """Events not yet written."""
        return len(self._events)

    async def flush(self) -> int:
        """Write every buffered row in one transaction; returns how many were written."""
        async with self._lock:
            if not self._events:
                return 0
            events, self._events = self._events, []
            rows = [_row(event) for event in events]
            try:
                await self._store.audit_many(rows)
            except Exception:
                log.exception("audit log write failed; %d events kept for the next flush",
                              len(events))
                self._events = events + self._events
                return 0
            self.written += len(rows)
            return len(rows)

    def close(self) -> None:
        """Stop listening (call `flush` first)."""
        self._sub.cancel()


def _row(event: Event) -> tuple[datetime, str, dict[str, Any], str]:
    """An event as an audit-log row: (ts, kind, payload, by)."""
    payload = to_jsonable(event)
    assert isinstance(payload, dict)
    by = str(payload.get("by", "engine"))  # events a person or process caused name who
    return event.ts, f"event.{type(event).__name__}", payload, by


def _content(decision: EnsembleDecision) -> tuple[object, ...]:
    """What a decision says, without the times it was computed at."""
    return (decision.score, decision.confidence, decision.direction,
            tuple((v.voter, v.score, v.confidence, v.reason, v.source) for v in decision.votes))
