"""News sources behind the `NewsSource` port: RSS/Atom (URLs and files), a JSON news API and the
bundled sample feed; plus what they share: health, capped exponential backoff and conditional GET.

`build_sources` turns the `[news]` settings into sources through the `NEWS_SOURCES` registry
(`robo_tui.registries.news`), importing only the adapters it needs.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from robo_tui.domain.news import NewsItem, SourceHealth
from robo_tui.domain.text import MIN_SECRET_CHARS, scrub
from robo_tui.registries.news import NEWS_SOURCES

if TYPE_CHECKING:
    import httpx

    from robo_tui.config import NewsSettings, NewsSourceSettings, Settings
    from robo_tui.ports import NewsSource

USER_AGENT = "robo-tui/0.1 (+https://github.com/robo-tui; news poller)"
MAX_BODY_BYTES = 5_000_000
"""A feed or API answer larger than this is refused (a runaway or hostile server)."""
MAX_ITEMS_PER_FETCH = 500
"""At most this many items are taken from one fetch."""
MAX_REDIRECTS = 5
"""Redirects followed for one fetch (each checked: credentials never go to another origin)."""
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PLAIN_HEADERS = frozenset({"accept", "user-agent", "if-none-match", "if-modified-since"})
"""The only headers of ours a redirect to another origin still carries."""
_KEY_PARAMS = re.compile(r"(?i)^(api[-_]?key|apikey|key|token|access[-_]?token|secret|auth|sig|signature)$")


class Backoff:
    """Exponential wait after consecutive failures: base, 2×base, 4×base ... capped at `cap`."""

    def __init__(self, base_seconds: float = 5.0, cap_seconds: float = 900.0) -> None:
        self.base = base_seconds
        self.cap = cap_seconds
        self.failures = 0
        self.retry_at: datetime | None = None

    def ready(self, now: datetime) -> bool:
        """Whether a call may be made now."""
        return self.retry_at is None or now >= self.retry_at

    def failed(self, now: datetime, at_least: float = 0.0) -> datetime:
        """Count a failure; returns when the next try is allowed."""
        self.failures += 1
        wait = min(self.cap, self.base * 2.0 ** (self.failures - 1))
        self.retry_at = now + timedelta(seconds=max(wait, min(at_least, self.cap)))
        return self.retry_at

    def succeeded(self) -> None:
        """Reset after a good call."""
        self.failures = 0
        self.retry_at = None


class SourceError(Exception):
    """A fetch failed; the message is safe to show (no secrets). `retry_after` from the server."""

    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PolledSource:
    """Shared fetch bookkeeping: backoff while failing, health, and errors turned into health.

    Subclasses implement `_fetch(now)`; `fetch(now)` never raises for a source's own failures
    (a broken feed must not stop the others): it returns [] and marks the source unhealthy.
    """

    name: str
    credibility: float
    poll_once = False
    """Polled every `news.poll_seconds` (a feed keeps changing)."""

    def __init__(self, name: str, *, credibility: float, max_backoff: float = 900.0) -> None:
        self.name = name
        self.credibility = credibility
        self.health = SourceHealth()
        self._backoff = Backoff(cap_seconds=max_backoff)

    async def fetch(self, now: datetime) -> list[NewsItem]:
        """New items since the last call ([] when nothing changed, or while backing off)."""
        if not self._backoff.ready(now):
            return []
        try:
            items = await self._fetch(now)
        except Exception as exc:  # noqa: BLE001 - any failure of this source becomes its health
            retry_after = exc.retry_after if isinstance(exc, SourceError) else 0.0
            retry_at = self._backoff.failed(now, retry_after)
            message = _describe(exc)
            self.health = replace(self.health, healthy=False, message=message,
                                  failures=self._backoff.failures, retry_at=retry_at)
            return []
        self._backoff.succeeded()
        self.health = SourceHealth(healthy=True, message=f"{len(items)} new item(s)",
                                   failures=0, last_ok=now, retry_at=None)
        return items[:MAX_ITEMS_PER_FETCH]

    async def _fetch(self, now: datetime) -> list[NewsItem]:
        raise NotImplementedError

    def rewind(self) -> None:
        """Nothing to do: a polled source reads what is new on every fetch."""

    async def close(self) -> None:
        """Release resources (an owned HTTP client)."""


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if not isinstance(exc, SourceError):
        text = f"{type(exc).__name__}: {text}"
    return text[:300]


class ConditionalGet:
    """GETs a URL with If-None-Match / If-Modified-Since from the previous answer.

    `get()` returns the body, or None when the server says 304 Not Modified. Redirects are
    followed; bodies over `MAX_BODY_BYTES` and non-2xx answers raise `SourceError`. The client
    is the caller's, or one created (and closed by `close()`) here.
    """

    def __init__(self, url: str, *, client: httpx.AsyncClient | None, timeout: float,
                 headers: dict[str, str] | None = None, secret: str = "") -> None:
        self.url = url
        self.etag: str | None = None
        self.last_modified: str | None = None
        self._client = client
        self._owned = client is None
        self._timeout = timeout
        self._headers = dict(headers or {})
        self.secrets: tuple[str, ...] = tuple(
            s for s in (secret, *_url_secrets(url)) if len(s) >= MIN_SECRET_CHARS)
        """The source's credentials: its API key and any key-like query parameter in its URL."""

    def redact(self, text: str) -> str:
        """`text` with the source's secrets (its API key) replaced by ***."""
        return scrub(text, self.secrets)

    async def get(self) -> bytes | None:
        """The body if it changed since the last call, else None (304)."""
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=True,
                                             headers={"User-Agent": USER_AGENT})
        headers = dict(self._headers)
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        try:
            # `timeout` bounds the whole answer: httpx's own timeouts are per read, and a
            # server trickling a byte at a time would reset them forever
            async with asyncio.timeout(self._timeout):
                return await self._get(headers)
        except TimeoutError:
            raise SourceError(f"no complete answer within {self._timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise SourceError(self.redact(f"{type(exc).__name__}: {exc}")) from None

    async def _get(self, headers: dict[str, str]) -> bytes | None:
        """Follow redirects by hand (at most `MAX_REDIRECTS`): a hop to another origin (scheme,
        host or port) carries none of the source's own headers (an API key among them), and a
        hop whose URL carries a secret to another origin is refused."""
        import httpx

        assert self._client is not None
        url = httpx.URL(self.url)
        home = _origin(url)
        for _ in range(MAX_REDIRECTS + 1):
            sent = headers if _origin(url) == home else {
                k: v for k, v in headers.items() if k.lower() in _PLAIN_HEADERS}
            async with self._client.stream("GET", url, headers=sent, timeout=self._timeout,
                                           follow_redirects=False) as resp:
                if resp.status_code in _REDIRECTS:
                    url = self._next_hop(url, resp.headers.get("Location", ""), home)
                    continue
                return await self._body(resp)
        raise SourceError(f"more than {MAX_REDIRECTS} redirects; refused")

    def _next_hop(self, url: httpx.URL, location: str, home: tuple[str, str, int | None]) -> httpx.URL:
        if not location:
            raise SourceError("a redirect without a Location; refused")
        target = url.join(location)
        if target.scheme not in ("http", "https"):
            raise SourceError(f"a redirect to a {target.scheme!r} URL; refused")
        if _origin(target) != home and any(s in str(target) for s in self.secrets):
            raise SourceError("a redirect to another host would carry the API key; refused")
        return target

    async def _body(self, resp: httpx.Response) -> bytes | None:
        if resp.status_code == 304:
            return None
        if resp.status_code >= 400:
            retry = _retry_after(resp.headers.get("Retry-After"))
            reason = self.redact(resp.reason_phrase or "")
            raise SourceError(f"HTTP {resp.status_code} {reason}".strip(), retry)
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise SourceError(f"answer larger than {MAX_BODY_BYTES} bytes; refused")
            chunks.append(chunk)
        self.etag = resp.headers.get("ETag") or self.etag
        self.last_modified = resp.headers.get("Last-Modified") or self.last_modified
        return b"".join(chunks)

    async def close(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owned and self._client is not None:
            await self._client.aclose()
            self._client = None


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _url_secrets(url: str) -> list[str]:
    """Values of key-like query parameters (`?apiKey=...`) in a configured URL."""
    return [v for k, v in parse_qsl(urlsplit(url).query) if _KEY_PARAMS.match(k)]


def _retry_after(value: str | None) -> float:
    if not value:
        return 0.0
    try:
        return max(0.0, float(value))
    except ValueError:
        return 0.0


def build_rss(source: NewsSourceSettings, news: NewsSettings, *,
              client: httpx.AsyncClient | None) -> NewsSource:
    """An RSS/Atom source (URL or local file)."""
    from robo_tui.adapters.news.rss import RssSource

    return RssSource(source.name, source.url, credibility=source.credibility, client=client,
                     timeout=news.timeout_seconds, max_backoff=news.max_backoff_seconds)


def build_json(source: NewsSourceSettings, news: NewsSettings, *,
               client: httpx.AsyncClient | None) -> NewsSource:
    """A JSON news API; the key from `api_key`, else from the variable `api_key_env` names."""
    from robo_tui.adapters.news.json_api import JsonNewsSource

    key = source.api_key.get_secret_value() if source.api_key is not None else None
    if key is None and source.api_key_env:
        key = os.environ.get(source.api_key_env) or None
    return JsonNewsSource(source.name, source.url, credibility=source.credibility,
                          api_key=key, client=client, timeout=news.timeout_seconds,
                          max_backoff=news.max_backoff_seconds)


def build_sources(settings: Settings, *, client: httpx.AsyncClient | None = None,
                  now_provider: Callable[[], datetime] | None = None) -> list[NewsSource]:
    """The enabled `[[news.sources]]`, each built by the `NEWS_SOURCES` entry its `kind` names;
    the bundled sample feed when `news.sample` is on and no other source is enabled (so the
    embedded default works offline)."""
    out = [NEWS_SOURCES.load(src.kind)(src, settings.news, client=client)
           for src in settings.news.sources if src.enabled]
    if not out and settings.news.sample:
        from robo_tui.adapters.news.sample import SampleNewsSource

        out.append(SampleNewsSource(now_provider))
    return out


__all__ = [
    "MAX_BODY_BYTES",
    "Backoff",
    "ConditionalGet",
    "PolledSource",
    "SourceError",
    "SourceHealth",
    "build_json",
    "build_rss",
    "build_sources",
]
