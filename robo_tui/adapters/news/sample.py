"""The bundled sample feed: fictional headlines, plainly marked SAMPLE DATA, for the offline default.

Its dates are shifted so the newest item is a few minutes old when first fetched, keeping the
spacing between items, so the demo always looks like the last few days of news. Every item
carries `sample=True`. Each session (each source object, so each start of the program) replays
it under ids of its own: a data directory that kept the last session's items still gets the
sample news again, instead of a demo that goes quiet after its first run. Within a session it
is read once; `rewind()` makes the next fetch read it again (under the same ids, so the
pipeline's deduplication knows them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from importlib import resources
from uuid import uuid4

from robo_tui.adapters.news.rss import parse_feed
from robo_tui.domain.news import NewsItem, SourceHealth

SAMPLE_RESOURCE = "data/sample_news.xml"
"""Where the sample feed lives inside the robo_tui package."""
NEWEST_AGE = timedelta(minutes=2)
"""Age of the newest sample item when the feed is loaded."""


def load_sample_items(now: datetime) -> list[NewsItem]:
    """The sample feed's items, re-dated so the newest was published `NEWEST_AGE` before `now`."""
    content = resources.files("robo_tui").joinpath(SAMPLE_RESOURCE).read_bytes()
    items = parse_feed(content, source="sample", now=now, sample=True)
    if not items:
        return []
    shift = (now - NEWEST_AGE) - max(i.published for i in items)
    return [replace(i, published=min(now, i.published + shift)) for i in items]


class SampleNewsSource:
    """A `NewsSource` over the bundled sample feed (`sample=True` items, read once)."""

    poll_once = True
    """The stage fetches it once, then only when asked (`rewind`)."""

    def __init__(self, now_provider: Callable[[], datetime] | None = None, *,
                 name: str = "sample", credibility: float = 0.8,
                 session: str | None = None) -> None:
        self.name = name
        self.credibility = credibility
        self.health = SourceHealth()
        self.session = session or uuid4().hex[:12]
        """Suffix of this session's item ids (random unless given): each session's replay is
        new to the store."""
        self._now_provider = now_provider
        self._done = False

    async def fetch(self, now: datetime) -> list[NewsItem]:
        """All sample items the first time (dated relative to now, ids of this session), then []."""
        if self._done:
            return []
        anchor = self._now_provider() if self._now_provider is not None else now
        items = await asyncio.to_thread(load_sample_items, anchor)
        source = self.name
        items = [replace(i, id=f"{i.id}~{self.session}", source=source) for i in items]
        self._done = True
        self.health = SourceHealth(healthy=True, message=f"{len(items)} sample item(s)",
                                   last_ok=now)
        return items

    def rewind(self) -> None:
        """Let the next fetch return the sample items again (already-seen ones are deduplicated)."""
        self._done = False

    async def close(self) -> None:
        """Nothing to release."""
