"""Hosted analysts (OpenAI, Anthropic) whose server answers with a redirect to another origin:
the key never reaches the other server; the call abstains with a provider error."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from robo_tui.adapters.llm.anthropic import AnthropicAnalyst
from robo_tui.adapters.llm.openai import OpenAIAnalyst

from .data import ANTHROPIC_KEY, OPENAI_KEY, idea_json, request, settings
from .servers import (
    AnthropicServer,
    FakeServer,
    OpenAIServer,
    Reply,
    anthropic_message,
    anthropic_tool_use,
    openai_completion,
)


@pytest.fixture
def elsewhere() -> Iterator[AnthropicServer]:
    server = AnthropicServer()  # another port on 127.0.0.1: another origin
    server.start()
    yield server
    server.stop()


def seen_keys(server: FakeServer) -> str:
    return json.dumps([r.headers for r in server.requests]) + json.dumps(
        [r.body for r in server.requests], default=str)


async def test_anthropic_when_the_api_redirects_to_another_origin_then_the_key_stays_home(
    anthropic_server: AnthropicServer, elsewhere: AnthropicServer,
) -> None:
    elsewhere.messages(Reply(anthropic_message([anthropic_tool_use(idea_json())])))
    anthropic_server.messages(Reply({}, status=307,
                                    headers={"Location": elsewhere.url + AnthropicServer.PATH}))
    analyst = AnthropicAnalyst(settings(anthropic_base_url=anthropic_server.url,
                                        anthropic_api_key=ANTHROPIC_KEY))
    try:
        outcome = await analyst.analyze(request())
    finally:
        await analyst.close()
    assert anthropic_server.calls(AnthropicServer.PATH)  # the configured host was asked
    assert elsewhere.requests == []
    assert outcome.idea is None and outcome.abstain_reason.startswith("provider error")
    assert ANTHROPIC_KEY not in outcome.abstain_reason


async def test_openai_when_the_api_redirects_to_another_origin_then_the_key_stays_home(
    openai_server: OpenAIServer,
) -> None:
    other = OpenAIServer()
    other.start()
    try:
        other.completions(Reply(openai_completion(json.dumps(idea_json()))))
        openai_server.completions(Reply({}, status=307, headers={
            "Location": other.base_url + "/chat/completions"}))
        analyst = OpenAIAnalyst(settings(openai_base_url=openai_server.base_url,
                                         openai_api_key=OPENAI_KEY))
        try:
            outcome = await analyst.analyze(request())
        finally:
            await analyst.close()
        assert OPENAI_KEY not in seen_keys(other)
        assert other.requests == []
        assert outcome.idea is None
    finally:
        other.stop()
