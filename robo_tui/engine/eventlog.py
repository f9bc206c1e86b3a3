"""The session's structured log: one bus subscriber that turns the engine's events into log
records on the `robo_tui.events` logger (decisions, orders, fills, state changes and health at
INFO; each cycle's summary at DEBUG).

This is the one place the event -> log-record mapping lives. Each record's message is a line for
people and carries the event's data as `extra={"event": {...}}`, which the JSON-lines format
(`[logging] format = "json"`) writes as an object.
"""

from __future__ import annotations

import logging

from robo_tui.domain.events import (
    AnalystAbstained,
    AnalystFellBack,
    AnalystSelected,
    CycleCompleted,
    Event,
    IdeaGenerated,
    ModeChanged,
    OrderDenied,
    OrderFilled,
    OrderStatusChanged,
    OrderSubmitted,
    PauseChanged,
    ProposalCreated,
    ProposalDecided,
    SourceHealthChanged,
    StrategyChanged,
    TradingStateChanged,
)
from robo_tui.domain.serialize import to_jsonable
from robo_tui.engine.bus import EventBus, Subscription

log = logging.getLogger("robo_tui.events")

CATEGORY: dict[type[Event], tuple[str, int]] = {
    IdeaGenerated: ("decision", logging.INFO),
    AnalystAbstained: ("decision", logging.INFO),
    ProposalCreated: ("decision", logging.INFO),
    ProposalDecided: ("decision", logging.INFO),
    OrderDenied: ("order", logging.INFO),
    OrderSubmitted: ("order", logging.INFO),
    OrderStatusChanged: ("order", logging.INFO),
    OrderFilled: ("fill", logging.INFO),
    TradingStateChanged: ("state", logging.WARNING),
    ModeChanged: ("state", logging.INFO),
    PauseChanged: ("state", logging.INFO),
    StrategyChanged: ("state", logging.INFO),
    AnalystSelected: ("state", logging.INFO),
    AnalystFellBack: ("health", logging.WARNING),
    SourceHealthChanged: ("health", logging.INFO),
    CycleCompleted: ("cycle", logging.DEBUG),
}
"""Each logged event type: its category (the JSON's `category`) and level."""


def describe(event: Event) -> str:
    """One line for a person (the text format's message)."""
    return _decision_line(event) or _state_line(event) or type(event).__name__


def _decision_line(event: Event) -> str | None:
    """Ideas, proposals, orders and fills."""
    if isinstance(event, IdeaGenerated):
        idea = event.idea
        return (f"idea {idea.provider}/{idea.model} {idea.direction.value} {idea.symbol} "
                f"score {idea.score:+.2f} conf {idea.confidence:.2f} ({event.decision_id})")
    if isinstance(event, AnalystAbstained):
        return f"analyst {event.provider}/{event.model} abstained on {event.symbol}: {event.reason}"
    if isinstance(event, ProposalCreated):
        p = event.proposal
        check = "ok" if event.precheck.allowed else "denied: " + ",".join(event.precheck.codes)
        return (f"proposal {p.id} {p.side.value} {p.quantity:g} {p.symbol} @ {p.price:,.4f} "
                f"conf {p.confidence:.2f} pre-check {check}")
    if isinstance(event, ProposalDecided):
        why = f": {event.reason}" if event.reason else ""
        return f"proposal {event.proposal.id} {event.decision} by {event.by}{why}"
    if isinstance(event, OrderDenied):
        intent = event.command.intent
        reasons = "; ".join(r.message for r in event.verdict.reasons)
        return (f"order DENIED {intent.side.value} {intent.quantity:g} {intent.symbol} "
                f"from {event.command.source}: {reasons}")
    if isinstance(event, OrderSubmitted):
        o = event.order
        return (f"order {o.client_order_id} {o.side.value} {o.quantity:g} {o.symbol} "
                f"from {o.source} -> {event.ack.status.value} {event.ack.message}").rstrip()
    if isinstance(event, OrderStatusChanged):
        return f"order {event.client_order_id} {event.symbol} -> {event.status}: {event.message}"
    if isinstance(event, OrderFilled):
        f = event.fill
        return (f"fill {f.fill_id} order {f.client_order_id} {f.side.value} {f.quantity:g} {f.symbol} "
                f"@ {f.price:,.4f} fee {f.fee:.2f} {f.reason}").rstrip()
    return None


def _state_line(event: Event) -> str | None:
    """State changes, health and cycles."""
    if isinstance(event, TradingStateChanged):
        return f"trading {event.old.value} -> {event.new.value} by {event.by}: {event.reason}"
    if isinstance(event, ModeChanged):
        return f"mode {event.old.value} -> {event.new.value} by {event.by}"
    if isinstance(event, PauseChanged):
        return f"cycle {'paused' if event.paused else 'resumed'} by {event.by}"
    if isinstance(event, StrategyChanged):
        return f"strategy {event.name} enabled={event.enabled} weight {event.weight:g} by {event.by}"
    if isinstance(event, AnalystSelected):
        return f"analyst {event.provider}/{event.model} selected by {event.by}"
    if isinstance(event, AnalystFellBack):
        return f"analyst fell back {event.from_provider} -> {event.to_provider}: {event.reason}"
    if isinstance(event, SourceHealthChanged):
        return f"health {event.source} {'ok' if event.healthy else 'FAILING'}: {event.message}"
    if isinstance(event, CycleCompleted):
        return (f"cycle {event.cycle} {event.mode.value} {event.state.value} equity {event.equity:,.2f} "
                f"day {event.day_pnl:+,.2f} orders {event.orders} fills {event.fills} "
                f"{event.duration_ms:.0f} ms")
    return None


class EventLog:
    """Subscribes to the bus and writes each logged event as a record (see `CATEGORY`)."""

    def __init__(self, bus: EventBus, logger: logging.Logger = log) -> None:
        self._log = logger
        self.subscription: Subscription = bus.subscribe(self._on_event, *CATEGORY)

    def _on_event(self, event: Event) -> None:
        category, level = CATEGORY.get(type(event), ("event", logging.INFO))
        if not self._log.isEnabledFor(level):
            return
        data = to_jsonable(event)
        payload = {"type": type(event).__name__, "category": category,
                   **(data if isinstance(data, dict) else {})}
        self._log.log(level, "%s %s", category, describe(event), extra={"event": payload})

    def close(self) -> None:
        """Stop logging events."""
        self.subscription.cancel()


__all__ = ["CATEGORY", "EventLog", "describe"]
