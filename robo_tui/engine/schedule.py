"""The engine's daily schedule: jobs at fixed times of the exchange's day.

Each job runs once per exchange-local day, at or after its time (a machine that starts at 10:00
runs the 09:00 pre-market check at once, and only once: the journal remembers what ran today, so a
restart does not repeat a job). Jobs run off the order path, one after the other; a failing job is
reported and retried the next day, never stopping the engine.

The engine's jobs (`engine_jobs`): the pre-market check (the session ahead and the account, fresh
from the broker), the review of past ideas (`engine.review`), and the daily report card of the
account (`robo_tui.reports`), and with `[universe.discovery]` on, the universe refresh at the
pre-market time (`Engine.set_universe` with what `Engine.rediscover` finds), each stored in the audit log and announced as `ScheduledJobDone`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from robo_tui.domain.events import ScheduledJobDone
from robo_tui.domain.frozen import frozen

if TYPE_CHECKING:
    from robo_tui.engine.engine import Engine

log = logging.getLogger(__name__)

CHECK_SECONDS = 30.0
"""How often the schedule looks at the clock."""


@frozen
class Job:
    """One daily job: its name, its exchange-local time, and what it does (returns a summary)."""

    name: str
    at: time
    run: Callable[[datetime], Awaitable[str]]


class DailySchedule:
    """Runs each job once per exchange-local day at or after its time."""

    def __init__(self, engine: Engine, jobs: Sequence[Job], tz: ZoneInfo,
                 every: float = CHECK_SECONDS) -> None:
        self._engine = engine
        self.jobs = tuple(jobs)
        self.tz = tz
        self.every = every
        self.done: dict[str, str] = {}
        """The exchange-local day each job last ran on."""

    async def load(self) -> None:
        """Learn from the journal which jobs already ran today (a restart does not repeat one)."""
        rows = await self._engine.store.query(
            "SELECT payload FROM audit_log WHERE kind = 'schedule.done' ORDER BY id DESC LIMIT 50")
        for row in reversed(rows):
            data = json.loads(row["payload"])
            self.done[str(data.get("job"))] = str(data.get("day"))

    def due(self, now: datetime) -> list[Job]:
        """The jobs whose time has come today and that have not run today."""
        local = now.astimezone(self.tz)
        day = local.date().isoformat()
        return [job for job in self.jobs
                if self.done.get(job.name) != day and local.time() >= job.at]

    async def tick(self, now: datetime) -> list[str]:
        """Run every due job now, in order; the names of the jobs run."""
        ran = []
        for job in self.due(now):
            day = now.astimezone(self.tz).date().isoformat()
            try:
                summary, ok = await job.run(now), True
            except Exception as exc:  # noqa: BLE001 - a job never stops the engine; it says why
                summary, ok = f"{job.name} failed: {exc}", False
                log.warning("scheduled job %s failed: %s", job.name, exc)
            self.done[job.name] = day
            ran.append(job.name)
            await self._engine.store.audit("schedule.done", {"job": job.name, "day": day,
                                                             "ok": ok, "summary": summary},
                                           "schedule")
            self._engine.bus.publish(ScheduledJobDone(ts=now, job=job.name, summary=summary,
                                                      ok=ok))
        return ran

    async def run(self, stop: asyncio.Event) -> None:
        """Look at the clock every `every` seconds until `stop` is set."""
        try:
            await self.load()
        except Exception as exc:  # noqa: BLE001 - an unreadable journal: run the jobs anyway
            log.warning("schedule could not read what ran today: %s", exc)
        while not stop.is_set():
            await self.tick(self._engine.clock.now())
            try:
                await asyncio.wait_for(stop.wait(), self.every)
            except TimeoutError:
                pass


def _at(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def engine_jobs(engine: Engine) -> list[Job]:
    """The pre-market check, the review and the daily report card, at the configured times."""
    settings = engine.settings.reports

    async def premarket(now: datetime) -> str:
        await engine.orders.refresh_account(now)
        sessions = engine.guard.sessions
        session = "no calendar" if sessions is None else sessions.status(now).label
        return (f"{session}; equity {engine.account.equity:,.2f}, "
                f"{len(engine.account.positions)} positions, state {engine.state.value}")

    async def review(now: datetime) -> str:
        from robo_tui.engine.review import run_daily_review, summarize

        return summarize(await run_daily_review(engine.store, now))

    async def report(now: datetime) -> str:
        from robo_tui.reports.account import build_account_report

        card = await build_account_report(engine.store, "daily", now,
                                           target=settings.daily_target,
                                           shadow_horizon_hours=settings.shadow_horizon_hours)
        data = card.to_dict()
        data.pop("equity")
        await engine.store.audit("report.daily", data, "schedule")
        return (f"P&L {card.pnl:+,.2f} ({card.return_pct * 100:+.2f} %), "
                f"{card.trades} closed trades, {card.hit_rate:.0%} won, "
                f"max drawdown {card.max_drawdown * 100:.2f} %")

    jobs = [Job("premarket", _at(settings.premarket_at), premarket),
            Job("review", _at(settings.review_at), review),
            Job("report", _at(settings.report_at), report)]
    rediscover = engine.rediscover
    if rediscover is not None:  # [universe.discovery] on: refresh the universe each morning

        async def universe(now: datetime) -> str:
            return (await engine.set_universe(await rediscover(now))).describe()

        jobs.insert(1, Job("universe", _at(settings.premarket_at), universe))
    return jobs
