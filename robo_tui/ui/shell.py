"""What a screen may ask of the console shell (the app): the engine once it has started, a
notification, a worker for an engine call, and a fresh view after an action.

Screens call the engine themselves; the shell owns the engine's lifecycle, the workers and the
view pipe. `RoboApp` implements this; a screen is handed it, so it never imports the app.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, Literal, Protocol

from robo_tui.engine.engine import Engine
from robo_tui.engine.view import ConsoleView

Severity = Literal["information", "warning", "error"]


class Shell(Protocol):
    """The console shell as its screens see it."""

    def ready_engine(self) -> Engine | None:
        """The engine if it has started, else None (and the trader is told why)."""
        ...

    def say(self, message: str, *, severity: Severity = "information", title: str = "",
            timeout: float | None = None) -> None:
        """A notification; the text is never parsed as markup (it may quote outside text)."""
        ...

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run an engine call in a worker; its failure is reported in one place."""
        ...

    def refresh_view(self, *, force: bool = False) -> ConsoleView | None:
        """Rebuild the engine's view now (after an action changed something it shows); the
        latest view (None before the engine has started)."""
        ...

    def publish_error(self, where: str, message: str) -> None:
        """Put a console-side failure in the feed and the audit log."""
        ...
