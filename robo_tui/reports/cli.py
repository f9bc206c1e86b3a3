"""`robo-tui report daily|weekly`: the account's report card in a terminal, as JSON or HTML."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from robo_tui.reports.account import AccountReport, build_account_report
from robo_tui.reports.render import render_html, render_text
from robo_tui.runtime import RunError, RunOptions

WithStore = Callable[[RunOptions, Callable[[Any, Any], Awaitable[Any]]], Coroutine[Any, Any, Any]]


def run_report(period: str, day: str | None, html_out: Path | None, options: RunOptions,
               with_store: WithStore) -> int:
    """Build, print and optionally write the report card; the exit code (2 on bad input)."""
    if period not in ("daily", "weekly"):
        print(f"robo-tui: report period must be daily or weekly, not {period!r}", file=sys.stderr)
        return 2
    try:
        when = (datetime.now(UTC) if day is None
                else datetime.fromisoformat(day).replace(tzinfo=UTC))
    except ValueError:
        print(f"robo-tui: --day must be a date like 2026-12-03, not {day!r}", file=sys.stderr)
        return 2

    async def work(store: Any, settings: Any) -> AccountReport:
        target = (settings.reports.daily_target if period == "daily"
                  else settings.reports.weekly_target)
        return await build_account_report(
            store, "daily" if period == "daily" else "weekly", when, target=target,
            shadow_horizon_hours=settings.reports.shadow_horizon_hours)

    import asyncio

    try:
        report: AccountReport = asyncio.run(with_store(options, work))
    except RunError as exc:
        print(f"robo-tui: {exc}", file=sys.stderr)
        return int(exc.code)
    if html_out is not None:
        write_private(html_out, render_html(report))
    if options.json:
        print(json.dumps(report.to_dict()))
        return 0
    console = Console(highlight=False, soft_wrap=False,
                      width=None if sys.stdout.isatty() else 100)
    console.print(render_text(report))
    if html_out is not None:
        console.print(f"HTML report card written to {html_out}")
    return 0


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable by its owner only (a report holds the account's money)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(path, 0o600)
