"""Console test helpers: a real engine (simulated market, paper broker, SQLite in tmp_path, the
bundled sample news and the `rules` analyst) on a SimClock fixed at 2026-01-05 14:30 UTC, wrapped
in the real `RoboApp`.

`seed_book` writes a deterministic trading day into the store before the engine starts (fills →
positions, pending proposals with fixed ids): the engine restores it at `start()` exactly as after
a restart, so snapshot tests show the same screen every time without touching robo_tui code.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from textual.app import App
from textual.pilot import Pilot

from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.config import Settings
from robo_tui.console import StoredRuns
from robo_tui.domain.events import Event
from robo_tui.domain.orders import Fill, Side
from robo_tui.domain.risk import Mode, RiskReason, RiskVerdict, TradingState
from robo_tui.domain.signals import Proposal, Signal
from robo_tui.engine.clock import SimClock
from robo_tui.engine.engine import Engine
from robo_tui.ports import Store
from robo_tui.ui.app import RoboApp
from robo_tui.wiring import build_engine, with_overrides

START = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)


def settings_for(mode: Mode = Mode.SEMI_AUTO, **sections: dict[str, Any]) -> Settings:
    """Default settings in `mode`, with section overrides."""
    data: dict[str, Any] = with_overrides(Settings(), mode=mode).model_dump()
    for name, values in sections.items():
        data[name].update(values)
    return Settings.model_validate(data)


def make_engine(data_dir: Path, *, mode: Mode = Mode.SEMI_AUTO, settings: Settings | None = None,
                store: Store | None = None, clock: SimClock | None = None) -> Engine:
    """The engine `robo-tui` builds, on a SimClock and a store in `data_dir`."""
    return build_engine(settings or settings_for(mode), data_dir=data_dir,
                        clock=clock or SimClock(START), store=store)


def make_app(engine: Engine, *, cycles: int | None = 1, theme: str | None = "robo-dark",
             ui_state: Path | None = None) -> RoboApp:
    """The real console around `engine` (one cycle by default, then it waits for the trader)."""
    return RoboApp(engine, theme=theme, settings_path_for_ui_state=ui_state, cycles=cycles,
                   runs=StoredRuns(engine.store))


async def wait_until(pilot: Pilot[Any], predicate: Callable[[], bool], *, timeout: float = 10.0,
                     what: str = "condition") -> None:
    """Let the app run until `predicate()` holds (fails the test after `timeout` seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def wait_async(pilot: Pilot[Any], predicate: Callable[[], Awaitable[bool]], *,
                     timeout: float = 10.0, what: str = "condition") -> None:
    """`wait_until` for an async predicate (a database query)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def started(pilot: Pilot[Any]) -> RoboApp:
    """Wait until the app's engine has started and the first batch of events reached the feed."""
    app = pilot.app
    assert isinstance(app, RoboApp)
    await asyncio.wait_for(app.engine_started.wait(), 20)
    await pilot.pause(0.15)
    return app


async def cycle_done(pilot: Pilot[Any], cycles: int = 1) -> RoboApp:
    """Wait until the engine has run `cycles` cycles and the panes show them."""
    app = await started(pilot)
    assert app.engine is not None
    engine = app.engine
    await wait_until(pilot, lambda: engine.cycle >= cycles and engine.last_cycle is not None,
                     what=f"{cycles} engine cycle(s)")
    await pilot.pause(0.35)  # the event flush (10 Hz) and the pane refresh (4 Hz)
    return app


def screen_text(app: App[Any]) -> str:
    """The characters on the current screen, one line per row (what the trader reads)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def rows(store: Store, sql: str, *params: Any) -> list[dict[str, Any]]:
    """Rows of a query on the engine's own store."""
    return await store.query(sql, params)


# --------------------------------------------------------------------------- a deterministic day

def _vote(voter: str, symbol: str, score: float, reason: str) -> Signal:
    return Signal(voter, symbol, score, abs(score), reason, START, "strategy")


SEED_PROPOSALS = (
    Proposal(
        "P-00000001", START, "NVDA", Side.BUY, 40, 150.0, 141.5, 167.0, 0.72,
        "ensemble +0.62 → long; sma_cross +1.00: fast SMA crossed above slow; "
        "analyst:rules +0.45: Nvidia raises guidance on data-centre demand",
        (_vote("sma_cross", "NVDA", 1.0, "fast SMA 10 crossed above slow SMA 20"),
         _vote("breakout", "NVDA", 0.5, "close above the 20-bar high"),
         _vote("analyst:rules", "NVDA", 0.45, "bullish guidance headline")),
        expires_at=START + timedelta(minutes=5),
    ),
    Proposal(
        "P-00000002", START, "XOM", Side.SELL, 30, 110.0, None, None, 0.55,
        "ensemble -0.41 → flat; mean_reversion -0.80: price 2.1 sd above its mean",
        (_vote("mean_reversion", "XOM", -0.8, "price 2.1 sd above the 20-bar mean"),),
        reduce_only=True, expires_at=START + timedelta(minutes=3),
    ),
)

SEED_FILLS = (
    Fill("F-00000001", "O-00000001", "AAPL", Side.BUY, 40, 150.0, 1.0, START - timedelta(days=1)),
    Fill("F-00000002", "O-00000002", "XOM", Side.BUY, 30, 120.0, 1.0, START - timedelta(days=1)),
    Fill("F-00000003", "O-00000003", "BTC-USD", Side.BUY, 0.1, 50_000.0, 2.5,
         START - timedelta(hours=3)),
)


async def seed_book(data_dir: Path) -> None:
    """Positions (from fills, with stops and targets) and two pending proposals, before start."""
    store = SqliteStore.for_data_dir(data_dir)
    await store.open()
    try:
        for fill in SEED_FILLS:
            await store.record_fill(fill)
        protections = {"AAPL": [135.0, 180.0], "XOM": [110.0, 140.0], "BTC-USD": [46_000.0, None]}
        await store.set_control("protections", json.dumps(protections, sort_keys=True), "test")
        allowed = RiskVerdict(True, TradingState.ACTIVE, checked=("max_position_pct",))
        denied = RiskVerdict(False, TradingState.ACTIVE, (
            RiskReason("max_position_pct", "position would be 12.0% of equity (limit 10.0%)"),))
        for proposal, precheck in zip(SEED_PROPOSALS, (allowed, denied), strict=True):
            await store.record_proposal(proposal, precheck)
    finally:
        await store.close()


def feed_events() -> list[Event]:
    """A fixed set of feed entries, one of each important kind."""
    from robo_tui.domain.commands import SubmitOrder
    from robo_tui.domain.events import (
        IdeaGenerated,
        NewsReceived,
        OrderDenied,
        StrategyChanged,
    )
    from robo_tui.domain.news import EventType, NewsItem, TradeIdea
    from robo_tui.domain.orders import OrderIntent
    from robo_tui.domain.signals import Direction

    news = NewsItem("N-1", "sample", "Nvidia raises guidance on data-centre demand",
                    "Guidance above consensus.", "https://example.invalid/nvda", START, START,
                    ("NVDA",), sample=True)
    idea = TradeIdea("I-1", START, "rules", "lexicon-v1", "NVDA", Direction.LONG, 0.45, 0.6,
                     "days", EventType.GUIDANCE, ("N-1",), "Bullish guidance headline.", 3.0)
    intent = OrderIntent("TSLA", Side.BUY, 10, reason="manual")
    verdict = RiskVerdict(False, TradingState.ACTIVE, (
        RiskReason("unknown_symbol", "TSLA is not in the universe"),
        RiskReason("missing_stop", "entries must carry a stop-loss and a take-profit")))
    return [
        NewsReceived(ts=START, item=news),
        IdeaGenerated(ts=START, idea=idea, decision_id="I-1"),
        OrderDenied(ts=START, command=SubmitOrder(intent, "ui"), verdict=verdict),
        StrategyChanged(ts=START, name="breakout", enabled=True, weight=1.0, by="ui"),
    ]
