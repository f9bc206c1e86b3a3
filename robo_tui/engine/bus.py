"""A typed, synchronous-publish event bus for the asyncio engine.

`publish` never awaits: handlers run immediately in subscription order, and async consumers get
an `asyncio.Queue`. A failing handler is logged and skipped; it never breaks the publisher.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from robo_tui.domain.events import Event

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
Handler = Callable[[Event], None]


@dataclass(slots=True)
class Subscription:
    """A handle to stop receiving events."""

    bus: EventBus
    handler: Handler
    types: tuple[type[Event], ...]

    def cancel(self) -> None:
        """Stop delivering events to this handler."""
        self.bus._remove(self)


class EventBus:
    """Publishes engine events to handlers and queues subscribed by event type."""

    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self.published = 0

    def subscribe(self, handler: Handler, *types: type[Event]) -> Subscription:
        """Call `handler(event)` for every event of one of `types` (all events when none given)."""
        sub = Subscription(self, handler, types or (Event,))
        self._subs.append(sub)
        return sub

    def queue(self, *types: type[Event], maxsize: int = 0) -> tuple[asyncio.Queue[Event], Subscription]:
        """An asyncio queue that receives events of `types`; when full, the oldest is dropped."""
        q: asyncio.Queue[Event] = asyncio.Queue(maxsize=maxsize)

        def put(event: Event) -> None:
            if q.full():
                q.get_nowait()
            q.put_nowait(event)

        return q, self.subscribe(put, *types)

    def publish(self, event: Event) -> None:
        """Deliver `event` now to every matching subscriber."""
        self.published += 1
        for sub in tuple(self._subs):
            if isinstance(event, sub.types):
                try:
                    sub.handler(event)
                except Exception:  # a subscriber's bug must not stop trading
                    log.exception("event handler %r failed on %s", sub.handler, type(event).__name__)

    def _remove(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
