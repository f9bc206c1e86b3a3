"""The machinery every LLM analyst shares: one call path, whatever the provider.

A provider only says how to ask its API (`_complete`) and which model to use (`_resolve_model`).
`LLMAnalystBase.analyze` does the rest, the same way for all: it renders the prompt, waits for a
slot (bounded concurrency), calls the model under a timeout, validates the answer, sends the
errors back once in a repair prompt, and otherwise abstains with the raw output kept. Refusals and
cut-off answers are abstentions with their reason. Nothing is raised to the caller: every outcome
is an `AnalysisOutcome` the stage can audit. Keys never appear in outcomes, telemetry or logs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

from pydantic import SecretStr

from robo_tui.adapters.llm.prompts import Prompt, build_prompt, repair_message
from robo_tui.config import AnalystSettings, Settings
from robo_tui.config.fields import env_name
from robo_tui.domain.analysis import AnalysisOutcome, AnalysisRequest, ModelInfo
from robo_tui.domain.frozen import frozen
from robo_tui.domain.ideas import MAX_RAW_CHARS, validate_idea
from robo_tui.domain.news import TradeIdea
from robo_tui.domain.text import MIN_SECRET_CHARS, clean_text, secrets_in
from robo_tui.ports import Store

log = logging.getLogger(__name__)

T = TypeVar("T")

LATENCY_WINDOW = 256
"""Recent call latencies kept per provider for the p50/p95 figures."""


class CallStatus(StrEnum):
    """How one analyst call ended."""

    OK = "ok"  # a valid idea
    INVALID = "invalid"  # the answer failed validation, also after the repair prompt
    REFUSED = "refused"  # the model declined
    INCOMPLETE = "incomplete"  # the answer was cut off (token limit)
    SCREENED = "screened"  # two-stage mode: the fast model found nothing worth asking about
    TIMEOUT = "timeout"  # no answer within the timeout
    ERROR = "error"  # the provider could not be reached or answered with an error

    @property
    def failed(self) -> bool:
        """Whether the provider itself failed (what a fallback chain fails over on)."""
        return self in (CallStatus.TIMEOUT, CallStatus.ERROR)


@frozen
class Completion:
    """One answer from a provider's API, before validation."""

    text: str
    """What the model wrote (for a tool call, its input as JSON); kept for audit."""
    data: Mapping[str, Any] | None = None
    """The answer as an object when the API returns one (an Anthropic tool input)."""
    model: str = ""
    """The model that answered, as the API names it."""
    refusal: str = ""
    """Set when the model declined to answer: its stated reason."""
    incomplete: str = ""
    """Set when the answer was cut off: why (e.g. the token limit)."""
    handle: Any = None
    """Provider-specific detail needed to continue the conversation (e.g. a tool_use id)."""
    audit: str = ""
    """What to store as the raw output when it differs from `text` (e.g. with the reasoning)."""


@frozen
class Repair:
    """The one repair turn: the rejected answer and the message listing what was wrong."""

    previous: Completion
    errors: tuple[str, ...]
    message: str


@frozen
class CallResult:
    """An analysis outcome and how the call ended (the fallback chain reads `status`)."""

    outcome: AnalysisOutcome
    status: CallStatus


class ProviderError(Exception):
    """A provider answered in a way we cannot use (wrong shape, missing model, HTTP error)."""


