"""Ollama analyst: local models through the official `ollama` async client.

It discovers the installed models (`/api/tags`, then `/api/show` for each), picks one by the
configured priority policy and memory budget, and asks it through `/api/chat` with the idea's JSON
schema as `format`, temperature 0, a bounded context and `keep_alive`. In two-stage mode a fast
small model screens each request first and only the short list reaches the best model. When the
chosen model gets slow or keeps failing, the policy moves to the next smaller model.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from robo_tui.adapters.llm.base import (
    CallStatus,
    Completion,
    LLMAnalystBase,
    ProviderError,
    Repair,
    messages_for,
)
from robo_tui.adapters.llm.prompts import SCREEN_SCHEMA, Prompt, screen_prompt
from robo_tui.config import Settings
from robo_tui.domain.analysis import AnalysisRequest, ModelInfo
from robo_tui.domain.frozen import frozen
from robo_tui.domain.ideas import idea_json_schema, parse_json_object
from robo_tui.domain.text import clean_text
from robo_tui.ports import Store

if TYPE_CHECKING:
    import ollama

log = logging.getLogger(__name__)

DEFAULT_HOST = "http://127.0.0.1:11434"
CATALOGUE_TTL_SECONDS = 30.0
"""How long a model discovery is reused before `/api/tags` is asked again."""
MEMORY_OVERHEAD = 1.2
"""Loaded-model memory as a multiple of its file size (weights plus KV cache and buffers)."""
COMFORTABLE_SHARE = 0.7
"""A model using at most this share of the budget leaves room: prefer precision over size."""
DOWNGRADE_WINDOW = 20
"""Recent calls per model that the downgrade rule looks at."""
DOWNGRADE_MIN_CALLS = 5
"""Calls needed before a model may be judged slow or failing."""

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_PARAMS = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([KMBT]?)\s*$", re.IGNORECASE)
_QUANT_BITS = re.compile(r"(?:^|[^A-Z0-9])I?Q(\d)", re.IGNORECASE)


def resolve_host(configured: str, environ: Mapping[str, str] | None = None) -> str:
    """The Ollama URL: the configured one, else OLLAMA_HOST, else http://127.0.0.1:11434."""
    env = os.environ if environ is None else environ
    return configured or env.get("OLLAMA_HOST", "") or DEFAULT_HOST


# ---------------------------------------------------------------------------------------------
# the selection policy (pure functions over ModelInfo)


def parameter_count(info: ModelInfo) -> float:
    """Parameters of a model ("70.6B" → 70.6e9), from /api/show when known, else /api/tags."""
    exact = info.details.get("parameter_count", "")
    if exact.isdigit():
        return float(exact)
    match = _PARAMS.match(info.parameter_size or "")
    if match is None:
        return 0.0
    scale = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}[match.group(2).upper()]
    return float(match.group(1)) * scale


def quant_bits(info: ModelInfo) -> int:
    """Bits per weight from the quantization level (Q4_K_M → 4, Q8_0 → 8, F16 → 16; unknown 16)."""
    level = info.quantization.upper()
    if not level:
        return 16
    if "MXFP4" in level:
        return 4
    if level in ("F32", "FP32"):
        return 32
    if level in ("F16", "FP16", "BF16"):
        return 16
    match = _QUANT_BITS.search(level)
    return int(match.group(1)) if match else 16


def is_quantized(info: ModelInfo) -> bool:
    """Whether a model's weights are quantized below 16 bits."""
    return quant_bits(info) < 16


def estimated_memory_gb(info: ModelInfo) -> float:
    """Memory a loaded model needs, estimated from its file size."""
    return info.size_bytes * MEMORY_OVERHEAD / 1e9


def matches(name: str, pattern: str) -> bool:
    """Whether a model name fits a priority entry.

    "*" fits anything; "qwen2.5" fits every tag of qwen2.5 (not qwen2.5-coder); "llama3.3:70b"
    fits that tag and its variants ("llama3.3:70b-instruct-q4_K_M").
    """
    pattern = pattern.strip().lower()
    name = name.strip().lower()
    if pattern == "*":
        return True
    if ":" in pattern:
        return name == pattern or name.startswith((pattern + "-", pattern + "_"))
    base = name.split(":", 1)[0].rsplit("/", 1)[-1]
    return base == pattern


