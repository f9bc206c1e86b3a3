"""The Ollama analyst through the official `ollama` client against a local Ollama-shaped server."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from robo_tui.adapters.llm.base import CallStatus
from robo_tui.adapters.llm.ollama import (
    OllamaAnalyst,
    choose_model,
    rank_models,
    resolve_host,
)
from robo_tui.domain.analysis import ModelInfo
from robo_tui.domain.ideas import idea_json_schema

from .data import idea_json, request, settings
from .servers import OllamaServer, Recorded, Reply, ollama_chat_reply


def analyst(server: OllamaServer, **kw: Any) -> OllamaAnalyst:
    model = kw.pop("model", None)
    return OllamaAnalyst(settings(ollama_host=server.url, **kw), model=model)


def info(name: str, size_gb: float, params: str, quant: str = "Q4_K_M") -> ModelInfo:
    return ModelInfo("ollama", name, int(size_gb * 1e9), params, quant)


def valid_reply(**overrides: Any) -> Reply:
    return Reply(ollama_chat_reply(json.dumps(idea_json(**overrides))))


# -- selection policy ------------------------------------------------------------------------------

DEFAULT_POLICY = ["deepseek-r1", "qwen2.5", "llama3.3:70b", "llama3.1:8b", "*"]


def test_choose_model_when_deepseek_installed_then_it_comes_first() -> None:
    models = [info("qwen2.5:32b", 19.9, "32.8B"), info("deepseek-r1:8b", 5.2, "8.2B"),
              info("llama3.1:8b", 4.9, "8.0B")]
    chosen = choose_model(models, DEFAULT_POLICY, 0)
    assert chosen is not None and chosen.name == "deepseek-r1:8b"


def test_choose_model_when_no_deepseek_then_the_largest_qwen25() -> None:
    models = [info("qwen2.5:7b", 4.7, "7.6B"), info("qwen2.5:32b", 19.9, "32.8B"),
              info("qwen2.5-coder:32b", 19.9, "32.8B"), info("llama3.1:8b", 4.9, "8.0B")]
    chosen = choose_model(models, DEFAULT_POLICY, 0)
    assert chosen is not None and chosen.name == "qwen2.5:32b"


def test_choose_model_when_budget_too_small_for_70b_then_next_entry() -> None:
    models = [info("llama3.3:70b", 42.5, "70.6B"), info("llama3.1:8b", 4.9, "8.0B")]
    assert choose_model(models, DEFAULT_POLICY, 64).name == "llama3.3:70b"  # type: ignore[union-attr]
    assert choose_model(models, DEFAULT_POLICY, 32).name == "llama3.1:8b"  # type: ignore[union-attr]


def test_choose_model_when_memory_is_tight_then_quantized_variant() -> None:
    fp16 = info("llama3.1:8b-instruct-fp16", 16.1, "8.0B", "F16")
    q4 = info("llama3.1:8b-instruct-q4_K_M", 4.9, "8.0B", "Q4_K_M")
    # plenty of room: full precision; fits but tight (19.3 GB of 22): quantized; no fit: quantized
    assert choose_model([fp16, q4], DEFAULT_POLICY, 64) == fp16
    assert choose_model([fp16, q4], DEFAULT_POLICY, 22) == q4
    assert choose_model([fp16, q4], DEFAULT_POLICY, 12) == q4


def test_choose_model_when_nothing_matches_and_no_wildcard_then_none() -> None:
    models = [info("mistral:7b", 4.1, "7.2B")]
    assert choose_model(models, ["qwen2.5"], 0) is None
    assert choose_model(models, ["qwen2.5", "*"], 0) == models[0]


def test_rank_models_when_policy_then_every_fitting_model_in_order() -> None:
    models = [info("llama3.2:1b", 1.3, "1.2B"), info("qwen2.5:7b", 4.7, "7.6B"),
              info("llama3.1:8b", 4.9, "8.0B"), info("qwen2.5:72b", 47.0, "72.7B")]
    ranked = [m.name for m in rank_models(models, DEFAULT_POLICY, 16)]
    assert ranked == ["qwen2.5:7b", "llama3.1:8b", "llama3.2:1b"]


def test_resolve_host_when_configured_env_or_neither() -> None:
    assert resolve_host("http://gpu-box:11434", {"OLLAMA_HOST": "http://x:1"}) == "http://gpu-box:11434"
    assert resolve_host("", {"OLLAMA_HOST": "http://x:1"}) == "http://x:1"
    assert resolve_host("", {}) == "http://127.0.0.1:11434"


# -- discovery over the wire -------------------------------------------------------------------------


async def test_models_when_server_lists_models_then_details_from_show(ollama_server: OllamaServer) -> None:
    a = analyst(ollama_server)
    models = {m.name: m for m in await a.models()}
    assert set(models) == {"llama3.1:8b", "qwen2.5:7b", "qwen2.5:32b", "llama3.2:1b"}
    qwen = models["qwen2.5:32b"]
    assert qwen.parameter_size == "32.8B" and qwen.quantization == "Q4_K_M"
    assert qwen.size_bytes == int(19.9e9)
    assert qwen.details["parameter_count"] == str(32_800_000_000)
    assert qwen.details["context_length"] == "131072"
    assert qwen.details["quantized"] == "yes"
    shown = sorted(r.json["model"] for r in ollama_server.calls("/api/show"))
    assert shown == sorted(models)
    await a.close()


async def test_models_when_server_unreachable_then_empty_list() -> None:
    server = OllamaServer([])
    url = server.url
    server.stop()  # nothing listens there any more
    a = OllamaAnalyst(settings(ollama_host=url))
    assert await a.models() == []
    assert a.reachable is False
    outcome = await a.analyze(request())
    assert outcome.idea is None and "not reachable" in outcome.abstain_reason
    await a.close()


# -- calls -----------------------------------------------------------------------------------------


async def test_analyze_when_valid_answer_then_idea_from_policy_model(ollama_server: OllamaServer) -> None:
    ollama_server.chat(lambda rec: Reply(ollama_chat_reply(json.dumps(idea_json()), model=rec.json["model"])))
    a = analyst(ollama_server, ollama_num_ctx=4096, ollama_keep_alive="5m")
    outcome = await a.analyze(request())
    assert outcome.idea is not None and outcome.idea.symbol == "AAPL"
    assert outcome.provider == "ollama" and outcome.model == "qwen2.5:32b"
    assert outcome.template == "earnings" and len(outcome.prompt_hash) == 64
    assert outcome.raw_output == json.dumps(idea_json())
    (call,) = ollama_server.calls("/api/chat")
    body = call.json
    assert body["model"] == "qwen2.5:32b"
    assert body["format"] == idea_json_schema(["AAPL"])
    assert body["options"]["temperature"] == 0
    assert body["options"]["num_ctx"] == 4096
    assert body["keep_alive"] == "5m"
    assert body["stream"] is False
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "<untrusted_news>" in body["messages"][1]["content"]
    await a.close()


async def test_analyze_when_model_pinned_then_no_discovery_and_pinned_model_used(
    ollama_server: OllamaServer,
) -> None:
    ollama_server.chat(valid_reply())
    a = analyst(ollama_server, model="llama3.2:1b")
    outcome = await a.analyze(request())
    assert outcome.idea is not None
    assert ollama_server.calls("/api/tags") == []
    assert ollama_server.calls("/api/chat")[0].json["model"] == "llama3.2:1b"
    await a.close()


async def test_analyze_when_invalid_then_repair_then_valid_idea(ollama_server: OllamaServer) -> None:
    bad = json.dumps(idea_json(qty=1e9))
    ollama_server.chat(Reply(ollama_chat_reply(bad)), valid_reply())
    a = analyst(ollama_server)
    outcome = await a.analyze(request())
    assert outcome.idea is not None
    _first, second = ollama_server.calls("/api/chat")
    msgs = second.json["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[2]["content"] == bad
    assert "qty: unknown field" in msgs[3]["content"]
    assert outcome.errors[0].startswith("first answer: qty")
    assert "[repair]" in outcome.prompt
    assert a.telemetry()["repairs"] == 1
    await a.close()


async def test_analyze_when_invalid_twice_then_abstain_keeping_both_raw_outputs(
    ollama_server: OllamaServer,
) -> None:
    ollama_server.chat(Reply(ollama_chat_reply('{"symbol": "TSLA", "mode": "live"')),
                       Reply(ollama_chat_reply("I cannot comply.")))
    a = analyst(ollama_server)
    outcome = await a.analyze(request())
    assert outcome.idea is None
    assert len(ollama_server.calls("/api/chat")) == 2
    assert '{"symbol": "TSLA", "mode": "live"' in outcome.raw_output
    assert "I cannot comply." in outcome.raw_output
    assert outcome.abstain_reason == "invalid output after one repair: output holds no JSON object"
    assert outcome.errors[0].startswith("first answer: output is not valid JSON")
    assert outcome.errors[-1] == "repair answer: output holds no JSON object"
    assert a.telemetry()["invalid"] == 1
    await a.close()


async def test_analyze_when_server_too_slow_then_timeout_abstention(ollama_server: OllamaServer) -> None:
    ollama_server.chat(Reply(ollama_chat_reply(json.dumps(idea_json())), delay=3.0))
    a = analyst(ollama_server, timeout_seconds=0.3, model="llama3.1:8b")
    started = time.perf_counter()
    result = await a.analyze_detailed(request())
    assert time.perf_counter() - started < 2.0
    assert result.status is CallStatus.TIMEOUT
    assert result.outcome.idea is None and result.outcome.abstain_reason == "timeout after 0.3s"
    tel = a.telemetry()
    assert tel["timeouts"] == 1 and tel["failures"] == 1 and tel["last_error"] == "timeout after 0.3s"
    await a.close()


async def test_analyze_when_reasoning_model_thinks_aloud_then_answer_parsed_and_reasoning_kept(
    ollama_server: OllamaServer,
) -> None:
    content = "<think>Guidance raised {maybe} ...</think>\n" + json.dumps(idea_json())
    ollama_server.chat(Reply(ollama_chat_reply(content, model="deepseek-r1:8b")))
    a = analyst(ollama_server, model="deepseek-r1:8b")
    outcome = await a.analyze(request())
    assert outcome.idea is not None
    assert "[reasoning]" in outcome.raw_output and "Guidance raised" in outcome.raw_output
    await a.close()


async def test_analyze_when_done_reason_length_then_incomplete_abstention(ollama_server: OllamaServer) -> None:
    ollama_server.chat(Reply(ollama_chat_reply('{"symbol": "AAPL", "direc', done_reason="length")))
    a = analyst(ollama_server, model="llama3.1:8b")
    result = await a.analyze_detailed(request())
    assert result.status is CallStatus.INCOMPLETE
    assert "done_reason length" in result.outcome.abstain_reason
    assert len(ollama_server.calls("/api/chat")) == 1
    await a.close()


async def test_analyze_when_model_missing_then_error_names_http_status(ollama_server: OllamaServer) -> None:
    ollama_server.chat(Reply({"error": "model 'nope' not found"}, status=404))
    a = analyst(ollama_server, model="nope")
    outcome = await a.analyze(request())
    assert outcome.idea is None
    assert outcome.abstain_reason == "provider error: Ollama HTTP 404: model 'nope' not found"
    await a.close()


async def test_analyze_when_concurrency_is_one_then_calls_never_overlap(ollama_server: OllamaServer) -> None:
    ollama_server.chat(Reply(ollama_chat_reply(json.dumps(idea_json())), delay=0.05))
    a = analyst(ollama_server, model="llama3.1:8b", max_concurrency=1)
    outcomes = await asyncio.gather(*(a.analyze(request()) for _ in range(4)))
    assert all(o.idea is not None for o in outcomes)
    assert ollama_server.max_in_flight == 1
    await a.close()


async def test_analyze_when_concurrency_is_three_then_at_most_three_in_flight(
    ollama_server: OllamaServer,
) -> None:
    ollama_server.chat(Reply(ollama_chat_reply(json.dumps(idea_json())), delay=0.1))
    a = analyst(ollama_server, model="llama3.1:8b", max_concurrency=3)
    await asyncio.gather(*(a.analyze(request()) for _ in range(6)))
    assert ollama_server.max_in_flight == 3
    await a.close()


# -- two-stage and downgrade -------------------------------------------------------------------------


def screen_then_decide(relevant: bool) -> Any:
    def reply(rec: Recorded) -> Reply:
        if rec.json["model"] == "llama3.2:1b":
            return Reply(ollama_chat_reply(json.dumps({"relevant": relevant, "reason": "earnings beat"}),
                                           model="llama3.2:1b"))
        return Reply(ollama_chat_reply(json.dumps(idea_json()), model=rec.json["model"]))
    return reply


async def test_two_stage_when_screen_says_not_relevant_then_best_model_not_called(
    ollama_server: OllamaServer,
) -> None:
    ollama_server.chat(screen_then_decide(False))
    a = analyst(ollama_server, two_stage=True)
    result = await a.analyze_detailed(request())
    assert result.status is CallStatus.SCREENED
    assert result.outcome.idea is None
    assert "llama3.2:1b found the news not relevant to AAPL" in result.outcome.abstain_reason
    assert [c.json["model"] for c in ollama_server.calls("/api/chat")] == ["llama3.2:1b"]
    assert a.telemetry()["screen"] == {"passed": 0, "screened_out": 1, "errors": 0}
    await a.close()


async def test_two_stage_when_screen_passes_then_best_model_decides(ollama_server: OllamaServer) -> None:
    ollama_server.chat(screen_then_decide(True))
    a = analyst(ollama_server, two_stage=True)
    outcome = await a.analyze(request())
    assert outcome.idea is not None and outcome.model == "qwen2.5:32b"
    calls = ollama_server.calls("/api/chat")
    assert [c.json["model"] for c in calls] == ["llama3.2:1b", "qwen2.5:32b"]
    assert calls[0].json["format"]["required"] == ["relevant", "reason"]
    await a.close()


async def test_downgrade_when_best_model_keeps_failing_then_next_smaller_model(
    ollama_server: OllamaServer,
) -> None:
    def reply(rec: Recorded) -> Reply:
        if rec.json["model"] == "qwen2.5:32b":
            return Reply({"error": "model requires more system memory"}, status=500)
        return Reply(ollama_chat_reply(json.dumps(idea_json()), model=rec.json["model"]))

    ollama_server.chat(reply)
    a = analyst(ollama_server, downgrade_error_rate=0.5)
    failed = [await a.analyze(request()) for _ in range(5)]
    assert all(o.idea is None for o in failed)
    assert a.active_model == "qwen2.5:7b"
    (dg,) = a.telemetry()["downgrades"]
    assert dg["from"] == "qwen2.5:32b" and dg["to"] == "qwen2.5:7b" and "error rate" in dg["reason"]
    outcome = await a.analyze(request())
    assert outcome.idea is not None and outcome.model == "qwen2.5:7b"
    await a.close()


async def test_downgrade_when_median_latency_above_threshold_then_smaller_model(
    ollama_server: OllamaServer,
) -> None:
    ollama_server.chat(Reply(ollama_chat_reply(json.dumps(idea_json())), delay=0.02))
    a = analyst(ollama_server, downgrade_latency_ms=5.0)
    for _ in range(5):
        assert (await a.analyze(request())).idea is not None
    assert a.active_model == "qwen2.5:7b"
    assert "median latency" in a.downgrades[0].reason
    await a.close()


async def test_downgrade_when_model_pinned_then_never(ollama_server: OllamaServer) -> None:
    ollama_server.chat(Reply({"error": "boom"}, status=500))
    a = analyst(ollama_server, model="qwen2.5:32b")
    for _ in range(6):
        await a.analyze(request())
    assert a.active_model == "qwen2.5:32b" and a.downgrades == []
    await a.close()
