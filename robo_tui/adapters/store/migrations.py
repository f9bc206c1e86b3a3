"""Versioned schema migrations for the SQLite store.

The schema version lives in `PRAGMA user_version`. `MIGRATIONS` is an ordered list of steps; each
step runs once, in its own `BEGIN IMMEDIATE` transaction that also bumps `user_version`, so a
crash mid-migration leaves the previous version intact. The version is re-read inside the
transaction, so two processes opening the same file at once never apply a step twice. To change
the schema, append a step; never edit one that has shipped.
"""

from __future__ import annotations

from datetime import UTC, datetime

import aiosqlite

from robo_tui.domain.frozen import frozen


class SchemaError(RuntimeError):
    """The database cannot be used by this version of robo-tui."""


class SchemaTooNewError(SchemaError):
    """The database was written by a newer robo-tui than this one."""


@frozen
class Migration:
    """One schema step: bring the database from `version - 1` to `version`."""

    version: int
    name: str
    statements: tuple[str, ...]


_APPEND_ONLY = "audit_log is append-only"

_V1: tuple[str, ...] = (
    """CREATE TABLE schema_history (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        applied_at TEXT NOT NULL
    )""",
    # -- control state: mode, kill switch; survives restarts
    """CREATE TABLE control_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_by TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    # -- append-only audit log
    """CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts TEXT NOT NULL,
        kind TEXT NOT NULL,
        actor TEXT NOT NULL,
        payload TEXT NOT NULL
    )""",
    "CREATE INDEX ix_audit_log_ts ON audit_log (ts)",
    "CREATE INDEX ix_audit_log_kind_ts ON audit_log (kind, ts)",
    f"""CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END""",
    f"""CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END""",
    # -- market data marks, one row per symbol and time
    """CREATE TABLE market_snapshots (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts TEXT NOT NULL,
        symbol TEXT NOT NULL,
        price REAL,
        simulated INTEGER NOT NULL DEFAULT 0,
        UNIQUE (symbol, ts)
    )""",
    "CREATE INDEX ix_market_snapshots_ts ON market_snapshots (ts)",
    # -- news
    """CREATE TABLE news_items (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        title TEXT NOT NULL,
        summary TEXT NOT NULL,
        link TEXT NOT NULL,
        published TEXT NOT NULL,
        seen TEXT NOT NULL,
        symbols TEXT NOT NULL,
        sample INTEGER NOT NULL DEFAULT 0,
        payload TEXT NOT NULL
    )""",
    "CREATE INDEX ix_news_items_published ON news_items (published)",
    "CREATE INDEX ix_news_items_seen ON news_items (seen)",
    # -- every analyst call: prompt, model, raw and parsed output, what became of it
    """CREATE TABLE ai_decisions (
        id TEXT PRIMARY KEY,
        ts TEXT NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        symbol TEXT,
        template TEXT NOT NULL DEFAULT '',
        prompt_hash TEXT NOT NULL DEFAULT '',
        prompt TEXT NOT NULL DEFAULT '',
        latency_ms REAL,
        raw_output TEXT NOT NULL DEFAULT '',
        parsed TEXT,
        errors TEXT NOT NULL DEFAULT '[]',
        abstain_reason TEXT NOT NULL DEFAULT '',
        outcome TEXT,
        extra TEXT NOT NULL DEFAULT '{}',
        updated_at TEXT
    )""",
    "CREATE INDEX ix_ai_decisions_ts ON ai_decisions (ts)",
    "CREATE INDEX ix_ai_decisions_symbol_ts ON ai_decisions (symbol, ts)",
    "CREATE INDEX ix_ai_decisions_provider_ts ON ai_decisions (provider, ts)",
    # -- proposals and their human decisions
    """CREATE TABLE proposals (
        id TEXT PRIMARY KEY,
        ts TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        qty REAL NOT NULL,
        price REAL,
        notional REAL,
        stop_loss REAL,
        take_profit REAL,
        confidence REAL,
        rationale TEXT NOT NULL,
        reduce_only INTEGER NOT NULL DEFAULT 0,
        votes TEXT NOT NULL,
        idea_ids TEXT NOT NULL,
        status TEXT NOT NULL,
        expires_at TEXT,
        decided_by TEXT,
        decided_at TEXT,
        decision_reason TEXT,
        precheck TEXT NOT NULL,
        payload TEXT NOT NULL
    )""",
    "CREATE INDEX ix_proposals_ts ON proposals (ts)",
    "CREATE INDEX ix_proposals_status_ts ON proposals (status, ts)",
    "CREATE INDEX ix_proposals_status_expires ON proposals (status, expires_at)",
    "CREATE INDEX ix_proposals_symbol_ts ON proposals (symbol, ts)",
    # -- every risk gate verdict
    """CREATE TABLE risk_verdicts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts TEXT NOT NULL,
        source TEXT NOT NULL,
        symbol TEXT NOT NULL,
        allowed INTEGER NOT NULL,
        state TEXT NOT NULL,
        codes TEXT NOT NULL,
        reasons TEXT NOT NULL,
        checked TEXT NOT NULL,
        client_order_id TEXT,
        proposal_id TEXT,
        payload TEXT NOT NULL,
        verdict TEXT NOT NULL
    )""",
    "CREATE INDEX ix_risk_verdicts_ts ON risk_verdicts (ts)",
    "CREATE INDEX ix_risk_verdicts_symbol_ts ON risk_verdicts (symbol, ts)",
    "CREATE INDEX ix_risk_verdicts_allowed_ts ON risk_verdicts (allowed, ts)",
    "CREATE INDEX ix_risk_verdicts_client_order_id ON risk_verdicts (client_order_id)",
    "CREATE INDEX ix_risk_verdicts_proposal_id ON risk_verdicts (proposal_id)",
    # -- the order journal: the intent row exists before the broker is called
    """CREATE TABLE orders (
        client_order_id TEXT PRIMARY KEY,
        ts TEXT NOT NULL,
        source TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        qty REAL NOT NULL,
        order_type TEXT NOT NULL,
        limit_price REAL,
        stop_loss REAL,
        take_profit REAL,
        reduce_only INTEGER NOT NULL DEFAULT 0,
        proposal_id TEXT,
        status TEXT NOT NULL,
        broker_order_id TEXT,
        message TEXT NOT NULL DEFAULT '',
        updated_at TEXT NOT NULL,
        payload TEXT NOT NULL
    )""",
    "CREATE INDEX ix_orders_ts ON orders (ts)",
    "CREATE INDEX ix_orders_status ON orders (status)",
    "CREATE INDEX ix_orders_symbol_ts ON orders (symbol, ts)",
    "CREATE INDEX ix_orders_proposal_id ON orders (proposal_id)",
    # -- executions; no foreign key to orders: a broker may report fills (stop-loss, take-profit,
    # -- reconciliation) for orders this journal has not seen, and a fill must never be lost
    """CREATE TABLE fills (
        fill_id TEXT PRIMARY KEY,
        client_order_id TEXT NOT NULL,
        ts TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        qty REAL NOT NULL,
        price REAL NOT NULL,
        fee REAL NOT NULL,
        liquidity TEXT NOT NULL,
        reason TEXT NOT NULL,
        payload TEXT NOT NULL
    )""",
    "CREATE INDEX ix_fills_ts ON fills (ts)",
    "CREATE INDEX ix_fills_client_order_id ON fills (client_order_id)",
    "CREATE INDEX ix_fills_symbol_ts ON fills (symbol, ts)",
    # -- the latest positions, and the account history (equity curve)
    """CREATE TABLE positions (
        symbol TEXT PRIMARY KEY,
        quantity REAL NOT NULL,
        avg_price REAL NOT NULL,
        price REAL,
        market_value REAL,
        unrealized_pnl REAL,
        stop_loss REAL,
        take_profit REAL,
        opened_at TEXT,
        realized_pnl REAL NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL,
        payload TEXT NOT NULL
    )""",
    """CREATE TABLE account_snapshots (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts TEXT NOT NULL,
        cash REAL NOT NULL,
        equity REAL NOT NULL,
        gross_exposure REAL NOT NULL,
        positions INTEGER NOT NULL,
        payload TEXT NOT NULL
    )""",
    "CREATE INDEX ix_account_snapshots_ts ON account_snapshots (ts)",
    # -- closed trades and daily reviews
    """CREATE TABLE trade_outcomes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts TEXT NOT NULL,
        symbol TEXT,
        pnl REAL,
        payload TEXT NOT NULL
    )""",
    "CREATE INDEX ix_trade_outcomes_ts ON trade_outcomes (ts)",
    "CREATE INDEX ix_trade_outcomes_symbol_ts ON trade_outcomes (symbol, ts)",
    """CREATE TABLE daily_reviews (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        day TEXT NOT NULL,
        ts TEXT NOT NULL,
        payload TEXT NOT NULL
    )""",
    "CREATE INDEX ix_daily_reviews_day ON daily_reviews (day)",
    # -- backtester runs
    """CREATE TABLE backtest_runs (
        id TEXT PRIMARY KEY,
        ts TEXT NOT NULL,
        params TEXT NOT NULL,
        stats TEXT NOT NULL,
        trades TEXT NOT NULL,
        equity TEXT NOT NULL
    )""",
    "CREATE INDEX ix_backtest_runs_ts ON backtest_runs (ts)",
)

_V2: tuple[str, ...] = (
    # -- shell actions (halt, resume, approve, reject) the engine carries out, then marks consumed
    """CREATE TABLE commands (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        by TEXT NOT NULL,
        consumed TEXT
    )""",
    "CREATE INDEX ix_commands_pending ON commands (consumed, id)",
)

_V3: tuple[str, ...] = (
    # -- protection per open position (stop, target, trail, who holds each leg): written with
    #    the fill that changed it, re-armed at start before the first new decision
    """CREATE TABLE protective_levels (
        symbol TEXT PRIMARY KEY,
        entry_client_order_id TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        payload TEXT NOT NULL
    )""",
)

TELEMETRY_KINDS: tuple[str, ...] = (
    "event.SignalsComputed", "event.PortfolioUpdated", "event.CycleCompleted",
)
"""Audit kinds written every cycle that retention may prune; every other audit row is a decision
or a control change and stays append-only."""

_TELEMETRY_SQL = ", ".join(f"'{kind}'" for kind in TELEMETRY_KINDS)

_V4: tuple[str, ...] = (
    "DROP TRIGGER audit_log_no_delete",
    f"""CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    WHEN OLD.kind NOT IN ({_TELEMETRY_SQL})
    BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END""",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _V1),
    Migration(2, "commands journal", _V2),
    Migration(3, "protective levels", _V3),
    Migration(4, "telemetry retention", _V4),
)
"""Every schema step, oldest first; versions are 1, 2, 3, ... without gaps."""

LATEST_VERSION = MIGRATIONS[-1].version


async def schema_version(db: aiosqlite.Connection) -> int:
    """The database's `PRAGMA user_version` (0 for a fresh file)."""
    async with db.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


