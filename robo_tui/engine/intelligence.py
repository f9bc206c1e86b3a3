"""The intelligence stage: news → deduplicated, mapped, classified events → analyst ideas.

`IntelligencePipeline` implements the `IntelligenceStage` port. The engine calls `poll` about
once a second; the stage fetches only the sources that are due, cleans and maps each new item,
drops repeats (same link, or a near-identical headline), classifies and scores it, stores it and
publishes `NewsReceived` and `MarketEventDetected`. `analyze` asks the active analyst about each
symbol the events concern (bounded concurrency, a timeout), checks every answer with the one idea
validator, stores every call in `ai_decisions` and publishes `IdeaGenerated` or `AnalystAbstained`.
The daily review runs from `poll` at `engine.review_time` (UTC) and its summary goes into later
prompts.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import time
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from robo_tui.config import Settings
from robo_tui.domain.analysis import AnalysisOutcome, AnalysisRequest, MarketSnapshot
from robo_tui.domain.events import (
    AnalystAbstained,
    AnalystFellBack,
    EngineErrorOccurred,
    IdeaGenerated,
    MarketEventDetected,
    NewsReceived,
    SourceHealthChanged,
)
from robo_tui.domain.market import BarArrays
from robo_tui.domain.news import MarketEvent, NewsItem, TradeIdea
from robo_tui.domain.serialize import to_jsonable
from robo_tui.domain.text import (
    MAX_SUMMARY_CHARS,
    MIN_SECRET_CHARS,
    sanitize,
    scrub,
    secrets_in,
)
from robo_tui.engine.bus import EventBus
from robo_tui.engine.news import (
    Deduplicator,
    Story,
    SymbolMaster,
    classify,
    freshness,
    impact,
    sentiment,
    title_tokens,
)
from robo_tui.ports import (
    Analyst,
    AnalystFactory,
    Clock,
    ExplainsUnavailability,
    NewsSource,
    Store,
)

log = logging.getLogger(__name__)

MAX_EVENTS_PER_REQUEST = 10
"""The most events one analyst call sees (the highest-impact ones)."""
CATALOGUE_TIMEOUT = 5.0
"""Seconds a provider gets to list its models for the catalogue."""
_LATENCY_WINDOW = 512
_DEFAULT_CREDIBILITY = 0.5


@dataclass(slots=True)
class _ProviderStats:
    """What the stage saw of one provider's calls (the catalogue's telemetry)."""

    calls: int = 0
    ideas: int = 0
    abstained: int = 0
    rejected: int = 0
    timeouts: int = 0
    errors: int = 0
    last_error: str = ""
    latency_ms: deque[float] = field(default_factory=lambda: deque(maxlen=_LATENCY_WINDOW))
    overhead_ms: deque[float] = field(default_factory=lambda: deque(maxlen=_LATENCY_WINDOW))

    def snapshot(self) -> dict[str, Any]:
        return {
            "calls": self.calls, "ideas": self.ideas, "abstained": self.abstained,
            "rejected": self.rejected, "timeouts": self.timeouts, "errors": self.errors,
            "last_error": self.last_error,
            "latency_ms_p50": _percentile(self.latency_ms, 50),
            "latency_ms_p99": _percentile(self.latency_ms, 99),
            "stage_overhead_ms_p50": _percentile(self.overhead_ms, 50),
            "stage_overhead_ms_p99": _percentile(self.overhead_ms, 99),
        }


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100.0 * (len(ordered) - 1))))
    return round(ordered[rank], 3)


class IntelligencePipeline:
    """News pipeline, event detection and the active analyst, driven by the engine.

    The composition root hands it its news `sources` and the `analysts` it may build by name
    (`robo_tui.wiring.build_intelligence`); `analyst` overrides the configured provider.
    """

    def __init__(self, settings: Settings, *, store: Store, bus: EventBus, clock: Clock,
                 sources: Sequence[NewsSource], analysts: AnalystFactory,
                 analyst: str | None = None) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.clock = clock
        instruments = [i.to_instrument() for i in settings.universe.instruments]
        self.universe: tuple[str, ...] = tuple(i.symbol for i in instruments)
        self.symbol_master = SymbolMaster(instruments)
        self.dedup = Deduplicator(similarity=settings.news.dedup_similarity,
                                  window_hours=settings.news.dedup_window_hours)
        self.sources: list[NewsSource] = list(sources)
        self.analysts = analysts
        # items pushed in through `ingest` may name a configured source that is not polled here
        self._credibility: dict[str, float] = {
            s.name: s.credibility for s in settings.news.sources
        }
        for src in self.sources:
            self._credibility[src.name] = float(src.credibility)
        self._next_due: dict[str, datetime | None] = {s.name: None for s in self.sources}
        self._fetched: set[str] = set()
        self._healthy: dict[str, bool] = {}

        self._provider = analyst or settings.analysts.provider
        configured = settings.analysts.model if self._provider == settings.analysts.provider else ""
        self._model: str | None = configured or None
        self._analyst: Analyst | None = None
        self._semaphore = asyncio.Semaphore(settings.analysts.max_concurrency)
        # providers enforce the per-call timeout themselves (with one repair, maybe a fallback
        # chain); this is the stage's backstop against an analyst that never returns
        self.call_timeout = settings.analysts.timeout_seconds * 4 + 5.0
        self._stats: dict[str, _ProviderStats] = {}
        self._catalogue: dict[str, dict[str, Any]] = {}
        self._snapshots: dict[str, tuple[int, int, MarketSnapshot | None]] = {}
        self._performance: str | None = None
        self._last_market: Mapping[str, BarArrays] | None = None
        self._next_review = self._review_after(clock.now())
        self.simulated_prices = settings.feeds.kind == "sim"
        self._warming = False
        self._secrets = configured_secrets(settings)
        self.fetch_timeout = settings.news.timeout_seconds + 5.0
        """The stage's backstop on one source's whole fetch (the sources bound their own)."""

    # ------------------------------------------------------------------ news

    def _due(self, source: NewsSource, now: datetime) -> bool:
        if source.poll_once and source.name in self._fetched:
            return False
        due = self._next_due.get(source.name)
        return due is None or now >= due

    def request_refresh(self, source: str | None = None) -> None:
        """Make one source (or all) due now; a read-once source (the sample) reads again."""
        for src in self.sources:
            if source is None or src.name == source:
                self._next_due[src.name] = None
                self._fetched.discard(src.name)
                src.rewind()

    async def poll(self, now: datetime) -> Sequence[MarketEvent]:
        """Fetch the due sources, then ingest what they returned; the new events."""
        if not self._warming:
            # load pandas/ta and the snapshot code off the loop, so the first urgent story is
            # not held up by imports (startup itself is not slowed: this runs on first poll)
            self._warming = True
            asyncio.get_running_loop().run_in_executor(None, _preload)
        await self._maybe_review(now)
        due = [s for s in self.sources if self._due(s, now)]
        if not due:
            return []
        batches = await asyncio.gather(*(self._fetch(s, now) for s in due))
        items = [item for batch in batches for item in batch]
        return await self.ingest(items, now) if items else []

    async def _fetch(self, source: NewsSource, now: datetime) -> list[NewsItem]:
        self._next_due[source.name] = now + timedelta(seconds=self.settings.news.poll_seconds)
        self._fetched.add(source.name)
        try:
            async with asyncio.timeout(self.fetch_timeout):
                items = await source.fetch(now)
        except TimeoutError:
            self._set_health(source.name, False,
                             f"no answer within {self.fetch_timeout:g} s", now)
            return []
        except Exception as exc:  # noqa: BLE001 - a source that raises is unhealthy; others go on
            message = scrub(f"{type(exc).__name__}: {exc}", self._secrets)
            self._set_health(source.name, False, message[:300], now)
            return []
        health = source.health
        self._set_health(source.name, health.healthy, health.message, now)
        return list(items)

    def _set_health(self, name: str, healthy: bool, message: str, now: datetime) -> None:
        if self._healthy.get(name) == healthy:
            return
        self._healthy[name] = healthy
        self.bus.publish(SourceHealthChanged(ts=now, source=f"news:{name}", healthy=healthy,
                                             message=message))

    def source_health(self) -> dict[str, Any]:
        """Each source's latest health as the stage saw it (name → healthy)."""
        return dict(self._healthy)

    async def ingest(self, items: Sequence[NewsItem], now: datetime) -> Sequence[MarketEvent]:
        """Clean, map, deduplicate, classify, score, store and publish `items`; the new events.

        Items are scored after the whole batch is grouped into stories, so copies of one story
        from several sources in the same batch raise its impact.
        """
        fresh: list[tuple[NewsItem, Story]] = []
        for raw in items:
            item = self._clean(raw, now)
            tokens = title_tokens(item.title)
            story = self.dedup.find(item.id, item.link, tokens, item.published)
            if story is not None:
                story.sources.add(_origin(item))
                self.dedup.alias(item.id, item.link, story)
                continue
            fresh.append((item, self.dedup.add(item.id, item.link, tokens, item.published,
                                               _origin(item))))
        events: list[MarketEvent] = []
        for item, story in fresh:
            try:
                stored = await self.store.record_news(item)
            except Exception as exc:  # noqa: BLE001 - keep going: the event still matters
                self.bus.publish(EngineErrorOccurred(
                    ts=now, where="news", message=f"could not store news {item.id}: {exc}"))
                stored = True
            if not stored:
                continue  # stored by an earlier run: not new
            event = self._score(item, story, now)
            self.bus.publish(NewsReceived(ts=now, item=item))
            self.bus.publish(MarketEventDetected(ts=now, event=event))
            events.append(event)
        return events

    def _clean(self, raw: NewsItem, now: datetime) -> NewsItem:
        # a server may echo a configured key back: it never reaches the store, screen or prompt
        title = scrub(sanitize(raw.title), self._secrets)
        summary = scrub(sanitize(raw.summary, MAX_SUMMARY_CHARS), self._secrets)
        published = raw.published if raw.published.tzinfo is not None else raw.published.replace(
            tzinfo=now.tzinfo)
        # the symbols come from the raw text: a ticker hidden behind invisible characters
        # must not map even though the cleaned text no longer shows them
        symbols = self.symbol_master.map(raw.title, raw.summary)
        return replace(raw, title=title, summary=summary, published=min(published, now),
                       symbols=symbols, link=scrub(raw.link, self._secrets))

    def _score(self, item: NewsItem, story: Story, now: datetime) -> MarketEvent:
        event_type = classify(item.title, item.summary)
        mood = sentiment(item.title)
        if item.summary:
            mood = 0.7 * mood + 0.3 * sentiment(item.summary)
        fresh = freshness(item.published, now, self.settings.news.freshness_half_life_hours)
        credibility = self._credibility.get(item.source, _DEFAULT_CREDIBILITY)
        score = impact(event_type, f"{item.title}. {item.summary}", sentiment_score=mood,
                       credibility=credibility, fresh=fresh, sources=len(story.sources))
        return MarketEvent(item=item, event_type=event_type, symbols=item.symbols, impact=score,
                           sentiment=round(mood, 4), freshness=round(fresh, 4))

    def is_urgent(self, event: MarketEvent) -> bool:
        """High impact (`news.urgent_impact`) and about a symbol we trade."""
        return bool(event.symbols) and event.impact >= self.settings.news.urgent_impact

    # ------------------------------------------------------------------ analysts

    async def _active(self) -> Analyst:
        if self._analyst is None:
            try:
                self._analyst = self.analysts.build(self._provider, model=self._model,
                                                    on_fallback=self._fell_back)
            except Exception as exc:  # fall back to the offline floor, and say so
                if self._provider == "rules":
                    raise
                reason = f"{self._provider} unavailable: {exc}"
                self.bus.publish(AnalystFellBack(ts=self.clock.now(), from_provider=self._provider,
                                                 to_provider="rules", reason=reason))
                self._stat(self._provider).last_error = reason[:300]
                self._provider, self._model = "rules", None
                self._analyst = self.analysts.build("rules")
        return self._analyst

    def _fell_back(self, from_provider: str, to_provider: str, reason: str) -> None:
        """Publish a fallback chain's switch (the `auto` analyst) on the bus as telemetry."""
        self.bus.publish(AnalystFellBack(ts=self.clock.now(), from_provider=from_provider,
                                         to_provider=to_provider, reason=reason))

    def _stat(self, provider: str) -> _ProviderStats:
        return self._stats.setdefault(provider, _ProviderStats())

    async def analyze(self, events: Sequence[MarketEvent], now: datetime,
                      market: Mapping[str, BarArrays]) -> Sequence[TradeIdea]:
        """Ask the active analyst about each symbol the events concern; the validated ideas.

        Events under `news.analyze_min_impact` and events that map to no universe symbol are
        skipped. Every call is stored in `ai_decisions`; an idea's id is its row's id.
        """
        self._last_market = market
        floor = self.settings.news.analyze_min_impact
        by_symbol: dict[str, dict[str, MarketEvent]] = {}
        for event in events:
            if event.impact < floor:
                continue
            for symbol in event.symbols:
                if symbol in self.universe:
                    by_symbol.setdefault(symbol, {})[event.item.id] = event
        if not by_symbol:
            return []
        analyst = await self._active()
        performance = await self._performance_summary()
        results = await asyncio.gather(*(
            self._analyze_symbol(analyst, symbol, list(evs.values()), now, market.get(symbol),
                                 performance)
            for symbol, evs in by_symbol.items()
        ))
        return [idea for idea in results if idea is not None]

    def _snapshot(self, symbol: str, bars: BarArrays | None) -> MarketSnapshot | None:
        if bars is None or len(bars) == 0:
            return None
        key = (int(bars.ts[-1]), len(bars))
        cached = self._snapshots.get(symbol)
        if cached is not None and cached[:2] == key:
            return cached[2]
        from robo_tui.engine.snapshot import build_snapshot

        snap = build_snapshot(bars, simulated=self.simulated_prices)
        self._snapshots[symbol] = (*key, snap)
        return snap

    async def _analyze_symbol(self, analyst: Analyst, symbol: str, events: list[MarketEvent],
                              now: datetime, bars: BarArrays | None,
                              performance: str) -> TradeIdea | None:
        started = time.perf_counter()
        events.sort(key=lambda e: (-e.impact, e.item.published))
        request = AnalysisRequest(
            symbol=symbol, now=now, events=tuple(events[:MAX_EVENTS_PER_REQUEST]),
            snapshot=self._snapshot(symbol, bars), universe=self.universe,
            allow_short=self.settings.risk.allow_short, performance_summary=performance,
        )
        provider = self._provider
        stats = self._stat(provider)
        stats.calls += 1
        async with self._semaphore:
            call_started = time.perf_counter()
            try:
                outcome = await asyncio.wait_for(analyst.analyze(request), self.call_timeout)
            except TimeoutError:
                stats.timeouts += 1
                outcome = AnalysisOutcome(
                    provider=provider, model=self._model_name(analyst), idea=None,
                    errors=("timeout",),
                    abstain_reason=f"no answer within {self.call_timeout:.0f} s")
            except Exception as exc:  # noqa: BLE001 - an analyst bug must not lose the audit
                stats.errors += 1
                stats.last_error = f"{type(exc).__name__}: {exc}"[:300]
                outcome = AnalysisOutcome(provider=provider, model=self._model_name(analyst),
                                          idea=None, errors=(stats.last_error,),
                                          abstain_reason=f"analyst failed: {stats.last_error}")
            call_ms = (time.perf_counter() - call_started) * 1000.0
        idea, errors, reason = self._validate(outcome, request, now)
        if outcome.idea is not None and idea is None:
            stats.rejected += 1
        row_id = uuid.uuid4().hex
        if idea is not None:
            idea = replace(idea, id=row_id)  # the stored idea carries its own row's id
        record = {
            "id": row_id,
            "ts": now,
            "provider": outcome.provider or provider,
            "model": outcome.model or self._model_name(analyst),
            "symbol": symbol,
            "template": outcome.template,
            "prompt_hash": outcome.prompt_hash,
            "prompt": scrub(outcome.prompt, self._secrets),
            "latency_ms": outcome.latency_ms or call_ms,
            "raw_output": scrub(outcome.raw_output, self._secrets),
            "parsed": to_jsonable(idea) if idea is not None else None,
            "errors": list(errors),
            "abstain_reason": reason,
            "stage_provider": provider,
            "news_ids": [e.item.id for e in request.events],
            "event_types": sorted({e.event_type.value for e in request.events}),
            "max_impact": max(e.impact for e in request.events),
            "snapshot": to_jsonable(request.snapshot) if request.snapshot is not None else None,
            "call_ms": round(call_ms, 3),
        }
        try:
            decision_id = await self.store.record_ai_decision(record)
        except Exception as exc:  # noqa: BLE001 - an idea without its audit row is never traded
            stats.errors += 1
            self.bus.publish(EngineErrorOccurred(
                ts=now, where="intelligence",
                message=f"could not record the analyst call for {symbol}; idea dropped: {exc}"))
            return None
        stats.latency_ms.append(outcome.latency_ms or call_ms)
        stats.overhead_ms.append(max(0.0, (time.perf_counter() - started) * 1000.0 - call_ms))
        if idea is None:
            stats.abstained += 1
            self.bus.publish(AnalystAbstained(
                ts=now, provider=str(record["provider"]), model=str(record["model"]),
                symbol=symbol, reason=reason, decision_id=decision_id))
            return None
        stats.ideas += 1
        idea = replace(idea, id=decision_id)
        self.bus.publish(IdeaGenerated(ts=now, idea=idea, decision_id=decision_id))
        return idea

    def _validate(self, outcome: AnalysisOutcome, request: AnalysisRequest,
                  now: datetime) -> tuple[TradeIdea | None, list[str], str]:
        """The idea if it passes the one validator and cites news about its symbol."""
        errors = list(outcome.errors)
        proposed = outcome.idea
        if proposed is None:
            return None, errors, outcome.abstain_reason or "no idea"
        payload = {
            "symbol": proposed.symbol, "direction": proposed.direction.value,
            "score": proposed.score, "confidence": proposed.confidence,
            "horizon": proposed.horizon, "event_type": proposed.event_type.value,
            "news_ids": list(proposed.news_ids), "rationale": proposed.rationale,
        }
        from robo_tui.domain.ideas import validate_idea  # ~30 ms of pydantic: not at start-up

        idea, problems = validate_idea(
            payload, request, provider=outcome.provider, model=outcome.model, idea_id="",
            now=now, latency_ms=outcome.latency_ms)
        if idea is not None:
            about = {e.item.id for e in request.events if idea.symbol in e.symbols}
            if not about.intersection(idea.news_ids):
                problems = [f"the idea cites no news that mentions {idea.symbol}"]
                idea = None
        if idea is None:
            errors += problems
            return None, errors, scrub("rejected: " + "; ".join(problems)[:500], self._secrets)
        return replace(idea, rationale=scrub(idea.rationale, self._secrets)), errors, ""

    @staticmethod
    def _model_name(analyst: Analyst) -> str:
        return analyst.active_model

    # ------------------------------------------------------------------ learning layer

    def _review_after(self, now: datetime) -> datetime:
        hour, minute = (int(p) for p in self.settings.engine.review_time.split(":"))
        at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        return at if at > now else at + timedelta(days=1)

    async def _maybe_review(self, now: datetime) -> None:
        if now < self._next_review:
            return
        self._next_review = self._review_after(now)
        await self.run_review(now)

    async def run_review(self, now: datetime,
                         prices: Mapping[str, BarArrays] | None = None) -> dict[str, Any]:
        """Run the daily review now (the engine's schedule, or `robo-tui review`); its result."""
        from robo_tui.engine.review import run_daily_review

        try:
            review = await run_daily_review(self.store, now, prices or self._last_market)
        except Exception as exc:  # noqa: BLE001 - a failed review must not stop trading
            self.bus.publish(EngineErrorOccurred(ts=now, where="review",
                                                 message=f"daily review failed: {exc}"))
            return {}
        self._performance = str(review.get("summary", ""))
        return review

    async def _performance_summary(self) -> str:
        if self._performance is None:
            from robo_tui.engine.review import performance_summary

            try:
                self._performance = await performance_summary(self.store)
            except NotImplementedError:  # a store without SQL (a backtest's): no track record
                self._performance = ""
            except Exception:  # no review table yet, or an unreadable row: no track record
                log.exception("could not read the last daily review")
                self._performance = ""
        return self._performance

    # ------------------------------------------------------------------ catalogue

    def catalogue(self) -> Mapping[str, Any]:
        """Active provider/model and every provider with availability, models and telemetry.

        Availability and models of providers other than the active one and `rules` come from
        the last `refresh_catalogue()` (unknown until then: listed as unavailable).
        """
        active_model = self._model_name(self._analyst) if self._analyst is not None else ""
        providers = []
        for name in self.analysts.providers:
            cached = self._catalogue.get(name, {})
            telemetry = self._stat(name).snapshot() if name in self._stats else {}
            if name == self._provider and self._analyst is not None:
                try:
                    telemetry = {**telemetry, "provider_telemetry": self._analyst.telemetry()}
                except Exception:  # telemetry must never break the selector
                    log.exception("analyst telemetry failed")
            entry: dict[str, Any] = {
                "name": name,
                "available": True if name == "rules" else bool(cached.get("available", False)),
                "models": list(cached.get("models", ["lexicon-v1"] if name == "rules" else [])),
                "telemetry": telemetry,
            }
            if cached.get("reason"):
                entry["reason"] = cached["reason"]
            providers.append(entry)
        return {"active": {"provider": self._provider, "model": active_model or (self._model or "")},
                "providers": providers}

    async def refresh_catalogue(self) -> Mapping[str, Any]:
        """Ask every provider which models it can run now (short timeouts); the new catalogue."""

        async def probe(name: str) -> tuple[str, dict[str, Any]]:
            if name == self._provider and self._analyst is not None:
                return name, await _models_info(self._analyst)
            try:  # in a thread: building imports the provider's SDK (a second or more)
                analyst = await asyncio.to_thread(self.analysts.build, name)
            except Exception as exc:  # noqa: BLE001 - an unbuildable provider is unavailable
                return name, {"available": False, "models": [],
                              "reason": f"{type(exc).__name__}: {exc}"[:200]}
            try:
                return name, await _models_info(analyst)
            finally:
                await _close(analyst)

        for name, info in await asyncio.gather(*(probe(n) for n in self.analysts.providers)):
            self._catalogue[name] = info
        return self.catalogue()

    async def select(self, provider: str, model: str | None) -> None:
        """Make `provider`/`model` the active analyst; raises (keeping the old one) if it cannot be built."""
        new = await asyncio.to_thread(self.analysts.build, provider, model=model or None,
                                      on_fallback=self._fell_back)
        old, self._analyst = self._analyst, new
        self._provider, self._model = provider, model or None
        if old is not None and old is not new:
            await _close(old)

    async def attach(self, analyst: Analyst, model: str | None = None) -> None:
        """Make an analyst object the active one (a custom analyst, or a test's scripted one).

        Its answers pass the same validation and audit as any built-in provider's.
        """
        old, self._analyst = self._analyst, analyst
        self._provider, self._model = analyst.name, model
        if old is not None and old is not analyst:
            await _close(old)

    async def close(self) -> None:
        """Close the analyst and every source."""
        if self._analyst is not None:
            await _close(self._analyst)
            self._analyst = None
        for src in self.sources:
            await _close(src)


