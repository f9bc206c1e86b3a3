"""The Anthropic analyst through the official `anthropic` SDK against a local Messages API server."""

from __future__ import annotations

import json
import time
from typing import Any

from robo_tui.adapters.llm.anthropic import TOOL_NAME, AnthropicAnalyst
from robo_tui.adapters.llm.base import CallStatus
from robo_tui.domain.ideas import IDEA_JSON_SCHEMA

from .data import ANTHROPIC_KEY, idea_json, request, settings
from .servers import (
    AnthropicServer,
    Reply,
    anthropic_error,
    anthropic_message,
    anthropic_tool_use,
)


def analyst(server: AnthropicServer, **kw: Any) -> AnthropicAnalyst:
    model = kw.pop("model", None)
    kw.setdefault("anthropic_api_key", ANTHROPIC_KEY)
    return AnthropicAnalyst(settings(anthropic_base_url=server.url, **kw), model=model)


def tool_reply(data: Any, tool_id: str = "toolu_01") -> Reply:
    return Reply(anthropic_message([anthropic_tool_use(data, tool_id=tool_id)]))


async def test_analyze_when_tool_called_with_valid_input_then_idea_and_forced_strict_tool_on_wire(
    anthropic_server: AnthropicServer,
) -> None:
    anthropic_server.messages(tool_reply(idea_json()))
    a = analyst(anthropic_server)
    outcome = await a.analyze(request())
    assert outcome.idea is not None and outcome.idea.symbol == "AAPL"
    assert outcome.provider == "anthropic" and outcome.model == "claude-sonnet-4-5-20250929"
    (call,) = anthropic_server.calls(AnthropicServer.PATH)
    sent = {call.headers.get("x-api-key"), call.headers.get("authorization", "").removeprefix("Bearer ")}
    assert ANTHROPIC_KEY in sent
    body = call.json
    assert body["model"] == "claude-sonnet-4-6"
    assert body["max_tokens"] == 4096
    assert body["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    (tool,) = body["tools"]
    assert tool["name"] == TOOL_NAME and tool["strict"] is True
    schema = tool["input_schema"]
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert schema["required"] == IDEA_JSON_SCHEMA["required"]
    assert set(schema["properties"]) == set(IDEA_JSON_SCHEMA["properties"])
    assert schema["properties"]["symbol"]["enum"] == ["AAPL"]
    assert "system" in body and "untrusted data" in body["system"]
    assert [m["role"] for m in body["messages"]] == ["user"]
    assert json.loads(outcome.raw_output) == idea_json()
    await a.close()


async def test_analyze_when_invalid_tool_input_then_error_tool_result_then_valid(
    anthropic_server: AnthropicServer,
) -> None:
    anthropic_server.messages(tool_reply(idea_json(qty=1e9), "toolu_bad"), tool_reply(idea_json(), "toolu_ok"))
    a = analyst(anthropic_server)
    outcome = await a.analyze(request())
    assert outcome.idea is not None
    second = anthropic_server.calls(AnthropicServer.PATH)[1].json
    _user, assistant, result = second["messages"]
    assert assistant["content"][0] == {
        "type": "tool_use", "id": "toolu_bad", "name": TOOL_NAME, "input": idea_json(qty=1e9),
    }
    block = result["content"][0]
    assert block["type"] == "tool_result" and block["tool_use_id"] == "toolu_bad"
    assert block["is_error"] is True and "qty: unknown field" in block["content"]
    await a.close()


async def test_analyze_when_invalid_twice_then_abstain_with_both_raw_outputs(
    anthropic_server: AnthropicServer,
) -> None:
    anthropic_server.messages(tool_reply(idea_json(symbol="ΑAPL")), tool_reply(idea_json(news_ids=["x"])))
    a = analyst(anthropic_server)
    result = await a.analyze_detailed(request())
    assert result.status is CallStatus.INVALID
    assert "U+0391" in result.outcome.errors[0]
    assert "'x'" in result.outcome.abstain_reason
    assert result.outcome.raw_output.count("--- repair answer ---") == 1
    await a.close()


async def test_analyze_when_stop_reason_refusal_then_abstain(anthropic_server: AnthropicServer) -> None:
    anthropic_server.messages(Reply(anthropic_message(
        [{"type": "text", "text": "I won't provide trading advice."}], stop_reason="refusal")))
    a = analyst(anthropic_server)
    result = await a.analyze_detailed(request())
    assert result.status is CallStatus.REFUSED
    assert result.outcome.abstain_reason == "refused: I won't provide trading advice."
    assert len(anthropic_server.requests) == 1
    await a.close()


async def test_analyze_when_stop_reason_max_tokens_then_incomplete(anthropic_server: AnthropicServer) -> None:
    anthropic_server.messages(Reply(anthropic_message(
        [anthropic_tool_use({"symbol": "AAPL"})], stop_reason="max_tokens")))
    a = analyst(anthropic_server)
    result = await a.analyze_detailed(request())
    assert result.status is CallStatus.INCOMPLETE
    assert "stop_reason max_tokens" in result.outcome.abstain_reason
    await a.close()


async def test_analyze_when_answer_is_text_not_tool_then_text_is_validated(
    anthropic_server: AnthropicServer,
) -> None:
    anthropic_server.messages(Reply(anthropic_message(
        [{"type": "text", "text": "```json\n" + json.dumps(idea_json()) + "\n```"}], stop_reason="end_turn")))
    a = analyst(anthropic_server)
    outcome = await a.analyze(request())
    assert outcome.idea is not None
    await a.close()


async def test_analyze_when_server_too_slow_then_timeout(anthropic_server: AnthropicServer) -> None:
    anthropic_server.messages(Reply(anthropic_message([anthropic_tool_use(idea_json())]), delay=3.0))
    a = analyst(anthropic_server, timeout_seconds=0.3)
    started = time.perf_counter()
    result = await a.analyze_detailed(request())
    assert time.perf_counter() - started < 2.0
    assert result.status is CallStatus.TIMEOUT
    await a.close()


async def test_analyze_when_overloaded_then_failure_without_key(anthropic_server: AnthropicServer) -> None:
    anthropic_server.messages(Reply(anthropic_error(f"Overloaded (key {ANTHROPIC_KEY})", kind="overloaded_error"),
                                    status=529))
    a = analyst(anthropic_server)
    result = await a.analyze_detailed(request())
    assert result.status is CallStatus.ERROR
    assert "Anthropic HTTP 529" in result.outcome.abstain_reason
    assert ANTHROPIC_KEY not in repr(result.outcome) and ANTHROPIC_KEY not in json.dumps(a.telemetry())
    await a.close()


async def test_analyze_when_no_key_then_abstain_without_calling(anthropic_server: AnthropicServer) -> None:
    a = analyst(anthropic_server, anthropic_api_key=None)
    outcome = await a.analyze(request())
    assert "no Anthropic API key configured" in outcome.abstain_reason
    assert anthropic_server.requests == []
