"""Market data feeds: the simulated market (embedded default) and OHLCV replay.

`build_feed` imports only the adapter that the config names.
"""

from __future__ import annotations

from collections.abc import Sequence

from robo_tui.config import FeedSettings
from robo_tui.domain.market import Instrument
from robo_tui.ports import Clock, MarketFeed


def build_feed(
    settings: FeedSettings, instruments: Sequence[Instrument], clock: Clock,
    *, warmup_bars: int = 300,
) -> MarketFeed:
    """The feed the config names, for `instruments`, on `clock`.

    sim: the seeded `SimulatedMarket`. replay: `ReplayFeed` over `settings.replay_path` with the
    first `warmup_bars` bars of each symbol as history (drive it with a SimClock; with the wall
    clock every later bar is already in the past). Raises `DataError` for unusable files.
    """
    if settings.kind == "sim":
        from robo_tui.adapters.feeds.sim import SimulatedMarket

        return SimulatedMarket(
            instruments, seed=settings.seed, bar_seconds=settings.bar_seconds, clock=clock
        )
    from robo_tui.adapters.feeds.replay import DataError, ReplayFeed, load_ohlcv

    if settings.replay_path is None:
        raise DataError("feeds.replay_path: required when feeds.kind = \"replay\"")
    data = load_ohlcv(settings.replay_path, [i.symbol for i in instruments])
    return ReplayFeed(data, clock, start_index=warmup_bars)


__all__ = ["build_feed"]
