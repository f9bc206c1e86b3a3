"""Hostile corpus: adversarial model outputs and headlines never yield an idea outside the universe
or its request, never carry a size or a mode, and every rejection is recorded with its reason."""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Iterator
from dataclasses import fields
from typing import Any

import pytest

from robo_tui.adapters.llm.anthropic import AnthropicAnalyst
from robo_tui.adapters.llm.base import LLMAnalystBase
from robo_tui.adapters.llm.ollama import OllamaAnalyst
from robo_tui.adapters.llm.openai import OpenAIAnalyst
from robo_tui.adapters.llm.prompts import NEWS_CLOSE, NEWS_OPEN, build_prompt
from robo_tui.domain.analysis import AnalysisRequest
from robo_tui.domain.ideas import validate_idea
from robo_tui.domain.news import EventType, TradeIdea

from ..data import ANTHROPIC_KEY, NOW, OPENAI_KEY, UNIVERSE, news_event, request, settings
from ..servers import (
    AnthropicServer,
    FakeServer,
    OllamaServer,
    OpenAIServer,
    Reply,
    anthropic_message,
    anthropic_tool_use,
    ollama_chat_reply,
    openai_completion,
)
from .corpus import NAMES, HeadlineCase, OutputCase, headline_cases, output_cases

CASES = output_cases()
HEADLINES = headline_cases()
FORBIDDEN = {"qty", "quantity", "size", "mode", "limit", "leverage", "notional", "order_type"}


def req_for(symbol: str, *, title: str | None = None, summary: str | None = None,
            allow_short: bool = True, with_snapshot: bool = True) -> AnalysisRequest:
    event = news_event(
        "n1",
        title if title is not None else f"{NAMES[symbol]} reports results",
        symbols=(symbol,),
        summary=summary if summary is not None else f"{NAMES[symbol]} ({symbol}) news.",
        event_type=EventType.EARNINGS,
    )
    return request(symbol, events=(event,), allow_short=allow_short, with_snapshot=with_snapshot)


def assert_safe(idea: TradeIdea | None, req: AnalysisRequest) -> None:
    """The invariants no input may break."""
    if idea is None:
        return
    assert idea.symbol == req.symbol and idea.symbol in req.universe and idea.symbol.isascii()
    assert idea.direction.value in (("long", "flat", "short") if req.allow_short else ("long", "flat"))
    assert math.isfinite(idea.score) and -1 <= idea.score <= 1
    assert math.isfinite(idea.confidence) and 0 <= idea.confidence <= 1
    assert set(idea.news_ids) <= {e.item.id for e in req.events}
    assert not FORBIDDEN & {f.name for f in fields(idea)}
    assert all(ch == "\n" or unicodedata.category(ch)[0] != "C" for ch in idea.rationale)


def test_corpus_when_counted_then_at_least_two_hundred_cases_of_each_kind_together() -> None:
    assert len(CASES) >= 200
    assert len(HEADLINES) >= 90
    assert len({c.name for c in CASES}) == len(CASES)
    tags = {t for c in CASES for t in c.tags}
    assert {"size-mode-limit", "mode", "ticker", "homoglyph", "nan", "truncated", "fence",
            "refusal"} <= tags


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile_output_when_validated_then_safe_and_every_rejection_has_a_reason(case: OutputCase) -> None:
    req = req_for(case.symbol, allow_short=case.allow_short, with_snapshot=case.with_snapshot)
    idea, errors = validate_idea(case.raw, req, provider="corpus", model="m", idea_id="x", now=NOW)
    assert_safe(idea, req)
    if case.accept:
        assert idea is not None and errors == [], errors
    else:
        assert idea is None
        assert errors and all(isinstance(e, str) and e.strip() for e in errors)
        if case.reason:
            assert any(case.reason in e for e in errors), errors


