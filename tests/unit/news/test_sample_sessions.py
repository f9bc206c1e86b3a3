"""The bundled sample news replays in every session (a demo that only has news on its first run
in a data directory is not a demo), still marked sample, dated from the session's start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from robo_tui.adapters.news.sample import SampleNewsSource
from robo_tui.adapters.store.sqlite import SqliteStore

NOW = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)


async def stored(store: SqliteStore, source: SampleNewsSource, now: datetime) -> int:
    return sum([await store.record_news(item) for item in await source.fetch(now)])


async def test_sample_news_when_a_second_session_uses_the_same_store_then_it_is_new_again(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "robo.db")
    await store.open()
    try:
        first = await stored(store, SampleNewsSource(lambda: NOW), NOW)
        later = NOW + timedelta(days=1)
        second_source = SampleNewsSource(lambda: later)
        items = await second_source.fetch(later)
        second = sum([await store.record_news(item) for item in items])
    finally:
        await store.close()
    assert first >= 40
    assert second == first
    assert all(i.sample and "SAMPLE DATA" in i.summary for i in items)
    assert max(i.published for i in items) == later - timedelta(minutes=2)


async def test_sample_news_when_rewound_in_the_same_session_then_the_ids_are_the_same(
) -> None:
    source = SampleNewsSource(lambda: NOW)
    first = await source.fetch(NOW)
    source.rewind()
    again = await source.fetch(NOW)
    assert [i.id for i in again] == [i.id for i in first]
    assert {i.id for i in first}.isdisjoint({i.id for i in await SampleNewsSource(
        lambda: NOW).fetch(NOW)})
