"""The daily schedule: each job once per exchange day at its time, remembered across restarts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from robo_tui.domain.events import Event, ScheduledJobDone
from robo_tui.engine.clock import SimClock
from robo_tui.engine.schedule import DailySchedule, Job, engine_jobs
from tests.unit.engine.test_order_send_time import make_engine

NY = ZoneInfo("America/New_York")


async def test_jobs_when_their_time_comes_then_each_runs_once_that_day(tmp_path: Path) -> None:
    clock = SimClock(datetime(2026, 3, 2, 13, 0, tzinfo=UTC))  # 08:00 in New York
    engine = make_engine(tmp_path, clock)
    await engine.start()
    seen: list[Event] = []
    engine.bus.subscribe(seen.append)
    try:
        schedule = DailySchedule(engine, engine_jobs(engine), NY)
        assert await schedule.tick(clock.now()) == []  # before 09:00 New York time

        clock.advance(3600 + 60)  # 09:01
        assert await schedule.tick(clock.now()) == ["premarket"]
        assert await schedule.tick(clock.now()) == []  # not twice the same day

        clock.advance(8 * 3600)  # 17:01: the review and the report card are due
        assert await schedule.tick(clock.now()) == ["review", "report"]
        done = [e for e in seen if isinstance(e, ScheduledJobDone)]
        assert [(e.job, e.ok) for e in done] == [("premarket", True), ("review", True),
                                                  ("report", True)]
        assert done[0].summary.startswith("no calendar; equity 100,000.00")
        assert done[2].summary.startswith("P&L ")
        rows = await engine.store.query("select payload from audit_log where kind = 'report.daily'")
        assert json.loads(rows[0]["payload"])["period"] == "daily"
    finally:
        await engine.stop()


async def test_schedule_when_restarted_the_same_day_then_it_does_not_repeat_a_job(
        tmp_path: Path) -> None:
    clock = SimClock(datetime(2026, 3, 2, 14, 30, tzinfo=UTC))  # 09:30 in New York
    engine = make_engine(tmp_path, clock)
    await engine.start()
    try:
        assert await DailySchedule(engine, engine_jobs(engine), NY).tick(clock.now()) == ["premarket"]
        again = DailySchedule(engine, engine_jobs(engine), NY)
        await again.load()
        assert await again.tick(clock.now()) == []
        clock.advance(86_400)  # the next day it runs again
        assert await again.tick(clock.now()) == ["premarket"]
    finally:
        await engine.stop()


async def test_job_when_it_fails_then_the_failure_is_announced_and_the_engine_goes_on(
        tmp_path: Path) -> None:
    clock = SimClock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    engine = make_engine(tmp_path, clock)
    await engine.start()
    seen: list[Event] = []
    engine.bus.subscribe(seen.append)

    async def broken(now: datetime) -> str:
        raise RuntimeError("feed down")

    try:
        schedule = DailySchedule(engine, [Job("refresh", time(9, 0), broken)], NY)
        assert await schedule.tick(clock.now()) == ["refresh"]
        failed = [e for e in seen if isinstance(e, ScheduledJobDone)]
        assert (failed[0].ok, failed[0].summary) == (False, "refresh failed: feed down")
        summary = await engine.run_cycle()  # the engine carries on
        assert summary.cycle == 1
    finally:
        await engine.stop()
