"""The `auto` analyst: the best provider available now, failing over down a chain.

The chain follows `analysts.auto_order` (default openai, anthropic, ollama, rules). A cloud
provider is in it only when its key is configured and `cloud_allowed` is true; Ollama only when
it answers with at least one installed model; the deterministic `rules` analyst is the offline
floor. When a provider fails (timeout, HTTP or connection error, unreachable) the call moves to
the next one, and every move is recorded: in `fallbacks`, through the `on_fallback` callback the
intelligence stage wires to the bus, in the store's audit log, and in the outcome's `errors`.
A per-provider circuit breaker stops calling a provider after repeated failures until a cool-down
has passed, then lets one trial call through. A refusal or an invalid answer is not a failure:
the model answered, and the abstention stands.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from robo_tui.adapters.llm.base import LLMAnalystBase
from robo_tui.config import Settings
from robo_tui.domain.analysis import AnalysisOutcome, AnalysisRequest, ModelInfo
from robo_tui.domain.frozen import frozen
from robo_tui.ports import Analyst, Store

log = logging.getLogger(__name__)

FallbackCallback = Callable[[str, str, str], None]
"""on_fallback(from_provider, to_provider, reason)."""

CLOUD = ("openai", "anthropic")
NONE = "none"
"""`to_provider` of a fallback record when no provider was left to try."""


@frozen
class FallbackRecord:
    """The chain moved from one provider to the next during one analysis."""

    ts: datetime
    symbol: str
    from_provider: str
    to_provider: str
    reason: str


class CircuitBreaker:
    """Stops calls to a failing provider: closed → open after N failures → half-open after a rest.

    While open, `allow()` is false. After the cool-down one trial call is allowed (half-open); its
    success closes the breaker, its failure opens it again for another cool-down.
    """

    def __init__(self, failures: int, cooldown_seconds: float, clock: Callable[[], float]) -> None:
        self.threshold = failures
        self.cooldown = cooldown_seconds
        self._clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self.trips = 0
        self._trial = False

    @property
    def state(self) -> str:
        """closed, open or half_open."""
        if self.opened_at is None:
            return "closed"
        if self._clock() - self.opened_at >= self.cooldown:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """Whether a call may go to the provider now."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._trial:
            self._trial = True
            return True
        return False

    def record_success(self) -> None:
        """The provider answered: close."""
        self.failures = 0
        self.opened_at = None
        self._trial = False

    def record_failure(self) -> None:
        """The provider failed: count, and open when the threshold is reached (or a trial failed)."""
        self.failures += 1
        if self._trial or self.failures >= self.threshold:
            if self.opened_at is None or self._trial:
                self.trips += 1
            self.opened_at = self._clock()
            self._trial = False

    def seconds_left(self) -> float:
        """Seconds until the next trial call is allowed (0 when closed)."""
        if self.opened_at is None:
            return 0.0
        return max(0.0, self.cooldown - (self._clock() - self.opened_at))

    def snapshot(self) -> dict[str, Any]:
        """State, consecutive failures, trips and the remaining cool-down."""
        return {
            "state": self.state,
            "failures": self.failures,
            "trips": self.trips,
            "cooldown_left_s": round(self.seconds_left(), 1),
        }


