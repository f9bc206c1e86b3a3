"""The learning layer: past ideas scored against what prices did next; the summary fed back."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.domain.market import BarArrays
from robo_tui.domain.news import EventType, TradeIdea
from robo_tui.domain.serialize import to_jsonable
from robo_tui.domain.signals import Direction
from robo_tui.domain.time import datetime_to_ns
from robo_tui.engine.review import performance_summary, run_daily_review

from .conftest import NOW

HOUR_NS = 3600 * 1_000_000_000


def hourly(symbol: str, start: float, end: float, days: int = 8) -> BarArrays:
    n = days * 24
    ts = datetime_to_ns(NOW) - np.arange(n, 0, -1, dtype=np.int64) * HOUR_NS
    close = np.linspace(start, end, n)
    return BarArrays(symbol, ts, close, close, close, close, np.ones(n))


async def record(store: SqliteStore, symbol: str, direction: Direction, score: float,
                 at: datetime, event_type: EventType = EventType.EARNINGS,
                 provider: str = "rules", model: str = "lexicon-v1",
                 horizon: str = "days") -> str:
    idea = TradeIdea(id="", ts=at, provider=provider, model=model, symbol=symbol,
                     direction=direction, score=score, confidence=0.6, horizon=horizon,
                     event_type=event_type, news_ids=("n1",), rationale="r")
    return await store.record_ai_decision({"ts": at, "provider": provider, "model": model,
                                           "symbol": symbol, "parsed": to_jsonable(idea)})


async def test_review_when_ideas_matured_then_hits_and_misses_are_counted_and_stored(
    store: SqliteStore,
) -> None:
    at = NOW - timedelta(days=5)
    good = await record(store, "AAPL", Direction.LONG, 0.6, at)
    bad = await record(store, "NVDA", Direction.SHORT, -0.5, at, EventType.ANALYST_RATING)
    await store.record_ai_decision({"ts": at, "provider": "rules", "model": "lexicon-v1",
                                    "symbol": "MSFT", "parsed": None,
                                    "abstain_reason": "signal too weak"})
    prices = {"AAPL": hourly("AAPL", 100, 120), "NVDA": hourly("NVDA", 100, 110)}
    review = await run_daily_review(store, NOW, prices)
    assert review["scored"] == 2 and review["hits"] == 1 and review["hit_rate"] == 0.5
    assert review["by_event_type"]["earnings"]["hits"] == 1
    assert review["by_event_type"]["analyst_rating"]["hits"] == 0
    assert review["by_model"]["rules/lexicon-v1"]["n"] == 2
    assert [w["id"] for w in review["worked"]] == [good]
    assert [f["id"] for f in review["failed"]] == [bad]
    assert review["worked"][0]["return"] > 0 > review["failed"][0]["return"]
    rows = await store.query("SELECT day FROM daily_reviews")
    assert [r["day"] for r in rows] == [NOW.date().isoformat()]
    summary = await performance_summary(store)
    assert "2 scored, 1 right (50%)" in summary
    assert "AAPL long on earnings" in summary and "NVDA short on analyst_rating" in summary


async def test_review_when_horizon_has_not_passed_then_idea_is_pending(store: SqliteStore) -> None:
    await record(store, "AAPL", Direction.LONG, 0.6, NOW - timedelta(hours=1))
    review = await run_daily_review(store, NOW, {"AAPL": hourly("AAPL", 100, 120)})
    assert review["scored"] == 0 and review["pending"] == 1
    assert "No past ideas" in review["summary"]


async def test_review_when_no_bars_are_given_then_market_snapshots_price_the_ideas(
    store: SqliteStore,
) -> None:
    at = NOW - timedelta(days=6)
    await record(store, "ETH-USD", Direction.SHORT, -0.7, at, EventType.SECURITY,
                 horizon="intraday")
    await store.record_market_snapshot(at, {"ETH-USD": 3000.0}, simulated=True)
    await store.record_market_snapshot(at + timedelta(hours=3), {"ETH-USD": 2800.0}, True)
    await store.record_market_snapshot(at + timedelta(hours=5), {"ETH-USD": 2700.0}, True)
    review = await run_daily_review(store, NOW)
    assert review["scored"] == 1 and review["hits"] == 1
    [worked] = review["worked"]
    assert worked["entry"] == 3000.0 and worked["exit"] == 2800.0  # the price at the horizon


async def test_review_when_prices_do_not_reach_the_horizon_then_idea_is_unpriced(
    store: SqliteStore,
) -> None:
    await record(store, "XOM", Direction.LONG, 0.4, NOW - timedelta(days=5))
    review = await run_daily_review(store, NOW, {"XOM": hourly("XOM", 100, 90, days=1)})
    assert review["scored"] == 0 and review["unpriced"] == 1


async def test_performance_summary_when_no_review_ran_then_empty(store: SqliteStore) -> None:
    assert await performance_summary(store) == ""