@dataclass(slots=True)
class Telemetry:
    """Counters and latencies of one provider's calls; `snapshot()` is what the console shows."""

    calls: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in CallStatus})
    repairs: int = 0
    consecutive_failures: int = 0
    last_error: str = ""
    last_error_at: str = ""
    last_model: str = ""
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))

    def record(self, status: CallStatus, latency_ms: float, model: str, error: str = "") -> None:
        """Count one finished call."""
        self.calls += 1
        self.by_status[status.value] += 1
        self.latencies.append(latency_ms)
        if model:
            self.last_model = model
        if status.failed:
            self.consecutive_failures += 1
        else:
            self.consecutive_failures = 0
        if error:
            self.last_error = error
            self.last_error_at = datetime.now(UTC).isoformat(timespec="seconds")

    @staticmethod
    def percentile(values: Sequence[float], q: float) -> float:
        """Nearest-rank percentile (0 when there are no values)."""
        if not values:
            return 0.0
        ordered = sorted(values)
        rank = max(0, min(len(ordered) - 1, round(q / 100.0 * (len(ordered) - 1))))
        return ordered[rank]

    def snapshot(self) -> dict[str, Any]:
        """Plain-data view: calls, failures, timeouts, latency p50/p95 and the last error."""
        lat = list(self.latencies)
        return {
            "calls": self.calls,
            "ok": self.by_status[CallStatus.OK.value],
            "invalid": self.by_status[CallStatus.INVALID.value],
            "refused": self.by_status[CallStatus.REFUSED.value],
            "incomplete": self.by_status[CallStatus.INCOMPLETE.value],
            "screened": self.by_status[CallStatus.SCREENED.value],
            "timeouts": self.by_status[CallStatus.TIMEOUT.value],
            "failures": self.by_status[CallStatus.ERROR.value]
            + self.by_status[CallStatus.TIMEOUT.value],
            "errors": self.by_status[CallStatus.ERROR.value],
            "repairs": self.repairs,
            "consecutive_failures": self.consecutive_failures,
            "latency_ms_p50": round(self.percentile(lat, 50), 1),
            "latency_ms_p95": round(self.percentile(lat, 95), 1),
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "last_model": self.last_model,
        }


_KEY_PATTERNS = re.compile(
    r"((?<![A-Za-z0-9])sk-[A-Za-z0-9_\-*]{6,}|(?i:\bbearer)\s+[A-Za-z0-9._\-*]{8,})"
)


