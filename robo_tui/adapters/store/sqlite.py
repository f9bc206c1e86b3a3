"""The SQLite store: every engine decision on disk, and the crash-safe order journal.

One write connection (WAL, `synchronous=FULL`, foreign keys on, a busy timeout) serialised by an
asyncio lock, so each method is one atomic `BEGIN IMMEDIATE ... COMMIT`; with FULL the commit is
fsynced before the method returns, which is what makes "the intent is durable before the broker
is called" true. A second, read-only connection serves `query` (reports, the console, tests), so
a report can never write. The database and its -wal/-shm files are created 0600 and the data dir
0700. State changes (control keys, proposal decisions, order status, fills) are also appended to
`audit_log` in the same transaction, which triggers keep append-only.

Storage faults (full disk, held lock, read-only, damaged or vanished file) become the port's
`StorageFault`s (`faults.py`). At open the file is checked (`PRAGMA quick_check`, a probe write),
and a marker beside it (`robo-tui.sqlite3.session`) records that a session was started here: a
database found missing or empty where the marker exists is refused, never silently re-created
as a fresh account without its kill switch. A halt file beside it (`haltfile.py`) latches HALTED
over whatever the database holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

from robo_tui.adapters.store.codec import dumps, loads, ts_text
from robo_tui.adapters.store.faults import corrupt, storage_fault
from robo_tui.adapters.store.haltfile import halt_path, read_halt_file
from robo_tui.adapters.store.migrations import TELEMETRY_KINDS, migrate
from robo_tui.domain.control import (
    CommandKind,
    ControlState,
    JournaledCommand,
    Protections,
    encode_protections,
)
from robo_tui.domain.news import NewsItem
from robo_tui.domain.orders import AccountSnapshot, Fill, Order, OrderStatus
from robo_tui.domain.protection import ProtectiveLevel
from robo_tui.domain.risk import RiskVerdict, TradingState
from robo_tui.domain.signals import Proposal, ProposalStatus
from robo_tui.ports import StorageMissing, StorageReadOnly

DB_FILENAME = "robo-tui.sqlite3"
"""The database's file name inside a data dir."""

BUSY_TIMEOUT_MS = 5000

PRUNE_BATCH = 2000
"""Rows one retention transaction deletes at most (the write lock is held that long)."""

CRASH_ENV = "ROBO_CRASH_AT_WRITE"
"""Crash testing only: `N` kills the process (SIGKILL) right after the Nth write transaction
commits, `Nm` in the middle of it (after its statements, before COMMIT). Unset, it costs one
attribute test per transaction."""

SESSION_SUFFIX = ".session"
"""The marker beside the database (`robo-tui.sqlite3.session`) that a session started here."""

_UPSERT_CONTROL = (
    "INSERT INTO control_state (key, value, updated_by, updated_at) VALUES (?,?,?,?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
    "updated_by = excluded.updated_by, updated_at = excluded.updated_at"
)

_TERMINAL_ORDER = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED})
_OPEN_ORDER = tuple(s.value for s in OrderStatus if s.is_open)

_PROPOSAL_MOVES: dict[ProposalStatus, frozenset[ProposalStatus]] = {
    ProposalStatus.PENDING: frozenset(
        {
            ProposalStatus.APPROVED,
            ProposalStatus.REJECTED,
            ProposalStatus.EXPIRED,
            ProposalStatus.SUBMITTED,
            ProposalStatus.DENIED,
        }
    ),
    ProposalStatus.APPROVED: frozenset({ProposalStatus.SUBMITTED, ProposalStatus.DENIED}),
}
"""Allowed proposal status changes; every other status is final."""

_AI_COLUMNS = (
    "id",
    "ts",
    "provider",
    "model",
    "symbol",
    "template",
    "prompt_hash",
    "prompt",
    "latency_ms",
    "raw_output",
    "parsed",
    "idea",
    "errors",
    "abstain_reason",
    "outcome",
)


class StoreClosedError(RuntimeError):
    """A store method was called before `open()` or after `close()`."""


