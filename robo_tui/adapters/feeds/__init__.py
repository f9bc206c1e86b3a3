"""Market data feeds: the simulated market (the embedded default) and OHLCV replay.

The builders below are what the `FEEDS` registry (`robo_tui.registries.feeds`) names; each imports
its adapter module inside the call, so choosing one never loads the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from robo_tui.config import Settings
    from robo_tui.ports import Clock, MarketFeed


def build_sim(settings: Settings, clock: Clock) -> MarketFeed:
    """The seeded simulated market over the configured universe."""
    from robo_tui.adapters.feeds.sim import SimulatedMarket
    from robo_tui.domain.sessions import MarketSessions

    instruments = [i.to_instrument() for i in settings.universe.instruments]
    s = settings.sessions
    sessions = MarketSessions(s.calendar) if s.enabled else None
    return SimulatedMarket(instruments, seed=settings.feeds.seed,
                           bar_seconds=settings.feeds.bar_seconds, clock=clock, sessions=sessions)


def build_replay(settings: Settings, clock: Clock) -> MarketFeed:
    """Recorded bars from `feeds.replay_path`; ValueError when no path is configured."""
    from robo_tui.adapters.feeds.replay import ReplayFeed, load_ohlcv

    if settings.feeds.replay_path is None:
        raise ValueError("feeds.kind = 'replay' needs feeds.replay_path")
    data = load_ohlcv(settings.feeds.replay_path, settings.universe.symbols)
    # history is the first warm-up bars; each cycle then replays the next recorded bar
    return ReplayFeed(data, clock, start_index=settings.engine.warmup_bars, step=True)
