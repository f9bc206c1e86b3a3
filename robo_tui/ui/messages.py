"""Textual messages the console passes around: engine events in batches, and engine lifecycle.

The engine's bus is synchronous and can publish thousands of events a second. The app buffers
them and posts one `EngineEvents` per refresh tick (about 10 per second); when batches queue up
behind a slow frame they merge (`can_replace`), so the UI never falls behind the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from robo_tui.domain.events import Event


@dataclass
class EngineEvents(Message, bubble=False):
    """A batch of engine events for the main screen (oldest first)."""

    events: tuple[Event, ...]

    def can_replace(self, message: Message) -> bool:
        """Textual asks this (older, about to be handled) batch whether the next queued message
        supersedes it: a newer batch does, and takes this batch's events along (nothing lost)."""
        if isinstance(message, EngineEvents):
            message.events = self.events + message.events
            return True
        return False


@dataclass
class EngineStarted(Message, bubble=False):
    """The engine finished `start()`: store open, history loaded, kill switch restored."""


@dataclass
class EngineStopped(Message, bubble=False):
    """The engine's cycle worker ended (`reason` says why: quit, error, cycles done)."""

    reason: str
