"""The `rules` analyst: deterministic, offline and fast (microseconds per call); the embedded default.

It reads what the news pipeline already measured (lexicon sentiment, event type, impact) and the
verified market snapshot (trend from SMA20 vs SMA50, RSI extremes), and combines them into a
score, a confidence, a direction and a horizon, with a rationale that cites the headlines and the
numbers. It abstains when the signal is weak. It has no model to call and nothing to go wrong, so
it is also the floor of the `auto` fallback chain.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import replace

from robo_tui.config import Settings
from robo_tui.domain.analysis import AnalysisOutcome, AnalysisRequest, MarketSnapshot, ModelInfo
from robo_tui.domain.frozen import frozen
from robo_tui.domain.news import EventType, MarketEvent, TradeIdea
from robo_tui.domain.signals import Direction
from robo_tui.ports import Store

MODEL = "lexicon-v1"
TEMPLATE = "rules/lexicon-v1"

# How much each kind of event moves a price, relative to earnings.
TYPE_WEIGHT: dict[EventType, float] = {
    EventType.EARNINGS: 1.0,
    EventType.GUIDANCE: 1.0,
    EventType.SECURITY: 1.0,
    EventType.MERGER: 0.9,
    EventType.LISTING: 0.9,
    EventType.REGULATORY: 0.8,
    EventType.ANALYST_RATING: 0.7,
    EventType.MACRO: 0.5,
    EventType.PRODUCT: 0.5,
    EventType.OTHER: 0.4,
}
# How long the view should matter, by the event it rests on (the idea schema's horizons).
HORIZON: dict[EventType, str] = {
    EventType.EARNINGS: "days",
    EventType.GUIDANCE: "days",
    EventType.ANALYST_RATING: "days",
    EventType.LISTING: "days",
    EventType.PRODUCT: "days",
    EventType.MERGER: "weeks",
    EventType.REGULATORY: "weeks",
    EventType.SECURITY: "intraday",
    EventType.MACRO: "intraday",
    EventType.OTHER: "intraday",
}
RSI_OVERBOUGHT = 70.0
RSI_OVERSOLD = 30.0
MAX_CITED = 20
_HEADLINE_CHARS = 140


@frozen
class _Reading:
    """What the rules saw, kept as the call's raw output for the audit trail."""

    news_score: float
    trend: float
    trend_factor: float
    rsi_factor: float
    score: float
    confidence: float
    dominant: MarketEvent


class RulesAnalyst:
    """Lexicon sentiment × event type × impact, adjusted by trend and RSI; abstains when weak."""

    name = "rules"

    def __init__(self, settings: Settings, *, model: str | None = None,
                 store: Store | None = None) -> None:
        if model not in (None, "", MODEL):
            raise ValueError(f"the rules analyst has one model, {MODEL!r} (not {model!r})")
        self.model = MODEL
        self.active_model = MODEL
        self.min_score = settings.analysts.rules_min_score
        self.store = store

    async def models(self) -> list[ModelInfo]:
        """The one built-in model; always available."""
        return [ModelInfo(provider=self.name, name=MODEL,
                          details={"kind": "deterministic lexicon and technicals", "offline": "yes"})]

    def telemetry(self) -> dict[str, object]:
        """Nothing to watch: no network, no model."""
        return {"provider": self.name, "model": MODEL, "offline": True}

    async def close(self) -> None:
        """Nothing to release."""

    async def analyze(self, request: AnalysisRequest) -> AnalysisOutcome:
        """An idea about `request.symbol`, or an abstention saying why not."""
        return self.evaluate(request)

    def evaluate(self, request: AnalysisRequest) -> AnalysisOutcome:
        """The synchronous core of `analyze` (it never waits on anything)."""
        started = time.perf_counter()
        events = [e for e in request.events if request.symbol in e.symbols]
        prompt = _describe_inputs(request, events)
        prompt_hash = hashlib.sha256(prompt.encode("utf-8")).hexdigest()

        def done(idea: TradeIdea | None, raw: dict[str, object], reason: str = "") -> AnalysisOutcome:
            latency = (time.perf_counter() - started) * 1000.0
            if idea is not None:
                idea = _with_latency(idea, latency)
            return AnalysisOutcome(provider=self.name, model=MODEL, idea=idea, template=TEMPLATE,
                                   prompt=prompt, prompt_hash=prompt_hash,
                                   raw_output=json.dumps(raw, sort_keys=True), latency_ms=latency,
                                   abstain_reason=reason)

        if request.symbol not in request.universe:
            reason = f"{request.symbol} is not in the universe"
            return done(None, {"abstain": reason}, reason)
        if not events:
            reason = f"no news in the request mentions {request.symbol}"
            return done(None, {"abstain": reason}, reason)

        reading = _read(events, request.snapshot)
        raw: dict[str, object] = {
            "news_score": round(reading.news_score, 4), "trend": round(reading.trend, 4),
            "trend_factor": round(reading.trend_factor, 4), "rsi_factor": round(reading.rsi_factor, 4),
            "score": round(reading.score, 4), "confidence": round(reading.confidence, 4),
            "event_type": reading.dominant.event_type.value,
        }
        if abs(reading.score) < self.min_score:
            reason = (f"signal too weak: score {reading.score:+.2f} is inside ±{self.min_score:.2f} "
                      f"(news {reading.news_score:+.2f})")
            raw["abstain"] = reason
            return done(None, raw, reason)

        if reading.score > 0:
            direction = Direction.LONG
        elif request.allow_short:
            direction = Direction.SHORT
        else:
            direction = Direction.FLAT
        cited = sorted(events, key=lambda e: -_weight(e))[:MAX_CITED]
        idea = TradeIdea(
            id="",
            ts=request.now,
            provider=self.name,
            model=MODEL,
            symbol=request.symbol,
            direction=direction,
            score=round(reading.score, 4),
            confidence=round(reading.confidence, 4),
            horizon=HORIZON[reading.dominant.event_type],
            event_type=reading.dominant.event_type,
            news_ids=tuple(e.item.id for e in cited),
            rationale=_rationale(request, reading, cited, direction),
        )
        raw["direction"] = direction.value
        return done(idea, raw)


