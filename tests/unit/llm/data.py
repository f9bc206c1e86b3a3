"""Test data for the LLM analyst tests: settings, news events, snapshots and requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr

from robo_tui.config import AnalystSettings, Settings
from robo_tui.domain.analysis import AnalysisRequest, MarketSnapshot
from robo_tui.domain.news import EventType, MarketEvent, NewsItem

from .servers import ollama_model

NOW = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
UNIVERSE = ("AAPL", "MSFT", "NVDA", "AMZN", "JPM", "XOM", "BTC-USD", "ETH-USD")
OPENAI_KEY = "sk-test-openai-0123456789abcdefXYZ"
ANTHROPIC_KEY = "sk-ant-test-0123456789abcdefXYZ"


def settings(**analysts: Any) -> Settings:
    """Default settings with `[analysts]` overrides (short timeouts for tests)."""
    base: dict[str, Any] = {"timeout_seconds": 5.0, "transport_retries": 0}
    base.update(analysts)
    for key in ("openai_api_key", "anthropic_api_key"):
        if isinstance(base.get(key), str):
            base[key] = SecretStr(base[key])
    return Settings(analysts=AnalystSettings(**base))


def news_event(
    news_id: str = "n1",
    title: str = "Apple beats earnings expectations and raises guidance",
    *,
    symbols: tuple[str, ...] = ("AAPL",),
    event_type: EventType = EventType.EARNINGS,
    summary: str = "Apple reported revenue above consensus; iPhone sales grew 8%.",
    impact: float = 0.8,
) -> MarketEvent:
    """A classified news event."""
    item = NewsItem(
        id=news_id,
        source="sample-wire",
        title=title,
        summary=summary,
        link=f"https://news.example/{news_id}",
        published=NOW - timedelta(minutes=5),
        seen=NOW - timedelta(minutes=4),
        symbols=symbols,
    )
    return MarketEvent(item, event_type, symbols, impact, 0.6, 0.95)


def snapshot(symbol: str = "AAPL") -> MarketSnapshot:
    """Verified market numbers for one symbol."""
    return MarketSnapshot(
        symbol=symbol, ts=NOW, price=231.42, return_1=0.0042, return_20=0.051,
        volatility_20=0.0123, rsi_14=61.2, sma_20=225.1, sma_50=218.7, atr_14=3.21,
        simulated=True,
    )


def request(
    symbol: str = "AAPL",
    *,
    events: tuple[MarketEvent, ...] | None = None,
    with_snapshot: bool = True,
    allow_short: bool = True,
    performance: str = "Last 7 days: earnings ideas hit 4/6; macro ideas hit 1/3.",
) -> AnalysisRequest:
    """An analysis request for `symbol` with one earnings event."""
    return AnalysisRequest(
        symbol=symbol,
        now=NOW,
        events=events if events is not None else (news_event(),),
        snapshot=snapshot(symbol) if with_snapshot else None,
        universe=UNIVERSE,
        allow_short=allow_short,
        performance_summary=performance,
    )


def idea_json(**overrides: Any) -> dict[str, Any]:
    """A valid idea object for the default request."""
    data: dict[str, Any] = {
        "symbol": "AAPL",
        "direction": "long",
        "score": 0.6,
        "confidence": 0.7,
        "horizon": "days",
        "event_type": "earnings",
        "news_ids": ["n1"],
        "rationale": "Beat and raise; guidance above consensus supports post-earnings drift.",
    }
    data.update(overrides)
    return data


DEFAULT_MODELS = [
    ollama_model("llama3.1:8b", size_gb=4.9, parameter_size="8.0B"),
    ollama_model("qwen2.5:7b", size_gb=4.7, parameter_size="7.6B", family="qwen2"),
    ollama_model("qwen2.5:32b", size_gb=19.9, parameter_size="32.8B", family="qwen2"),
    ollama_model("llama3.2:1b", size_gb=1.3, parameter_size="1.2B", quantization="Q8_0"),
]