class ProposalTransitionError(ValueError):
    """A proposal decision that its current status does not allow (e.g. approving it twice)."""


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class SqliteStore:
    """The `Store` port on SQLite (aiosqlite). Construct, then `await open()` (or `async with`).

    `now` stamps rows whose caller gives no time (audit entries, verdicts, updates); it defaults
    to the wall clock in UTC, and a backtest may pass its simulated clock's `now`.
    """

    def __init__(self, path: Path, *, now: Callable[[], datetime] | None = None,
                 busy_timeout_ms: int = BUSY_TIMEOUT_MS, max_pages: int | None = None) -> None:
        self.path = Path(path)
        self._now = now or _wall_clock
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._max_pages = max_pages
        """A size cap in pages (`PRAGMA max_page_count`): past it a write fails as a full disk."""
        self._crash_at = _crash_point(os.environ.get(CRASH_ENV, ""))
        self._writes = 0
        self._db: aiosqlite.Connection | None = None
        self._ro: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    @classmethod
    def for_data_dir(
        cls, data_dir: Path, *, now: Callable[[], datetime] | None = None
    ) -> SqliteStore:
        """The store at `<data_dir>/robo-tui.sqlite3`."""
        return cls(Path(data_dir) / DB_FILENAME, now=now)

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def session_marker(self) -> Path:
        """The marker file written at the first open: this data dir has held a session."""
        return self.path.with_name(self.path.name + SESSION_SUFFIX)

    async def open(self) -> None:
        """Create the parent dir (0700) and the database (0600) if missing, check and migrate it.

        Raises a `StorageFault` for a database that is missing or empty after an earlier
        session, damaged, read-only, locked or on a full disk."""
        if self._db is not None:
            raise RuntimeError(f"store {self.path} is already open")
        try:
            await self._open()
        except BaseException as exc:
            fault = storage_fault(exc, self.path)
            if fault is not None and fault is not exc:
                raise fault from exc
            raise

    async def _open(self) -> None:
        self._refuse_vanished()
        old_umask = os.umask(0o077)
        db: aiosqlite.Connection | None = None
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            db = await aiosqlite.connect(self.path, isolation_level=None)
            await _check_integrity(db, self.path)
            mode = await _pragma(db, "journal_mode = WAL")
            if str(mode).lower() != "wal":
                raise RuntimeError(f"{self.path}: could not enable WAL (journal_mode={mode})")
            await db.execute("PRAGMA synchronous = FULL")
            await db.execute("PRAGMA foreign_keys = ON")
            await db.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            await migrate(db)
            await _probe_write(db)
            if self._max_pages is not None:
                await db.execute(f"PRAGMA max_page_count = {int(self._max_pages)}")
            self._restrict_files()
            self._mark_session()
            self._ro = await aiosqlite.connect(
                self.path.resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None
            )
        except BaseException:
            if db is not None:
                await db.close()
            raise
        finally:
            os.umask(old_umask)
        self._ro.row_factory = aiosqlite.Row
        await self._ro.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
        await self._ro.execute("PRAGMA query_only = ON")
        self._db = db

    def _refuse_vanished(self) -> None:
        """A missing or empty database where the marker says a session ran is refused."""
        marker = self.session_marker
        if not marker.exists():
            return
        wal = Path(f"{self.path}-wal")
        has_wal = wal.exists() and wal.stat().st_size > 0
        if self.path.exists() and (self.path.stat().st_size > 0 or has_wal):
            return
        state = "missing" if not self.path.exists() else "empty (0 bytes)"
        since = marker.read_text().strip() or "an earlier session"
        raise StorageMissing(
            f"{self.path} is {state}, but this data dir held a session (since {since}); "
            "starting here would open a fresh account without its journal, positions or kill "
            f"switch. Restore the database from a backup, or, to start over on purpose, "
            f"remove {marker}"
        )

    def _mark_session(self) -> None:
        marker = self.session_marker
        if not marker.exists():
            marker.write_text(ts_text(_wall_clock()) + "\n")
            os.chmod(marker, 0o600)

    async def close(self) -> None:
        """Close both connections (idempotent). Every method commits, so nothing is pending."""
        ro, db = self._ro, self._db
        self._ro = self._db = None
        if ro is not None:
            await ro.close()
        if db is not None:
            await db.close()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _restrict_files(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            file = Path(f"{self.path}{suffix}")
            if file.exists():
                os.chmod(file, 0o600)

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[aiosqlite.Connection]:
        """One atomic write transaction; commits (fsynced) on success, rolls back on error."""
        db = self._db
        if db is None:
            raise StoreClosedError(f"store {self.path} is not open; call open() first")
        async with self._write_lock:
            try:
                await db.execute("BEGIN IMMEDIATE")
                yield db
                if self._crash_at is not None:
                    self._crash_point(middle=True)
                await db.execute("COMMIT")
                if self._crash_at is not None:
                    self._crash_point(middle=False)
            except BaseException as exc:
                # also when cancelled mid-await: aiosqlite runs statements in order, so this
                # ROLLBACK follows whatever BEGIN/COMMIT is still queued on its thread
                with contextlib.suppress(sqlite3.Error):
                    await db.execute("ROLLBACK")  # "no transaction is active" is fine
                fault = storage_fault(exc, self.path)
                if fault is not None and fault is not exc:
                    raise fault from exc
                raise

    def _crash_point(self, *, middle: bool) -> None:
        """The crash harness's kill switch (`CRASH_ENV`): die like `kill -9` at this boundary."""
        at, in_middle = self._crash_at or (0, False)
        if middle:
            self._writes += 1
        if self._writes == at and in_middle == middle:
            os.kill(os.getpid(), signal.SIGKILL)

    async def _audit(
        self, db: aiosqlite.Connection, kind: str, payload: Mapping[str, Any], by: str,
        ts: datetime | None = None,
    ) -> None:
        await db.execute(
            "INSERT INTO audit_log (ts, kind, actor, payload) VALUES (?, ?, ?, ?)",
            (ts_text(ts or self._now()), kind, by, dumps(dict(payload))),
        )

    # -- control state and audit -----------------------------------------------------------

    async def get_control(self, key: str) -> str | None:
        """The value of a control key (mode, kill switch, ...), None when never set."""
        row = await self._one("SELECT value FROM control_state WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    async def set_control(self, key: str, value: str, by: str) -> None:
        """Set a control key and audit the change (old and new value, who)."""
        now = self._now()
        async with self._tx() as db:
            await self._set_control(db, key, value, by, now)

    async def _set_control(self, db: aiosqlite.Connection, key: str, value: str, by: str,
                           now: datetime) -> None:
        old = await _fetch_one(db, "SELECT value FROM control_state WHERE key = ?", (key,))
        old_value = None if old is None else old[0]
        await db.execute(_UPSERT_CONTROL, (key, value, by, ts_text(now)))
        await self._audit(db, "control", {"key": key, "old": old_value, "new": value}, by, now)

    async def load_control(self) -> ControlState:
        """The persisted control state (fields never set are None/empty), HALTED whatever the
        database says while a halt file lies beside it (`robo-tui halt` when the database
        could not be written)."""
        rows = await self._all("SELECT key, value FROM control_state")
        state = ControlState.from_keys({str(key): str(value) for key, value in rows})
        halt = read_halt_file(self.path.parent)
        if halt is not None and not state.halted:
            state = dataclasses.replace(state, trading_state=TradingState.HALTED,
                                        halt_reason=f"halt file: {halt.reason}")
        return state

    async def save_control(self, state: ControlState, by: str) -> None:
        """Persist `state`: only the fields that changed are written, each change audited."""
        now = self._now()
        async with self._tx() as db:
            async with db.execute("SELECT key, value FROM control_state") as cur:
                stored = {str(key): str(value) for key, value in await cur.fetchall()}
            for key, value in state.to_keys().items():
                if stored.get(key, "") == value:
                    continue
                await db.execute(_UPSERT_CONTROL, (key, value, by, ts_text(now)))
                await self._audit(db, "control", {"key": key, "old": stored.get(key), "new": value},
                                  by, now)

    async def journal_command(self, kind: CommandKind, payload: Mapping[str, str], by: str) -> int:
        """Append a shell command for the engine to carry out; its journal id."""
        now = self._now()
        async with self._tx() as db:
            cur = await db.execute(
                "INSERT INTO commands (ts, kind, payload, by, consumed) VALUES (?,?,?,?,NULL)",
                (ts_text(now), kind, dumps(dict(payload)), by))
            command_id = int(cur.lastrowid or 0)
            await self._audit(db, "command", {"id": command_id, "kind": kind, **payload}, by, now)
        return command_id

    async def pending_commands(self) -> list[JournaledCommand]:
        """Journaled commands not yet consumed, oldest first."""
        rows = await self._all("SELECT id, ts, kind, payload, by FROM commands "
                               "WHERE consumed IS NULL ORDER BY id")
        return [JournaledCommand(int(i), datetime.fromisoformat(ts), kind,
                                 {str(k): str(v) for k, v in json.loads(payload).items()}, by)
                for i, ts, kind, payload, by in rows]

    async def consume_command(self, command_id: int) -> None:
        """Mark a journaled command carried out (it is never run twice)."""
        async with self._tx() as db:
            await db.execute("UPDATE commands SET consumed = ? WHERE id = ?",
                             (ts_text(self._now()), command_id))

    async def change_marker(self) -> tuple[int, int]:
        """`PRAGMA data_version` of the write connection (it changes only when another
        connection commits: a shell's halt, never this store's own writes) and the halt file's
        modification time (0 when there is none)."""
        db = self._db
        if db is None:
            raise StoreClosedError(f"store {self.path} is not open; call open() first")
        async with db.execute("PRAGMA data_version") as cur:
            row = await cur.fetchone()
        try:
            halt = os.stat(halt_path(self.path.parent)).st_mtime_ns
        except OSError:
            halt = 0
        return (int(row[0]) if row else 0, halt)

    async def audit(self, kind: str, payload: Mapping[str, Any], by: str) -> None:
        """Append one entry to the audit log."""
        async with self._tx() as db:
            await self._audit(db, kind, payload, by)

    async def audit_many(
        self, rows: Sequence[tuple[datetime, str, Mapping[str, Any], str]]
    ) -> None:
        """Append many (ts, kind, payload, by) entries in one transaction."""
        if not rows:
            return
        params = [(ts_text(ts), kind, by, dumps(dict(p))) for ts, kind, p, by in rows]
        async with self._tx() as db:
            await db.executemany(
                "INSERT INTO audit_log (ts, kind, actor, payload) VALUES (?, ?, ?, ?)", params
            )

    # -- orders and fills ------------------------------------------------------------------

    async def record_order_intent(self, order: Order) -> None:
        """Journal an order as INTENT, durably, before the broker is called.

        Recording the same order twice is a no-op (a retry); a different order under an id
        already used raises `ValueError` and writes nothing.
        """
        intent = order.intent
        now = self._now()
        async with self._tx() as db:
            existing = await _fetch_one(
                db, "SELECT payload FROM orders WHERE client_order_id = ?", (order.client_order_id,)
            )
            if existing is not None:
                if loads(Order, existing[0]) == order:
                    return
                raise ValueError(
                    f"client order id {order.client_order_id!r} is already used by another order"
                )
            await self._insert_order(db, order, OrderStatus.INTENT, now)
            await self._audit(
                db,
                "order_intent",
                {
                    "client_order_id": order.client_order_id,
                    "symbol": intent.symbol,
                    "side": intent.side.value,
                    "quantity": intent.quantity,
                    "order_type": intent.order_type.value,
                    "proposal_id": intent.proposal_id,
                },
                order.source,
                now,
            )


    @staticmethod
    async def _insert_order(db: aiosqlite.Connection, order: Order, status: OrderStatus,
                            now: datetime, message: str = "") -> None:
        """Insert the journal row of `order` with `status` inside the caller's transaction."""
        intent = order.intent
        await db.execute(
            "INSERT INTO orders (client_order_id, ts, source, symbol, side, qty, order_type, "
            "limit_price, stop_loss, take_profit, reduce_only, proposal_id, status, "
            "broker_order_id, message, updated_at, payload) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                order.client_order_id,
                ts_text(order.created_at),
                order.source,
                intent.symbol,
                intent.side.value,
                intent.quantity,
                intent.order_type.value,
                intent.limit_price,
                intent.stop_loss,
                intent.take_profit,
                int(intent.reduce_only),
                intent.proposal_id,
                status.value,
                None,
                message,
                ts_text(now),
                dumps(order),
            ),
        )

    async def update_order(
        self, client_order_id: str, status: OrderStatus, broker_order_id: str | None, message: str
    ) -> None:
        """Record an order's new status (audited, by "engine").

        A final status (FILLED, CANCELLED, REJECTED) is not overwritten by a non-final one: a
        late, out-of-order ack is audited as `order_status_ignored` instead. `broker_order_id`
        None keeps the one already known. An unknown id raises `KeyError`.
        """
        now = self._now()
        async with self._tx() as db:
            await self._set_order_status(db, client_order_id, status, broker_order_id, message,
                                         now)

    async def _set_order_status(
        self, db: aiosqlite.Connection, client_order_id: str, status: OrderStatus,
        broker_order_id: str | None, message: str, now: datetime, *, by: str = "engine",
        kind: str = "order_status",
    ) -> OrderStatus:
        """Write an order's new status inside the caller's transaction; its old status."""
        row = await _fetch_one(
            db,
            "SELECT status, symbol FROM orders WHERE client_order_id = ?",
            (client_order_id,),
        )
        if row is None:
            raise KeyError(f"no order with client order id {client_order_id!r}")
        old = OrderStatus(row[0])
        entry = {
            "client_order_id": client_order_id,
            "symbol": row[1],
            "old": old.value,
            "new": status.value,
            "broker_order_id": broker_order_id,
            "message": message,
        }
        if old in _TERMINAL_ORDER and status not in _TERMINAL_ORDER:
            await self._audit(db, "order_status_ignored", entry, by, now)
            return old
        await db.execute(
            "UPDATE orders SET status = ?, broker_order_id = COALESCE(?, broker_order_id), "
            "message = ?, updated_at = ? WHERE client_order_id = ?",
            (status.value, broker_order_id, message, ts_text(now), client_order_id),
        )
        await self._audit(db, kind, entry, by, now)
        return old

    @staticmethod
    async def _fill_missing(db: aiosqlite.Connection, client_order_id: str, old: OrderStatus,
                            new: OrderStatus) -> bool:
        """Whether a FILLED order has no fill and is being resolved FILLED (its fill added)."""
        if old is not OrderStatus.FILLED or new is not OrderStatus.FILLED:
            return False
        row = await _fetch_one(db, "SELECT 1 FROM fills WHERE client_order_id = ? LIMIT 1",
                               (client_order_id,))
        return row is None

    async def orders_missing_fills(self) -> list[Order]:
        """FILLED orders with no fill recorded, oldest first (a crash between the two writes in
        a version that made them separately)."""
        rows = await self._all(
            "SELECT payload FROM orders o WHERE status = ? AND NOT EXISTS "
            "(SELECT 1 FROM fills f WHERE f.client_order_id = o.client_order_id) "
            "ORDER BY ts, rowid",
            (OrderStatus.FILLED.value,),
        )
        return [loads(Order, r[0]) for r in rows]

    async def resolve_order(self, client_order_id: str, status: OrderStatus, reason: str, by: str,
                            fill: Fill | None = None) -> None:
        """Settle an order robo-tui could not learn the outcome of (UNKNOWN, or still open) to
        FILLED, CANCELLED or REJECTED, with the reason audited as `order_resolved`; FILLED
        takes the execution (`fill`) the human read from the venue, recorded in the same
        transaction. A final order raises `ValueError`, an unknown id `KeyError`."""
        if status not in _TERMINAL_ORDER:
            raise ValueError(f"an order is resolved to filled, cancelled or rejected, "
                             f"not {status.value}")
        if (status is OrderStatus.FILLED) != (fill is not None):
            raise ValueError("a FILLED resolution needs its fill (and only FILLED takes one)")
        if not reason.strip():
            raise ValueError("a resolution needs a reason (it is recorded)")
        now = self._now()
        async with self._tx() as db:
            row = await _fetch_one(db, "SELECT status FROM orders WHERE client_order_id = ?",
                                   (client_order_id,))
            if row is None:
                raise KeyError(f"no order with client order id {client_order_id!r}")
            old = OrderStatus(row[0])
            if old in _TERMINAL_ORDER and not await self._fill_missing(db, client_order_id, old,
                                                                       status):
                raise ValueError(f"order {client_order_id} is already {row[0]}; only an open or "
                                 "UNKNOWN order (or a FILLED one without its fill) can be "
                                 "resolved")
            if fill is not None:
                await self._insert_fill(db, fill, by)
            await self._set_order_status(db, client_order_id, status, None,
                                         f"resolved by {by}: {reason}", now, by=by,
                                         kind="order_resolved")

    async def open_orders(self) -> list[tuple[Order, OrderStatus]]:
        """Orders that may still fill: INTENT, SUBMITTED, PARTIALLY_FILLED and UNKNOWN."""
        marks = ",".join("?" * len(_OPEN_ORDER))
        rows = await self._all(
            f"SELECT payload, status FROM orders WHERE status IN ({marks}) ORDER BY ts, rowid",
            _OPEN_ORDER,
        )
        return [(loads(Order, r[0]), OrderStatus(r[1])) for r in rows]

    async def get_order(self, client_order_id: str) -> tuple[Order, OrderStatus] | None:
        """One journalled order and its last known status (None when unknown)."""
        row = await self._one(
            "SELECT payload, status FROM orders WHERE client_order_id = ?", (client_order_id,)
        )
        return None if row is None else (loads(Order, row[0]), OrderStatus(row[1]))

    async def record_fill(self, fill: Fill, *, order_status: OrderStatus | None = None,
                          protections: Protections | None = None,
                          levels: Mapping[str, ProtectiveLevel | None] | None = None,
                          venue_order: Order | None = None) -> None:
        """Record an execution (audited by "broker"), with in the same transaction the order's
        new status (`order_status`, e.g. FILLED when this fill completes it) and the venue's
        stops/targets after it (`protections`, the control record's key): a crash between them
        is impossible, so a FILLED order always has its fill and a fill its protection.
        `levels` sets (None: drops) the engine's protection per symbol after the fill, and
        `venue_order` journals, FILLED, an order the venue placed by itself (a triggered
        stop or target of a simulated venue) that the journal does not know yet: every fill has
        its order row.

        The same fill delivered twice is stored once (the status and protections still apply);
        a different fill under a used fill id raises `ValueError` and writes nothing.
        """
        now = self._now()
        async with self._tx() as db:
            if venue_order is not None:
                await self._journal_venue_order(db, venue_order, now)
            await self._insert_fill(db, fill, "broker")
            if order_status is not None:
                await self._set_order_status(db, fill.client_order_id, order_status, None,
                                             order_status.value, now)
            if protections is not None:
                await self._set_control(db, "protections", encode_protections(protections),
                                        "engine", now)
            if levels:
                await self._write_levels(db, levels, now)

    async def _journal_venue_order(self, db: aiosqlite.Connection, order: Order,
                                   now: datetime) -> None:
        """Journal an order the venue placed by itself (a simulated venue's triggered stop or
        target), FILLED with its fill, unless the journal knows it already."""
        known = await _fetch_one(db, "SELECT 1 FROM orders WHERE client_order_id = ?",
                                 (order.client_order_id,))
        if known is None:
            await self._insert_order(db, order, OrderStatus.FILLED, now,
                                     f"{order.intent.reason} held by the venue")
            await self._audit(db, "order_protective", {
                "client_order_id": order.client_order_id, "symbol": order.symbol,
                "side": order.side.value, "quantity": order.quantity,
                "reason": order.intent.reason}, order.source, now)

    async def _write_levels(self, db: aiosqlite.Connection,
                            levels: Mapping[str, ProtectiveLevel | None], now: datetime) -> None:
        for symbol, level in levels.items():
            if level is None:
                await db.execute("DELETE FROM protective_levels WHERE symbol = ?", (symbol,))
            else:
                await db.execute(
                    "INSERT OR REPLACE INTO protective_levels (symbol, entry_client_order_id, "
                    "updated_at, payload) VALUES (?, ?, ?, ?)",
                    (symbol, level.entry_client_order_id, ts_text(now), dumps(level)))

    async def save_protective_levels(self, levels: Mapping[str, ProtectiveLevel | None]) -> None:
        """Set (or, for None, drop) the protection of each symbol, in one transaction."""
        if not levels:
            return
        now = self._now()
        async with self._tx() as db:
            await self._write_levels(db, levels, now)

    async def protective_levels(self) -> list[ProtectiveLevel]:
        """Every persisted protection, by symbol."""
        rows = await self._all("SELECT payload FROM protective_levels ORDER BY symbol")
        return [loads(ProtectiveLevel, r[0]) for r in rows]

    async def _insert_fill(self, db: aiosqlite.Connection, fill: Fill, by: str) -> bool:
        """Insert `fill` inside the caller's transaction; False when it was already there."""
        existing = await _fetch_one(
            db, "SELECT payload FROM fills WHERE fill_id = ?", (fill.fill_id,)
        )
        if existing is not None:
            if loads(Fill, existing[0]) == fill:
                return False
            raise ValueError(f"fill id {fill.fill_id!r} is already used by another fill")
        await db.execute(
            "INSERT INTO fills (fill_id, client_order_id, ts, symbol, side, qty, price, fee, "
            "liquidity, reason, payload) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                fill.fill_id,
                fill.client_order_id,
                ts_text(fill.ts),
                fill.symbol,
                fill.side.value,
                fill.quantity,
                fill.price,
                fill.fee,
                fill.liquidity,
                fill.reason,
                dumps(fill),
            ),
        )
        await self._audit(
            db,
            "fill",
            {
                "fill_id": fill.fill_id,
                "client_order_id": fill.client_order_id,
                "symbol": fill.symbol,
                "side": fill.side.value,
                "quantity": fill.quantity,
                "price": fill.price,
                "fee": fill.fee,
                "reason": fill.reason,
            },
            by,
            fill.ts,
        )
        return True

    async def fills(self) -> list[Fill]:
        """Every recorded fill, oldest first."""
        rows = await self._all("SELECT payload FROM fills ORDER BY ts, rowid")
        return [loads(Fill, r[0]) for r in rows]

    # -- risk verdicts and proposals -------------------------------------------------------

    async def record_verdict(
        self,
        verdict: RiskVerdict,
        *,
        source: str,
        symbol: str,
        payload: Mapping[str, Any],
        client_order_id: str | None,
        proposal_id: str | None,
    ) -> None:
        """Record one risk gate verdict with the intent it judged (`payload`)."""
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO risk_verdicts (ts, source, symbol, allowed, state, codes, reasons, "
                "checked, client_order_id, proposal_id, payload, verdict) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    ts_text(self._now()),
                    source,
                    symbol,
                    int(verdict.allowed),
                    verdict.state.value,
                    dumps(verdict.codes),
                    dumps(verdict.reasons),
                    dumps(verdict.checked),
                    client_order_id,
                    proposal_id,
                    dumps(dict(payload)),
                    dumps(verdict),
                ),
            )

    async def record_proposal(self, proposal: Proposal, precheck: RiskVerdict) -> None:
        """Record a sized proposal with the gate's pre-check (audited as `proposal_created`)."""
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO proposals (id, ts, symbol, side, qty, price, notional, stop_loss, "
                "take_profit, confidence, rationale, reduce_only, votes, idea_ids, status, "
                "expires_at, precheck, payload) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    proposal.id,
                    ts_text(proposal.ts),
                    proposal.symbol,
                    proposal.side.value,
                    proposal.quantity,
                    proposal.price,
                    proposal.notional,
                    proposal.stop_loss,
                    proposal.take_profit,
                    proposal.confidence,
                    proposal.rationale,
                    int(proposal.reduce_only),
                    dumps(proposal.votes),
                    dumps(proposal.idea_ids),
                    proposal.status.value,
                    None if proposal.expires_at is None else ts_text(proposal.expires_at),
                    dumps(precheck),
                    dumps(proposal),
                ),
            )
            await self._audit(
                db,
                "proposal_created",
                {
                    "proposal_id": proposal.id,
                    "symbol": proposal.symbol,
                    "side": proposal.side.value,
                    "quantity": proposal.quantity,
                    "status": proposal.status.value,
                    "precheck_allowed": precheck.allowed,
                    "precheck_codes": list(precheck.codes),
                },
                "engine",
                proposal.ts,
            )

    async def update_proposal(
        self, proposal_id: str, status: ProposalStatus, by: str, reason: str
    ) -> None:
        """Record a decision on a proposal (audited as `proposal_decision`).

        Only PENDING -> any other status and APPROVED -> SUBMITTED/DENIED are allowed; anything
        else (approving twice, approving an expired proposal) raises `ProposalTransitionError`
        and writes nothing. An unknown id raises `KeyError`.
        """
        now = self._now()
        async with self._tx() as db:
            row = await _fetch_one(db, "SELECT status FROM proposals WHERE id = ?", (proposal_id,))
            if row is None:
                raise KeyError(f"no proposal with id {proposal_id!r}")
            old = ProposalStatus(row[0])
            if status not in _PROPOSAL_MOVES.get(old, frozenset()):
                raise ProposalTransitionError(
                    f"proposal {proposal_id} is {old.value}; it cannot become {status.value}"
                )
            await db.execute(
                "UPDATE proposals SET status = ?, decided_by = ?, decided_at = ?, "
                "decision_reason = ? WHERE id = ?",
                (status.value, by, ts_text(now), reason, proposal_id),
            )
            await self._audit(
                db,
                "proposal_decision",
                {"proposal_id": proposal_id, "old": old.value, "new": status.value,
                 "reason": reason},
                by,
                now,
            )

    async def get_proposal(self, proposal_id: str) -> tuple[Proposal, ProposalStatus] | None:
        """A proposal as recorded, with `status` set to its current status; None when unknown."""
        row = await self._one("SELECT payload, status FROM proposals WHERE id = ?", (proposal_id,))
        return None if row is None else _proposal(row)

    async def get_precheck(self, proposal_id: str) -> RiskVerdict | None:
        """The gate's pre-check recorded with a proposal; None when unknown."""
        row = await self._one("SELECT precheck FROM proposals WHERE id = ?", (proposal_id,))
        return None if row is None else loads(RiskVerdict, row[0])

    async def proposals(
        self, status: ProposalStatus | None = None
    ) -> list[tuple[Proposal, ProposalStatus]]:
        """Proposals, oldest first, optionally only those with `status`."""
        if status is None:
            rows = await self._all("SELECT payload, status FROM proposals ORDER BY ts, rowid")
        else:
            rows = await self._all(
                "SELECT payload, status FROM proposals WHERE status = ? ORDER BY ts, rowid",
                (status.value,),
            )
        return [_proposal(r) for r in rows]

    # -- portfolio and market --------------------------------------------------------------

    async def save_positions(self, account: AccountSnapshot) -> None:
        """Replace the latest positions and append the account to its history (equity curve)."""
        rows = []
        for symbol, p in account.positions.items():
            price = account.prices.get(symbol)
            mark = p.avg_price if price is None else price
            rows.append(
                (
                    symbol,
                    p.quantity,
                    p.avg_price,
                    price,
                    p.market_value(mark),
                    p.unrealized_pnl(mark),
                    p.stop_loss,
                    p.take_profit,
                    None if p.opened_at is None else ts_text(p.opened_at),
                    p.realized_pnl,
                    ts_text(account.ts),
                    dumps(p),
                )
            )
        async with self._tx() as db:
            await db.execute("DELETE FROM positions")
            await db.executemany(
                "INSERT INTO positions (symbol, quantity, avg_price, price, market_value, "
                "unrealized_pnl, stop_loss, take_profit, opened_at, realized_pnl, updated_at, "
                "payload) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            await db.execute(
                "INSERT INTO account_snapshots (ts, cash, equity, gross_exposure, positions, "
                "payload) VALUES (?,?,?,?,?,?)",
                (
                    ts_text(account.ts),
                    account.cash,
                    account.equity,
                    account.gross_exposure,
                    len(account.positions),
                    dumps(account),
                ),
            )

    async def latest_account(self) -> AccountSnapshot | None:
        """The most recently saved account (cash, positions, marks); None before the first."""
        row = await self._one(
            "SELECT payload FROM account_snapshots ORDER BY ts DESC, id DESC LIMIT 1"
        )
        return None if row is None else loads(AccountSnapshot, row[0])

    async def record_market_snapshot(
        self, ts: datetime, prices: Mapping[str, float], simulated: bool
    ) -> None:
        """Record one mark per symbol at `ts` (a second call for the same time replaces it)."""
        if not prices:
            return
        stamp = ts_text(ts)
        rows = [(stamp, symbol, float(price), int(simulated)) for symbol, price in prices.items()]
        async with self._tx() as db:
            await db.executemany(
                "INSERT INTO market_snapshots (ts, symbol, price, simulated) VALUES (?,?,?,?) "
                "ON CONFLICT (symbol, ts) DO UPDATE SET price = excluded.price, "
                "simulated = excluded.simulated",
                rows,
            )

    # -- news, analysts, outcomes, reviews, backtests ---------------------------------------

    async def record_news(self, item: NewsItem) -> bool:
        """Store a news item; False when one with the same id was already stored."""
        async with self._tx() as db:
            cur = await db.execute(
                "INSERT INTO news_items (id, source, title, summary, link, published, seen, "
                "symbols, sample, payload) VALUES (?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (id) DO NOTHING",
                (
                    item.id,
                    item.source,
                    item.title,
                    item.summary,
                    item.link,
                    ts_text(item.published),
                    ts_text(item.seen),
                    dumps(item.symbols),
                    int(item.sample),
                    dumps(item),
                ),
            )
            inserted = cur.rowcount == 1
            await cur.close()
        return inserted

    async def recent_news(self, limit: int = 100) -> list[NewsItem]:
        """The latest `limit` stored news items, newest first (by publication time)."""
        rows = await self._all(
            "SELECT payload FROM news_items ORDER BY published DESC, rowid DESC LIMIT ?", (limit,)
        )
        return [loads(NewsItem, r[0]) for r in rows]

    async def record_ai_decision(self, record: Mapping[str, Any]) -> str:
        """Store one analyst call; returns its id (`record["id"]`, or a new one).

        Known keys: id, ts, provider, model, symbol, template, prompt_hash, prompt, latency_ms,
        raw_output, parsed (or idea), errors, abstain_reason, outcome. Every other key is kept
        in the `extra` column, so nothing the caller recorded is dropped.
        """
        decision_id = str(record.get("id") or uuid.uuid4().hex)
        parsed = record.get("parsed", record.get("idea"))
        outcome = record.get("outcome")
        extra = {k: v for k, v in record.items() if k not in _AI_COLUMNS}
        latency = record.get("latency_ms")
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO ai_decisions (id, ts, provider, model, symbol, template, prompt_hash, "
                "prompt, latency_ms, raw_output, parsed, errors, abstain_reason, outcome, extra) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    decision_id,
                    self._ts(record.get("ts")),
                    str(record.get("provider", "")),
                    str(record.get("model", "")),
                    _str_or_none(record.get("symbol")),
                    str(record.get("template", "")),
                    str(record.get("prompt_hash", "")),
                    str(record.get("prompt", "")),
                    None if latency is None else float(latency),
                    str(record.get("raw_output", "")),
                    None if parsed is None else dumps(parsed),
                    dumps(list(record.get("errors") or ())),
                    str(record.get("abstain_reason", "")),
                    None if outcome is None else dumps(outcome),
                    dumps(extra),
                ),
            )
        return decision_id

    async def update_ai_decision(self, decision_id: str, outcome: Mapping[str, Any]) -> None:
        """Merge `outcome` into the decision's outcome (ensemble first, then the gate, ...).

        An unknown id raises `KeyError`.
        """
        async with self._tx() as db:
            row = await _fetch_one(
                db, "SELECT outcome FROM ai_decisions WHERE id = ?", (decision_id,)
            )
            if row is None:
                raise KeyError(f"no analyst decision with id {decision_id!r}")
            merged: dict[str, Any] = json.loads(row[0]) if row[0] else {}
            if not isinstance(merged, dict):
                merged = {"previous": merged}
            merged.update(json.loads(dumps(dict(outcome))))
            await db.execute(
                "UPDATE ai_decisions SET outcome = ?, updated_at = ? WHERE id = ?",
                (dumps(merged), ts_text(self._now()), decision_id),
            )

    async def record_trade_outcome(self, outcome: Mapping[str, Any]) -> None:
        """Store a closed trade; `ts` (or `closed_at`), `symbol` and `pnl` become columns."""
        ts = outcome.get("ts", outcome.get("closed_at"))
        pnl = outcome.get("pnl")
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO trade_outcomes (ts, symbol, pnl, payload) VALUES (?,?,?,?)",
                (
                    self._ts(ts),
                    _str_or_none(outcome.get("symbol")),
                    None if pnl is None else float(pnl),
                    dumps(dict(outcome)),
                ),
            )

    async def record_daily_review(self, review: Mapping[str, Any]) -> None:
        """Store a daily review; `day` (a date or ISO text) defaults to today in UTC."""
        now = self._now()
        day = review.get("day")
        if isinstance(day, datetime):
            day_text = day.date().isoformat()
        elif isinstance(day, date):
            day_text = day.isoformat()
        elif day:
            day_text = str(day)
        else:
            day_text = now.astimezone(UTC).date().isoformat()
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO daily_reviews (day, ts, payload) VALUES (?,?,?)",
                (day_text, self._ts(review.get("ts")), dumps(dict(review))),
            )

    async def record_backtest_run(self, run: Mapping[str, Any]) -> str:
        """Store a backtest run (`params`, `stats`, `trades`, `equity`, optional `id`, `ts`).

        Returns its id.
        """
        run_id = str(run.get("id") or uuid.uuid4().hex)
        async with self._tx() as db:
            await db.execute(
                "INSERT INTO backtest_runs (id, ts, params, stats, trades, equity) "
                "VALUES (?,?,?,?,?,?)",
                (
                    run_id,
                    self._ts(run.get("ts")),
                    dumps(run.get("params", {})),
                    dumps(run.get("stats", {})),
                    dumps(run.get("trades", [])),
                    dumps(run.get("equity", [])),
                ),
            )
        return run_id

    # -- reading -----------------------------------------------------------------------------

    async def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a read-only query (a separate read-only connection: writes fail); rows as dicts."""
        return [dict(r) for r in await self._all(sql, params)]

    async def prune_telemetry(self, before: datetime) -> dict[str, int]:
        """Delete per-cycle telemetry older than `before`, in small transactions so an order
        never waits long for the write lock: telemetry audit rows go, price and account snapshots
        are thinned to the last of each hour (the latest one always stays). The decision trail
        (every other audit kind, orders, fills, proposals, analyst calls) is never touched."""
        cutoff = ts_text(before)
        pruned: dict[str, int] = {}
        if not await self._older_telemetry(cutoff):
            return pruned  # nothing to do: no write transaction at all
        for kind in TELEMETRY_KINDS:
            pruned[kind] = await self._delete_in_batches(
                "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log "
                "WHERE kind = ? AND ts < ? LIMIT ?)", (kind, cutoff))
        pruned["market_snapshots"] = await self._delete_in_batches(
            "DELETE FROM market_snapshots WHERE id IN (SELECT id FROM market_snapshots "
            "WHERE ts < ? AND id NOT IN (SELECT max(id) FROM market_snapshots WHERE ts < ? "
            "GROUP BY symbol, substr(ts, 1, 13)) LIMIT ?)", (cutoff, cutoff))
        pruned["account_snapshots"] = await self._delete_in_batches(
            "DELETE FROM account_snapshots WHERE id IN (SELECT id FROM account_snapshots "
            "WHERE ts < ? AND id NOT IN (SELECT max(id) FROM account_snapshots WHERE ts < ? "
            "GROUP BY substr(ts, 1, 13)) LIMIT ?)", (cutoff, cutoff))
        return pruned

    async def _older_telemetry(self, cutoff: str) -> bool:
        """Whether any telemetry row is older than `cutoff` (a read: no write lock taken)."""
        kinds = ", ".join("?" * len(TELEMETRY_KINDS))
        rows = await self._all(
            f"SELECT EXISTS(SELECT 1 FROM audit_log WHERE kind IN ({kinds}) AND ts < ?) "
            "OR EXISTS(SELECT 1 FROM market_snapshots WHERE ts < ?) "
            "OR EXISTS(SELECT 1 FROM account_snapshots WHERE ts < ?) AS older",
            (*TELEMETRY_KINDS, cutoff, cutoff, cutoff))
        return bool(rows and rows[0]["older"])

    async def _delete_in_batches(self, sql: str, params: tuple[Any, ...],
                                 batch: int = PRUNE_BATCH) -> int:
        """Run a `... LIMIT ?` delete until it deletes nothing; the rows deleted."""
        total = 0
        while True:
            async with self._tx() as db:
                cur = await db.execute(sql, (*params, batch))
                deleted = cur.rowcount
            total += max(0, deleted)
            if deleted < batch:
                return total
            await asyncio.sleep(0)  # let the order path take the lock between batches

    async def connection_pragmas(self) -> dict[str, Any]:
        """The write connection's settings (journal mode, synchronous, ...), for diagnostics."""
        out: dict[str, Any] = {}
        for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout", "user_version"):
            out[name] = await _pragma(self._conn(), name)
        return out

    def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreClosedError(f"store {self.path} is not open; call open() first")
        return self._db

    def _reader(self) -> aiosqlite.Connection:
        # reads go through the read-only connection: they see committed data only, never the
        # half-done transaction another coroutine has in flight on the write connection
        if self._ro is None:
            raise StoreClosedError(f"store {self.path} is not open; call open() first")
        return self._ro

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            async with self._reader().execute(sql, tuple(params)) as cur:
                return list(await cur.fetchall())
        except sqlite3.Error as exc:
            fault = storage_fault(exc, self.path)
            if fault is None or isinstance(fault, StorageReadOnly):
                raise  # this connection is read-only by design: a write here is the caller's bug
            raise fault from exc

    def _ts(self, value: Any) -> str:
        """A caller-given time (datetime or ISO text) as column text; now when missing."""
        if value is None or value == "":
            return ts_text(self._now())
        if isinstance(value, datetime):
            return ts_text(value)
        return ts_text(datetime.fromisoformat(str(value)))