class SecretScrubber:
    """Removes API keys (the configured ones and anything shaped like one) from text."""

    def __init__(self, secrets: Sequence[SecretStr | None] = (), *,
                 also: Sequence[str] = ()) -> None:
        values = [v for s in secrets if s is not None and len(v := s.get_secret_value()) >= 6]
        values += [v for v in also if len(v) >= MIN_SECRET_CHARS]
        self._values = tuple(sorted(set(values), key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, "***")
        return _KEY_PATTERNS.sub("***", text)


def _cap(text: str) -> str:
    return text if len(text) <= MAX_RAW_CHARS else text[:MAX_RAW_CHARS] + "\n…[truncated]"


class LLMAnalystBase(ABC):
    """Timeouts, bounded concurrency, one repair, abstention, telemetry: for every LLM provider.

    Subclasses set `name` and implement `_resolve_model`, `_complete` and `models`. They build
    their official SDK's async client in the constructor and never block the event loop.
    """

    name: ClassVar[str] = "llm"

    def __init__(
        self, settings: Settings, *, model: str | None = None, store: Store | None = None
    ) -> None:
        self.settings = settings
        self.config: AnalystSettings = settings.analysts
        self.store = store
        configured = self.config.model if self.config.provider == self.name else ""
        self.pinned_model: str | None = model or configured or None
        """A model the caller chose; when None the provider's policy or default decides."""
        self.timeout = float(self.config.timeout_seconds)
        self._semaphore = asyncio.Semaphore(self.config.max_concurrency)
        self._telemetry = Telemetry()
        self._scrub = SecretScrubber(also=secrets_in(settings))  # every configured secret

    # -- what a provider implements ------------------------------------------------------------

    @abstractmethod
    async def _resolve_model(self) -> str:
        """The model to call now (may discover models over the network)."""

    @abstractmethod
    async def _complete(self, prompt: Prompt, model: str, repair: Repair | None) -> Completion:
        """Ask the model once (with the repair turn appended when given)."""

    @abstractmethod
    async def models(self) -> list[ModelInfo]:
        """Models this provider can run now ([] when unreachable)."""

    async def _screen(self, request: AnalysisRequest, model: str) -> str | None:
        """Two-stage hook: a reason to skip the full analysis, or None to go on."""
        return None

    def _observe(self, model: str, status: CallStatus, latency_ms: float) -> None:
        """Hook called after every call (the Ollama policy downgrades on it)."""

    def _describe_error(self, exc: BaseException) -> str:
        """A short readable description of a provider exception (subclasses add detail)."""
        text = str(exc).strip() or type(exc).__name__
        return f"{type(exc).__name__}: {text}"

    async def close(self) -> None:
        """Release the SDK client."""

    # -- the shared call path ------------------------------------------------------------------

    @property
    def active_model(self) -> str:
        """The model the next call would use, when known without I/O ("" otherwise)."""
        return self.pinned_model or self._telemetry.last_model

    def telemetry(self) -> dict[str, Any]:
        """Per-provider telemetry: calls, failures, timeouts, latency p50/p95, last error."""
        return {"provider": self.name, "model": self.active_model, **self._telemetry.snapshot()}

    async def analyze(self, request: AnalysisRequest) -> AnalysisOutcome:
        """Ask the model about one request; an idea, or an abstention with its reason."""
        return (await self.analyze_detailed(request)).outcome

    async def analyze_detailed(self, request: AnalysisRequest) -> CallResult:
        """`analyze`, also saying how the call ended (for fallback chains and tests)."""
        prompt = build_prompt(request)
        async with self._semaphore:
            result = await self._run(request, prompt)
        outcome = result.outcome
        error = outcome.abstain_reason if result.status is not CallStatus.OK else ""
        if result.status in (CallStatus.OK, CallStatus.SCREENED, CallStatus.REFUSED):
            error = ""
        self._telemetry.record(result.status, outcome.latency_ms, outcome.model, error)
        self._observe(outcome.model, result.status, outcome.latency_ms)
        if result.status.failed:
            log.warning("%s analyst call failed: %s", self.name, outcome.abstain_reason)
        return result

    async def _timed(self, aw: Awaitable[T]) -> T:
        return await asyncio.wait_for(aw, timeout=self.timeout)

    async def _run(self, request: AnalysisRequest, prompt: Prompt) -> CallResult:
        call = _Call(prompt, self._scrub, time.perf_counter(), self.pinned_model or "",
                     provider=self.name)
        try:
            call.model = await self._timed(self._resolve_model())
            skip = await self._timed(self._screen(request, call.model))
        except TimeoutError:
            return call.finish(CallStatus.TIMEOUT, reason=f"timeout after {self.timeout:g}s")
        except Exception as exc:  # noqa: BLE001
            return call.finish(CallStatus.ERROR,
                               reason=f"provider error: {self._describe_error(exc)}")
        if skip is not None:
            return call.finish(CallStatus.SCREENED, reason=f"screened out: {skip}")

        got = await self._attempt(call)
        if isinstance(got, CallResult):
            return got
        done, errors = self._judge(call, got, request, ())
        if done is not None:
            return done
        # the rejected answer goes back to the model: without any secret it echoed
        echoed = replace(got, text=self._scrub(got.text))
        call.repair = Repair(echoed, tuple(errors), repair_message(errors))
        self._telemetry.repairs += 1
        first = [f"first answer: {e}" for e in errors]

        got = await self._attempt(call)
        if isinstance(got, CallResult):
            # the repair call itself failed: keep the first answer's errors in the record
            return call.finish(got.status, reason=got.outcome.abstain_reason, errors=first)
        done, problems = self._judge(call, got, request, first)
        if done is not None:
            return done
        return call.finish(
            CallStatus.INVALID,
            reason=f"invalid output after one repair: {problems[0]}",
            errors=first + [f"repair answer: {e}" for e in problems],
            answered_by=got.model or call.model,
        )

    async def _attempt(self, call: _Call) -> Completion | CallResult:
        """Ask the model once (with the repair turn, if any); a failed call is a finished result."""
        try:
            return await self._timed(self._complete(call.prompt, call.model, call.repair))
        except TimeoutError:
            return call.finish(CallStatus.TIMEOUT, reason=f"timeout after {self.timeout:g}s")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every provider failure becomes an abstention
            return call.finish(CallStatus.ERROR,
                               reason=f"provider error: {self._describe_error(exc)}")

    def _judge(self, call: _Call, got: Completion, request: AnalysisRequest,
               prior: Sequence[str]) -> tuple[CallResult | None, list[str]]:
        """A finished result for a refused, cut-off or valid answer; else None and the problems
        found in it (to repair, or to abstain on). `prior` are the first answer's errors."""
        call.raws.append(got.audit or got.text)
        answered = got.model or call.model
        if got.refusal:
            return call.finish(CallStatus.REFUSED,
                               reason=f"refused: {clean_text(got.refusal, max_chars=300)}",
                               answered_by=answered), []
        if got.incomplete:
            return call.finish(CallStatus.INCOMPLETE,
                               reason=f"incomplete answer: {got.incomplete}",
                               answered_by=answered,
                               errors=[f"answer was cut off ({got.incomplete})"]), []
        idea, problems = validate_idea(
            got.data if got.data is not None else got.text,
            request,
            provider=self.name,
            model=answered,
            idea_id=uuid.uuid4().hex,
            now=request.now,
            latency_ms=(time.perf_counter() - call.start) * 1000.0,
        )
        if idea is not None:
            return call.finish(CallStatus.OK, idea=idea, errors=prior, answered_by=answered), []
        return None, problems


@dataclass(slots=True)
class _Call:
    """One analyst call while it runs: what its outcome is built from, whenever it ends."""

    prompt: Prompt
    scrub: SecretScrubber
    start: float
    model: str
    provider: str = ""
    raws: list[str] = field(default_factory=list)
    repair: Repair | None = None

    def finish(self, status: CallStatus, *, idea: TradeIdea | None = None, reason: str = "",
               errors: Sequence[str] = (), answered_by: str = "") -> CallResult:
        """The call's result: the prompt (with the repair turn), every raw answer, scrubbed."""
        text = self.prompt.text
        if self.repair is not None:
            text += f"\n\n[repair]\n{self.repair.message}"
        raws = self.raws
        raw = raws[0] if len(raws) == 1 else "\n\n--- repair answer ---\n".join(raws)
        if idea is not None:  # a model may echo a key into a valid rationale
            idea = replace(idea, rationale=self.scrub(idea.rationale))
        outcome = AnalysisOutcome(
            provider=self.provider,
            model=answered_by or self.model,
            idea=idea,
            template=self.prompt.template,
            prompt=text,
            prompt_hash=self.prompt.sha256,
            raw_output=self.scrub(_cap(raw)),
            errors=tuple(self.scrub(e) for e in errors),
            latency_ms=(time.perf_counter() - self.start) * 1000.0,
            abstain_reason=self.scrub(reason),
        )
        return CallResult(outcome, status)


def messages_for(prompt: Prompt, repair: Repair | None) -> list[dict[str, str]]:
    """Chat messages (system, user, and the repair turn) for chat-style APIs."""
    messages = [
        {"role": "system", "content": prompt.system},
        {"role": "user", "content": prompt.user},
    ]
    if repair is not None:
        messages.append({"role": "assistant", "content": repair.previous.text})
        messages.append({"role": "user", "content": repair.message})
    return messages


def dump_json(data: Mapping[str, Any]) -> str:
    """Compact JSON for audit copies of structured answers."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)


class HostedAnalyst(LLMAnalystBase):
    """A hosted provider (OpenAI, Anthropic): one API key, one configured model, a base URL, no
    model discovery. Subclasses name their settings and build the SDK's async client."""

    label: ClassVar[str]  # the provider as people say it, for messages
    key_setting: ClassVar[str]  # AnalystSettings field names
    model_setting: ClassVar[str]
    base_url_setting: ClassVar[str]
    default_base_url: ClassVar[str]
    sdk_module: ClassVar[str]  # the official SDK's module (they share their error classes)

    def __init__(
        self, settings: Settings, *, model: str | None = None, store: Store | None = None
    ) -> None:
        super().__init__(settings, model=model, store=store)
        self.model: str = self.pinned_model or getattr(self.config, self.model_setting)
        self.base_url: str = getattr(self.config, self.base_url_setting) or self.default_base_url
        key: SecretStr | None = getattr(self.config, self.key_setting)
        self._scrub = SecretScrubber([key], also=secrets_in(settings))
        self._client: Any = None
        if key is not None and key.get_secret_value():
            self._client = self._make_client(key.get_secret_value())

    @abstractmethod
    def _make_client(self, api_key: str) -> Any:
        """The SDK's async client for `self.base_url` (imported lazily)."""

    def _origin_guard(self) -> dict[str, list[Callable[[Any], Awaitable[None]]]]:
        """httpx event hooks that refuse any request to an origin other than `base_url`'s: the
        SDKs follow redirects, and httpx strips only `Authorization` on a cross-origin hop, not
        a key in `x-api-key` (Anthropic) or any other header. Pass as the SDK client's
        `event_hooks`; a refused hop is a provider error like any other."""
        import httpx

        home = httpx.URL(self.base_url)
        allowed = (home.scheme, home.host, home.port)

        async def same_origin_only(request: httpx.Request) -> None:
            url = request.url
            if (url.scheme, url.host, url.port) != allowed:
                raise httpx.RequestError(
                    f"refused a redirect from {home.host} to another host ({url.host}): "
                    "the API key is never sent there", request=request)

        return {"request": [same_origin_only]}

    @property
    def configured(self) -> bool:
        """Whether a key is configured (without one every call abstains)."""
        return self._client is not None

    @property
    def active_model(self) -> str:
        """The model calls go to."""
        return self.model

    def set_model(self, model: str | None) -> None:
        """Use another model (None: back to the configured one)."""
        self.pinned_model = model or None
        self.model = model or getattr(self.config, self.model_setting)

    async def models(self) -> list[ModelInfo]:
        """The configured model when a key is set ([] otherwise); no network call."""
        if not self.configured:
            return []
        return [ModelInfo(self.name, self.model, details={"base_url": self.base_url})]

    def unavailable_reason(self) -> str:
        """The missing key and the variable that sets it ("" when a key is set)."""
        if self.configured:
            return ""
        return (f"no {self.label} API key: set {env_name(('analysts', self.key_setting))} "
                "(or the secrets file)")

    def _require_client(self) -> Any:
        if self._client is None:
            raise ProviderError(f"no {self.label} API key configured (analysts.{self.key_setting})")
        return self._client

    async def _resolve_model(self) -> str:
        self._require_client()
        return self.model

    def _describe_error(self, exc: BaseException) -> str:
        import importlib

        sdk = importlib.import_module(self.sdk_module)
        if isinstance(exc, sdk.APIStatusError):
            detail = clean_text(str(getattr(exc, "message", "") or exc), max_chars=300)
            return f"{self.label} HTTP {exc.status_code}: {detail}"
        if isinstance(exc, sdk.APITimeoutError):
            return f"{self.label} request timed out"
        if isinstance(exc, sdk.APIConnectionError):
            return f"{self.label} is not reachable at {self.base_url}"
        return super()._describe_error(exc)

    def telemetry(self) -> dict[str, Any]:
        """Base telemetry plus whether a key is configured (never the key)."""
        data = super().telemetry()
        data.update(configured=self.configured, base_url=self.base_url)
        return data

    async def close(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            await self._client.close()
