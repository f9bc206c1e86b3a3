"""Where preflight results are kept (the journal's audit log, kind `preflight`) and the rule a
live start follows: a passing preflight no older than `[live] preflight_max_age_minutes`.

The reading side uses a read-only SQLite connection of its own, so the live check runs before
the engine (and its store) exists, and never writes.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from robo_tui.config import Settings
from robo_tui.domain.frozen import frozen
from robo_tui.ops.checks import PreflightReport
from robo_tui.ports import Store

AUDIT_KIND = "preflight"
"""The audit log's kind for a stored preflight report."""
DB_FILENAME = "robo-tui.sqlite3"
"""The journal's file name in the data dir (the SQLite store's)."""


@frozen
class StoredPreflight:
    """The last preflight the journal holds: when, whether it passed, and what failed."""

    ts: datetime
    passed: bool
    failed: tuple[str, ...]
    fixes: tuple[str, ...] = ()


async def save_report(store: Store, report: PreflightReport, by: str = "cli") -> None:
    """Keep `report` in the journal's audit log (append-only, timestamped)."""
    await store.audit(AUDIT_KIND, report.to_json(), by)


def parse_stored(payload: str) -> StoredPreflight | None:
    """A stored report from its audit payload text (None when unreadable)."""
    try:
        data: Any = json.loads(payload)
        checks = data.get("checks", [])
        failed = tuple(str(c["name"]) for c in checks if not c.get("ok"))
        fixes = tuple(str(c.get("fix", "")) for c in checks if not c.get("ok"))
        return StoredPreflight(datetime.fromisoformat(data["ts"]), bool(data["passed"]), failed, fixes)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def journal_row(data_dir: Path, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
    """One row of the journal of `data_dir`, read-only and before any engine opens it (None:
    no journal, no such row, or a journal that cannot be read)."""
    path = Path(data_dir) / DB_FILENAME
    if not path.is_file():
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
        try:
            row: tuple[Any, ...] | None = db.execute(sql, params).fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return row


def last_preflight(data_dir: Path) -> StoredPreflight | None:
    """The newest preflight in the journal of `data_dir` (None: no journal, or none ran)."""
    row = journal_row(data_dir, "SELECT payload FROM audit_log WHERE kind = ? ORDER BY id DESC "
                      "LIMIT 1", (AUDIT_KIND,))
    return parse_stored(row[0]) if row else None


def preflight_refusal(settings: Settings, data_dir: Path, now: datetime) -> str | None:
    """Why a live start must be refused for want of a recent passing preflight; None when the
    last one passed within `[live] preflight_max_age_minutes`."""
    last = last_preflight(data_dir)
    limit = timedelta(minutes=settings.live.preflight_max_age_minutes)
    run = "run `robo-tui preflight` (it must pass) and start again"
    if last is None:
        return f"no preflight has run for this data dir: {run}"
    if not last.passed:
        return (f"the last preflight ({last.ts:%Y-%m-%d %H:%M}Z) failed: "
                f"{', '.join(last.failed)}; fix them and {run}")
    age = now - last.ts
    if age > limit:
        return (f"the last passing preflight is {age.total_seconds() / 60:,.0f} minutes old "
                f"(allowed {settings.live.preflight_max_age_minutes:g}): {run}")
    return None
