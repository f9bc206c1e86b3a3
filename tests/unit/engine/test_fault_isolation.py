"""Fault isolation on real adapters and a wall clock: a news server that trickles its answer and
an Ollama-shaped server that never answers hold neither the cycle nor the protective exits nor
the kill switch, and the run stops in bounded time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from robo_tui.adapters.feeds.sim import SimulatedMarket
from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.config import Settings
from robo_tui.domain.commands import SubmitOrder
from robo_tui.domain.events import CycleCompleted, Event, OrderFilled, OrderSubmitted
from robo_tui.domain.market import Quote
from robo_tui.domain.orders import OrderIntent, OrderStatus, Side
from robo_tui.domain.risk import Mode, TradingState
from robo_tui.engine.clock import WallClock
from robo_tui.engine.engine import Engine
from robo_tui.wiring import build_engine
from tests.unit.news.slow_servers import SlowServer, slow_server

URGENT = "Nvidia to acquire rival in $40 billion record deal; shares soar 25%"


class CrashingFeed(SimulatedMarket):
    """The simulated market, whose AAPL quotes fall by half once `crash()` is called."""

    crashed_at: float | None = None

    def crash(self) -> None:
        self.crashed_at = time.monotonic()

    async def quotes(self, now: datetime) -> list[Quote]:
        quotes = await super().quotes(now)
        if self.crashed_at is None:
            return quotes
        return [replace(q, bid=q.bid / 2, ask=q.ask / 2, last=q.last / 2)
                if q.symbol == "AAPL" else q for q in quotes]


@pytest.fixture
def news() -> Iterator[SlowServer]:
    with slow_server(trickle=0.5) as server:
        yield server


@pytest.fixture
def model() -> Iterator[SlowServer]:
    with slow_server(trickle=None) as server:
        yield server


def hostile_settings(tmp_path: Path, news: SlowServer, model: SlowServer,
                     **engine: Any) -> Settings:
    feed = tmp_path / "desk.xml"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Desk</title>'
        f"<item><title>{URGENT}</title><link>https://desk.example.com/1</link>"
        "<pubDate>Mon, 05 Jan 2026 14:00:00 +0000</pubDate></item></channel></rss>",
        encoding="utf-8")
    data: dict[str, Any] = Settings().model_dump()
    data["engine"].update({"cycle_seconds": 0.3, **engine})
    data["feeds"]["quote_seconds"] = 0.05
    data["news"].update({"sample": False, "timeout_seconds": 1.0, "sources": [
        {"name": "trickle", "kind": "json", "url": news.url("/v2/everything"),
         "api_key": "k-1234567890"},
        {"name": "desk", "kind": "rss", "url": str(feed), "credibility": 0.9},
    ]})
    data["analysts"].update({"provider": "ollama", "ollama_host": model.url(),
                             "timeout_seconds": 600.0})
    return Settings.model_validate(data)


@dataclass
class Rig:
    engine: Engine
    feed: CrashingFeed
    events: list[Event]


@pytest.fixture
def mode() -> Mode:
    """Semi-auto: the strategies' proposals wait for a human, so only the test's orders trade."""
    return Mode.SEMI_AUTO


@pytest.fixture
async def rig(tmp_path: Path, news: SlowServer, model: SlowServer, mode: Mode) -> AsyncIterator[Rig]:
    pytest.importorskip("ollama")
    settings = hostile_settings(tmp_path, news, model, mode=mode.value)
    clock = WallClock()
    instruments = [i.to_instrument() for i in settings.universe.instruments]
    feed = CrashingFeed(instruments, seed=7, bar_seconds=60, clock=clock)
    engine = build_engine(settings, data_dir=tmp_path, clock=clock, feed=feed)
    events: list[Event] = []
    engine.bus.subscribe(events.append)
    await engine.start()
    try:
        yield Rig(engine, feed, events)
    finally:
        started = time.monotonic()
        await engine.stop()
        assert time.monotonic() - started < 15.0, "stopping must not wait on a stuck adapter"


async def until(check: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.02)
    return bool(check())


async def test_run_when_news_trickles_and_the_model_never_answers_then_cycles_and_a_stop_happen_on_time(
    rig: Rig, news: SlowServer, model: SlowServer,
) -> None:
    engine = rig.engine
    price = engine.prices["AAPL"]
    result = await engine.manual_order(OrderIntent(
        "AAPL", Side.BUY, 5, stop_loss=price * 0.9, take_profit=price * 1.5, confidence=0.9))
    assert result.sent
    stop = asyncio.Event()
    run = asyncio.create_task(engine.run(stop=stop))
    try:
        # the news job is stuck on the trickle, then on the model: cycles go on regardless
        assert await until(lambda: model.connections > 0, 10.0), "the model was never asked"
        cycles_before = engine.cycle
        await asyncio.sleep(1.5)
        assert engine.cycle - cycles_before >= 3, "cycles stalled behind a stuck model"
        rig.feed.crash()
        stopped = await until(lambda: any(
            isinstance(e, OrderFilled) and e.fill.reason == "stop_loss" for e in rig.events), 3.0)
        assert rig.feed.crashed_at is not None
        fills = [(e.fill.side.value, e.fill.quantity, e.fill.reason) for e in rig.events if isinstance(e, OrderFilled) and e.fill.symbol == "AAPL"]
        assert stopped, f"the stop-loss did not fire while the model was stuck: {fills}"
        assert news.connections > 0
    finally:
        stop.set()
        started = time.monotonic()
        await asyncio.wait_for(run, 5.0)
        assert time.monotonic() - started < 2.0, "the run must end promptly when asked"
    summaries = [e for e in rig.events if isinstance(e, CycleCompleted)]
    assert summaries and max(s.duration_ms for s in summaries) < 2000


@pytest.mark.parametrize("mode", [Mode.AUTO])  # the strategies would trade on their own
async def test_shell_halt_when_the_cycle_waits_on_a_stuck_model_then_the_next_order_is_not_sent(
    rig: Rig, model: SlowServer, tmp_path: Path,
) -> None:
    engine = rig.engine
    stop = asyncio.Event()
    run = asyncio.create_task(engine.run(stop=stop))
    try:
        assert await until(lambda: model.connections > 0, 10.0)
        shell = SqliteStore.for_data_dir(tmp_path)
        await shell.open()
        await shell.journal_command("halt", {"reason": "from the shell"}, "cli")
        await shell.close()
        halted_at = datetime.now(UTC)
        assert await until(lambda: engine.state is TradingState.HALTED, 1.0), \
            "the shell's halt waited for the stuck cycle"
        await asyncio.sleep(1.0)  # more cycles run, halted
    finally:
        stop.set()
        await asyncio.wait_for(run, 5.0)
    sent_after = [e for e in rig.events if isinstance(e, OrderSubmitted)
                  and e.ts > halted_at and e.ack.status is not OrderStatus.CANCELLED]
    assert sent_after == []
    assert engine.risk.halt_reason == "from the shell"


async def test_order_when_a_shell_halt_lands_between_verdict_and_send_then_it_never_reaches_the_broker(
    rig: Rig, tmp_path: Path,
) -> None:
    engine = rig.engine
    price = engine.prices["AAPL"]
    command = SubmitOrder(OrderIntent("AAPL", Side.BUY, 1, stop_loss=price * 0.9,
                                      take_profit=price * 1.5, confidence=0.9), "strategy")
    now = engine.clock.now()
    verdict = engine.orders.judge(command, engine.risk_context(now))
    assert verdict.allowed and engine.state is TradingState.ACTIVE
    shell = SqliteStore.for_data_dir(tmp_path)
    await shell.open()
    await shell.journal_command("halt", {"reason": "stop now"}, "cli")
    await shell.close()
    result = await engine.orders.execute(command, verdict, now)  # the verdict predates the halt
    assert result.ack is not None and result.ack.status is OrderStatus.CANCELLED
    assert "halted" in result.ack.message
    assert await engine.broker.poll_fills() == []
    assert engine.account.position_qty("AAPL") == 0
