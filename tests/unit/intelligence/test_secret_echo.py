"""A news API that echoes the configured key back (in headlines, summaries and links) and a model
that repeats it: the key never reaches the store, the events the console renders, or the prompt
sent to the model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from robo_tui.adapters.store.sqlite import SqliteStore
from robo_tui.config import Settings
from robo_tui.engine.bus import EventBus
from robo_tui.engine.clock import SimClock
from robo_tui.wiring import build_intelligence
from tests.unit.llm.data import DEFAULT_MODELS
from tests.unit.llm.servers import OllamaServer, Reply, ollama_chat_reply
from tests.unit.news.feeds import FeedServer, feed_server

from .conftest import NOW, Recorder, bars

KEY = "canary-9d1e77b3c5a0"


@pytest.fixture
def news() -> Iterator[FeedServer]:
    with feed_server() as server:
        yield server


@pytest.fixture
def model() -> Iterator[OllamaServer]:
    pytest.importorskip("ollama")
    server = OllamaServer([dict(m) for m in DEFAULT_MODELS])
    server.start()
    yield server
    server.stop()


def echoing_answer() -> bytes:
    return json.dumps({"status": "ok", "articles": [{
        "title": f"Nvidia to acquire rival in $40 billion record deal; key={KEY}",
        "description": f"Shares soar 25% (your key {KEY} was used)",
        "url": f"https://n.example.com/deal?apiKey={KEY}",
        "publishedAt": "2026-01-05T14:20:00Z", "source": {"name": "Wire"}}]}).encode()


async def test_pipeline_when_the_news_server_and_the_model_echo_the_key_then_it_is_nowhere(
    news: FeedServer, model: OllamaServer, store: SqliteStore, bus: EventBus, recorder: Recorder,
) -> None:
    news.put("/v2/everything", echoing_answer(), content_type="application/json")
    model.chat(Reply(ollama_chat_reply(json.dumps({
        "symbol": "NVDA", "direction": "long", "score": 0.6, "confidence": 0.7,
        "horizon": "days", "event_type": "m&a", "news_ids": ["x"],
        "rationale": f"the key {KEY} says so"}))))
    data: dict[str, Any] = Settings().model_dump()
    data["news"].update({"sample": False, "sources": [
        {"name": "wire", "kind": "json", "url": news.url("/v2/everything"), "api_key": KEY}]})
    data["analysts"].update({"provider": "ollama", "ollama_host": model.url,
                             "timeout_seconds": 10.0})
    settings = Settings.model_validate(data)
    stage = build_intelligence(settings, store, bus, SimClock(NOW))
    try:
        events = await stage.poll(NOW)
        assert events, "the echoed story was not ingested"
        market = {"NVDA": bars("NVDA", np.linspace(140.0, 150.0, 120))}
        await stage.analyze(events, NOW, market)
    finally:
        await stage.close()
    assert news.requests[0].headers["x-api-key"] == KEY  # it was configured and sent
    assert model.calls("/api/chat"), "the model was never asked"
    stored = await store.query("SELECT * FROM news_items")
    decisions = await store.query("SELECT * FROM ai_decisions")
    assert stored and decisions
    assert KEY not in json.dumps(stored, default=str)
    assert KEY not in json.dumps(decisions, default=str)
    assert KEY not in repr(recorder.events)  # what the console and the headless sink render
    leaks = [json.dumps(r.body, default=str) for r in model.requests if KEY in json.dumps(r.body, default=str)]
    assert not leaks, [l[max(0, l.find(KEY) - 300):l.find(KEY) + 40] for l in leaks]
