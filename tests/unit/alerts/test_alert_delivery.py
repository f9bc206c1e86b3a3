"""Alerts reach people through the real Apprise, to a local webhook server on 127.0.0.1: one for
each kind of event; a hanging notifier delays no order and loses nothing (queued, retried,
recorded); a token in an alert URL never reaches the log or the database."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from robo_tui.adapters.alerts.apprise_notifier import AppriseNotifier
from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.config import Settings
from robo_tui.config.outbound import AlertLevels, AlertSettings
from robo_tui.domain.commands import SubmitOrder
from robo_tui.domain.events import (
    CycleCompleted,
    EngineErrorOccurred,
    ModeChanged,
    OrderDenied,
    OrderFilled,
    PauseChanged,
    ProposalCreated,
    SourceHealthChanged,
    TradingStateChanged,
)
from robo_tui.domain.orders import Fill, OrderIntent, Side
from robo_tui.domain.risk import Mode, RiskReason, RiskVerdict, TradingState
from robo_tui.domain.signals import Proposal
from robo_tui.engine.alerts import AlertRouter
from robo_tui.engine.bus import EventBus
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from robo_tui.logs import redactor, secret_values, setup_logging
from robo_tui.wiring import attach_outbound, build_engine
from tests.unit.alerts.webhook import WebhookServer

T0 = datetime(2026, 1, 5, 16, 30, tzinfo=UTC)  # after the default 16:15 summary time
OK = RiskVerdict(allowed=True, state=TradingState.ACTIVE)


def fast(**changes: Any) -> AlertSettings:
    base: dict[str, Any] = {"timeout_seconds": 0.5, "retries": 2, "backoff_seconds": 0.05,
                            "levels": AlertLevels(error="info")}
    return AlertSettings(**(base | changes))


async def audit(store: SqliteStore, kind: str) -> list[dict[str, Any]]:
    import json

    rows = await store.query("SELECT payload FROM audit_log WHERE kind = ? ORDER BY id", (kind,))
    return [json.loads(r["payload"]) for r in rows]


def one_of_each(ts: datetime) -> list[Any]:
    intent = OrderIntent("AAPL", Side.BUY, 10)
    proposal = Proposal(id="p-1", ts=ts, symbol="AAPL", side=Side.BUY, quantity=10, price=190.0,
                        stop_loss=180.0, take_profit=210.0, confidence=0.7, rationale="sma cross")
    return [
        OrderFilled(ts=ts, fill=Fill("f-1", "o-1", "AAPL", Side.BUY, 10, 190.5, 1.0, ts)),
        OrderDenied(ts=ts, command=SubmitOrder(intent, "ui"), verdict=RiskVerdict(
            allowed=False, state=TradingState.ACTIVE,
            reasons=(RiskReason("max_position", "position above 10% of equity"),))),
        TradingStateChanged(ts=ts, old=TradingState.ACTIVE, new=TradingState.REDUCING,
                            reason="day loss at 80% of the limit", by="risk"),
        TradingStateChanged(ts=ts, old=TradingState.ACTIVE, new=TradingState.HALTED,
                            reason="circuit breaker: data failed 3 times", by="risk"),
        PauseChanged(ts=ts, paused=True, by="ui"),
        ModeChanged(ts=ts, old=Mode.PAPER, new=Mode.SEMI_AUTO, by="ui"),
        SourceHealthChanged(ts=ts, source="data:AAPL", healthy=False, message="stale: 90 s old"),
        EngineErrorOccurred(ts=ts, where="recovery", message="broker holds 5 AAPL the journal does not"),
        ProposalCreated(ts=ts, proposal=proposal, precheck=OK),
        EngineErrorOccurred(ts=ts, where="news", message="feed timed out"),
        CycleCompleted(ts=ts, cycle=1, state=TradingState.ACTIVE, mode=Mode.SEMI_AUTO,
                       equity=100_250.0, cash=50_000.0, day_pnl=250.0, proposals=1, denied=1,
                       orders=1, fills=1, positions=1),
    ]


async def test_alerts_when_each_kind_of_event_is_published_then_each_reaches_the_webhook(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "robo.db")
    await store.open()
    bus = EventBus()
    async with WebhookServer() as hook:
        # a send that outlives a short timeout on a loaded machine is retried and counted
        # failed although the hook got it: this test is about delivery, so give it time
        router = AlertRouter(fast(timeout_seconds=10.0), bus=bus, notifier=AppriseNotifier(
            [f"json://127.0.0.1:{hook.port}/alerts"], timeout=10.0), store=store,
            clock=SimClock(T0 - timedelta(hours=3)),  # started before the day's summary time
            mode=lambda: Mode.SEMI_AUTO)
        await router.start()
        for event in one_of_each(T0):
            bus.publish(event)
        await hook.wait_for(11)
        await router.stop(grace=5)
    await store.close()
    await store.open()
    sent = await audit(store, "alert.sent")
    await store.close()
    kinds = [a["kind"] for a in sent]
    assert sorted(kinds) == sorted(["fill", "denial", "state", "breaker", "pause", "mode", "stale",
                                    "drift", "proposal", "error", "summary"])
    titles = {a.body["title"] for a in hook.received}
    assert "Fill: BUY 10 AAPL @ 190.5000" in titles
    assert any(t.startswith("Approve? BUY 10 AAPL") for t in titles)
    assert any(t.startswith("Daily summary 2026-01-05: equity 100,250.00") for t in titles)
    by_title = {a.body["title"]: a.body for a in hook.received}
    assert by_title["Trading ACTIVE -> HALTED"]["type"] == "failure"  # the breaker is critical
    assert "position above 10% of equity" in by_title["Denied: BUY 10 AAPL (ui)"]["message"]


async def test_alerts_when_a_strategy_order_is_denied_or_the_mode_is_auto_then_nobody_is_paged(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "robo.db")
    await store.open()
    bus = EventBus()
    async with WebhookServer() as hook:
        router = AlertRouter(fast(), bus=bus, notifier=AppriseNotifier(
            [f"json://127.0.0.1:{hook.port}/"]), store=store, clock=SimClock(T0 - timedelta(hours=2)),
            mode=lambda: Mode.AUTO)
        await router.start()
        routine = one_of_each(T0 - timedelta(hours=2))
        denial = routine[1]
        bus.publish(OrderDenied(ts=denial.ts, command=SubmitOrder(denial.command.intent, "strategy"),
                                verdict=denial.verdict))
        bus.publish(routine[8])  # a proposal outside semi-auto goes straight to the gate
        bus.publish(routine[-1])  # before the summary time: no summary yet
        bus.publish(routine[0])
        await hook.wait_for(1)
        await router.stop(grace=5)
    assert [r.body["title"] for r in hook.received] == ["Fill: BUY 10 AAPL @ 190.5000"]
    await store.close()


async def test_alerts_when_one_kind_floods_then_the_rate_limit_drops_and_records_the_rest(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "robo.db")
    await store.open()
    bus = EventBus()
    async with WebhookServer() as hook:
        router = AlertRouter(fast(per_kind_per_minute=3), bus=bus, notifier=AppriseNotifier(
            [f"form://127.0.0.1:{hook.port}/"]), store=store, clock=SimClock(T0),
            mode=lambda: Mode.AUTO)
        await router.start()
        fill = one_of_each(T0)[0]
        for _ in range(8):
            bus.publish(fill)
        bus.publish(one_of_each(T0)[5])  # another kind has its own budget
        await hook.wait_for(4)
        await router.stop(grace=5)
    assert len(hook.received) == 4
    assert len(await audit(store, "alert.sent")) == 4
    dropped = await audit(store, "alert.dropped")
    assert len(dropped) == 5 and {d["reason"] for d in dropped} == {"rate limit"}
    await store.close()


def alerting_settings(port: int, *, token: str = "hook") -> Settings:
    return Settings.model_validate({
        "engine": {"mode": "auto"},
        "alerts": {"urls": [SecretStr(f"json://127.0.0.1:{port}/{token}")], "timeout_seconds": 0.4,
                   "retries": 3, "backoff_seconds": 0.05},
    })


async def run_order(engine: Engine) -> float:
    """Seconds a manual order takes through the gate to the paper broker."""
    price = engine.account.prices.get("AAPL") or 190.0
    started = time.perf_counter()
    result = await engine.manual_order(OrderIntent("AAPL", Side.BUY, 1, stop_loss=price * 0.9,
                                                   take_profit=price * 1.2))
    elapsed = time.perf_counter() - started
    assert result.sent, result.verdict
    return elapsed


async def test_alerts_when_the_notifier_hangs_then_orders_are_not_delayed_and_nothing_is_lost(
    tmp_path: Path, clock: SimClock,
) -> None:
    async with WebhookServer(hang_next=3) as hook:
        settings = alerting_settings(hook.port)
        engine = build_engine(settings, data_dir=tmp_path, clock=clock, intelligence=False)
        attach_outbound(engine, settings)
        await engine.start()
        try:
            await engine.run_cycle()
            await asyncio.sleep(0)  # the worker takes the first alert: the server hangs on it
            cycle_started = time.perf_counter()
            await engine.run_cycle()
            cycle_seconds = time.perf_counter() - cycle_started
            order_seconds = await run_order(engine)
            print(f"notifier hanging: order {order_seconds * 1000:.1f} ms, "
                  f"cycle {cycle_seconds * 1000:.1f} ms")
            assert hook.hung >= 1 and order_seconds < 0.3 and cycle_seconds < 1.5, (
                hook.hung, order_seconds, cycle_seconds)
            router = engine.services[0]
            assert isinstance(router, AlertRouter)
            queued = router.stats.queued
            assert queued >= 1
            await hook.wait_for(queued, timeout=20)  # retried past the hang, then delivered
        finally:
            await engine.stop()
    store = SqliteStore(next(tmp_path.glob("*.sqlite3")))
    await store.open()
    recorded = await audit(store, "alert.sent")
    failed = await audit(store, "alert.failed")
    await store.close()
    assert len(recorded) + len(failed) == router.stats.queued
    assert failed == [] and len(recorded) == len(hook.received)
    assert max(r.get("attempts", 1) for r in recorded) >= 2  # the hung sends were retried


async def test_alerts_when_the_notifier_never_answers_then_each_alert_is_recorded_failed(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "robo.db")
    await store.open()
    bus = EventBus()
    async with WebhookServer(fail_next=100) as hook:
        router = AlertRouter(fast(retries=1), bus=bus, notifier=AppriseNotifier(
            [f"json://127.0.0.1:{hook.port}/"]), store=store, clock=SimClock(T0),
            mode=lambda: Mode.AUTO)
        await router.start()
        bus.publish(one_of_each(T0)[0])
        bus.publish(one_of_each(T0)[5])
        async with asyncio.timeout(10):
            while router.stats.failed < 2:
                await asyncio.sleep(0.02)
        await router.stop(grace=5)
        assert hook.requests == 4  # each alert: the send and one retry
    failed = await audit(store, "alert.failed")
    assert [f["kind"] for f in failed] == ["fill", "mode"]
    assert all(f["attempts"] == 2 and "not delivered" in f["reason"] for f in failed)
    await store.close()


async def test_alerts_when_the_url_holds_a_token_then_neither_the_log_nor_the_db_shows_it(
    tmp_path: Path,
) -> None:
    token = "tok3n-5ecret-abc123"
    password = "hunter2pass"
    async with WebhookServer(fail_next=100) as hook:
        settings = Settings.model_validate({"alerts": {"urls": [
            SecretStr(f"json://robo:{password}@127.0.0.1:{hook.port}/hooks/{token}?x-key={token}")],
            "timeout_seconds": 0.5, "retries": 0}})
        setup_logging(tmp_path, secret_values(settings))
        logging.getLogger("apprise").setLevel(logging.DEBUG)  # as talkative as it gets
        store = SqliteStore(tmp_path / "robo.db")
        await store.open()
        bus = EventBus()
        url = settings.alerts.urls[0].get_secret_value()
        router = AlertRouter(settings.alerts, bus=bus, notifier=AppriseNotifier([url]), store=store,
                             clock=SimClock(T0), mode=lambda: Mode.AUTO,
                             redact=redactor(secret_values(settings)))
        await router.start()
        bus.publish(EngineErrorOccurred(ts=T0, where="recovery",
                                        message=f"broker said: bad key {token}"))
        async with asyncio.timeout(10):
            while router.stats.failed < 1:
                await asyncio.sleep(0.02)
        logging.getLogger(__name__).error("while sending to %s", url)
        await router.stop(grace=5)
        await store.close()
    for handler in logging.getLogger().handlers:
        handler.flush()
    log_text = (tmp_path / "robo-tui.log").read_text()
    db_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("robo.db*"))
    assert "alert failed drift" in log_text and "********" in log_text
    for secret in (token, password):
        assert secret not in log_text
        assert secret.encode() not in db_bytes
    assert b"bad key ********" in db_bytes
