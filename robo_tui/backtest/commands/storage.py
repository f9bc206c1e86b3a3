"""The backtest commands' use of the data dir's database: store a run, read stored runs."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from typing import Any

import typer

from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.backtest.commands.console import stdout
from robo_tui.config import Settings
from robo_tui.runtime import RunOptions, load_run_settings, resolve_data_dir


def store_run(options: RunOptions, base: Settings, record: dict[str, Any]) -> int:
    """Save a run in the data dir's database; 0, or 1 (with the reason) when it cannot be."""
    data_dir = resolve_data_dir(options, base)

    async def save() -> str:
        store = SqliteStore.for_data_dir(data_dir)
        await store.open()
        try:
            return await store.record_backtest_run(record)
        finally:
            await store.close()

    try:
        run_id = asyncio.run(save())
    except (OSError, sqlite3.Error, RuntimeError) as exc:
        typer.echo(f"robo-tui backtest: could not store the run in {data_dir}: {exc}", err=True)
        return 1
    stdout().print(f"Stored as run {run_id[:12]} (robo-tui backtest --show {run_id[:12]})",
                   highlight=False)
    return 0


def read_runs(options: RunOptions, sql: str, args: Sequence[Any]) -> list[dict[str, Any]]:
    """Rows of a query on the stored runs (the SQL comes from `robo_tui.backtest.results`)."""
    settings = load_run_settings(options)
    data_dir = resolve_data_dir(options, settings)

    async def read() -> list[dict[str, Any]]:
        store = SqliteStore.for_data_dir(data_dir)
        await store.open()
        try:
            return await store.query(sql, args)
        finally:
            await store.close()

    return asyncio.run(read())
