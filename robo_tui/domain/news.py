"""News items, classified market events and analyst trade ideas."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from robo_tui.domain.frozen import frozen
from robo_tui.domain.signals import Direction


class EventType(StrEnum):
    """What kind of market event a news item describes."""

    EARNINGS = "earnings"
    GUIDANCE = "guidance"
    MERGER = "m&a"
    MACRO = "macro"
    REGULATORY = "regulatory"
    ANALYST_RATING = "analyst_rating"
    PRODUCT = "product"
    SECURITY = "security"
    LISTING = "listing"
    OTHER = "other"


@frozen
class NewsItem:
    """One headline (and summary) from a news source; text is untrusted external data."""

    id: str
    source: str
    title: str
    summary: str
    link: str
    published: datetime
    seen: datetime
    symbols: tuple[str, ...] = ()
    sample: bool = False  # bundled sample data, not real news


@frozen
class MarketEvent:
    """A classified news item: its type, affected symbols and impact score in [0, 1]."""

    item: NewsItem
    event_type: EventType
    symbols: tuple[str, ...]
    impact: float
    sentiment: float  # [-1, 1]
    freshness: float  # [0, 1]


@frozen
class TradeIdea:
    """An analyst's validated opinion. It never carries a size, a mode or a limit."""

    id: str
    ts: datetime
    provider: str
    model: str
    symbol: str
    direction: Direction
    score: float
    confidence: float
    horizon: str
    event_type: EventType
    news_ids: tuple[str, ...]
    rationale: str
    latency_ms: float = 0.0


@frozen
class SourceHealth:
    """How a news source is doing; the stage publishes `SourceHealthChanged` when `healthy` flips."""

    healthy: bool = True
    message: str = ""
    failures: int = 0
    last_ok: datetime | None = None
    retry_at: datetime | None = None
