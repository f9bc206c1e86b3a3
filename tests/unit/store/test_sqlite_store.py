"""The SQLite store: the crash-safe order journal, proposals, control state and the audit trail."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import sqlite3
import stat
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

import robo_tui
from robo_tui.adapters.store import (
    ProposalTransitionError,
    SqliteStore,
    StoreClosedError,
)
from robo_tui.adapters.store.codec import dumps, loads
from robo_tui.domain.orders import AccountSnapshot, OrderStatus, Position
from robo_tui.domain.risk import RiskVerdict
from robo_tui.domain.signals import ProposalStatus
from robo_tui.ports import Store

from .conftest import (
    T0,
    make_account,
    make_fill,
    make_news,
    make_order,
    make_proposal,
    make_verdict,
)

REPO = Path(robo_tui.__file__).resolve().parents[1]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def _audit(store: SqliteStore, kind: str) -> list[dict[str, object]]:
    rows = await store.query("SELECT * FROM audit_log WHERE kind = ? ORDER BY id", (kind,))
    return [{**r, "payload": json.loads(str(r["payload"]))} for r in rows]


def test_sqlite_store_when_typed_as_the_store_port_then_satisfies_it(tmp_path: Path) -> None:
    port: Store = SqliteStore(tmp_path / "x.sqlite3")  # mypy checks the whole protocol here
    assert callable(port.record_order_intent)


# -- the order journal -----------------------------------------------------------------------


async def test_open_orders_when_an_intent_is_recorded_then_returns_it_as_intent(
    store: SqliteStore,
) -> None:
    order = make_order()
    await store.record_order_intent(order)
    assert await store.open_orders() == [(order, OrderStatus.INTENT)]
    assert await store.get_order(order.client_order_id) == (order, OrderStatus.INTENT)


@pytest.mark.parametrize(
    ("status", "is_open"),
    [
        (OrderStatus.SUBMITTED, True),
        (OrderStatus.PARTIALLY_FILLED, True),
        (OrderStatus.UNKNOWN, True),
        (OrderStatus.FILLED, False),
        (OrderStatus.CANCELLED, False),
        (OrderStatus.REJECTED, False),
    ],
)
async def test_open_orders_when_status_changes_then_lists_only_orders_that_may_fill(
    store: SqliteStore, status: OrderStatus, is_open: bool
) -> None:
    await store.record_order_intent(make_order("keep", minutes=0))
    order = make_order("o-2", minutes=1)
    await store.record_order_intent(order)
    await store.update_order("o-2", status, "B-77", "broker says so")
    listed = await store.open_orders()
    assert ("o-2" in [o.client_order_id for o, _ in listed]) is is_open
    assert listed[0][0].client_order_id == "keep"
    if is_open:
        assert listed[1] == (order, status)


async def test_update_order_when_status_changes_then_columns_and_audit_record_it(
    store: SqliteStore,
) -> None:
    await store.record_order_intent(make_order())
    await store.update_order("o-1", OrderStatus.SUBMITTED, "B-1", "accepted")
    await store.update_order("o-1", OrderStatus.FILLED, None, "filled")
    [row] = await store.query("SELECT status, broker_order_id, message FROM orders")
    assert row == {"status": "filled", "broker_order_id": "B-1", "message": "filled"}
    changes = await _audit(store, "order_status")
    assert [(c["payload"]["old"], c["payload"]["new"]) for c in changes] == [  # type: ignore[index]
        ("intent", "submitted"),
        ("submitted", "filled"),
    ]
    assert {c["actor"] for c in changes} == {"engine"}
    [intent] = await _audit(store, "order_intent")
    assert intent["actor"] == "strategy"


async def test_update_order_when_a_late_ack_follows_a_final_status_then_keeps_the_final_one(
    store: SqliteStore,
) -> None:
    await store.record_order_intent(make_order())
    await store.update_order("o-1", OrderStatus.FILLED, "B-1", "")
    await store.update_order("o-1", OrderStatus.SUBMITTED, "B-1", "late ack")
    assert await store.get_order("o-1") == (make_order(), OrderStatus.FILLED)
    [ignored] = await _audit(store, "order_status_ignored")
    assert ignored["payload"]["new"] == "submitted"  # type: ignore[index]


async def test_update_order_when_id_is_unknown_then_raises_key_error(store: SqliteStore) -> None:
    with pytest.raises(KeyError, match="nope"):
        await store.update_order("nope", OrderStatus.SUBMITTED, None, "")


async def test_record_order_intent_when_repeated_then_is_a_no_op(store: SqliteStore) -> None:
    await store.record_order_intent(make_order())
    await store.record_order_intent(make_order())
    assert len(await store.open_orders()) == 1
    assert len(await _audit(store, "order_intent")) == 1


async def test_record_order_intent_when_id_is_reused_for_another_order_then_refuses(
    store: SqliteStore,
) -> None:
    await store.record_order_intent(make_order())
    with pytest.raises(ValueError, match="already used"):
        await store.record_order_intent(make_order(quantity=99.0))
    assert await store.open_orders() == [(make_order(), OrderStatus.INTENT)]


async def test_record_order_intent_when_many_run_concurrently_then_all_are_journalled(
    store: SqliteStore,
) -> None:
    orders = [make_order(f"o-{i:03d}", minutes=i) for i in range(60)]
    await asyncio.gather(*(store.record_order_intent(o) for o in orders))
    assert [o for o, _ in await store.open_orders()] == orders
    assert len(await _audit(store, "order_intent")) == 60


async def test_open_orders_when_the_store_was_closed_after_an_intent_then_shows_intent(
    db_path: Path,
) -> None:
    order = make_order()
    async with SqliteStore(db_path) as store:
        await store.record_order_intent(order)
    async with SqliteStore(db_path) as store:
        assert await store.open_orders() == [(order, OrderStatus.INTENT)]


async def test_open_orders_when_the_process_was_killed_after_an_intent_then_shows_intent(
    db_path: Path,
) -> None:
    # a real crash: the child journals the intent, then SIGKILLs itself before anything else
    script = textwrap.dedent(
        f"""
        import asyncio, os, signal
        from pathlib import Path
        from robo_tui.adapters.store import SqliteStore
        from robo_tui.adapters.store.codec import loads
        from robo_tui.domain.orders import Order

        async def main():
            store = SqliteStore(Path({str(db_path)!r}))
            await store.open()
            await store.record_order_intent(loads(Order, {dumps(make_order("crash-1"))!r}))
            os.kill(os.getpid(), signal.SIGKILL)

        asyncio.run(main())
        """
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == -signal.SIGKILL, stderr.decode()
    async with SqliteStore(db_path) as store:
        assert await store.open_orders() == [(make_order("crash-1"), OrderStatus.INTENT)]


# -- fills -----------------------------------------------------------------------------------


async def test_fills_when_recorded_out_of_order_then_returns_equal_fills_oldest_first(
    store: SqliteStore,
) -> None:
    late, early = make_fill("f-2", minutes=5), make_fill("f-1", minutes=1)
    await store.record_fill(late)
    await store.record_fill(early)
    assert await store.fills() == [early, late]
    assert [a["payload"]["fill_id"] for a in await _audit(store, "fill")] == ["f-2", "f-1"]  # type: ignore[index]


async def test_record_fill_when_delivered_twice_then_stores_it_once(store: SqliteStore) -> None:
    await store.record_fill(make_fill())
    await store.record_fill(make_fill())
    assert await store.fills() == [make_fill()]


async def test_record_fill_when_id_is_reused_for_another_fill_then_refuses(
    store: SqliteStore,
) -> None:
    await store.record_fill(make_fill())
    with pytest.raises(ValueError, match="already used"):
        await store.record_fill(dataclasses.replace(make_fill(), price=1.0))
    assert await store.fills() == [make_fill()]


# -- proposals and verdicts ------------------------------------------------------------------


async def test_get_proposal_when_recorded_then_returns_an_equal_proposal_and_precheck(
    store: SqliteStore,
) -> None:
    proposal, precheck = make_proposal(), make_verdict(allowed=False)
    await store.record_proposal(proposal, precheck)
    assert await store.get_proposal("p-1") == (proposal, ProposalStatus.PENDING)
    assert await store.get_precheck("p-1") == precheck
    assert await store.get_proposal("missing") is None


async def test_update_proposal_when_approved_then_status_decider_and_audit_record_it(
    store: SqliteStore,
) -> None:
    await store.record_proposal(make_proposal(), make_verdict())
    await store.update_proposal("p-1", ProposalStatus.APPROVED, "alice", "looks right")
    got = await store.get_proposal("p-1")
    assert got is not None
    assert got[1] is ProposalStatus.APPROVED and got[0].status is ProposalStatus.APPROVED
    [row] = await store.query("SELECT decided_by, decided_at, decision_reason FROM proposals")
    assert row == {"decided_by": "alice", "decided_at": "2026-03-02T14:30:00.000000+00:00",
                   "decision_reason": "looks right"}
    [decision] = await _audit(store, "proposal_decision")
    assert decision["actor"] == "alice"
    assert decision["payload"] == {"proposal_id": "p-1", "old": "pending", "new": "approved",
                                   "reason": "looks right"}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (ProposalStatus.APPROVED, ProposalStatus.APPROVED),
        (ProposalStatus.EXPIRED, ProposalStatus.APPROVED),
        (ProposalStatus.REJECTED, ProposalStatus.SUBMITTED),
        (ProposalStatus.SUBMITTED, ProposalStatus.PENDING),
    ],
)
async def test_update_proposal_when_the_decision_is_not_allowed_then_refuses_and_keeps_state(
    store: SqliteStore, first: ProposalStatus, second: ProposalStatus
) -> None:
    await store.record_proposal(make_proposal(), make_verdict())
    await store.update_proposal("p-1", first, "alice", "")
    with pytest.raises(ProposalTransitionError, match=f"is {first.value}"):
        await store.update_proposal("p-1", second, "bob", "")
    got = await store.get_proposal("p-1")
    assert got is not None and got[1] is first
    assert len(await _audit(store, "proposal_decision")) == 1


async def test_update_proposal_when_approved_then_submitted_then_allows_both(
    store: SqliteStore,
) -> None:
    await store.record_proposal(make_proposal(), make_verdict())
    await store.update_proposal("p-1", ProposalStatus.APPROVED, "alice", "")
    await store.update_proposal("p-1", ProposalStatus.SUBMITTED, "engine", "o-1")
    assert await store.proposals(ProposalStatus.SUBMITTED) == [
        (dataclasses.replace(make_proposal(), status=ProposalStatus.SUBMITTED),
         ProposalStatus.SUBMITTED)
    ]


async def test_update_proposal_when_id_is_unknown_then_raises_key_error(store: SqliteStore) -> None:
    with pytest.raises(KeyError):
        await store.update_proposal("nope", ProposalStatus.REJECTED, "alice", "")


async def test_proposals_when_filtered_by_status_then_returns_only_those_oldest_first(
    store: SqliteStore,
) -> None:
    for i in (2, 0, 1):
        await store.record_proposal(make_proposal(f"p-{i}", minutes=i), make_verdict())
    await store.update_proposal("p-1", ProposalStatus.REJECTED, "alice", "no")
    assert [p.id for p, _ in await store.proposals()] == ["p-0", "p-1", "p-2"]
    assert [p.id for p, _ in await store.proposals(ProposalStatus.PENDING)] == ["p-0", "p-2"]


async def test_record_verdict_when_denied_then_stores_codes_and_an_equal_verdict(
    store: SqliteStore,
) -> None:
    verdict = make_verdict(allowed=False)
    await store.record_verdict(
        verdict, source="analyst", symbol="AAPL", payload={"quantity": 3.0},
        client_order_id=None, proposal_id="p-1",
    )
    [row] = await store.query("SELECT * FROM risk_verdicts")
    assert row["allowed"] == 0 and row["state"] == "ACTIVE" and row["proposal_id"] == "p-1"
    assert json.loads(str(row["codes"])) == ["max_position", "cooldown"]
    assert json.loads(str(row["payload"])) == {"quantity": 3.0}
    assert loads(RiskVerdict, str(row["verdict"])) == verdict


# -- control state and the audit log ---------------------------------------------------------


async def test_set_control_when_the_kill_switch_is_set_then_it_survives_a_restart(
    db_path: Path,
) -> None:
    async with SqliteStore(db_path) as store:
        assert await store.get_control("trading_state") is None
        await store.set_control("trading_state", "HALTED", "cli")
    async with SqliteStore(db_path) as store:
        assert await store.get_control("trading_state") == "HALTED"
        await store.set_control("trading_state", "ACTIVE", "ui")
        changes = await _audit(store, "control")
    assert [(c["actor"], c["payload"]) for c in changes] == [
        ("cli", {"key": "trading_state", "old": None, "new": "HALTED"}),
        ("ui", {"key": "trading_state", "old": "HALTED", "new": "ACTIVE"}),
    ]


@pytest.mark.parametrize(
    "sql", ["UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"]
)
async def test_audit_log_when_a_row_is_updated_or_deleted_then_sqlite_refuses(
    store: SqliteStore, db_path: Path, sql: str
) -> None:
    await store.audit("note", {"text": "keep me"}, "alice")
    with sqlite3.connect(db_path) as conn, pytest.raises(
        sqlite3.IntegrityError, match="append-only"
    ):
        conn.execute(sql)
    assert [r["actor"] for r in await store.query("SELECT actor FROM audit_log")] == ["alice"]


async def test_audit_many_when_given_rows_then_appends_them_all_with_their_times(
    store: SqliteStore,
) -> None:
    rows = [(T0 + timedelta(seconds=i), "bar", {"i": i}, "backtest") for i in range(500)]
    await store.audit_many(rows)
    got = await store.query("SELECT ts, payload FROM audit_log WHERE kind = 'bar' ORDER BY id")
    assert len(got) == 500
    assert got[7] == {"ts": "2026-03-02T14:30:07.000000+00:00", "payload": '{"i":7}'}


async def test_query_when_it_tries_to_write_then_fails_and_writes_nothing(
    store: SqliteStore,
) -> None:
    with pytest.raises(sqlite3.OperationalError, match="readonly|read-only|query_only"):
        await store.query("INSERT INTO control_state VALUES ('mode', 'live', 'x', 'y')")
    assert await store.get_control("mode") is None


# -- portfolio, market, news, analysts, outcomes --------------------------------------------


async def test_latest_account_when_saved_twice_then_returns_the_last_and_positions_match(
    store: SqliteStore,
) -> None:
    assert await store.latest_account() is None
    first = make_account()
    second = AccountSnapshot(
        T0 + timedelta(minutes=1), 90000.0,
        {"MSFT": Position("MSFT", 3.0, 410.0)}, {"MSFT": 411.0},
    )
    await store.save_positions(first)
    await store.save_positions(second)
    assert await store.latest_account() == second
    rows = await store.query("SELECT symbol, quantity, market_value FROM positions")
    assert rows == [{"symbol": "MSFT", "quantity": 3.0, "market_value": 1233.0}]
    equity = await store.query("SELECT equity FROM account_snapshots ORDER BY id")
    assert [e["equity"] for e in equity] == [pytest.approx(first.equity), 91233.0]


async def test_record_market_snapshot_when_repeated_for_a_time_then_keeps_one_row_per_symbol(
    store: SqliteStore,
) -> None:
    await store.record_market_snapshot(T0, {"AAPL": 187.0, "BTC-USD": 64000.0}, True)
    await store.record_market_snapshot(T0, {"AAPL": 187.5}, True)
    rows = await store.query("SELECT symbol, price, simulated FROM market_snapshots ORDER BY symbol")
    assert rows == [
        {"symbol": "AAPL", "price": 187.5, "simulated": 1},
        {"symbol": "BTC-USD", "price": 64000.0, "simulated": 1},
    ]


async def test_record_news_when_the_id_is_seen_again_then_returns_false(
    store: SqliteStore,
) -> None:
    assert await store.record_news(make_news()) is True
    assert await store.record_news(make_news()) is False
    assert await store.recent_news() == [make_news()]
    [row] = await store.query("SELECT symbols, sample FROM news_items")
    assert row == {"symbols": '["AAPL"]', "sample": 1}


async def test_update_ai_decision_when_called_twice_then_merges_the_outcome(
    store: SqliteStore,
) -> None:
    decision_id = await store.record_ai_decision(
        {"ts": T0, "provider": "ollama", "model": "llama3.2", "symbol": "AAPL", "prompt": "p",
         "raw_output": "{not json", "errors": ["invalid JSON"], "latency_ms": 812.5,
         "temperature": 0.1}
    )
    await store.update_ai_decision(decision_id, {"ensemble": "voted"})
    await store.update_ai_decision(decision_id, {"gate": "denied", "codes": ["cooldown"]})
    [row] = await store.query("SELECT * FROM ai_decisions WHERE id = ?", (decision_id,))
    assert row["raw_output"] == "{not json" and row["parsed"] is None
    assert json.loads(str(row["errors"])) == ["invalid JSON"]
    assert json.loads(str(row["extra"])) == {"temperature": 0.1}
    assert json.loads(str(row["outcome"])) == {
        "ensemble": "voted", "gate": "denied", "codes": ["cooldown"]
    }
    with pytest.raises(KeyError):
        await store.update_ai_decision("nope", {})


async def test_record_trade_outcome_review_and_backtest_when_recorded_then_queryable(
    store: SqliteStore,
) -> None:
    await store.record_trade_outcome({"symbol": "AAPL", "pnl": -12.5, "closed_at": T0})
    await store.record_daily_review({"day": T0.date(), "summary": "quiet"})
    run_id = await store.record_backtest_run(
        {"params": {"fast": 10}, "stats": {"sharpe": 1.2}, "trades": [], "equity": [1.0, 1.1]}
    )
    assert await store.query("SELECT symbol, pnl, ts FROM trade_outcomes") == [
        {"symbol": "AAPL", "pnl": -12.5, "ts": "2026-03-02T14:30:00.000000+00:00"}
    ]
    assert await store.query("SELECT day FROM daily_reviews") == [{"day": "2026-03-02"}]
    [run] = await store.query("SELECT id, equity FROM backtest_runs")
    assert run == {"id": run_id, "equity": "[1.0,1.1]"}


# -- files, settings, lifecycle --------------------------------------------------------------


async def test_open_when_the_umask_is_permissive_then_files_are_0600_and_dir_0700(
    tmp_path: Path,
) -> None:
    path = tmp_path / "new" / "nested" / "robo-tui.sqlite3"
    old = os.umask(0o000)
    try:
        async with SqliteStore(path) as store:
            await store.record_order_intent(make_order())
            files = {p.name: _mode(p) for p in path.parent.iterdir()}
    finally:
        os.umask(old)
    assert files == {
        "robo-tui.sqlite3": 0o600, "robo-tui.sqlite3-wal": 0o600, "robo-tui.sqlite3-shm": 0o600,
        "robo-tui.sqlite3.session": 0o600,  # issue 17: the marker that a session started here
    }
    assert _mode(path.parent) == 0o700
    assert _mode(path.parent.parent) == 0o700


async def test_open_when_the_database_is_world_readable_then_tightens_it_to_0600(
    db_path: Path,
) -> None:
    async with SqliteStore(db_path):
        pass
    os.chmod(db_path, 0o644)
    async with SqliteStore(db_path):
        assert _mode(db_path) == 0o600


async def test_connection_pragmas_when_open_then_wal_full_sync_and_foreign_keys(
    store: SqliteStore,
) -> None:
    pragmas = await store.connection_pragmas()
    assert pragmas["journal_mode"] == "wal"
    assert pragmas["synchronous"] == 2  # FULL
    assert pragmas["foreign_keys"] == 1
    assert pragmas["busy_timeout"] >= 1000


async def test_methods_when_the_store_is_not_open_then_raise_store_closed(
    db_path: Path,
) -> None:
    store = SqliteStore(db_path)
    with pytest.raises(StoreClosedError, match="open"):
        await store.record_order_intent(make_order())
    with pytest.raises(StoreClosedError):
        await store.open_orders()
    await store.open()
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(StoreClosedError):
        await store.get_control("mode")


@pytest.mark.parametrize("yields", [0, 1, 2, 3, 5, 8])
async def test_write_when_cancelled_midway_then_the_store_stays_usable_and_consistent(
    store: SqliteStore, yields: int
) -> None:
    task = asyncio.create_task(store.record_order_intent(make_order("cancelled")))
    for _ in range(yields):
        await asyncio.sleep(0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await store.record_order_intent(make_order("next", minutes=1))
    ids = [o.client_order_id for o, _ in await store.open_orders()]
    audited = [a["payload"]["client_order_id"] for a in await _audit(store, "order_intent")]  # type: ignore[index]
    assert ids[-1] == "next"
    assert ids == audited  # the order row and its audit entry commit together or not at all
