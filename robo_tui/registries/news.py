"""The news source registry, by the name a `[[news.sources]]` entry's `kind` uses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from robo_tui.registries.base import Extension, Registry

if TYPE_CHECKING:
    import httpx

    from robo_tui.config import NewsSettings, NewsSourceSettings
    from robo_tui.ports import NewsSource


class NewsSourceBuilder(Protocol):
    """Builds one configured source (`source`) under the shared `[news]` settings."""

    def __call__(self, source: NewsSourceSettings, news: NewsSettings, *,
                 client: httpx.AsyncClient | None) -> NewsSource: ...


NEWS_SOURCES: Registry[NewsSourceBuilder] = Registry("news source", (
    Extension("rss", "robo_tui.adapters.news:build_rss",
              "An RSS or Atom feed, by URL or local file.", "news.sources"),
    Extension("json", "robo_tui.adapters.news:build_json",
              "A JSON news API (NewsAPI-shaped), with an optional API key.", "news.sources"),
))
"""Every kind a `[[news.sources]]` entry may name, the default first."""
