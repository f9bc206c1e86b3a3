"""RSS and Atom feeds from URLs (conditional GET) and local files, parsed with feedparser.

The bytes are always fetched by us (httpx, or a file read) and handed to feedparser as bytes,
so feedparser itself never opens a URL. Parsing runs in a worker thread: a large feed must not
stall the event loop.
"""

from __future__ import annotations

import asyncio
import calendar
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import feedparser

from robo_tui.adapters.news import MAX_BODY_BYTES, ConditionalGet, PolledSource, SourceError
from robo_tui.domain.news import NewsItem
from robo_tui.domain.text import html_to_text, news_id, sanitize

if TYPE_CHECKING:
    import httpx


MAX_RAW_TITLE = 2_000
MAX_RAW_SUMMARY = 8_000


def _entry_time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
            except (OverflowError, ValueError, TypeError):
                continue
    return None


def _safe_link(link: str) -> str:
    """Only http(s) links survive (no javascript:, data: or file: links from a feed)."""
    link = sanitize(link, 2000)
    return link if link.lower().startswith(("http://", "https://")) else ""


def parse_feed(content: bytes, *, source: str, now: datetime, sample: bool = False) -> list[NewsItem]:
    """NewsItems from RSS/Atom bytes, newest first as the feed lists them.

    Titles and summaries are HTML-decoded but otherwise raw: the pipeline sanitises them after
    mapping symbols, so a ticker hidden behind invisible characters is still recognised as
    tampered with. A missing or future publication time becomes `now`. Raises `SourceError`
    when the bytes are not a feed at all.
    """
    parsed = feedparser.parse(content)
    entries = parsed.get("entries") or []
    if not entries:
        if not parsed.get("version"):  # feedparser recognised no RSS/Atom/RDF dialect
            problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
            raise SourceError("not an RSS or Atom feed" + (f" ({problem})" if problem else ""))
        return []
    items: list[NewsItem] = []
    for entry in entries:
        title = html_to_text(str(entry.get("title", "")))[:MAX_RAW_TITLE]
        if not title.strip():
            continue
        summary = html_to_text(str(entry.get("summary", "")))[:MAX_RAW_SUMMARY]
        link = _safe_link(str(entry.get("link", "")))
        published = _entry_time(entry) or now
        published = min(published, now)  # a feed cannot make its news fresher than now
        items.append(NewsItem(
            id=news_id(source, link, str(entry.get("id", "")), title),
            source=source,
            title=title,
            summary=summary,
            link=link,
            published=published,
            seen=now,
            sample=sample,
        ))
    return items


class RssSource(PolledSource):
    """An RSS/Atom feed: an http(s) URL polled with conditional GET, or a local file re-read when
    it changes. Errors back off exponentially (capped) and show in `health`."""

    def __init__(self, name: str, url_or_path: str, *, credibility: float,
                 client: httpx.AsyncClient | None = None, timeout: float = 10.0,
                 max_backoff: float = 900.0) -> None:
        super().__init__(name, credibility=credibility, max_backoff=max_backoff)
        self.url_or_path = url_or_path
        self._http: ConditionalGet | None = None
        self._path: Path | None = None
        self._file_stamp: tuple[int, int] | None = None
        scheme = urlsplit(url_or_path).scheme.lower()
        if scheme in ("http", "https"):
            self._http = ConditionalGet(url_or_path, client=client, timeout=timeout,
                                        headers={"Accept": "application/rss+xml, "
                                                 "application/atom+xml, application/xml;q=0.9, "
                                                 "text/xml;q=0.8, */*;q=0.1"})
        elif scheme == "file":
            self._path = Path(unquote(urlsplit(url_or_path).path))
        elif scheme in ("", ) or len(scheme) == 1:  # a plain path (or a Windows drive letter)
            self._path = Path(url_or_path).expanduser()
        else:
            raise ValueError(f"news source {name!r}: unsupported URL scheme {scheme!r} "
                             f"(use http(s)://, file:// or a path)")

    async def _fetch(self, now: datetime) -> list[NewsItem]:
        if self._http is not None:
            body = await self._http.get()
            if body is None:
                return []  # 304 Not Modified
        else:
            body = await asyncio.to_thread(self._read_file)
            if body is None:
                return []  # file unchanged
        return await asyncio.to_thread(parse_feed, body, source=self.name, now=now)

    def _read_file(self) -> bytes | None:
        """The file's bytes if it changed since the last read (runs in a worker thread).

        Only a regular file is read: it is opened without blocking and checked before the first
        read, so a FIFO, a device or a socket put in its place is refused at once instead of
        holding a thread (and the shutdown that waits for it) forever."""
        assert self._path is not None
        try:
            fd = os.open(self._path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except OSError as exc:
            raise SourceError(f"cannot read {self._path}: {exc.strerror or exc}") from None
        with os.fdopen(fd, "rb") as handle:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise SourceError(f"{self._path} is not a regular file (a pipe, device or "
                                  f"socket); refused")
            stamp = (st.st_mtime_ns, st.st_size)
            if stamp == self._file_stamp:
                return None
            if st.st_size > MAX_BODY_BYTES:
                raise SourceError(f"{self._path} is larger than {MAX_BODY_BYTES} bytes; refused")
            data = handle.read(MAX_BODY_BYTES + 1)
        if len(data) > MAX_BODY_BYTES:
            raise SourceError(f"{self._path} is larger than {MAX_BODY_BYTES} bytes; refused")
        self._file_stamp = stamp
        return data

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