def rank_models(
    models: Sequence[ModelInfo], priority: Sequence[str], budget_gb: float
) -> list[ModelInfo]:
    """Every installed model that fits the memory budget, best first by the priority policy.

    Entries of `priority` are tried in order. Within one entry the model with the most
    parameters wins; between variants of one size, one that leaves room in the budget is taken at
    the highest precision, and when memory is tight the more compact quantized variant wins.
    Models that fit no entry are not ranked (end the list with "*" to accept any).
    """
    fitting = [m for m in models if budget_gb <= 0 or estimated_memory_gb(m) <= budget_gb]

    def key(m: ModelInfo) -> tuple[float, int, int, str]:
        comfortable = budget_gb <= 0 or estimated_memory_gb(m) <= COMFORTABLE_SHARE * budget_gb
        bits = quant_bits(m)
        return (-parameter_count(m), 0 if comfortable else 1, -bits if comfortable else bits, m.name)

    ranked: list[ModelInfo] = []
    seen: set[str] = set()
    for pattern in priority:
        group = sorted((m for m in fitting if m.name not in seen and matches(m.name, pattern)), key=key)
        for m in group:
            seen.add(m.name)
            ranked.append(m)
    return ranked


def choose_model(
    models: Sequence[ModelInfo], priority: Sequence[str], budget_gb: float
) -> ModelInfo | None:
    """The best model by the policy, or None when nothing installed fits."""
    ranked = rank_models(models, priority, budget_gb)
    return ranked[0] if ranked else None


# ---------------------------------------------------------------------------------------------


@frozen
class Downgrade:
    """The policy moved from one model to a smaller one."""

    ts: datetime
    from_model: str
    to_model: str
    reason: str


