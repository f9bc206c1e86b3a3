"""News sources against a local HTTP server that really sends ETag/Last-Modified and 304s."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from robo_tui.adapters.news import Backoff, build_sources
from robo_tui.adapters.news.json_api import JsonNewsSource
from robo_tui.adapters.news.rss import RssSource
from robo_tui.adapters.news.sample import SampleNewsSource, load_sample_items
from robo_tui.config import NewsSourceSettings, Settings

from .feeds import FeedServer, feed_server, rss

NOW = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
DATE = "Mon, 05 Jan 2026 14:00:00 +0000"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as s:
        yield s


async def test_rss_fetch_when_feed_unchanged_then_conditional_get_gets_304_and_no_items(
    server: FeedServer,
) -> None:
    server.put("/feed.xml", rss(("Apple beats estimates", "https://n.example.com/a", DATE)))
    source = RssSource("wire", server.url("/feed.xml"), credibility=0.8)
    try:
        first = await source.fetch(NOW)
        second = await source.fetch(NOW + timedelta(seconds=60))
    finally:
        await source.close()
    assert [i.title for i in first] == ["Apple beats estimates"]
    assert second == []
    assert [r.status for r in server.requests] == [200, 304]
    sent = server.requests[1].headers
    assert sent["if-none-match"] == server.docs["/feed.xml"].etag
    assert "if-modified-since" in sent
    assert source.health.healthy


async def test_rss_fetch_when_feed_changes_then_new_body_is_parsed(server: FeedServer) -> None:
    server.put("/feed.xml", rss(("First story", "https://n.example.com/1", DATE)))
    source = RssSource("wire", server.url("/feed.xml"), credibility=0.8)
    try:
        await source.fetch(NOW)
        server.put("/feed.xml", rss(("First story", "https://n.example.com/1", DATE),
                                    ("Second story", "https://n.example.com/2", DATE)))
        items = await source.fetch(NOW + timedelta(seconds=60))
    finally:
        await source.close()
    assert {i.title for i in items} == {"First story", "Second story"}
    assert [r.status for r in server.requests] == [200, 200]


async def test_rss_fetch_when_server_only_knows_last_modified_then_it_answers_304(
    server: FeedServer,
) -> None:
    modified = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    server.put("/feed.xml", rss(("Story", "https://n.example.com/1", DATE)), modified=modified)
    source = RssSource("wire", server.url("/feed.xml"), credibility=0.5)
    try:
        await source.fetch(NOW)
        assert source._http is not None
        source._http.etag = None  # a server without ETags: only the date validates
        again = await source.fetch(NOW + timedelta(seconds=60))
    finally:
        await source.close()
    assert again == []
    assert server.requests[-1].status == 304
    assert "if-none-match" not in server.requests[-1].headers


async def test_rss_fetch_when_server_fails_then_unhealthy_backs_off_and_recovers(
    server: FeedServer,
) -> None:
    server.put("/feed.xml", b"", fail=503)
    source = RssSource("wire", server.url("/feed.xml"), credibility=0.5)
    try:
        assert await source.fetch(NOW) == []
        assert not source.health.healthy
        assert "503" in source.health.message
        assert source.health.retry_at == NOW + timedelta(seconds=5)
        # while backing off, no request is made
        assert await source.fetch(NOW + timedelta(seconds=1)) == []
        assert len(server.requests) == 1
        # the second failure waits twice as long
        await source.fetch(NOW + timedelta(seconds=6))
        assert source.health.retry_at == NOW + timedelta(seconds=16)
        server.put("/feed.xml", rss(("Back", "https://n.example.com/b", DATE)))
        items = await source.fetch(NOW + timedelta(seconds=20))
    finally:
        await source.close()
    assert [i.title for i in items] == ["Back"]
    assert source.health.healthy and source.health.failures == 0


async def test_rss_fetch_when_server_sends_retry_after_then_waits_at_least_that(
    server: FeedServer,
) -> None:
    server.put("/feed.xml", b"", fail=429, headers={"Retry-After": "120"})
    source = RssSource("wire", server.url("/feed.xml"), credibility=0.5)
    try:
        await source.fetch(NOW)
    finally:
        await source.close()
    assert source.health.retry_at == NOW + timedelta(seconds=120)


def test_backoff_when_failures_repeat_then_wait_doubles_up_to_the_cap() -> None:
    backoff = Backoff(base_seconds=5, cap_seconds=60)
    waits = [(backoff.failed(NOW) - NOW).total_seconds() for _ in range(6)]
    assert waits == [5, 10, 20, 40, 60, 60]
    backoff.succeeded()
    assert backoff.ready(NOW)


async def test_rss_fetch_when_answer_is_not_a_feed_then_unhealthy(server: FeedServer) -> None:
    server.put("/feed.xml", b"<html><body>Sign in</body></html>", content_type="text/html")
    source = RssSource("wire", server.url("/feed.xml"), credibility=0.5)
    try:
        assert await source.fetch(NOW) == []
    finally:
        await source.close()
    assert not source.health.healthy


async def test_rss_fetch_when_client_is_given_then_it_is_used_and_left_open(
    server: FeedServer,
) -> None:
    server.put("/feed.xml", rss(("Story", "https://n.example.com/1", DATE)))
    async with httpx.AsyncClient() as client:
        source = RssSource("wire", server.url("/feed.xml"), credibility=0.5, client=client)
        items = await source.fetch(NOW)
        await source.close()
        assert not client.is_closed
    assert len(items) == 1


async def test_rss_items_when_feed_has_hostile_fields_then_links_and_dates_are_made_safe(
    server: FeedServer,
) -> None:
    future = "Mon, 05 Jan 2099 14:00:00 +0000"
    server.put("/feed.xml", rss(("Story", "javascript:alert(1)", future)))
    source = RssSource("wire", server.url("/feed.xml"), credibility=0.5)
    try:
        [item] = await source.fetch(NOW)
    finally:
        await source.close()
    assert item.link == ""
    assert item.published == NOW  # a feed cannot date its news in the future


async def test_rss_file_when_unchanged_then_not_reread_and_when_changed_then_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(rss(("One", "https://n.example.com/1", DATE)))
    source = RssSource("file", str(path), credibility=0.5)
    assert [i.title for i in await source.fetch(NOW)] == ["One"]
    assert await source.fetch(NOW) == []
    path.write_bytes(rss(("One", "https://n.example.com/1", DATE),
                         ("Two", "https://n.example.com/2", DATE)))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    assert {i.title for i in await source.fetch(NOW)} == {"One", "Two"}


async def test_rss_file_when_missing_then_unhealthy_with_the_path(tmp_path: Path) -> None:
    source = RssSource("file", f"file://{tmp_path}/none.xml", credibility=0.5)
    assert await source.fetch(NOW) == []
    assert not source.health.healthy
    assert "none.xml" in source.health.message


def test_rss_source_when_scheme_is_unsupported_then_value_error() -> None:
    with pytest.raises(ValueError, match="unsupported URL scheme 'ftp'"):
        RssSource("x", "ftp://example.com/feed", credibility=0.5)


def _articles(*titles: str) -> bytes:
    return json.dumps({"status": "ok", "totalResults": len(titles), "articles": [
        {"title": t, "description": f"{t} in detail", "url": f"https://api-news.example.com/{i}",
         "publishedAt": "2026-01-05T14:00:00Z", "source": {"id": None, "name": "Wire"}}
        for i, t in enumerate(titles)
    ]}).encode()


async def test_json_source_when_polled_then_key_goes_in_header_only_and_304_is_honoured(
    server: FeedServer,
) -> None:
    server.put("/v2/everything", _articles("Nvidia upgraded"), content_type="application/json")
    source = JsonNewsSource("api", server.url("/v2/everything?q=nvidia"), credibility=0.9,
                            api_key="k-123456789-secret")
    try:
        items = await source.fetch(NOW)
        again = await source.fetch(NOW + timedelta(seconds=60))
    finally:
        await source.close()
    assert [i.title for i in items] == ["Nvidia upgraded"]
    assert items[0].published == datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
    assert again == []
    assert server.requests[0].headers["x-api-key"] == "k-123456789-secret"
    assert all("secret" not in r.path for r in server.requests)
    assert "secret" not in repr(source)


async def test_json_source_when_api_answers_an_error_then_unhealthy_without_the_key(
    server: FeedServer,
) -> None:
    body = json.dumps({"status": "error", "code": "apiKeyInvalid",
                       "message": "Your API key k-123456789-secret is invalid"}).encode()
    server.put("/v2/everything", body, content_type="application/json")
    source = JsonNewsSource("api", server.url("/v2/everything"), credibility=0.9,
                            api_key="k-123456789-secret")
    try:
        assert await source.fetch(NOW) == []
    finally:
        await source.close()
    assert not source.health.healthy
    assert "apiKeyInvalid" in source.health.message
    assert "k-123456789-secret" not in source.health.message


async def test_json_source_when_answer_is_garbage_then_unhealthy(server: FeedServer) -> None:
    server.put("/v2/everything", b"{not json", content_type="application/json")
    source = JsonNewsSource("api", server.url("/v2/everything"), credibility=0.9)
    try:
        assert await source.fetch(NOW) == []
    finally:
        await source.close()
    assert "not a news API answer" in source.health.message


async def test_sample_source_when_fetched_then_marked_sample_and_dated_up_to_now() -> None:
    source = SampleNewsSource(lambda: NOW)
    items = await source.fetch(NOW)
    assert len(items) >= 40
    assert all(i.sample for i in items)
    assert max(i.published for i in items) == NOW - timedelta(minutes=2)
    assert min(i.published for i in items) > NOW - timedelta(days=5)
    assert all("SAMPLE DATA" in i.summary for i in items)
    assert await source.fetch(NOW) == []  # read once
    source.rewind()
    assert len(await source.fetch(NOW)) == len(items)


def test_sample_feed_when_read_then_channel_says_sample_data() -> None:
    from importlib import resources

    text = resources.files("robo_tui").joinpath("data/sample_news.xml").read_text("utf-8")
    assert "<title>robo-tui SAMPLE DATA" in text
    assert text.count("<item>") == text.count("<category>SAMPLE DATA</category>")
    assert len(load_sample_items(NOW)) == text.count("<item>")


def test_build_sources_when_nothing_is_configured_then_the_sample_feed() -> None:
    sources = build_sources(Settings())
    assert [type(s).__name__ for s in sources] == ["SampleNewsSource"]


def test_build_sources_when_sources_are_enabled_then_no_sample_and_key_from_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_NEWS_KEY", "env-key-123456")
    settings = Settings.model_validate({"news": {"sources": [
        NewsSourceSettings(name="wire", url="https://feeds.example.com/rss").model_dump(),
        NewsSourceSettings(name="api", kind="json", url="https://api.example.com/v2/x",
                           api_key_env="TEST_NEWS_KEY").model_dump(),
        NewsSourceSettings(name="off", url="https://x.example.com", enabled=False).model_dump(),
    ]}})
    sources = build_sources(settings)
    assert [s.name for s in sources] == ["wire", "api"]
    api = sources[1]
    assert isinstance(api, JsonNewsSource) and api.has_key