def _too_new(found: int, latest: int) -> SchemaTooNewError:
    return SchemaTooNewError(
        f"database schema version {found} is newer than this robo-tui understands "
        f"(up to {latest}); upgrade robo-tui, or use another --data-dir"
    )


async def migrate(
    db: aiosqlite.Connection, migrations: tuple[Migration, ...] = MIGRATIONS
) -> list[int]:
    """Apply every pending step in order on an autocommit connection; the versions applied.

    Re-running on an up-to-date database applies nothing. A database newer than `migrations`
    raises `SchemaTooNewError` and is left untouched.
    """
    _check_sequence(migrations)
    latest = migrations[-1].version if migrations else 0
    found = await schema_version(db)
    if found > latest:
        raise _too_new(found, latest)
    applied: list[int] = []
    for step in migrations:
        if step.version <= found:
            continue
        await db.execute("BEGIN IMMEDIATE")
        try:
            # another process may have migrated while we waited for the write lock
            found = await schema_version(db)
            if found > latest:
                raise _too_new(found, latest)
            if step.version <= found:
                await db.execute("ROLLBACK")
                continue
            for statement in step.statements:
                await db.execute(statement)
            if await _has_history_table(db):
                await db.execute(
                    "INSERT INTO schema_history (version, name, applied_at) VALUES (?, ?, ?)",
                    (step.version, step.name, datetime.now(UTC).isoformat()),
                )
            await db.execute(f"PRAGMA user_version = {int(step.version)}")
            await db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                await db.execute("ROLLBACK")
            raise
        applied.append(step.version)
        found = step.version
    return applied


async def _has_history_table(db: aiosqlite.Connection) -> bool:
    async with db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_history'"
    ) as cur:
        return await cur.fetchone() is not None


def _check_sequence(migrations: tuple[Migration, ...]) -> None:
    expected = list(range(1, len(migrations) + 1))
    if [m.version for m in migrations] != expected:
        raise SchemaError(f"migrations must be numbered 1..{len(migrations)} without gaps")
