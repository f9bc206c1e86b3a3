"""Backfill after a reconnect: a streaming feed's lost bars come from its history, in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from robo_tui.domain.market import Bar, BarArrays, Quote
from robo_tui.engine.backfill import Backfill, backfill_for

T0 = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
STEP = timedelta(minutes=1)


def bar(symbol: str, n: int) -> Bar:
    price = 100.0 + n
    return Bar(symbol, T0 + n * STEP, price, price + 1, price - 1, price, 1.0)


class StreamingVenue:
    """A streaming feed (the MarketFeed port) whose stream loses the bars of an outage while its
    history keeps every bar up to `now_bar`: what IB's keepUpToDate bars do on a reconnect."""

    name = "stream"
    simulated = False
    supports_streaming = True

    def __init__(self, symbols: list[str]) -> None:
        self.symbols = symbols
        self.now_bar = 0
        self.history_calls: list[tuple[str, int]] = []
        self.fail = False

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def history(self, symbol: str, bars: int) -> BarArrays:
        self.history_calls.append((symbol, bars))
        if self.fail:
            raise ConnectionError("history farm down")
        first = max(0, self.now_bar - bars + 1)
        return BarArrays.from_bars(symbol, [bar(symbol, n) for n in range(first, self.now_bar + 1)])

    async def next_bars(self, now: datetime) -> list[Bar]:
        return [bar(s, self.now_bar) for s in self.symbols]

    async def quotes(self, now: datetime) -> list[Quote]:
        return []


def backfill(max_bars: int = 100) -> Backfill:
    return Backfill(bar_seconds=60, max_bars=max_bars, order={"BTC-USD": 0, "ETH-USD": 1})


async def test_complete_when_reconnect_after_a_gap_then_missing_bars_come_first_in_order() -> None:
    feed = StreamingVenue(["BTC-USD", "ETH-USD"])
    fill = backfill()
    fill.seen_history(await feed.history("BTC-USD", 5))
    fill.seen_history(await feed.history("ETH-USD", 5))
    feed.now_bar = 5  # the outage: bars 1 to 4 never came over the stream
    feed.history_calls.clear()

    bars, problems = await fill.complete(feed, await feed.next_bars(T0))

    assert problems == []
    assert [(b.symbol, b.ts) for b in bars] == [
        (s, T0 + n * STEP) for n in range(1, 6) for s in ("BTC-USD", "ETH-USD")]
    assert fill.filled == 8
    assert feed.history_calls == [("BTC-USD", 5), ("ETH-USD", 5)]


async def test_complete_when_no_gap_then_bars_pass_through_without_a_history_call() -> None:
    feed = StreamingVenue(["BTC-USD"])
    fill = backfill()
    fill.seen_history(await feed.history("BTC-USD", 1))
    feed.history_calls.clear()
    for n in (1, 2, 3):
        feed.now_bar = n
        bars, _ = await fill.complete(feed, await feed.next_bars(T0))
        assert [b.ts for b in bars] == [T0 + n * STEP]
    assert feed.history_calls == []
    assert fill.filled == 0


async def test_complete_when_gap_longer_than_the_cap_then_newest_backfilled_and_gap_reported() -> None:
    feed = StreamingVenue(["BTC-USD"])
    fill = backfill(max_bars=3)
    fill.seen_history(await feed.history("BTC-USD", 1))
    feed.now_bar = 10  # 9 bars missed

    bars, problems = await fill.complete(feed, await feed.next_bars(T0))

    assert [b.ts for b in bars] == [T0 + n * STEP for n in (7, 8, 9, 10)]
    assert problems == [("BTC-USD: 9 bars missed after 2026-01-05T15:00:00+00:00; backfilled "
                         "the newest 3 (feeds.backfill_bars = 3)")]


async def test_complete_when_history_fails_then_live_bars_still_flow_and_the_failure_named() -> None:
    feed = StreamingVenue(["BTC-USD"])
    fill = backfill()
    fill.seen_history(await feed.history("BTC-USD", 1))
    feed.now_bar, feed.fail = 4, True

    bars, problems = await fill.complete(feed, await feed.next_bars(T0))

    assert [b.ts for b in bars] == [T0 + 4 * STEP]
    assert problems == [("backfill of BTC-USD after 2026-01-05T15:00:00+00:00 failed: "
                         "ConnectionError: history farm down")]


def test_backfill_for_when_simulated_or_replay_or_off_then_none_else_on() -> None:
    assert backfill_for("sim", bar_seconds=60, max_bars=10, symbols=["A"]) is None
    assert backfill_for("replay", bar_seconds=60, max_bars=10, symbols=["A"]) is None
    assert backfill_for("ccxt", bar_seconds=60, max_bars=0, symbols=["A"]) is None
    assert backfill_for("ccxt", bar_seconds=60, max_bars=10, symbols=["A"]) is not None
