"""The auto analyst: chain choice, fail-over with telemetry, and the circuit breaker, over the wire."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from robo_tui.adapters.llm.auto import AutoAnalyst, CircuitBreaker
from robo_tui.ports import Store

from .data import ANTHROPIC_KEY, OPENAI_KEY, idea_json, request, settings
from .servers import (
    OllamaServer,
    OpenAIServer,
    Reply,
    ollama_chat_reply,
    openai_completion,
    openai_error,
)


class Clock:
    """A hand-driven monotonic clock."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class AuditLog:
    """Just the `audit` part of the Store port, recording what it is given."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, dict[str, Any], str]] = []

    async def audit(self, kind: str, payload: Mapping[str, Any], by: str) -> None:
        self.rows.append((kind, dict(payload), by))


def unreachable_url() -> str:
    server = OllamaServer([])
    url = server.url
    server.stop()
    return url


def test_chain_when_no_keys_then_ollama_then_rules() -> None:
    assert AutoAnalyst(settings()).chain() == ["ollama", "rules"]


def test_chain_when_keys_but_cloud_not_allowed_then_no_cloud() -> None:
    s = settings(openai_api_key=OPENAI_KEY, anthropic_api_key=ANTHROPIC_KEY, cloud_allowed=False)
    assert AutoAnalyst(s).chain() == ["ollama", "rules"]


def test_chain_when_keys_and_cloud_allowed_then_cloud_first_in_configured_order() -> None:
    s = settings(openai_api_key=OPENAI_KEY, anthropic_api_key=ANTHROPIC_KEY, cloud_allowed=True)
    assert AutoAnalyst(s).chain() == ["openai", "anthropic", "ollama", "rules"]
    s2 = settings(anthropic_api_key=ANTHROPIC_KEY, cloud_allowed=True,
                  auto_order=["anthropic", "ollama", "rules"])
    assert AutoAnalyst(s2).chain() == ["anthropic", "ollama", "rules"]


async def test_analyze_when_cloud_fails_then_falls_back_to_ollama_with_telemetry(
    openai_server: OpenAIServer, ollama_server: OllamaServer
) -> None:
    openai_server.completions(Reply(openai_error("upstream overloaded"), status=503))
    ollama_server.chat(Reply(ollama_chat_reply(json.dumps(idea_json()), model="qwen2.5:32b")))
    seen: list[tuple[str, str, str]] = []
    audit = AuditLog()
    auto = AutoAnalyst(
        settings(openai_api_key=OPENAI_KEY, cloud_allowed=True, openai_base_url=openai_server.base_url,
                 ollama_host=ollama_server.url),
        store=cast(Store, audit),
        on_fallback=lambda src, dst, why: seen.append((src, dst, why)),
    )
    outcome = await auto.analyze(request())
    assert outcome.idea is not None and outcome.provider == "ollama" and outcome.model == "qwen2.5:32b"
    assert len(openai_server.requests) == 1
    (fb,) = auto.fallbacks
    assert (fb.from_provider, fb.to_provider, fb.symbol) == ("openai", "ollama", "AAPL")
    assert fb.reason.startswith("provider error: OpenAI HTTP 503")
    assert seen == [("openai", "ollama", fb.reason)]
    assert audit.rows == [("analyst_fallback",
                           {"symbol": "AAPL", "from": "openai", "to": "ollama", "reason": fb.reason}, "auto")]
    assert outcome.errors[0] == f"fell back from openai to ollama: {fb.reason}"
    tel = auto.telemetry()
    assert tel["fallbacks"] == 1 and tel["last_provider"] == "ollama"
    assert tel["providers"]["openai"]["failures"] == 1
    assert tel["providers"]["ollama"]["ok"] == 1
    assert OPENAI_KEY not in json.dumps(tel, default=str)
    await auto.close()


async def test_analyze_when_ollama_unreachable_then_rules_answers() -> None:
    seen: list[tuple[str, str, str]] = []
    auto = AutoAnalyst(settings(ollama_host=unreachable_url()),
                       on_fallback=lambda *a: seen.append(a))
    outcome = await auto.analyze(request())
    assert outcome.provider == "rules"
    assert seen == [("ollama", "rules", "ollama unreachable or no model installed")]
    await auto.close()


async def test_analyze_when_cloud_times_out_then_next_provider(
    openai_server: OpenAIServer, ollama_server: OllamaServer
) -> None:
    openai_server.completions(Reply(openai_completion(json.dumps(idea_json())), delay=3.0))
    ollama_server.chat(Reply(ollama_chat_reply(json.dumps(idea_json()))))
    auto = AutoAnalyst(settings(openai_api_key=OPENAI_KEY, cloud_allowed=True, timeout_seconds=0.3,
                                openai_base_url=openai_server.base_url, ollama_host=ollama_server.url))
    outcome = await auto.analyze(request())
    assert outcome.provider == "ollama" and outcome.idea is not None
    assert auto.fallbacks[0].reason == "timeout after 0.3s"
    await auto.close()


async def test_analyze_when_cloud_refuses_then_no_fallback(
    openai_server: OpenAIServer, ollama_server: OllamaServer
) -> None:
    openai_server.completions(Reply(openai_completion(None, refusal="No.")))
    auto = AutoAnalyst(settings(openai_api_key=OPENAI_KEY, cloud_allowed=True,
                                openai_base_url=openai_server.base_url, ollama_host=ollama_server.url))
    outcome = await auto.analyze(request())
    assert outcome.provider == "openai" and outcome.idea is None and outcome.abstain_reason == "refused: No."
    assert auto.fallbacks == [] and ollama_server.calls("/api/chat") == []
    await auto.close()


async def test_circuit_breaker_when_provider_keeps_failing_then_skipped_until_cooldown_then_trial(
    openai_server: OpenAIServer,
) -> None:
    openai_server.completions(Reply(openai_error("down"), status=500), Reply(openai_error("down"), status=500),
                              Reply(openai_completion(json.dumps(idea_json()))))
    clock = Clock()
    auto = AutoAnalyst(
        settings(openai_api_key=OPENAI_KEY, cloud_allowed=True, openai_base_url=openai_server.base_url,
                 ollama_host=unreachable_url(), circuit_breaker_failures=2,
                 circuit_breaker_cooldown_seconds=60, auto_order=["openai", "rules"]),
        clock=clock,
    )
    for _ in range(2):
        assert (await auto.analyze(request())).provider == "rules"
    assert len(openai_server.requests) == 2
    assert auto.telemetry()["breakers"]["openai"]["state"] == "open"

    clock.t += 30
    outcome = await auto.analyze(request())
    assert outcome.provider == "rules"
    assert len(openai_server.requests) == 2  # not called while open
    assert auto.fallbacks[-1].reason == "openai circuit open after 2 failures (30s of cool-down left)"

    clock.t += 31
    outcome = await auto.analyze(request())
    assert len(openai_server.requests) == 3  # one trial call after the cool-down
    assert outcome.provider == "openai" and outcome.idea is not None
    assert auto.telemetry()["breakers"]["openai"] == {
        "state": "closed", "failures": 0, "trips": 1, "cooldown_left_s": 0.0}
    await auto.close()


def test_circuit_breaker_when_trial_fails_then_open_again_for_a_full_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 10, clock)
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow()
    clock.t += 10
    assert breaker.allow() and not breaker.allow()  # exactly one trial
    breaker.record_failure()
    assert breaker.state == "open" and breaker.seconds_left() == 10 and breaker.trips == 2


async def test_auto_when_model_names_a_provider_then_that_provider_is_pinned(
    ollama_server: OllamaServer,
) -> None:
    ollama_server.chat(Reply(ollama_chat_reply(json.dumps(idea_json()))))
    auto = AutoAnalyst(settings(ollama_host=ollama_server.url), model="ollama/llama3.2:1b")
    outcome = await auto.analyze(request())
    assert outcome.provider == "ollama"
    assert ollama_server.calls("/api/chat")[0].json["model"] == "llama3.2:1b"
    assert auto.active_model == "ollama/llama3.2:1b"
    names = {(m.provider, m.name) for m in await auto.models()}
    assert {("ollama", "qwen2.5:32b"), ("rules", "lexicon-v1")} <= names
    await auto.close()