@pytest.mark.parametrize("case", HEADLINES, ids=lambda c: c.name)
def test_hostile_headline_when_prompted_then_fenced_clean_and_inert(case: HeadlineCase) -> None:
    req = req_for(case.symbol, title=case.title, summary=case.summary)
    prompt = build_prompt(req)
    text = prompt.user
    assert text.count(NEWS_OPEN) == 1 and text.count(NEWS_CLOSE) == 1
    start, end = text.index(NEWS_OPEN), text.index(NEWS_CLOSE)
    assert end > start
    # nothing after the fence but our closing instruction
    assert text[end:].splitlines()[1:] == ["", (f"Answer now with one JSON object for {case.symbol} "
                                           "that matches the schema.")]
    inside = text[start + len(NEWS_OPEN):end]
    assert "<" not in inside and ">" not in inside
    for ch in prompt.text:
        assert ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Zl", "Zp"), repr(ch)


# -- end to end through each provider's SDK and a compromised model ---------------------------------


def _text(raw: str | dict[str, Any]) -> str:
    return raw if isinstance(raw, str) else json.dumps(raw)


def ollama_reply(raw: str | dict[str, Any]) -> Reply:
    return Reply(ollama_chat_reply(_text(raw)))


def openai_reply(raw: str | dict[str, Any]) -> Reply:
    return Reply(openai_completion(_text(raw)))


def anthropic_reply(raw: str | dict[str, Any]) -> Reply:
    if isinstance(raw, dict):
        return Reply(anthropic_message([anthropic_tool_use(raw)]))
    return Reply(anthropic_message([{"type": "text", "text": raw}], stop_reason="end_turn"))


@pytest.fixture(params=["ollama", "openai", "anthropic"])
def compromised(request: pytest.FixtureRequest) -> Iterator[tuple[FakeServer, LLMAnalystBase, Any]]:
    """A provider whose model obeys every injection: each call answers with a hostile output."""
    name = request.param
    server: FakeServer
    analyst: LLMAnalystBase
    if name == "ollama":
        server = OllamaServer([]).start()
        analyst = OllamaAnalyst(settings(ollama_host=server.url), model="llama3.1:8b")
        yield server, analyst, ollama_reply
    elif name == "openai":
        server = OpenAIServer().start()
        analyst = OpenAIAnalyst(settings(openai_api_key=OPENAI_KEY, openai_base_url=f"{server.url}/v1"))
        yield server, analyst, openai_reply
    else:
        server = AnthropicServer().start()
        analyst = AnthropicAnalyst(settings(anthropic_api_key=ANTHROPIC_KEY, anthropic_base_url=server.url))
        yield server, analyst, anthropic_reply
    server.stop()


PATHS = {OllamaServer: "/api/chat", OpenAIServer: OpenAIServer.PATH, AnthropicServer: AnthropicServer.PATH}


async def test_hostile_headlines_when_model_obeys_them_then_no_idea_and_reasons_recorded(
    compromised: tuple[FakeServer, LLMAnalystBase, Any],
) -> None:
    server, analyst, reply = compromised
    path = PATHS[type(server)]
    problems: list[str] = []
    for case in HEADLINES:
        bad = case.model_output
        server.route("POST", path, reply(bad.raw), reply(bad.raw))
        req = req_for(case.symbol, title=case.title, summary=case.summary,
                      allow_short=bad.allow_short, with_snapshot=bad.with_snapshot)
        outcome = await analyst.analyze(req)
        assert_safe(outcome.idea, req)
        if outcome.idea is not None:
            problems.append(f"{case.name}/{bad.name}: produced an idea")
        if not outcome.abstain_reason.strip():
            problems.append(f"{case.name}/{bad.name}: no recorded reason")
        if not outcome.raw_output and _text(bad.raw).strip():
            problems.append(f"{case.name}/{bad.name}: raw output not kept")
    assert problems == []
    # every prompt on the wire kept the hostile text inside one fence
    sent = [r for r in server.requests if r.path == path]
    assert len(sent) >= len(HEADLINES)
    for rec in sent:
        body = json.dumps(rec.json)
        assert body.count(NEWS_CLOSE) == body.count(NEWS_OPEN)
    await analyst.close()


def test_universe_fixture_matches_corpus_names() -> None:
    assert set(NAMES) == set(UNIVERSE)
