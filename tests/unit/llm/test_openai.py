"""The OpenAI analyst through the official `openai` SDK against a local OpenAI-shaped server."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest

from robo_tui.adapters.llm.base import CallStatus
from robo_tui.adapters.llm.openai import OpenAIAnalyst
from robo_tui.domain.ideas import idea_json_schema

from .data import OPENAI_KEY, idea_json, request, settings
from .servers import OpenAIServer, Reply, openai_completion, openai_error


def analyst(server: OpenAIServer, **kw: Any) -> OpenAIAnalyst:
    model = kw.pop("model", None)
    kw.setdefault("openai_api_key", OPENAI_KEY)
    return OpenAIAnalyst(settings(openai_base_url=server.base_url, **kw), model=model)


def valid() -> Reply:
    return Reply(openai_completion(json.dumps(idea_json())))


async def test_analyze_when_valid_answer_then_idea_and_strict_schema_on_the_wire(
    openai_server: OpenAIServer,
) -> None:
    openai_server.completions(valid())
    a = analyst(openai_server)
    outcome = await a.analyze(request())
    assert outcome.idea is not None and outcome.idea.symbol == "AAPL"
    assert outcome.provider == "openai" and outcome.model == "gpt-5-2025-08-07"
    (call,) = openai_server.calls(OpenAIServer.PATH)
    body = call.json
    assert call.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert body["model"] == "gpt-5"
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["name"] == "trade_idea"
    assert fmt["json_schema"]["schema"] == idea_json_schema(["AAPL"])
    assert body["max_completion_tokens"] == 4096
    assert "temperature" not in body  # gpt-5 runs at its default temperature only
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    await a.close()


async def test_analyze_when_non_reasoning_model_then_temperature_zero(openai_server: OpenAIServer) -> None:
    openai_server.completions(valid())
    a = analyst(openai_server, openai_model="gpt-4.1")
    await a.analyze(request())
    body = openai_server.calls(OpenAIServer.PATH)[0].json
    assert body["model"] == "gpt-4.1" and body["temperature"] == 0
    await a.close()


async def test_analyze_when_refusal_then_abstain_with_reason_and_no_repair(
    openai_server: OpenAIServer,
) -> None:
    openai_server.completions(Reply(openai_completion(None, refusal="I can't help with trading.")))
    a = analyst(openai_server)
    result = await a.analyze_detailed(request())
    assert result.status is CallStatus.REFUSED
    assert result.outcome.idea is None
    assert result.outcome.abstain_reason == "refused: I can't help with trading."
    assert result.outcome.raw_output == "I can't help with trading."
    assert len(openai_server.calls(OpenAIServer.PATH)) == 1
    await a.close()


async def test_analyze_when_finish_reason_length_then_incomplete_abstention(
    openai_server: OpenAIServer,
) -> None:
    openai_server.completions(Reply(openai_completion('{"symbol": "AAPL", "dir', finish_reason="length")))
    a = analyst(openai_server)
    result = await a.analyze_detailed(request())
    assert result.status is CallStatus.INCOMPLETE
    assert "finish_reason length" in result.outcome.abstain_reason
    assert result.outcome.raw_output == '{"symbol": "AAPL", "dir'
    await a.close()


async def test_analyze_when_content_filter_then_refusal(openai_server: OpenAIServer) -> None:
    openai_server.completions(Reply(openai_completion("", finish_reason="content_filter")))
    a = analyst(openai_server)
    result = await a.analyze_detailed(request())
    assert result.status is CallStatus.REFUSED and "content filter" in result.outcome.abstain_reason
    await a.close()


async def test_analyze_when_invalid_then_repair_turn_then_abstain(openai_server: OpenAIServer) -> None:
    first = json.dumps(idea_json(symbol="TSLA", mode="live"))
    second = json.dumps(idea_json(symbol="NVDA"))
    openai_server.completions(Reply(openai_completion(first)), Reply(openai_completion(second)))
    a = analyst(openai_server)
    result = await a.analyze_detailed(request())
    assert result.status is CallStatus.INVALID
    assert result.outcome.idea is None
    calls = openai_server.calls(OpenAIServer.PATH)
    assert len(calls) == 2
    msgs = calls[1].json["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[2]["content"] == first
    assert "mode: unknown field" in msgs[3]["content"]
    assert first in result.outcome.raw_output and second in result.outcome.raw_output
    assert "repair answer: symbol 'NVDA' is not the requested symbol 'AAPL'" in result.outcome.errors
    await a.close()


async def test_analyze_when_invalid_then_repair_succeeds(openai_server: OpenAIServer) -> None:
    openai_server.completions(Reply(openai_completion("```json\n{\"symbol\": \"AAPL\"}\n```")), valid())
    a = analyst(openai_server)
    outcome = await a.analyze(request())
    assert outcome.idea is not None
    assert any("direction: required field is missing" in e for e in outcome.errors)
    await a.close()


async def test_analyze_when_server_too_slow_then_timeout(openai_server: OpenAIServer) -> None:
    openai_server.completions(Reply(openai_completion(json.dumps(idea_json())), delay=3.0))
    a = analyst(openai_server, timeout_seconds=0.3)
    started = time.perf_counter()
    result = await a.analyze_detailed(request())
    assert time.perf_counter() - started < 2.0
    assert result.status is CallStatus.TIMEOUT and result.outcome.abstain_reason == "timeout after 0.3s"
    assert a.telemetry()["timeouts"] == 1
    await a.close()


async def test_analyze_when_server_errors_then_failure_with_status(openai_server: OpenAIServer) -> None:
    openai_server.completions(Reply(openai_error("The server had an error"), status=500))
    a = analyst(openai_server)
    result = await a.analyze_detailed(request())
    assert result.status is CallStatus.ERROR
    assert result.outcome.abstain_reason.startswith("provider error: OpenAI HTTP 500")
    tel = a.telemetry()
    assert tel["failures"] == 1 and tel["errors"] == 1 and tel["consecutive_failures"] == 1
    assert tel["last_error"].startswith("provider error: OpenAI HTTP 500")
    await a.close()


async def test_analyze_when_key_rejected_and_echoed_then_key_never_in_outcome_telemetry_or_logs(
    openai_server: OpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    echo = f"Incorrect API key provided: {OPENAI_KEY}. Also {OPENAI_KEY[:12]}****XYZ."
    openai_server.completions(Reply(openai_error(echo, code="invalid_api_key"), status=401))
    a = analyst(openai_server)
    caplog.set_level(logging.DEBUG)
    outcome = await a.analyze(request())
    assert outcome.idea is None and "OpenAI HTTP 401" in outcome.abstain_reason
    everything = repr(outcome) + json.dumps(a.telemetry(), default=str) + caplog.text
    assert OPENAI_KEY not in everything
    assert OPENAI_KEY[:12] not in everything
    assert "***" in outcome.abstain_reason
    await a.close()


async def test_analyze_when_no_key_then_abstain_without_calling(openai_server: OpenAIServer) -> None:
    a = analyst(openai_server, openai_api_key=None)
    outcome = await a.analyze(request())
    assert outcome.idea is None
    assert "no OpenAI API key configured" in outcome.abstain_reason
    assert openai_server.requests == []
    assert await a.models() == []


async def test_models_when_key_configured_then_the_configured_model(openai_server: OpenAIServer) -> None:
    a = analyst(openai_server, openai_model="gpt-5-mini")
    (m,) = await a.models()
    assert (m.provider, m.name) == ("openai", "gpt-5-mini")
    assert OPENAI_KEY not in repr(m)
    await a.close()


def test_secret_scrubber_when_text_has_keys_then_masked_and_ordinary_words_kept() -> None:
    from pydantic import SecretStr

    from robo_tui.adapters.llm.base import SecretScrubber

    scrub = SecretScrubber([SecretStr("plain-secret-value"), None])
    text = "risk-adjusted; key sk-proj-abcdef123456 and sk-ant-api03-xyz789abc; plain-secret-value; Bearer abcdefgh1234"
    assert scrub(text) == "risk-adjusted; key *** and ***; ***; ***"
