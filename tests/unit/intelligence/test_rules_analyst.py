"""The rules analyst: lexicon × event type × impact, adjusted by trend and RSI; abstains when weak."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from robo_tui.adapters.llm import build_analyst
from robo_tui.adapters.llm.rules import RulesAnalyst
from robo_tui.config import Settings
from robo_tui.domain.analysis import AnalysisRequest, MarketSnapshot
from robo_tui.domain.news import EventType, MarketEvent, NewsItem
from robo_tui.domain.signals import Direction

from .conftest import NOW

UNIVERSE = tuple(Settings().universe.symbols)


def event(title: str, event_type: EventType, sentiment: float, impact: float,
          symbol: str = "AAPL", n: int = 0) -> MarketEvent:
    item = NewsItem(id=f"n{n}", source="wire", title=title, summary="", link="",
                    published=NOW - timedelta(minutes=2), seen=NOW, symbols=(symbol,))
    return MarketEvent(item, event_type, (symbol,), impact, sentiment, 0.99)


def snapshot(sma20: float = 101.0, sma50: float = 100.0, rsi: float = 55.0) -> MarketSnapshot:
    return MarketSnapshot(symbol="AAPL", ts=NOW, price=102.0, return_1=0.001, return_20=0.02,
                          volatility_20=0.004, rsi_14=rsi, sma_20=sma20, sma_50=sma50,
                          atr_14=1.2)


def request(*events: MarketEvent, snap: MarketSnapshot | None = None,
            allow_short: bool = True, symbol: str = "AAPL") -> AnalysisRequest:
    return AnalysisRequest(symbol=symbol, now=NOW, events=events, snapshot=snap,
                           universe=UNIVERSE, allow_short=allow_short)


BEAT = event("Apple beats estimates as iPhone revenue jumps 8%", EventType.EARNINGS, 0.6, 0.8)
HACK = event("Apple iCloud breach exposes user data", EventType.SECURITY, -0.7, 0.75)


@pytest.fixture
def rules() -> RulesAnalyst:
    return RulesAnalyst(Settings())


async def test_analyze_when_good_earnings_in_an_uptrend_then_long_with_a_cited_rationale(
    rules: RulesAnalyst,
) -> None:
    outcome = await rules.analyze(request(BEAT, snap=snapshot()))
    idea = outcome.idea
    assert idea is not None
    assert idea.direction is Direction.LONG and idea.score > 0.3
    assert 0 < idea.confidence <= 1
    assert idea.horizon == "days" and idea.event_type is EventType.EARNINGS
    assert idea.news_ids == ("n0",)
    assert "Apple beats estimates" in idea.rationale and "RSI14 55.0" in idea.rationale
    assert outcome.prompt_hash and outcome.template == "rules/lexicon-v1"


async def test_analyze_when_bad_news_then_short_or_flat_when_shorting_is_not_allowed(
    rules: RulesAnalyst,
) -> None:
    short = (await rules.analyze(request(HACK, snap=snapshot(99, 100)))).idea
    flat = (await rules.analyze(request(HACK, snap=snapshot(99, 100), allow_short=False))).idea
    assert short is not None and short.direction is Direction.SHORT and short.score < 0
    assert flat is not None and flat.direction is Direction.FLAT and flat.score < 0
    assert short.horizon == "intraday"


async def test_analyze_when_trend_disagrees_then_score_is_smaller(rules: RulesAnalyst) -> None:
    up = (await rules.analyze(request(BEAT, snap=snapshot(102, 100)))).idea
    down = (await rules.analyze(request(BEAT, snap=snapshot(98, 100)))).idea
    assert up is not None and down is not None
    assert up.score > down.score > 0
    assert up.confidence > down.confidence


async def test_analyze_when_rsi_is_overbought_then_a_bullish_score_is_damped(
    rules: RulesAnalyst,
) -> None:
    calm = (await rules.analyze(request(BEAT, snap=snapshot(rsi=55)))).idea
    hot = (await rules.analyze(request(BEAT, snap=snapshot(rsi=82)))).idea
    assert calm is not None and hot is not None
    assert hot.score < calm.score
    assert "overbought" in hot.rationale


async def test_analyze_when_signal_is_weak_then_abstains_with_the_reason(rules: RulesAnalyst) -> None:
    meh = event("Apple holds annual meeting", EventType.OTHER, 0.05, 0.2)
    outcome = await rules.analyze(request(meh, snap=snapshot()))
    assert outcome.idea is None
    assert "signal too weak" in outcome.abstain_reason


async def test_analyze_when_no_event_mentions_the_symbol_then_abstains(rules: RulesAnalyst) -> None:
    other = event("Microsoft beats estimates", EventType.EARNINGS, 0.6, 0.8, symbol="MSFT")
    outcome = await rules.analyze(request(other))
    assert outcome.idea is None and "mentions AAPL" in outcome.abstain_reason


async def test_analyze_when_symbol_is_outside_the_universe_then_abstains(rules: RulesAnalyst) -> None:
    tsla = event("Tesla soars", EventType.OTHER, 0.9, 0.9, symbol="TSLA")
    outcome = await rules.analyze(request(tsla, symbol="TSLA"))
    assert outcome.idea is None and "not in the universe" in outcome.abstain_reason


async def test_analyze_when_no_snapshot_then_confidence_is_reduced(rules: RulesAnalyst) -> None:
    with_snap = (await rules.analyze(request(BEAT, snap=snapshot(101, 101)))).idea
    without = (await rules.analyze(request(BEAT))).idea
    assert with_snap is not None and without is not None
    assert without.confidence < with_snap.confidence
    assert "No market snapshot" in without.rationale


async def test_analyze_when_called_twice_then_the_same_answer(rules: RulesAnalyst) -> None:
    events = (BEAT, replace(HACK, impact=0.3))
    first = await rules.analyze(request(*events, snap=snapshot()))
    second = await rules.analyze(request(*events, snap=snapshot()))
    assert first.raw_output == second.raw_output and first.prompt_hash == second.prompt_hash
    assert first.idea is not None and second.idea is not None
    assert replace(first.idea, latency_ms=0) == replace(second.idea, latency_ms=0)


async def test_analyze_when_more_events_agree_then_stronger(rules: RulesAnalyst) -> None:
    one = (await rules.analyze(request(BEAT, snap=snapshot()))).idea
    two = (await rules.analyze(request(BEAT, replace(BEAT, item=replace(BEAT.item, id="n9")),
                                       snap=snapshot()))).idea
    assert one is not None and two is not None
    assert two.score > one.score and two.confidence > one.confidence


@pytest.mark.parametrize(("event_type", "horizon"), [
    (EventType.MERGER, "weeks"), (EventType.MACRO, "intraday"), (EventType.GUIDANCE, "days"),
])
async def test_analyze_when_event_type_differs_then_horizon_follows_it(
    rules: RulesAnalyst, event_type: EventType, horizon: str
) -> None:
    idea = (await rules.analyze(request(replace(BEAT, event_type=event_type)))).idea
    assert idea is not None and idea.horizon == horizon


def test_rules_when_built_by_name_then_lexicon_model_and_unknown_model_is_refused() -> None:
    analyst = build_analyst("rules", Settings())
    assert analyst.name == "rules"
    with pytest.raises(ValueError, match="one model"):
        RulesAnalyst(Settings(), model="gpt-5")


def test_rules_when_scores_are_extreme_then_they_stay_in_range() -> None:
    rules = RulesAnalyst(Settings())
    rng = np.random.default_rng(5)
    for i in range(300):
        events = [event("x", EventType(rng.choice([e.value for e in EventType])),
                        float(rng.uniform(-1, 1)), float(rng.uniform(0, 1)), n=j)
                  for j in range(int(rng.integers(1, 6)))]
        snap = snapshot(float(rng.uniform(50, 150)), 100.0, float(rng.uniform(0, 100)))
        idea = rules.evaluate(request(*events, snap=snap)).idea
        if idea is not None:
            assert -1 <= idea.score <= 1 and 0 <= idea.confidence <= 1, i
