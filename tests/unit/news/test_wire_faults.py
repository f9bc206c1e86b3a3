"""News sources against slow and hostile servers: a whole fetch is bounded however slowly the
server trickles, a pipe in place of a feed file is refused at once, the API key never follows a
redirect to another origin, and a key the server echoes back is masked."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from robo_tui.adapters.news.json_api import JsonNewsSource
from robo_tui.adapters.news.rss import RssSource

from .feeds import FeedServer, feed_server
from .slow_servers import slow_server

NOW = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
KEY = "canary-key-7f3a9c2e11"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as s:
        yield s


@pytest.fixture
def other() -> Iterator[FeedServer]:
    with feed_server() as s:
        yield s


def articles(*titles: str, url: str = "https://n.example.com/a") -> bytes:
    return json.dumps({"status": "ok", "articles": [
        {"title": t, "description": t, "url": url, "publishedAt": "2026-01-05T14:00:00Z",
         "source": {"name": "Wire"}} for t in titles]}).encode()


async def test_fetch_when_the_server_trickles_a_byte_every_second_then_it_gives_up_at_the_total_timeout() -> None:
    with slow_server(trickle=0.3) as slow:
        source = JsonNewsSource("slow", slow.url("/news"), credibility=0.5, timeout=1.5)
        started = time.monotonic()
        try:
            items = await source.fetch(NOW)
        finally:
            await source.close()
        took = time.monotonic() - started
    assert items == []
    assert took < 4.0, f"the fetch took {took:.1f} s; a trickle must not reset the timeout"
    assert not source.health.healthy
    assert "no complete answer within 1.5 s" in source.health.message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
async def test_file_source_when_the_path_is_a_fifo_then_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    source = RssSource("pipe", str(fifo), credibility=0.5)
    started = time.monotonic()
    items = await source.fetch(NOW)
    assert items == []
    assert time.monotonic() - started < 2.0
    assert not source.health.healthy
    assert "not a regular file" in source.health.message


async def test_redirect_when_it_points_at_another_origin_then_the_key_is_not_sent_there(
    server: FeedServer, other: FeedServer,
) -> None:
    other.put("/landing", articles("Apple beats estimates"), content_type="application/json")
    server.put("/news", b"", headers={"Location": other.url("/landing")})
    server.docs["/news"].fail = 302
    source = JsonNewsSource("wire", server.url("/news"), credibility=0.5, api_key=KEY)
    try:
        items = await source.fetch(NOW)
    finally:
        await source.close()
    assert [i.title for i in items] == ["Apple beats estimates"]
    assert server.requests[0].headers["x-api-key"] == KEY  # the configured host gets it
    assert [r.path for r in other.requests] == ["/landing"]
    assert all(KEY not in json.dumps(r.headers) for r in other.requests)


async def test_redirect_when_it_stays_on_the_same_origin_then_the_key_goes_along(
    server: FeedServer,
) -> None:
    server.put("/v2", articles("Apple beats estimates"), content_type="application/json")
    server.put("/news", b"", headers={"Location": "/v2"})
    server.docs["/news"].fail = 301
    source = JsonNewsSource("wire", server.url("/news"), credibility=0.5, api_key=KEY)
    try:
        items = await source.fetch(NOW)
    finally:
        await source.close()
    assert len(items) == 1
    assert [r.headers.get("x-api-key") for r in server.requests] == [KEY, KEY]


async def test_redirect_when_the_key_is_in_the_url_and_the_target_is_elsewhere_then_refused(
    server: FeedServer, other: FeedServer,
) -> None:
    other.put("/steal", articles("x"), content_type="application/json")
    server.put("/news", b"", headers={"Location": other.url(f"/steal?apiKey={KEY}")})
    server.docs["/news"].fail = 302
    source = JsonNewsSource("wire", server.url(f"/news?apiKey={KEY}&q=apple"), credibility=0.5)
    try:
        items = await source.fetch(NOW)
    finally:
        await source.close()
    assert items == []
    assert other.requests == []
    assert "would carry the API key" in source.health.message
    assert KEY not in source.health.message


async def test_answer_when_the_server_echoes_the_key_then_items_carry_a_mask(
    server: FeedServer,
) -> None:
    server.put("/news", articles(f"Apple beats estimates {KEY}",
                                 url=f"https://n.example.com/a?k={KEY}"),
               content_type="application/json")
    source = JsonNewsSource("wire", server.url("/news"), credibility=0.5, api_key=KEY)
    try:
        [item] = await source.fetch(NOW)
    finally:
        await source.close()
    assert KEY not in item.title + item.summary + item.link
    assert "***" in item.title
