"""Deduplication, classification, sentiment, impact and freshness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from robo_tui.domain.news import EventType
from robo_tui.domain.text import canonical_url, news_id
from robo_tui.engine.news import (
    Deduplicator,
    classify,
    freshness,
    impact,
    sentiment,
    title_similarity,
    title_tokens,
)

NOW = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)


def test_canonical_url_when_link_has_tracking_params_then_they_are_dropped() -> None:
    a = canonical_url("HTTPS://www.News.example.com:443/a/story/?utm_source=rss&id=7&fbclid=x#top")
    b = canonical_url("https://news.example.com/a/story?id=7")
    assert a == b == "https://news.example.com/a/story?id=7"


def test_news_id_when_links_differ_only_in_tracking_then_ids_are_equal() -> None:
    assert news_id("a", "https://x.example.com/s?utm_medium=feed") == news_id(
        "b", "https://x.example.com/s")
    assert news_id("a", "", guid="g1") != news_id("b", "", guid="g1")


def test_title_similarity_when_headline_is_reworded_slightly_then_it_is_a_duplicate() -> None:
    a = title_tokens("Apple beats Q4 estimates, shares rise")
    b = title_tokens("Apple Beats Q4 Estimates; Shares Rise 3%")
    c = title_tokens("Apple misses Q4 estimates, shares fall")
    assert title_similarity(a, b) >= 0.6
    assert title_similarity(a, c) < 0.6


def test_dedup_when_same_story_arrives_again_then_it_is_found_and_other_stories_are_not() -> None:
    dedup = Deduplicator(similarity=0.6, window_hours=48)
    first = title_tokens("Microsoft to acquire cybersecurity firm for $16 billion")
    story = dedup.add("id1", "https://a.example.com/1", first, NOW, "wire")
    assert dedup.find("id1", "", frozenset(), NOW) is story  # same id
    assert dedup.find("id2", "https://a.example.com/1?utm_source=x", frozenset(), NOW) is story
    again = title_tokens("Microsoft to acquire cybersecurity firm for $16B, sources say")
    assert dedup.find("id3", "https://b.example.com/9", again, NOW) is story
    other = title_tokens("Microsoft cuts 10,000 jobs in cost-saving push")
    assert dedup.find("id4", "https://c.example.com/2", other, NOW) is None


def test_dedup_when_similar_headline_is_outside_the_window_then_it_is_new() -> None:
    dedup = Deduplicator(similarity=0.6, window_hours=24)
    tokens = title_tokens("Fed holds rates steady")
    dedup.add("id1", "", tokens, NOW - timedelta(days=3), "wire")
    assert dedup.find("id2", "", tokens, NOW) is None


def test_dedup_when_capacity_is_reached_then_oldest_stories_are_forgotten() -> None:
    dedup = Deduplicator(capacity=2)
    for i in range(3):
        dedup.add(f"id{i}", f"https://x.example.com/{i}", title_tokens(f"story number {i} alpha"),
                  NOW, "wire")
    assert len(dedup) == 2
    assert dedup.find("id0", "https://x.example.com/0", frozenset(), NOW) is None


@pytest.mark.parametrize(
    ("headline", "event_type"),
    [
        ("Apple beats fourth-quarter estimates as iPhone revenue jumps", EventType.EARNINGS),
        ("Amazon misses revenue estimates; EPS in line", EventType.EARNINGS),
        ("ExxonMobil lowers full-year production outlook", EventType.GUIDANCE),
        ("Nvidia raises annual forecast on AI demand", EventType.GUIDANCE),
        ("Microsoft to acquire cybersecurity firm in all-cash deal", EventType.MERGER),
        ("Exxon Mobil agrees to buy shale producer", EventType.MERGER),
        ("Fed holds rates steady; Powell signals December cut", EventType.MACRO),
        ("US consumer prices rise 0.4% as CPI runs hot", EventType.MACRO),
        ("Nonfarm payrolls beat; unemployment rate falls", EventType.MACRO),
        ("FTC sues Amazon over Prime cancellations", EventType.REGULATORY),
        ("SEC approves options on spot bitcoin ETFs", EventType.REGULATORY),
        ("Morgan Stanley upgrades Nvidia to overweight", EventType.ANALYST_RATING),
        ("JPMorgan downgraded to neutral; price target cut", EventType.ANALYST_RATING),
        ("Apple unveils iPhone 17 at fall event", EventType.PRODUCT),
        ("Ethereum developers set date for next network upgrade", EventType.PRODUCT),
        ("Hackers drain $150 million from bridge in exploit", EventType.SECURITY),
        ("Crypto exchange hacked; funds stolen", EventType.SECURITY),
        ("Coinbase to list staked Ether token", EventType.LISTING),
        ("Exchange to delist BTC margin pairs", EventType.LISTING),
        ("Bitcoin slides as traders take profit", EventType.OTHER),
    ],
)
def test_classify_when_headline_describes_an_event_then_its_type(headline: str,
                                                               event_type: EventType) -> None:
    assert classify(headline) is event_type


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("Apple beats estimates", 1),
        ("Apple misses estimates", -1),
        ("Nvidia fails to beat estimates", -1),
        ("Nvidia did not miss estimates", 1),
        ("Exxon cuts guidance", -1),
        ("Fed cuts rates", 1),
        ("Broker upgrades Microsoft", 1),
        ("Broker downgrades Microsoft", -1),
        ("Hackers exploit bridge; funds drained", -1),
        ("Exchange delisting announced", -1),
        ("Coinbase listing approved", 1),
        ("FTC lawsuit against Amazon", -1),
        ("Treasury yields jump", -1),
        ("Jobless claims fall", 1),
        ("Company holds annual meeting", 0),
    ],
)
def test_sentiment_when_finance_text_then_its_sign(text: str, sign: int) -> None:
    value = sentiment(text)
    assert -1.0 <= value <= 1.0
    if sign == 0:
        assert value == 0.0
    else:
        assert value * sign > 0.1


def test_sentiment_when_intensified_then_stronger() -> None:
    assert sentiment("shares plunge sharply") < sentiment("shares plunge") < 0


def _impact(event_type: EventType = EventType.EARNINGS, text: str = "Apple beats estimates",
            credibility: float = 0.8, age_hours: float = 0.0, sources: int = 1) -> float:
    fresh = freshness(NOW - timedelta(hours=age_hours), NOW, half_life_hours=6.0)
    return impact(event_type, text, sentiment_score=sentiment(text), credibility=credibility,
                  fresh=fresh, sources=sources)


def test_impact_when_factors_change_then_it_orders_as_a_trader_would() -> None:
    base = _impact()
    assert _impact(age_hours=12) < base  # older
    assert _impact(credibility=0.2) < base  # weaker source
    assert _impact(sources=3) > base  # more sources report it
    assert _impact(text="Apple beats estimates, record quarter, shares soar 12%") > base
    assert _impact(EventType.PRODUCT, "Apple unveils new case colours") < base
    assert _impact(EventType.OTHER, "Apple holds annual meeting") < _impact(
        EventType.PRODUCT, "Apple unveils new case colours")
    big = _impact(EventType.MERGER, "Microsoft to acquire rival for $60 billion, a 40% premium",
                  credibility=1.0, sources=4)
    assert 0.0 <= base < big <= 1.0


def test_freshness_when_one_half_life_passes_then_it_halves_and_future_is_capped() -> None:
    assert freshness(NOW, NOW, 6.0) == 1.0
    assert freshness(NOW - timedelta(hours=6), NOW, 6.0) == pytest.approx(0.5)
    assert freshness(NOW + timedelta(hours=1), NOW, 6.0) == 1.0
