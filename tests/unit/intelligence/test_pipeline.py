"""The intelligence stage end to end: sample news → events → rules analyst → audited ideas."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from robo_tui.adapters.news.sample import SampleNewsSource
from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.config import Settings
from robo_tui.domain.analysis import AnalysisOutcome, AnalysisRequest, ModelInfo
from robo_tui.domain.events import (
    AnalystAbstained,
    EngineErrorOccurred,
    IdeaGenerated,
    MarketEventDetected,
    NewsReceived,
    SourceHealthChanged,
)
from robo_tui.domain.market import BarArrays
from robo_tui.domain.news import EventType, MarketEvent, NewsItem, SourceHealth, TradeIdea
from robo_tui.domain.signals import Direction
from robo_tui.engine.bus import EventBus
from robo_tui.engine.clock import SimClock
from robo_tui.engine.intelligence import IntelligencePipeline
from robo_tui.ports import NewsSource
from robo_tui.wiring import build_intelligence

from .conftest import NOW, Recorder

HOSTILE_SLUGS = ("hostile-homoglyph", "hostile-zero-width", "hostile-bidi", "hostile-injection")


def pipeline(store: SqliteStore, bus: EventBus, settings: Settings | None = None,
             sources: Sequence[NewsSource] | None = None) -> IntelligencePipeline:
    return build_intelligence(settings or Settings(), store, bus, SimClock(NOW), sources=sources)


def item(title: str, *, link: str = "", source: str = "wire", minutes_ago: float = 1.0,
         summary: str = "") -> NewsItem:
    from robo_tui.domain.text import news_id

    link = link or "https://wire.example.com/" + str(abs(hash(title)))
    return NewsItem(id=news_id(source, link), source=source, title=title, summary=summary,
                    link=link, published=NOW - timedelta(minutes=minutes_ago), seen=NOW)


async def test_poll_when_default_settings_then_sample_news_is_stored_and_published(
    store: SqliteStore, bus: EventBus, recorder: Recorder
) -> None:
    stage = pipeline(store, bus)
    events = await stage.poll(NOW)
    assert len(events) >= 40
    rows = await store.query("SELECT id, sample, symbols, title FROM news_items")
    assert len(rows) == len(events)
    assert all(r["sample"] == 1 for r in rows)
    assert len(recorder.of(NewsReceived)) == len(recorder.of(MarketEventDetected)) == len(events)
    health = recorder.of(SourceHealthChanged)
    assert [(h.source, h.healthy) for h in health] == [("news:sample", True)]  # type: ignore[attr-defined]
    # the sample is read once; later polls find nothing new
    assert await stage.poll(NOW + timedelta(minutes=5)) == []
    await stage.close()


async def test_poll_when_sample_has_hostile_items_then_they_map_to_no_symbol_and_stay_literal(
    store: SqliteStore, bus: EventBus
) -> None:
    stage = pipeline(store, bus)
    events = {e.item.link.rsplit("/", 1)[-1]: e for e in await stage.poll(NOW)}
    for slug in HOSTILE_SLUGS:
        assert events[slug].symbols == (), slug
    markup = events["hostile-markup"].item.title
    assert markup.startswith("[bold red]AAPL[/bold red] shares [link=https://evil.example]soar")
    for slug in ("hostile-zero-width", "hostile-bidi"):
        title = events[slug].item.title
        assert "\u200b" not in title and "\u202e" not in title  # stripped for display/prompts
    await stage.close()


async def test_analyze_when_sample_news_then_ideas_only_for_mentioned_universe_symbols_and_all_audited(
    store: SqliteStore, bus: EventBus, recorder: Recorder, market: dict[str, BarArrays]
) -> None:
    stage = pipeline(store, bus)
    events = await stage.poll(NOW)
    ideas = await stage.analyze(events, NOW, market)
    assert ideas
    universe = set(Settings().universe.symbols)
    by_id = {e.item.id: e for e in events}
    rows = {r["id"]: r for r in await store.query("SELECT * FROM ai_decisions")}
    for idea in ideas:
        assert idea.symbol in universe
        assert idea.provider == "rules" and idea.model == "lexicon-v1"
        assert any(idea.symbol in by_id[n].symbols for n in idea.news_ids)
        row = rows[idea.id]  # the idea's id is its audit row
        assert json.loads(row["parsed"])["symbol"] == idea.symbol
        assert json.loads(row["parsed"])["id"] == idea.id
        assert row["prompt_hash"] and row["template"] == "rules/lexicon-v1"
    abstained = recorder.of(AnalystAbstained)
    assert len(rows) == len(ideas) + len(abstained)
    assert len(recorder.of(IdeaGenerated)) == len(ideas)
    # the injection items name TSLA and GME; nothing outside the universe is ever proposed
    assert {r["symbol"] for r in rows.values()} <= universe
    await stage.close()


async def test_ingest_when_same_story_comes_twice_then_one_event_with_more_sources(
    store: SqliteStore, bus: EventBus
) -> None:
    stage = pipeline(store, bus, sources=[])
    single = await stage.ingest([item("Nvidia beats estimates; revenue doubles")], NOW)
    both = await stage.ingest([
        item("Microsoft to acquire cybersecurity firm for $16 billion", source="wire"),
        item("Microsoft to acquire cybersecurity firm for $16B, sources say", source="other",
             link="https://other.example.org/msft"),
    ], NOW)
    assert len(single) == 1 and len(both) == 1
    again = await stage.ingest([item("Nvidia beats estimates; revenue doubles")], NOW)
    assert again == []
    rows = await store.query("SELECT COUNT(*) AS n FROM news_items")
    assert rows[0]["n"] == 2


async def test_ingest_when_stage_restarts_then_stored_items_are_not_events_again(
    store: SqliteStore, bus: EventBus
) -> None:
    news = [item("Apple beats estimates as iPhone sales jump")]
    assert len(await pipeline(store, bus, sources=[]).ingest(news, NOW)) == 1
    assert await pipeline(store, bus, sources=[]).ingest(news, NOW) == []


async def test_ingest_when_item_is_corroborated_by_other_publishers_then_impact_is_higher(
    store: SqliteStore, bus: EventBus
) -> None:
    title = "Exxon Mobil agrees to buy shale producer in $60 billion deal"
    [alone] = await pipeline(store, bus, sources=[]).ingest([item(title)], NOW)
    stage = pipeline(store, bus, sources=[])
    copies = [item(title + " ", link=f"https://p{i}.example.net/x", source=f"s{i}")
              for i in range(3)]
    copies = [replace(c, id=f"copy{i}") for i, c in enumerate(copies)]
    [together] = await stage.ingest(copies, NOW)
    assert together.impact > alone.impact


async def test_is_urgent_when_impact_crosses_the_threshold_and_a_symbol_is_named() -> None:
    stage = build_intelligence(Settings(), None, EventBus(),  # type: ignore[arg-type]
                               SimClock(NOW), sources=[])
    news = item("x")
    assert stage.is_urgent(MarketEvent(news, EventType.MERGER, ("MSFT",), 0.71, 0.3, 1.0))
    assert not stage.is_urgent(MarketEvent(news, EventType.MERGER, ("MSFT",), 0.69, 0.3, 1.0))
    assert not stage.is_urgent(MarketEvent(news, EventType.MACRO, (), 0.95, 0.3, 1.0))


class BrokenSource:
    name = "broken"
    credibility = 0.5
    poll_once = False
    health = SourceHealth()

    async def fetch(self, now: datetime) -> list[NewsItem]:
        raise ConnectionError("feed host unreachable")

    def rewind(self) -> None:
        pass

    async def close(self) -> None:
        pass


async def test_poll_when_a_source_raises_then_it_is_unhealthy_and_others_still_deliver(
    store: SqliteStore, bus: EventBus, recorder: Recorder
) -> None:
    stage = pipeline(store, bus, sources=[BrokenSource(), SampleNewsSource()])
    events = await stage.poll(NOW)
    assert events
    health = {h.source: h for h in recorder.of(SourceHealthChanged)}  # type: ignore[attr-defined]
    assert not health["news:broken"].healthy  # type: ignore[attr-defined]
    assert "feed host unreachable" in health["news:broken"].message  # type: ignore[attr-defined]
    # not due again until poll_seconds have passed
    assert await stage.poll(NOW + timedelta(seconds=1)) == []
    await stage.close()


class ScriptedAnalyst:
    """An analyst that answers whatever idea a test scripts (hostile model output)."""

    name = "scripted"
    active_model = ""

    def __init__(self, make: object) -> None:
        self.make = make
        self.requests: list[AnalysisRequest] = []

    async def analyze(self, request: AnalysisRequest) -> AnalysisOutcome:
        self.requests.append(request)
        idea = self.make(request)  # type: ignore[operator]
        return AnalysisOutcome(provider="scripted", model="m1", idea=idea, raw_output="{...}")

    async def models(self) -> list[ModelInfo]:
        return [ModelInfo("scripted", "m1")]

    def telemetry(self) -> dict[str, object]:
        return {}

    async def close(self) -> None:
        pass


def _idea(request: AnalysisRequest, **changes: object) -> TradeIdea:
    base = TradeIdea(id="", ts=request.now, provider="scripted", model="m1",
                     symbol=request.symbol, direction=Direction.LONG, score=0.5, confidence=0.6,
                     horizon="days", event_type=EventType.EARNINGS,
                     news_ids=tuple(e.item.id for e in request.events), rationale="ok")
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"symbol": "TSLA"}, "not in the universe"),
        ({"symbol": "\u0410APL"}, "look-alike"),
        ({"symbol": "MSFT"}, "not the requested symbol"),
        ({"news_ids": ("made-up",)}, "not in the request"),
        ({"news_ids": ()}, "cite"),
        ({"score": float("nan")}, "non-finite"),
        ({"direction": Direction.LONG, "score": -0.9}, "contradicts"),
        ({"horizon": "forever"}, "horizon"),
    ],
)
async def test_analyze_when_analyst_answers_a_bad_idea_then_it_is_rejected_and_recorded(
    store: SqliteStore, bus: EventBus, recorder: Recorder, market: dict[str, BarArrays],
    changes: dict[str, object], reason: str,
) -> None:
    stage = pipeline(store, bus, sources=[])
    await stage.attach(ScriptedAnalyst(lambda r: _idea(r, **changes)))  # type: ignore[arg-type]
    events = await stage.ingest([item("Apple beats estimates, shares soar 9% to a record")], NOW)
    ideas = await stage.analyze(events, NOW, market)
    assert ideas == []
    [abstained] = recorder.of(AnalystAbstained)
    assert reason in abstained.reason  # type: ignore[attr-defined]
    [row] = await store.query("SELECT parsed, errors, abstain_reason, provider FROM ai_decisions")
    assert row["parsed"] is None and row["provider"] == "scripted"
    assert reason in row["abstain_reason"]


async def test_analyze_when_analyst_answers_a_valid_idea_then_it_is_accepted_with_its_row_id(
    store: SqliteStore, bus: EventBus, market: dict[str, BarArrays]
) -> None:
    stage = pipeline(store, bus, sources=[])
    analyst = ScriptedAnalyst(_idea)
    await stage.attach(analyst)  # type: ignore[arg-type]
    events = await stage.ingest([item("Apple beats estimates, shares soar 9% to a record")], NOW)
    [idea] = await stage.analyze(events, NOW, market)
    [row] = await store.query("SELECT id FROM ai_decisions")
    assert idea.id == row["id"] and idea.symbol == "AAPL"
    request = analyst.requests[0]
    assert request.snapshot is not None and request.snapshot.symbol == "AAPL"
    assert request.universe == tuple(Settings().universe.symbols)


class HangingAnalyst(ScriptedAnalyst):
    async def analyze(self, request: AnalysisRequest) -> AnalysisOutcome:
        import asyncio

        await asyncio.sleep(3600)
        raise AssertionError("unreachable")


async def test_analyze_when_analyst_never_answers_then_timeout_is_recorded_as_abstention(
    store: SqliteStore, bus: EventBus, recorder: Recorder, market: dict[str, BarArrays]
) -> None:
    settings = Settings.model_validate({"analysts": {"timeout_seconds": 0.01}})
    stage = pipeline(store, bus, settings, sources=[])
    stage.call_timeout = 0.05
    await stage.attach(HangingAnalyst(_idea))  # type: ignore[arg-type]
    events = await stage.ingest([item("Apple beats estimates, shares soar 9% to a record")], NOW)
    assert await stage.analyze(events, NOW, market) == []
    [abstained] = recorder.of(AnalystAbstained)
    assert "no answer within" in abstained.reason  # type: ignore[attr-defined]
    assert stage.catalogue()["providers"] is not None


async def test_analyze_when_store_cannot_record_then_idea_is_dropped_with_an_error_event(
    tmp_path: object, bus: EventBus, recorder: Recorder, market: dict[str, BarArrays]
) -> None:
    from pathlib import Path

    store = SqliteStore(Path(str(tmp_path)) / "x.db")
    await store.open()
    stage = pipeline(store, bus, sources=[])
    events = await stage.ingest([item("Apple beats estimates, shares soar 9% to a record")], NOW)
    await store.close()  # the audit trail is gone: no idea may be traded
    assert await stage.analyze(events, NOW, market) == []
    assert any("idea dropped" in e.message for e in recorder.of(EngineErrorOccurred))  # type: ignore[attr-defined]


async def test_catalogue_when_asked_then_rules_is_listed_available_and_active(
    store: SqliteStore, bus: EventBus
) -> None:
    stage = pipeline(store, bus, sources=[])
    cat = stage.catalogue()
    assert cat["active"]["provider"] == "rules"
    names = [p["name"] for p in cat["providers"]]
    assert names == ["rules", "ollama", "openai", "anthropic", "auto"]
    rules = cat["providers"][0]
    assert rules["available"] and rules["models"] == ["lexicon-v1"]


async def test_select_when_provider_is_unknown_then_value_error_and_rules_stays_active(
    store: SqliteStore, bus: EventBus
) -> None:
    stage = pipeline(store, bus, sources=[])
    with pytest.raises(ValueError, match="unknown analyst 'gpt-9000'"):
        await stage.select("gpt-9000", None)
    assert stage.catalogue()["active"]["provider"] == "rules"
    await stage.select("rules", "lexicon-v1")
    assert stage.catalogue()["active"] == {"provider": "rules", "model": "lexicon-v1"}


async def test_poll_when_review_time_passes_then_the_review_runs_and_feeds_later_prompts(
    store: SqliteStore, bus: EventBus, market: dict[str, BarArrays]
) -> None:
    stage = pipeline(store, bus, sources=[])  # review_time 21:30 UTC; NOW is 14:30
    analyst = ScriptedAnalyst(_idea)
    await stage.attach(analyst)  # type: ignore[arg-type]
    await stage.poll(NOW + timedelta(hours=6))
    assert await store.query("SELECT id FROM daily_reviews") == []
    await stage.poll(NOW + timedelta(hours=7, minutes=1))
    assert len(await store.query("SELECT id FROM daily_reviews")) == 1
    await stage.poll(NOW + timedelta(hours=8))  # once a day
    assert len(await store.query("SELECT id FROM daily_reviews")) == 1
    events = await stage.ingest([item("Apple beats estimates, shares soar 9% to a record")], NOW)
    await stage.analyze(events, NOW, market)
    assert "no track record" in analyst.requests[0].performance_summary


async def test_analyze_when_auto_has_nothing_but_rules_then_fallbacks_are_published_and_ideas_come(
    store: SqliteStore, bus: EventBus, recorder: Recorder, market: dict[str, BarArrays]
) -> None:
    from robo_tui.domain.events import AnalystFellBack

    # no cloud key, cloud not allowed, and nothing listens on the Ollama port of this loopback
    settings = Settings.model_validate({"analysts": {
        "provider": "auto", "ollama_host": "http://127.0.0.1:9", "timeout_seconds": 2}})
    stage = build_intelligence(settings, store, bus, SimClock(NOW), sources=[])
    events = await stage.ingest([item("Apple beats estimates, shares soar 9% to a record")], NOW)
    ideas = await stage.analyze(events, NOW, market)
    assert [i.symbol for i in ideas] == ["AAPL"]
    assert ideas[0].provider == "rules"
    fallbacks = recorder.of(AnalystFellBack)
    assert fallbacks and fallbacks[-1].to_provider == "rules"  # type: ignore[attr-defined]
    assert stage.catalogue()["active"]["provider"] == "auto"
    await stage.close()
