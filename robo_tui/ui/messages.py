"""Textual messages the console passes around: engine events in batches, the engine's view, and
engine lifecycle.

The engine's bus is synchronous and can publish thousands of events a second. The app buffers
them and posts one `EngineEvents` per refresh tick (about 10 per second). When batches queue up
behind a slow frame they merge without mutating anything: the app builds each new batch to carry
the events of the batches still queued (`first` numbers its first event in the app's stream), so
a queued batch is superseded by a newer one that starts no later (`can_replace`), and the screen
skips any events it has already handled. Nothing is lost, nothing is shown twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from robo_tui.domain.events import Event
from robo_tui.engine.view import ConsoleView


@dataclass
class EngineEvents(Message, bubble=False):
    """A batch of engine events for the main screen (oldest first); `first` is the sequence
    number of `events[0]` among every event the app has posted."""

    events: tuple[Event, ...]
    first: int = 0

    @property
    def end(self) -> int:
        """The sequence number after this batch's last event."""
        return self.first + len(self.events)

    def can_replace(self, message: Message) -> bool:
        """Textual asks this (older, about to be handled) batch whether the next queued message
        supersedes it: a newer batch does when it already carries every event of this one."""
        return (isinstance(message, EngineEvents) and message.first <= self.first
                and message.end >= self.end)


@dataclass
class ViewChanged(Message, bubble=False):
    """The engine published a new view; a newer view supersedes a queued older one whole."""

    view: ConsoleView

    def can_replace(self, message: Message) -> bool:
        """A newer view replaces this one (a view is a whole snapshot: nothing is lost)."""
        return isinstance(message, ViewChanged)


@dataclass
class EngineStarted(Message, bubble=False):
    """The engine finished `start()`: store open, history loaded, kill switch restored."""


@dataclass
class EngineStopped(Message, bubble=False):
    """The engine's cycle worker ended (`reason` says why: quit, error, cycles done)."""

    reason: str
