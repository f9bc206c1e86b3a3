"""Where the backtest commands write: rich consoles, progress bars, JSON files, Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

INTERRUPTED = 130
"""Exit code after Ctrl-C (the partial results are still reported, written and stored)."""


def stderr() -> Console:
    """A console on stderr: progress, warnings and interruptions."""
    return Console(stderr=True)


def stdout() -> Console:
    """A console on stdout: the reports."""
    return Console()


def progress_bar(console: Console, total: int, label: str) -> Progress:
    """A transient progress bar with count, elapsed and remaining time (`total` is advisory)."""
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                    transient=True)


def write_json(path: Path, data: Any) -> None:
    """`data` as indented JSON (no NaN) at `path`, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")


@contextmanager
def stop_on_sigint(stop: asyncio.Event, console: Console) -> Iterator[None]:
    """First Ctrl-C asks the replay to stop (partial results); a second one aborts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        console.print("[yellow]Stopping at the next bar: partial results follow "
                      "(Ctrl-C again to abort).[/]")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