def configured_secrets(settings: Settings) -> tuple[str, ...]:
    """Every configured secret: the settings' keys and the news keys read from the environment."""
    found = list(secrets_in(settings))
    found += [os.environ.get(s.api_key_env, "") for s in settings.news.sources if s.api_key_env]
    return tuple(s for s in found if len(s) >= MIN_SECRET_CHARS)


def _preload() -> None:
    """Import what the first analysis needs (runs in a worker thread)."""
    for name in ("ta.momentum", "ta.volatility", "robo_tui.engine.snapshot"):
        importlib.import_module(name)


def _origin(item: NewsItem) -> str:
    """Who reported an item: the source, and the publisher's host when the link names one
    (an aggregator feed carries many publishers; each counts as a source of the story)."""
    host = urlsplit(item.link).hostname or "" if item.link else ""
    return f"{item.source}|{host.removeprefix('www.')}"


async def _models_info(analyst: Analyst) -> dict[str, Any]:
    try:
        models = await asyncio.wait_for(analyst.models(), CATALOGUE_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - an unreachable provider is unavailable
        return {"available": False, "models": [], "reason": f"{type(exc).__name__}: {exc}"[:200]}
    info: dict[str, Any] = {"available": any(m.available for m in models),
                            "models": [m.name for m in models if m.available]}
    if not info["available"]:
        reason = analyst.unavailable_reason() if isinstance(analyst, ExplainsUnavailability) \
            else ""
        info["reason"] = reason or "no models reachable"
    return info


async def _close(closable: Analyst | NewsSource) -> None:
    try:
        await closable.close()
    except Exception:  # closing must not fail a shutdown
        log.exception("closing %r failed", closable)
