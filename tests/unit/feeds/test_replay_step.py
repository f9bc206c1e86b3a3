"""A replayed market under the wall clock moves one recorded bar per engine cycle."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from robo_tui.adapters.feeds.replay import ReplayFeed
from robo_tui.domain.market import BarArrays
from robo_tui.engine.clock import WallClock


def arrays(symbol: str, n: int) -> BarArrays:
    ts = (np.arange(n, dtype=np.int64) + 20_000) * 86_400 * 1_000_000_000
    close = np.linspace(100.0, 110.0, n)
    return BarArrays(symbol, ts, close, close + 1, close - 1, close, np.ones(n))


async def test_step_replay_when_cycles_run_then_one_timestamp_per_call_after_the_history():
    feed = ReplayFeed({"AAA": arrays("AAA", 10), "BBB": arrays("BBB", 10)}, WallClock(),
                      start_index=4, step=True)
    assert len(await feed.history("AAA", 100)) == 4
    now = datetime.now(UTC)  # decades after the recorded bars: a clock-paced feed would flush all
    first = await feed.next_bars(now)
    assert [b.symbol for b in first] == ["AAA", "BBB"] and first[0].ts == first[1].ts
    second = await feed.next_bars(now)
    assert second[0].ts > first[0].ts
    for _ in range(10):
        await feed.next_bars(now)
    assert feed.exhausted and await feed.next_bars(now) == []