class AutoAnalyst:
    """Prefers a permitted cloud provider, else Ollama when reachable, else rules; fails over."""

    name: ClassVar[str] = "auto"

    def __init__(
        self,
        settings: Settings,
        *,
        model: str | None = None,
        store: Store | None = None,
        on_fallback: FallbackCallback | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.config = settings.analysts
        self.store = store
        self.on_fallback = on_fallback
        """Called with (from_provider, to_provider, reason) on every fallback (e.g. to publish
        `AnalystFellBack` on the bus)."""
        self.fallbacks: list[FallbackRecord] = []
        """Every fallback, oldest first."""
        self._clock = clock
        self._models = self._split_model(model)
        self._providers: dict[str, Analyst] = {}
        self._unavailable: dict[str, str] = {}
        # rules is the offline floor: it never gets a breaker, so the chain always ends somewhere
        self._breakers: dict[str, CircuitBreaker] = {
            str(name): CircuitBreaker(
                self.config.circuit_breaker_failures,
                self.config.circuit_breaker_cooldown_seconds,
                clock,
            )
            for name in self.config.auto_order
            if name != "rules"
        }
        self._last_provider = ""

    def _split_model(self, model: str | None) -> dict[str, str]:
        """`provider/model` pins that provider's model; a bare name pins the first LLM provider."""
        if not model:
            return {}
        head, sep, tail = model.partition("/")
        if sep and head in self.config.auto_order:
            return {head: tail}
        for name in self.chain():
            if name != "rules":
                return {name: model}
        return {}

    # -- the chain -------------------------------------------------------------------------------

    def chain(self) -> list[str]:
        """The providers this configuration permits, best first (before reachability checks)."""
        out: list[str] = []
        for name in self.config.auto_order:
            if name == "openai" and not (self.config.cloud_allowed and self.config.openai_api_key):
                continue
            if name == "anthropic" and not (
                self.config.cloud_allowed and self.config.anthropic_api_key
            ):
                continue
            out.append(name)
        if "rules" not in out:
            out.append("rules")
        return out

    def provider(self, name: str) -> Analyst | None:
        """The analyst for `name`, built on first use (None when it cannot be built here)."""
        if name in self._providers:
            return self._providers[name]
        if name in self._unavailable:
            return None
        from robo_tui.adapters.llm import build_analyst

        try:
            analyst = build_analyst(
                name, self.settings, model=self._models.get(name), store=self.store
            )
        except Exception as exc:  # noqa: BLE001 - a provider we cannot build is skipped
            self._unavailable[name] = f"{type(exc).__name__}: {exc}"
            return None
        self._providers[name] = analyst
        return analyst

    async def _usable(self, name: str, analyst: Analyst) -> str:
        """Why the provider cannot be asked now ("" when it can)."""
        if name == "ollama":
            try:
                found = await analyst.models()
            except Exception as exc:  # noqa: BLE001
                return f"ollama unreachable ({type(exc).__name__})"
            if not found:
                return "ollama unreachable or no model installed"
        return ""

    # -- analysis --------------------------------------------------------------------------------

    async def analyze(self, request: AnalysisRequest) -> AnalysisOutcome:
        """Ask the best available provider; on failure the next; record every fallback."""
        notes: list[str] = []
        pending: tuple[str, str] | None = None  # (from_provider, reason) waiting for a target
        last_failure: AnalysisOutcome | None = None
        for name in self.chain():
            breaker = self._breakers.get(name)
            analyst = self.provider(name)
            reason = ""
            if analyst is None:
                reason = f"{name} unavailable: {self._unavailable.get(name, 'not built')}"
            elif breaker is not None and not breaker.allow():
                reason = (
                    f"{name} circuit open after {breaker.failures} failures "
                    f"({breaker.seconds_left():.0f}s of cool-down left)"
                )
            else:
                reason = await self._usable(name, analyst)
                if reason and breaker is not None:
                    breaker.record_failure()
            if reason:
                pending = await self._note(request, pending, name, reason, notes)
                continue
            assert analyst is not None
            if pending is not None:
                await self._fallback(request, pending[0], name, pending[1], notes)
                pending = None
            outcome, failed = await self._ask(analyst, request)
            if breaker is not None:
                if failed:
                    breaker.record_failure()
                else:
                    breaker.record_success()
            if not failed:
                self._last_provider = name
                return self._with_notes(outcome, notes)
            last_failure = outcome
            pending = (name, outcome.abstain_reason or "failed")
        if pending is not None:
            await self._fallback(request, pending[0], NONE, pending[1], notes)
        if last_failure is not None:
            return self._with_notes(last_failure, notes)
        return AnalysisOutcome(
            provider=self.name,
            model="",
            idea=None,
            errors=tuple(notes),
            abstain_reason="no analyst provider is available",
        )

    async def _note(
        self,
        request: AnalysisRequest,
        pending: tuple[str, str] | None,
        name: str,
        reason: str,
        notes: list[str],
    ) -> tuple[str, str]:
        # a provider skipped before it was asked: the earlier pending move (if any) lands on it
        if pending is not None:
            await self._fallback(request, pending[0], name, pending[1], notes)
        return (name, reason)

    async def _ask(self, analyst: Analyst, request: AnalysisRequest) -> tuple[AnalysisOutcome, bool]:
        if isinstance(analyst, LLMAnalystBase):
            result = await analyst.analyze_detailed(request)
            return result.outcome, result.status.failed
        try:
            return await analyst.analyze(request), False
        except Exception as exc:  # noqa: BLE001 - a crashing provider is a failed provider
            reason = f"{analyst.name} raised {type(exc).__name__}: {exc}"
            return AnalysisOutcome(analyst.name, "", None, abstain_reason=reason), True

    async def _fallback(
        self, request: AnalysisRequest, src: str, dst: str, reason: str, notes: list[str]
    ) -> None:
        record = FallbackRecord(datetime.now(UTC), request.symbol, src, dst, reason)
        self.fallbacks.append(record)
        notes.append(f"fell back from {src} to {dst}: {reason}")
        log.info("analyst fallback %s -> %s for %s: %s", src, dst, request.symbol, reason)
        if self.on_fallback is not None:
            try:
                self.on_fallback(src, dst, reason)
            except Exception:
                log.exception("on_fallback callback failed")
        if self.store is not None:
            payload = {"symbol": request.symbol, "from": src, "to": dst, "reason": reason}
            try:
                await self.store.audit("analyst_fallback", payload, by=self.name)
            except Exception:
                log.exception("could not audit an analyst fallback")

    @staticmethod
    def _with_notes(outcome: AnalysisOutcome, notes: list[str]) -> AnalysisOutcome:
        if not notes:
            return outcome
        return dataclasses.replace(outcome, errors=tuple(notes) + outcome.errors)

    # -- catalogue -------------------------------------------------------------------------------

    @property
    def active_model(self) -> str:
        """The provider/model that answered last ("" before the first call)."""
        analyst = self._providers.get(self._last_provider)
        model = analyst.active_model if analyst is not None else ""
        return f"{self._last_provider}/{model}" if self._last_provider else ""

    async def models(self) -> list[ModelInfo]:
        """The models of every provider in the chain that can run now."""
        out: list[ModelInfo] = []
        for name in self.chain():
            analyst = self.provider(name)
            if analyst is None:
                continue
            try:
                out.extend(await analyst.models())
            except Exception:
                log.debug("models() of %s failed", name, exc_info=True)
        return out

    def telemetry(self) -> dict[str, Any]:
        """The chain, each built provider's telemetry, breaker states and the fallbacks."""
        providers: dict[str, Any] = {}
        for name, analyst in self._providers.items():
            providers[name] = analyst.telemetry()
        last = self.fallbacks[-1] if self.fallbacks else None
        return {
            "provider": self.name,
            "chain": self.chain(),
            "last_provider": self._last_provider,
            "providers": providers,
            "unavailable": dict(self._unavailable),
            "breakers": {n: b.snapshot() for n, b in self._breakers.items()},
            "fallbacks": len(self.fallbacks),
            "last_fallback": None
            if last is None
            else {
                "ts": last.ts.isoformat(timespec="seconds"),
                "symbol": last.symbol,
                "from": last.from_provider,
                "to": last.to_provider,
                "reason": last.reason,
            },
        }

    async def close(self) -> None:
        """Close every provider that was built."""
        for analyst in self._providers.values():
            try:
                await analyst.close()
            except Exception:
                log.debug("closing %s failed", analyst.name, exc_info=True)
