"""What an analyst is asked and what it answers (the analyst port's values)."""

from __future__ import annotations

from dataclasses import field
from datetime import datetime

from robo_tui.domain.frozen import frozen
from robo_tui.domain.news import MarketEvent, TradeIdea


@frozen
class MarketSnapshot:
    """Verified numbers we computed for one symbol, so a model never has to invent any."""

    symbol: str
    ts: datetime
    price: float
    return_1: float  # last bar's return
    return_20: float  # return over 20 bars
    volatility_20: float  # stdev of bar returns over 20 bars
    rsi_14: float
    sma_20: float
    sma_50: float
    atr_14: float
    simulated: bool = False


@frozen
class AnalysisRequest:
    """One analyst call: a symbol, the events that concern it, and our market snapshot."""

    symbol: str
    now: datetime
    events: tuple[MarketEvent, ...]
    snapshot: MarketSnapshot | None
    universe: tuple[str, ...]
    allow_short: bool
    performance_summary: str = ""


@frozen
class AnalysisOutcome:
    """What one analyst call produced: an idea, or an abstention with the raw output kept."""

    provider: str
    model: str
    idea: TradeIdea | None
    template: str = ""
    prompt: str = ""
    prompt_hash: str = ""
    raw_output: str = ""
    errors: tuple[str, ...] = ()
    latency_ms: float = 0.0
    abstain_reason: str = ""


@frozen
class ModelInfo:
    """A model a provider can run right now, for the model selector."""

    provider: str
    name: str
    size_bytes: int = 0
    parameter_size: str = ""
    quantization: str = ""
    available: bool = True
    details: dict[str, str] = field(default_factory=dict)
