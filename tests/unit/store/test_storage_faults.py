"""Storage faults end in a clear `StorageFault` with its own exit code: never a hang, a traceback
from deep inside aiosqlite, or a silent fresh start (issue 17, finding 7)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from robo_tui.adapters.store import SqliteStore
from robo_tui.adapters.store.haltfile import clear_halt_file, read_halt_file, write_halt_file
from robo_tui.domain.orders import OrderStatus
from robo_tui.domain.risk import TradingState
from robo_tui.ports import (
    StorageCorrupt,
    StorageFault,
    StorageFull,
    StorageLocked,
    StorageMissing,
)

from .conftest import T0, make_fill, make_order


async def _a_session(path: Path, orders: int = 40) -> None:
    async with SqliteStore(path, now=lambda: T0) as store:
        for n in range(orders):
            await store.record_order_intent(make_order(f"o-{n}", reason="x" * 200))


async def _integrity(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


async def test_write_when_the_database_is_full_then_storage_full_and_the_journal_intact(
    db_path: Path,
) -> None:
    await _a_session(db_path, orders=1)
    pages = sqlite3.connect(db_path).execute("PRAGMA page_count").fetchone()[0]
    store = SqliteStore(db_path, now=lambda: T0, max_pages=pages + 2)
    await store.open()
    try:
        with pytest.raises(StorageFull, match="disk is full") as caught:
            for n in range(1, 500):
                await store.record_order_intent(make_order(f"o-{n}", reason="y" * 2000))
        assert caught.value.exit_code == 6
        assert await store.get_order("o-0") is not None  # what was written stays readable
    finally:
        await store.close()
    assert await _integrity(db_path) == "ok"


async def test_write_when_another_process_holds_the_lock_then_storage_locked_not_a_crash(
    db_path: Path,
) -> None:
    await _a_session(db_path, orders=1)
    other = sqlite3.connect(db_path, isolation_level=None)
    store = SqliteStore(db_path, now=lambda: T0, busy_timeout_ms=200)
    await store.open()
    try:
        other.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        with pytest.raises(StorageLocked, match="another process holds a write lock") as caught:
            await store.audit("probe", {}, "test")
        assert time.monotonic() - started < 5
        assert caught.value.exit_code == 7
        other.execute("ROLLBACK")
        await store.audit("probe", {}, "test")  # the lock gone, the store writes again
    finally:
        other.close()
        await store.close()


async def test_open_when_a_page_is_overwritten_then_refused_as_corrupt(db_path: Path) -> None:
    await _a_session(db_path, orders=200)
    size = db_path.stat().st_size
    with db_path.open("r+b") as f:
        f.seek(size // 2)
        f.write(b"\xde\xad\xbe\xef" * 1024)
    with pytest.raises(StorageCorrupt, match="damaged") as caught:
        await SqliteStore(db_path).open()
    assert caught.value.exit_code == 9


async def test_open_when_the_header_is_garbage_then_refused_as_corrupt(db_path: Path) -> None:
    await _a_session(db_path, orders=1)
    with db_path.open("r+b") as f:
        f.write(b"not a database at all" * 10)
    with pytest.raises(StorageCorrupt, match="damaged"):
        await SqliteStore(db_path).open()


async def test_open_when_the_database_is_zero_length_after_a_session_then_refused(
    db_path: Path,
) -> None:
    await _a_session(db_path, orders=1)
    for suffix in ("-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    db_path.write_bytes(b"")
    with pytest.raises(StorageMissing, match=r"empty \(0 bytes\).*held a session") as caught:
        await SqliteStore(db_path).open()
    assert caught.value.exit_code == 10
    assert db_path.stat().st_size == 0  # refused before anything was created in its place


async def test_open_when_the_database_was_deleted_after_a_session_then_refused(
    db_path: Path,
) -> None:
    await _a_session(db_path, orders=1)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    with pytest.raises(StorageMissing, match="is missing"):
        await SqliteStore(db_path).open()
    assert not db_path.exists()


async def test_open_when_the_data_dir_is_new_then_a_zero_length_file_starts_fresh(
    db_path: Path,
) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"")  # e.g. created by `touch` before the first start: no marker yet
    async with SqliteStore(db_path) as store:
        assert await store.open_orders() == []
    assert Path(f"{db_path}.session").exists()


async def test_open_when_the_session_crashed_before_a_checkpoint_then_the_wal_counts(
    db_path: Path,
) -> None:
    await _a_session(db_path, orders=3)
    store = SqliteStore(db_path)
    await store.open()
    await store.record_order_intent(make_order("o-late"))
    # the main file may hold nothing yet; what the WAL holds is the session (no refusal)
    await store.close()
    async with SqliteStore(db_path) as again:
        assert await again.get_order("o-late") is not None


def test_storage_faults_when_listed_then_each_has_its_own_exit_code() -> None:
    from robo_tui.ports import StorageReadOnly

    kinds = (StorageFull, StorageLocked, StorageReadOnly, StorageCorrupt, StorageMissing)
    codes = [k.exit_code for k in kinds]
    assert len(set(codes)) == len(codes)
    assert all(issubclass(k, StorageFault) for k in kinds)
    from robo_tui.runtime import ExitCode

    assert {int(c) for c in codes} <= {int(e) for e in ExitCode}
    assert not {int(c) for c in codes} & {int(e) for e in (ExitCode.OK, ExitCode.ERROR,
                                                            ExitCode.USAGE, ExitCode.HALTED,
                                                            ExitCode.LOCKED,
                                                            ExitCode.UNREACHABLE)}


# -- the halt file -------------------------------------------------------------------------


async def test_load_control_when_a_halt_file_lies_beside_the_database_then_halted(
    db_path: Path,
) -> None:
    await _a_session(db_path, orders=1)
    write_halt_file(db_path.parent, "disk trouble", "cli")
    async with SqliteStore(db_path) as store:
        control = await store.load_control()
        assert control.trading_state is TradingState.HALTED
        assert "disk trouble" in control.halt_reason
        assert clear_halt_file(db_path.parent)
        assert (await store.load_control()).trading_state is not TradingState.HALTED


def test_read_halt_file_when_it_is_garbage_then_still_halts(tmp_path: Path) -> None:
    (tmp_path / "HALT").write_bytes(b"\xff\x00{")
    halt = read_halt_file(tmp_path)
    assert halt is not None and "unparsed" in halt.reason
    assert read_halt_file(tmp_path / "elsewhere") is None


# -- settling an order by hand ---------------------------------------------------------------


async def test_resolve_order_when_unknown_and_filled_then_fill_and_status_with_the_reason(
    store: SqliteStore,
) -> None:
    await store.record_order_intent(make_order())
    await store.update_order("o-1", OrderStatus.UNKNOWN, None, "timeout")
    await store.resolve_order("o-1", OrderStatus.FILLED, "filled per the venue's statement",
                              "cli", fill=make_fill("manual-o-1"))
    order = await store.get_order("o-1")
    assert order is not None and order[1] is OrderStatus.FILLED
    assert [f.fill_id for f in await store.fills()] == ["manual-o-1"]
    rows = await store.query("SELECT actor, payload FROM audit_log WHERE kind='order_resolved'")
    assert rows[0]["actor"] == "cli" and "venue's statement" in rows[0]["payload"]


async def test_resolve_order_when_already_final_then_refused_and_nothing_written(
    store: SqliteStore,
) -> None:
    await store.record_order_intent(make_order())
    await store.update_order("o-1", OrderStatus.CANCELLED, None, "cancelled")
    with pytest.raises(ValueError, match="already cancelled"):
        await store.resolve_order("o-1", OrderStatus.REJECTED, "oops", "cli")
    with pytest.raises(KeyError):
        await store.resolve_order("nope", OrderStatus.REJECTED, "oops", "cli")
    order = await store.get_order("o-1")
    assert order is not None and order[1] is OrderStatus.CANCELLED


async def test_resolve_order_when_filled_without_its_fill_then_the_fill_is_added_once(
    store: SqliteStore,
) -> None:
    await store.record_order_intent(make_order())
    await store.update_order("o-1", OrderStatus.FILLED, "b-1", "reconciled at start")
    assert [o.client_order_id for o in await store.orders_missing_fills()] == ["o-1"]
    await store.resolve_order("o-1", OrderStatus.FILLED, "execution from the venue's report",
                              "cli", fill=make_fill("manual-o-1"))
    assert await store.orders_missing_fills() == []
    with pytest.raises(ValueError, match="already filled"):
        await store.resolve_order("o-1", OrderStatus.FILLED, "twice", "cli",
                                  fill=make_fill("manual-o-1b"))
