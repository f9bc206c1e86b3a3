"""A NewsAPI-style JSON news API over httpx, behind the same `NewsSource` port as RSS.

The answer shape is `{"status": "ok", "articles": [{"title", "description", "url",
"publishedAt", "source": {"name"}}]}`; an error answer is `{"status": "error", "code",
"message"}`. The API key goes in the `X-Api-Key` header only (never the URL), comes from the
settings or the environment, and is redacted from every message.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from robo_tui.adapters.news import ConditionalGet, PolledSource, SourceError
from robo_tui.adapters.news.rss import MAX_RAW_SUMMARY, MAX_RAW_TITLE
from robo_tui.domain.news import NewsItem
from robo_tui.domain.text import html_to_text, news_id, sanitize

if TYPE_CHECKING:
    import httpx


class _Publisher(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str | None = None


class _Article(BaseModel):
    model_config = ConfigDict(extra="ignore")
    title: str | None = None
    description: str | None = None
    url: str | None = None
    publishedAt: datetime | None = None
    source: _Publisher | None = None


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: str = "ok"
    code: str | None = None
    message: str | None = None
    articles: list[_Article] = []


class JsonNewsSource(PolledSource):
    """Polls a NewsAPI-style endpoint (the query lives in the URL) with conditional GET."""

    def __init__(self, name: str, url: str, *, credibility: float,
                 api_key: str | SecretStr | None = None, client: httpx.AsyncClient | None = None,
                 timeout: float = 10.0, max_backoff: float = 900.0) -> None:
        super().__init__(name, credibility=credibility, max_backoff=max_backoff)
        if not url.lower().startswith(("http://", "https://")):
            raise ValueError(f"news source {name!r}: a JSON API needs an http(s) URL")
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self.url = url
        self.has_key = bool(key)
        headers = {"Accept": "application/json"}
        if key:
            headers["X-Api-Key"] = key
        self._http = ConditionalGet(url, client=client, timeout=timeout, headers=headers,
                                    secret=key or "")

    def __repr__(self) -> str:
        return f"JsonNewsSource(name={self.name!r}, url={self.url!r}, api_key={'***' if self.has_key else None})"

    async def _fetch(self, now: datetime) -> list[NewsItem]:
        body = await self._http.get()
        if body is None:
            return []
        try:
            answer = _Answer.model_validate_json(body)
        except ValidationError as exc:
            raise SourceError(f"not a news API answer ({exc.error_count()} problem(s))") from None
        if answer.status != "ok":
            text = sanitize(f"{answer.code or 'error'}: {answer.message or ''}", 200)
            raise SourceError(self._http.redact(f"API error {text}"))
        items: list[NewsItem] = []
        for art in answer.articles:
            redact = self._http.redact  # a server echoing our key back must not get it shown
            title = redact(html_to_text(art.title or ""))[:MAX_RAW_TITLE]
            if not title.strip() or title.strip() == "[Removed]":
                continue
            link = redact(sanitize(art.url or "", 2000))
            if not link.lower().startswith(("http://", "https://")):
                link = ""
            published = art.publishedAt or now
            if published.tzinfo is None:
                published = published.replace(tzinfo=UTC)
            published = min(published.astimezone(UTC), now)
            summary = redact(html_to_text(art.description or ""))[:MAX_RAW_SUMMARY]
            items.append(NewsItem(
                id=news_id(self.name, link, "", title),
                source=self.name,
                title=title,
                summary=summary,
                link=link,
                published=published,
                seen=now,
            ))
        return items

    async def close(self) -> None:
        await self._http.close()