class OllamaAnalyst(LLMAnalystBase):
    """Local models through Ollama, chosen by the priority policy and the memory budget."""

    name: ClassVar[str] = "ollama"

    def __init__(
        self, settings: Settings, *, model: str | None = None, store: Store | None = None
    ) -> None:
        super().__init__(settings, model=model, store=store)
        import ollama  # lazy: the paper default never loads it

        self.host = resolve_host(self.config.ollama_host)
        self._client: ollama.AsyncClient = ollama.AsyncClient(
            host=self.host, timeout=self.timeout + 5.0
        )
        self._catalogue: list[ModelInfo] = []
        self._catalogue_at = float("-inf")
        self._discover_lock = asyncio.Lock()
        self._active: str | None = None
        self._excluded: set[str] = set()
        self._history: dict[str, deque[tuple[float, bool]]] = {}
        self.downgrades: list[Downgrade] = []
        """Every automatic downgrade, oldest first."""
        self._screen_counts = {"passed": 0, "screened_out": 0, "errors": 0}
        self._pending: set[asyncio.Task[None]] = set()
        self.reachable: bool | None = None
        """Whether the last discovery reached the server (None before the first)."""

    # -- discovery -------------------------------------------------------------------------------

    async def models(self) -> list[ModelInfo]:
        """Installed models with their details ([] when Ollama is unreachable)."""
        try:
            return list(await self.discover())
        except Exception:  # noqa: BLE001 - unreachable means "no models", not a crash
            return []

    def unavailable_reason(self) -> str:
        """Unreachable at its URL, or reachable with no models installed ("" otherwise)."""
        if self.reachable is False:
            return f"Ollama is not reachable at {self.host}"
        if self.reachable and not self._catalogue:
            return f"Ollama at {self.host} has no models installed (ollama pull <model>)"
        return ""

    async def discover(self, *, refresh: bool = False) -> list[ModelInfo]:
        """Ask `/api/tags` for the installed models and `/api/show` for each one's details.

        Reuses the last answer for a short while unless `refresh`; raises when unreachable.
        """
        async with self._discover_lock:
            fresh = time.monotonic() - self._catalogue_at < CATALOGUE_TTL_SECONDS
            if fresh and not refresh:
                return self._catalogue
            try:
                listing = await self._client.list()
            except Exception:
                self.reachable = False
                raise
            self.reachable = True
            infos = await asyncio.gather(*(self._describe(m) for m in listing.models))
            self._catalogue = sorted(infos, key=lambda i: i.name)
            self._catalogue_at = time.monotonic()
            return self._catalogue

    async def _describe(self, entry: Any) -> ModelInfo:
        name = str(entry.model or "")
        tags = entry.details
        details: dict[str, str] = {}
        parameter_size = str(getattr(tags, "parameter_size", "") or "")
        quantization = str(getattr(tags, "quantization_level", "") or "")
        for key in ("family", "format"):
            value = getattr(tags, key, None)
            if value:
                details[key] = str(value)
        try:
            shown = await self._client.show(name)
        except Exception:  # noqa: BLE001 - a model we cannot describe is still usable
            details["show_error"] = "details unavailable"
        else:
            if shown.details is not None:
                parameter_size = str(shown.details.parameter_size or parameter_size)
                quantization = str(shown.details.quantization_level or quantization)
                if shown.details.family:
                    details["family"] = str(shown.details.family)
            for key, value in (shown.modelinfo or {}).items():
                if key == "general.parameter_count":
                    details["parameter_count"] = str(int(value))
                elif key.endswith(".context_length"):
                    details["context_length"] = str(int(value))
            if shown.capabilities:
                details["capabilities"] = ",".join(str(c) for c in shown.capabilities)
        info = ModelInfo(
            provider=self.name,
            name=name,
            size_bytes=int(entry.size or 0),
            parameter_size=parameter_size,
            quantization=quantization,
            available=True,
            details=details,
        )
        details["estimated_memory_gb"] = f"{estimated_memory_gb(info):.1f}"
        details["quantized"] = "yes" if is_quantized(info) else "no"
        return replace(info, details=details)

    def ranking(self) -> list[ModelInfo]:
        """The discovered models in policy order, without those downgraded away from."""
        ranked = rank_models(
            self._catalogue, self.config.ollama_priority, self.config.ollama_memory_budget_gb
        )
        return [m for m in ranked if m.name not in self._excluded] or ranked

    async def _resolve_model(self) -> str:
        if self.pinned_model:
            return self.pinned_model
        if self._active is not None:
            return self._active
        await self.discover()
        ranked = self.ranking()
        if not ranked:
            installed = ", ".join(m.name for m in self._catalogue) or "none"
            raise ProviderError(
                f"no installed Ollama model fits the policy {self.config.ollama_priority} and "
                f"memory budget {self.config.ollama_memory_budget_gb:g} GB (installed: {installed})"
            )
        self._active = ranked[0].name
        return self._active

    @property
    def active_model(self) -> str:
        """The pinned model, else the policy's current choice ("" before discovery)."""
        return self.pinned_model or self._active or ""

    def set_model(self, model: str | None) -> None:
        """Pin a model (the console's selector), or None to return to the policy."""
        self.pinned_model = model or None
        self._active = None
        self._excluded.clear()

    # -- calls -----------------------------------------------------------------------------------

    def _options(self, num_predict: int) -> dict[str, Any]:
        return {"temperature": 0, "num_ctx": self.config.ollama_num_ctx, "num_predict": num_predict}

    async def _complete(self, prompt: Prompt, model: str, repair: Repair | None) -> Completion:
        import ollama

        try:
            response = await self._client.chat(
                model=model,
                messages=messages_for(prompt, repair),
                format=idea_json_schema([prompt.symbol] if prompt.symbol else None),
                options=self._options(self.config.max_output_tokens),
                keep_alive=self.config.ollama_keep_alive,
                stream=False,
            )
        except ollama.ResponseError as exc:
            if exc.status_code == 404 and not self.pinned_model:
                self._active = None  # the model went away: discover again next call
                self._catalogue_at = float("-inf")
            raise
        message = response.message
        content = message.content or ""
        answer = _THINK.sub("", content).strip()
        thinking = (message.thinking or "").strip()
        if content != answer or thinking:
            reasoning = thinking or "\n".join(m.group(0) for m in _THINK.finditer(content))
            audit = f"[reasoning]\n{reasoning}\n[answer]\n{answer}"
        else:
            audit = answer
        incomplete = ""
        if response.done_reason == "length":
            incomplete = "the token limit was reached (done_reason length)"
        return Completion(
            text=answer,
            model=str(response.model or model),
            incomplete=incomplete,
            audit=audit if audit != answer else "",
        )

    def _describe_error(self, exc: BaseException) -> str:
        import ollama

        if isinstance(exc, ollama.ResponseError):
            return f"Ollama HTTP {exc.status_code}: {clean_text(str(exc.error), max_chars=300)}"
        if isinstance(exc, ConnectionError):
            return f"Ollama is not reachable at {self.host}"
        return super()._describe_error(exc)

    # -- two-stage screen --------------------------------------------------------------------------

    def screen_model(self, best: str) -> str | None:
        """The fast model of the two-stage mode: configured, else the smallest other installed."""
        if self.config.ollama_screen_model:
            return self.config.ollama_screen_model
        others = [m for m in self._catalogue if m.name != best and m.size_bytes > 0]
        if not others:
            return None
        return min(others, key=lambda m: (m.size_bytes, m.name)).name

    async def _screen(self, request: AnalysisRequest, model: str) -> str | None:
        if not self.config.two_stage or not request.events:
            return None
        if not self._catalogue:
            await self.discover()
        fast = self.screen_model(model)
        if fast is None or fast == model:
            return None
        prompt = screen_prompt(request)
        try:
            response = await self._client.chat(
                model=fast,
                messages=messages_for(prompt, None),
                format=SCREEN_SCHEMA,
                options=self._options(256),
                keep_alive=self.config.ollama_keep_alive,
                stream=False,
            )
            obj, _ = parse_json_object(_THINK.sub("", response.message.content or ""))
        except Exception:  # noqa: BLE001 - a broken screen lets the request through
            obj = None
        if obj is None or not isinstance(obj.get("relevant"), bool):
            self._screen_counts["errors"] += 1
            return None  # fail open: the best model decides
        if obj["relevant"]:
            self._screen_counts["passed"] += 1
            return None
        self._screen_counts["screened_out"] += 1
        reason = clean_text(str(obj.get("reason", "")), keep_newlines=False, max_chars=200)
        return f"{fast} found the news not relevant to {request.symbol}" + (
            f" ({reason})" if reason else ""
        )

    # -- automatic downgrade -----------------------------------------------------------------------

    def _observe(self, model: str, status: CallStatus, latency_ms: float) -> None:
        if self.pinned_model or not self._active or status is CallStatus.SCREENED:
            return
        history = self._history.setdefault(self._active, deque(maxlen=DOWNGRADE_WINDOW))
        history.append((latency_ms, status.failed))
        if len(history) < DOWNGRADE_MIN_CALLS:
            return
        latencies = sorted(lat for lat, _ in history)
        median = latencies[len(latencies) // 2]
        error_rate = sum(1 for _, failed in history if failed) / len(history)
        reason = ""
        if error_rate > self.config.downgrade_error_rate:
            reason = f"error rate {error_rate:.0%} over the last {len(history)} calls"
        elif median > self.config.downgrade_latency_ms:
            reason = f"median latency {median:.0f} ms over the last {len(history)} calls"
        if reason:
            self._downgrade(reason)

    def _downgrade(self, reason: str) -> None:
        current = self._active
        if current is None:
            return
        sizes = {m.name: m.size_bytes for m in self._catalogue}
        smaller = [
            m for m in self.ranking()
            if m.name != current and m.size_bytes < sizes.get(current, 0)
        ]
        if not smaller:
            return
        target = smaller[0]  # the next model down the policy's ranking
        self._excluded.add(current)
        self._active = target.name
        self._history.pop(target.name, None)
        record = Downgrade(datetime.now(UTC), current, target.name, reason)
        self.downgrades.append(record)
        if self.store is not None:
            task = asyncio.get_running_loop().create_task(self._audit_downgrade(record))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _audit_downgrade(self, record: Downgrade) -> None:
        assert self.store is not None
        payload = {"from": record.from_model, "to": record.to_model, "reason": record.reason}
        try:
            await self.store.audit("analyst_downgrade", payload, by=self.name)
        except Exception:  # the audit must never break analysis
            log.exception("could not audit the Ollama downgrade %s -> %s", record.from_model,
                          record.to_model)

    def telemetry(self) -> dict[str, Any]:
        """Base telemetry plus host, reachability, ranking, downgrades and the screen counts."""
        data = super().telemetry()
        data.update(
            host=self.host,
            reachable=self.reachable,
            policy=list(self.config.ollama_priority),
            ranking=[m.name for m in self.ranking()],
            downgrades=[
                {"ts": d.ts.isoformat(timespec="seconds"), "from": d.from_model,
                 "to": d.to_model, "reason": d.reason}
                for d in self.downgrades
            ],
            two_stage=self.config.two_stage,
            screen=dict(self._screen_counts),
        )
        return data

    async def close(self) -> None:
        """Close the HTTP client and wait for pending audit writes."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        await self._client.close()  # type: ignore[no-untyped-call]