def _weight(event: MarketEvent) -> float:
    return event.impact * TYPE_WEIGHT[event.event_type]


def _read(events: list[MarketEvent], snap: MarketSnapshot | None) -> _Reading:
    total = sum(e.sentiment * _weight(e) for e in events)
    news_score = math.tanh(1.3 * total)
    dominant = max(events, key=lambda e: (_weight(e) * (0.25 + abs(e.sentiment)), e.impact))
    sign = 1.0 if news_score >= 0 else -1.0

    trend = 0.0
    trend_factor = 1.0
    rsi_factor = 1.0
    if snap is not None:
        spread = snap.sma_20 / snap.sma_50 - 1.0 if snap.sma_50 > 0 else 0.0
        scale = max(snap.volatility_20 * math.sqrt(20.0), 1e-6)
        trend = math.tanh(spread / scale)
        trend_factor = 1.0 + 0.25 * trend * sign  # agreement adds up to 25%, opposition removes
        if sign > 0 and snap.rsi_14 >= RSI_OVERBOUGHT or sign < 0 and snap.rsi_14 <= RSI_OVERSOLD:
            rsi_factor = 0.75  # the move the news implies may already have happened
        elif sign > 0 and snap.rsi_14 <= RSI_OVERSOLD or sign < 0 and snap.rsi_14 >= RSI_OVERBOUGHT:
            rsi_factor = 1.1  # room to run
    score = max(-1.0, min(1.0, news_score * trend_factor * rsi_factor))

    agreement = (1.0 + trend * sign) / 2.0 if snap is not None else 0.5
    corroboration = min(1.0, (len(events) - 1) / 2.0)
    confidence = (0.45 * min(1.0, max(e.impact for e in events)) + 0.35 * abs(score)
                  + 0.10 * corroboration + 0.10 * agreement)
    if snap is None:
        confidence *= 0.8  # no verified market context
    confidence = max(0.0, min(1.0, confidence))
    return _Reading(news_score, trend, trend_factor, rsi_factor, score, confidence, dominant)


def _headline(event: MarketEvent) -> str:
    title = event.item.title
    if len(title) > _HEADLINE_CHARS:
        title = title[: _HEADLINE_CHARS - 1] + "…"
    return title


def _rationale(request: AnalysisRequest, r: _Reading, cited: list[MarketEvent],
               direction: Direction) -> str:
    mood = "Bullish" if r.score > 0 else "Bearish"
    parts = [(f"{mood} {request.symbol} → {direction.value} "
              f"(score {r.score:+.2f}, confidence {r.confidence:.2f}).")]
    lines = []
    for e in cited[:3]:
        lines.append(f'{e.event_type.value} "{_headline(e)}" (sentiment {e.sentiment:+.2f}, '
                     f"impact {e.impact:.2f})")
    more = f"; +{len(cited) - 3} more" if len(cited) > 3 else ""
    parts.append("News: " + "; ".join(lines) + more + ".")
    snap = request.snapshot
    if snap is None:
        parts.append("No market snapshot: news only, confidence reduced.")
    else:
        trend = "uptrend" if snap.sma_20 > snap.sma_50 else "downtrend" if snap.sma_20 < snap.sma_50 else "flat"
        agrees = "agrees" if r.trend * r.news_score > 0 else "disagrees" if r.trend * r.news_score < 0 else "neutral"
        rsi_note = ""
        if snap.rsi_14 >= RSI_OVERBOUGHT:
            rsi_note = " (overbought)"
        elif snap.rsi_14 <= RSI_OVERSOLD:
            rsi_note = " (oversold)"
        sim = " [simulated prices]" if snap.simulated else ""
        parts.append(f"Technicals{sim}: price {snap.price:.2f}, SMA20 {snap.sma_20:.2f} vs SMA50 "
                     f"{snap.sma_50:.2f} ({trend}, {agrees}), RSI14 {snap.rsi_14:.1f}{rsi_note}, "
                     f"20-bar return {snap.return_20:+.2%}.")
    parts.append(f"Horizon: {HORIZON[r.dominant.event_type]} ({r.dominant.event_type.value}).")
    return " ".join(parts)


def _describe_inputs(request: AnalysisRequest, events: list[MarketEvent]) -> str:
    """A deterministic text of everything the rules read: the 'prompt' kept for the audit trail."""
    lines = [(f"{TEMPLATE} symbol={request.symbol} now={request.now.isoformat()} "
              f"allow_short={request.allow_short}")]
    for e in events:
        lines.append(f"event id={e.item.id} type={e.event_type.value} sentiment={e.sentiment:+.4f} "
                     f"impact={e.impact:.4f} freshness={e.freshness:.4f} title={e.item.title!r}")
    s = request.snapshot
    if s is not None:
        lines.append(f"snapshot price={s.price:.6g} sma20={s.sma_20:.6g} sma50={s.sma_50:.6g} "
                     f"rsi14={s.rsi_14:.4g} vol20={s.volatility_20:.4g} ret20={s.return_20:.4g}")
    else:
        lines.append("snapshot none")
    return "\n".join(lines)


def _with_latency(idea: TradeIdea, latency_ms: float) -> TradeIdea:
    return replace(idea, latency_ms=latency_ms)