def _crash_point(text: str) -> tuple[int, bool] | None:
    """`CRASH_ENV`'s value as (write number, in the middle); None when unset or unreadable."""
    text = text.strip()
    middle = text.endswith("m")
    digits = text.removesuffix("m")
    return (int(digits), middle) if digits.isdigit() and int(digits) > 0 else None


def _proposal(row: Any) -> tuple[Proposal, ProposalStatus]:
    status = ProposalStatus(row[1])
    return dataclasses.replace(loads(Proposal, row[0]), status=status), status


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


async def _fetch_one(db: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> Any:
    async with db.execute(sql, tuple(params)) as cur:
        return await cur.fetchone()


async def _check_integrity(db: aiosqlite.Connection, path: Path) -> None:
    """Refuse a damaged file (`PRAGMA quick_check`) before anything is read from it."""
    async with db.execute("PRAGMA quick_check") as cur:
        rows = [str(r[0]) for r in await cur.fetchall()]
    if rows != ["ok"]:
        first = "; ".join(line for row in rows[:3] for line in row.splitlines()[:2])
        raise corrupt(path, f"quick_check: {first}")


async def _probe_write(db: aiosqlite.Connection) -> None:
    """Write the version back to the header: a read-only file fails here, at open, not at the
    first fill."""
    version = int(await _pragma(db, "user_version") or 0)
    await db.execute("BEGIN IMMEDIATE")
    try:
        await db.execute(f"PRAGMA user_version = {version}")
        await db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            await db.execute("ROLLBACK")
        raise


async def _pragma(db: aiosqlite.Connection, name: str) -> Any:
    row = await _fetch_one(db, f"PRAGMA {name}")
    return None if row is None else row[0]
