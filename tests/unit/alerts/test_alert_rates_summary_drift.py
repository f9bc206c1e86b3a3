"""Per-kind rate limits, the daily summary on the engine's one daily schedule (and never twice a
day across a restart), and a real drift event: a blocking reconciliation report reaches the
webhook once, as drift, through the real Apprise."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr

from robo_tui.adapters.alerts.apprise_notifier import AppriseNotifier
from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.config import load_settings
from robo_tui.config.outbound import AlertSettings
from robo_tui.domain.events import DriftDetected, EngineErrorOccurred, ScheduledJobDone
from robo_tui.domain.risk import Mode
from robo_tui.engine.alerts import AlertRouter
from robo_tui.engine.bus import EventBus
from robo_tui.engine.clock import SimClock
from robo_tui.wiring import attach_outbound, build_engine, with_overrides
from tests.unit.alerts.test_alert_delivery import T0, audit, fast, one_of_each
from tests.unit.alerts.webhook import WebhookServer
from tests.unit.brokers_live.fake_robinhood_crypto import FakeCryptoApi


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path / "robo.db")
    await s.open()
    try:
        yield s
    finally:
        await s.close()


def test_alert_config_when_a_per_kind_limit_is_unknown_or_zero_then_it_is_refused() -> None:
    assert AlertSettings.model_validate({"per_minute": {"fill": 20}}).per_minute.limit("fill", 6) == 20
    assert AlertSettings().per_minute.limit("fill", 6) == 6
    with pytest.raises(ValueError, match="fills"):
        AlertSettings.model_validate({"per_minute": {"fills": 20}})
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        AlertSettings.model_validate({"per_minute": {"fill": 0}})


async def test_alerts_when_fills_have_their_own_limit_then_fills_use_it_and_others_the_common_one(
        store: SqliteStore) -> None:
    bus = EventBus()
    async with WebhookServer() as hook:
        router = AlertRouter(fast(per_kind_per_minute=2, per_minute={"fill": 5}), bus=bus,
                             notifier=AppriseNotifier([f"json://127.0.0.1:{hook.port}/"]),
                             store=store, clock=SimClock(T0), mode=lambda: Mode.AUTO)
        await router.start()
        events = one_of_each(T0)
        for _ in range(8):
            bus.publish(events[0])  # a fill
        for _ in range(4):
            bus.publish(events[5])  # a mode change
        await hook.wait_for(7)
        await router.stop(grace=5)
    kinds = [r.body["title"].split(":")[0].split(" ")[0] for r in hook.received]
    assert (kinds.count("Fill"), kinds.count("Mode")) == (5, 2)
    dropped = await audit(store, "alert.dropped")
    assert sorted(d["kind"] for d in dropped) == ["fill"] * 3 + ["mode"] * 2


async def test_daily_summary_when_following_the_schedule_then_sent_on_the_report_job_only(
        store: SqliteStore) -> None:
    bus = EventBus()
    async with WebhookServer() as hook:
        router = AlertRouter(fast(), bus=bus, notifier=AppriseNotifier(
            [f"json://127.0.0.1:{hook.port}/"]), store=store,
            clock=SimClock(T0 - timedelta(hours=3)), mode=lambda: Mode.AUTO, follow_schedule=True)
        await router.start()
        cycle = one_of_each(T0)[-1]
        bus.publish(cycle)  # past daily_summary_at: the timer would have sent it; the schedule rules
        bus.publish(ScheduledJobDone(ts=T0, job="review", summary="4 ideas scored"))
        bus.publish(ScheduledJobDone(ts=T0 + timedelta(minutes=15), job="report",
                                     summary="P&L +250.00 (+0.25 %), 1 closed trades, 100% won"))
        await hook.wait_for(1)
        await router.stop(grace=5)
    (summary,) = [r.body for r in hook.received]
    assert summary["title"] == "Daily summary 2026-01-05: equity 100,250.00 (+250.00)"
    assert "Report card: P&L +250.00 (+0.25 %), 1 closed trades, 100% won." in summary["message"]


async def test_daily_summary_when_the_engine_restarts_after_it_was_sent_then_not_sent_again(
        store: SqliteStore) -> None:
    cycle = one_of_each(T0)[-1]
    async with WebhookServer() as hook:
        for restart in range(2):
            bus = EventBus()
            router = AlertRouter(fast(), bus=bus, notifier=AppriseNotifier(
                [f"json://127.0.0.1:{hook.port}/"]), store=store,
                clock=SimClock(T0 - timedelta(hours=3)),  # each start is before the summary time
                mode=lambda: Mode.AUTO)
            await router.start()
            bus.publish(cycle if restart == 0 else
                        cycle.__class__(**{**_fields(cycle), "ts": T0 + timedelta(hours=1)}))
            if restart == 0:
                await hook.wait_for(1)
            await router.stop(grace=5)
        assert len(hook.received) == 1  # the restarted engine read the journal

        bus = EventBus()
        router = AlertRouter(fast(), bus=bus, notifier=AppriseNotifier(
            [f"json://127.0.0.1:{hook.port}/"]), store=store,
            clock=SimClock(T0 - timedelta(hours=3)), mode=lambda: Mode.AUTO)
        await router.start()
        bus.publish(cycle.__class__(**{**_fields(cycle), "ts": T0 + timedelta(days=1)}))
        await hook.wait_for(2)  # the next day has its own
        await router.stop(grace=5)
    assert hook.received[1].body["title"].startswith("Daily summary 2026-01-06")


def _fields(event: object) -> dict[str, object]:
    import dataclasses

    return {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}  # type: ignore[arg-type]


async def test_drift_when_reconciliation_finds_a_manual_trade_then_one_drift_alert_reaches_the_hook(
        tmp_path: Path, clock: SimClock) -> None:
    api = FakeCryptoApi(page_size=3)
    await api.start()
    api.holdings["BTC"] = Decimal("0.5")  # bought in the Robinhood app while robo-tui was down
    try:
        async with WebhookServer() as hook:
            settings = with_overrides(load_settings(None, environ={
                "ROBO_TUI_ENGINE__LIVE_ENABLED": "true",
                "ROBO_TUI_BROKER__KIND": "robinhood_crypto",
                "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__API_KEY": api.api_key,
                "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__PRIVATE_KEY": api.private_key,
                "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__BASE_URL": api.base_url,
                "ROBO_TUI_BROKER__ROBINHOOD_CRYPTO__TIMEOUT_SECONDS": "2",
            }), mode=Mode.LIVE)
            settings = settings.model_copy(update={"alerts": fast(
                urls=[SecretStr(f"json://127.0.0.1:{hook.port}/drift")])})
            engine = build_engine(settings, data_dir=tmp_path, clock=clock, intelligence=False)
            attach_outbound(engine, settings)
            seen: list[object] = []
            engine.bus.subscribe(seen.append, DriftDetected, EngineErrorOccurred)
            await engine.start()
            try:
                await hook.wait_for(1)
            finally:
                await engine.stop()
    finally:
        await api.stop()
    drift = [e for e in seen if isinstance(e, DriftDetected)]
    assert len(drift) == 1 and drift[0].report.blocking
    (item,) = drift[0].report.items
    assert (item.symbol, item.venue, item.journal) == ("BTC-USD", 0.5, 0.0)
    drift_alerts = [r.body for r in hook.received if r.body["title"].startswith("Drift")]
    assert len(drift_alerts) == 1  # the engine's error line for it is not a second page
    assert drift_alerts[0]["title"] == "Drift at robinhood_crypto: 1 item; entries wait"
    assert drift_alerts[0]["type"] == "failure"
    assert "robinhood_crypto holds 0.5 that robo-tui never traded" in drift_alerts[0]["message"]
