"""Ensemble: weighted vote, threshold, NaN = no opinion, toggles, live/backtest agreement,
analyst ideas and P&L attribution."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from robo_tui.config import EnsembleSettings, StrategiesSettings
from robo_tui.domain.market import BarArrays, FloatArray
from robo_tui.domain.signals import Direction, Signal
from robo_tui.engine.ensemble import Ensemble, StrategySlot, StrategyStats
from robo_tui.engine.strategies import build_strategies
from robo_tui.engine.strategies.base import ParamValue
from tests.unit.strategies.series import regime_walk

NAN = math.nan
T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)


class Fixed:
    """A test strategy that votes a fixed score series (the protocol, not a patch of ours)."""

    warmup = 0
    history = 0

    def __init__(self, name: str, values: list[float]) -> None:
        self.name = name
        self.values = np.array(values, dtype=np.float64)

    def scores(self, bars: BarArrays) -> FloatArray:
        return self.values[: len(bars)].copy()

    def explain(self, bars: BarArrays, i: int) -> str:
        return f"{self.name} says {self.values[i]:+.2f}"

    def evaluate(self, bars: BarArrays) -> tuple[FloatArray, Callable[[int], str]]:
        return self.scores(bars), lambda i: self.explain(bars, i)

    def params(self) -> dict[str, ParamValue]:
        return {"n": len(self.values)}


def ensemble(threshold: float = 0.3, analyst_weight: float = 1.0, **voters: list[float]) -> Ensemble:
    return Ensemble(
        {name: Fixed(name, v) for name, v in voters.items()},
        None,
        EnsembleSettings.model_validate({"threshold": threshold, "analyst_weight": analyst_weight}),
    )


def arr(*values: float) -> FloatArray:
    return np.array(values, dtype=np.float64)


def test_combine_when_voters_have_weights_then_score_is_weighted_mean_of_opinions() -> None:
    e = ensemble(a=[], b=[])
    e.set_weight("a", 3.0)
    score, _ = e.combine({"a": arr(1.0, NAN, -1.0, 0.5), "b": arr(0.0, NAN, 1.0, NAN)})
    np.testing.assert_allclose(score, [0.75, NAN, -0.5, 0.5])  # NaN voters drop out


def test_combine_when_scores_cross_the_threshold_then_target_is_long_flat_or_short() -> None:
    e = ensemble(threshold=0.3, a=[])
    score, target = e.combine({"a": arr(0.3, 0.2999, -0.3, -0.2999, 0.0, 1.0, NAN)})
    np.testing.assert_array_equal(target, [1.0, 0.0, -1.0, 0.0, 0.0, 1.0, NAN])
    np.testing.assert_array_equal(score[:6], [0.3, 0.2999, -0.3, -0.2999, 0.0, 1.0])


def test_combine_when_threshold_is_zero_then_a_zero_score_is_flat() -> None:
    _, target = ensemble(threshold=0.0, a=[]).combine({"a": arr(0.0, 1e-9, -1e-9)})
    np.testing.assert_array_equal(target, [0.0, 1.0, -1.0])


def test_combine_when_one_voter_abstains_then_the_others_decide_alone() -> None:
    e = ensemble(a=[], b=[], c=[])
    _, target = e.combine({"a": arr(1.0, 1.0), "b": arr(NAN, 0.0), "c": arr(NAN, 0.0)})
    # bar 0: only a votes (+1); bar 1: a is outvoted by two explicit flats (1/3 ≥ 0.3)
    np.testing.assert_array_equal(target, [1.0, 1.0])
    _, target = e.combine({"a": arr(1.0), "b": arr(-0.2), "c": arr(-0.2)})
    np.testing.assert_array_equal(target, [0.0])  # (1 - 0.4) / 3 = 0.2 < 0.3


def test_combine_when_strategy_disabled_or_weight_zero_then_it_does_not_vote() -> None:
    e = ensemble(a=[], b=[])
    votes = {"a": arr(1.0, 1.0), "b": arr(-1.0, NAN)}
    e.set_enabled("b", False)
    np.testing.assert_array_equal(e.combine(votes)[0], [1.0, 1.0])
    e.set_enabled("b", True)
    e.set_weight("a", 0.0)
    score, target = e.combine(votes)
    np.testing.assert_array_equal(score, [-1.0, NAN])
    np.testing.assert_array_equal(target, [-1.0, NAN])


def test_combine_when_extra_voters_given_then_they_count_with_their_weight() -> None:
    e = ensemble(a=[])
    score, _ = e.combine({"a": arr(1.0, NAN)}, extra=[(arr(-1.0, 0.5), 3.0), (arr(1.0, 1.0), 0.0)])
    np.testing.assert_allclose(score, [(1.0 - 3.0) / 4.0, 0.5])


def test_combine_when_values_exceed_one_then_they_are_clipped() -> None:
    score, _ = ensemble(a=[]).combine({}, extra=[(arr(5.0, -7.0), 1.0)])
    np.testing.assert_array_equal(score, [1.0, -1.0])


def test_combine_when_arrays_differ_in_length_or_weight_is_bad_then_value_error() -> None:
    e = ensemble(a=[], b=[])
    with pytest.raises(ValueError, match="differ in length"):
        e.combine({"a": arr(1.0, 1.0), "b": arr(1.0)})
    with pytest.raises(ValueError, match="between 0 and 10"):
        e.combine({"a": arr(1.0)}, extra=[(arr(1.0), -1.0)])
    with pytest.raises(KeyError, match="known: a, b"):
        e.combine({"zzz": arr(1.0)})


def test_combine_when_no_voter_at_all_then_empty_arrays() -> None:
    score, target = ensemble(a=[]).combine({})
    assert score.shape == (0,) and target.shape == (0,)


def test_settings_when_given_then_enabled_and_weights_come_from_them() -> None:
    cfg = StrategiesSettings.model_validate(
        {"sma_cross": {"enabled": False}, "breakout": {"weight": 2.5}}
    )
    e = Ensemble(build_strategies(cfg), cfg, EnsembleSettings.model_validate({}))
    slots = {s.name: s for s in e.slots()}
    assert slots["sma_cross"] == StrategySlot("sma_cross", False, 1.0, {"fast": 10, "slow": 20})
    assert slots["breakout"].weight == 2.5 and slots["breakout"].enabled
    assert slots["mean_reversion"].params["rsi_window"] == 14
    assert set(e.voters()) == {"mean_reversion", "breakout"}
    assert set(e.vote_arrays(regime_walk(300, 1))) == {"mean_reversion", "breakout"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        slots["breakout"].weight = 3.0  # type: ignore[misc]


def test_settings_when_none_then_every_strategy_votes_with_weight_one() -> None:
    e = Ensemble(build_strategies(StrategiesSettings.model_validate({})), None, EnsembleSettings.model_validate({}))
    assert [(s.name, s.enabled, s.weight) for s in e.slots()] == [
        ("sma_cross", True, 1.0),
        ("mean_reversion", True, 1.0),
        ("breakout", True, 1.0),
    ]


@pytest.mark.parametrize("weight", [-0.1, 10.01, NAN, math.inf])
def test_set_weight_when_out_of_range_then_value_error_and_weight_unchanged(weight: float) -> None:
    e = ensemble(a=[])
    with pytest.raises(ValueError, match="weight of a must be between 0 and 10"):
        e.set_weight("a", weight)
    assert e.slots()[0].weight == 1.0


def test_toggles_when_name_unknown_then_key_error_lists_known_names() -> None:
    e = ensemble(alpha=[], beta=[])
    with pytest.raises(KeyError, match="unknown strategy 'gamma'; known: alpha, beta"):
        e.set_weight("gamma", 1.0)
    with pytest.raises(KeyError, match="known: alpha, beta"):
        e.set_enabled("gamma", False)


def test_decide_when_run_on_each_prefix_then_equals_the_vectorised_backtest_path() -> None:
    bars = regime_walk(1200, seed=5)
    cfg = StrategiesSettings.model_validate({"breakout": {"weight": 2.0}})
    e = Ensemble(build_strategies(cfg), cfg, EnsembleSettings.model_validate({"threshold": 0.25}))
    score, target = e.combine(e.vote_arrays(bars))
    directions = {1.0: Direction.LONG, -1.0: Direction.SHORT, 0.0: Direction.FLAT}
    for i in range(60, 1200, 53):
        d = e.decide("WALK", bars.slice(0, i + 1), T0)
        np.testing.assert_equal(d.score, score[i])
        assert d.direction == (None if np.isnan(target[i]) else directions[float(target[i])])
        assert [v.voter for v in d.votes] == ["sma_cross", "mean_reversion", "breakout"]
        assert all(v.reason and v.symbol == "WALK" and v.ts == T0 for v in d.votes)


def test_decide_when_ideas_are_live_then_they_vote_as_one_analyst_with_analyst_weight() -> None:
    e = ensemble(analyst_weight=2.0, a=[0.5])
    bars = regime_walk(1, seed=1)
    ideas = [
        Signal("analyst:rules", "WALK", -1.0, 0.8, "guidance cut", T0 - timedelta(minutes=5), "analyst"),
        Signal("analyst:ollama", "WALK", -1.0, 0.4, "downgrade", T0, "analyst"),
        Signal("analyst:old", "WALK", 1.0, 1.0, "stale", T0 - timedelta(hours=2), "analyst"),
        Signal("analyst:future", "WALK", 1.0, 1.0, "not yet", T0 + timedelta(seconds=1), "analyst"),
        Signal("analyst:other", "MSFT", 1.0, 1.0, "other symbol", T0, "analyst"),
    ]
    d = e.decide("WALK", bars, T0, ideas)
    analyst = (-0.8 + -0.4) / 2  # mean of score x confidence of the two live ideas
    assert d.score == pytest.approx((1.0 * 0.5 + 2.0 * analyst) / 3.0)
    assert d.direction is Direction.FLAT  # -0.233: inside the threshold
    assert d.confidence == pytest.approx(abs(d.score))
    assert [v.voter for v in d.votes] == ["a", "analyst:rules", "analyst:ollama"]
    assert d.votes[0].reason == "a says +0.50" and d.votes[0].confidence == 0.5


def test_decide_when_no_voter_has_an_opinion_then_direction_is_none() -> None:
    e = ensemble(a=[NAN])
    d = e.decide("WALK", regime_walk(1, seed=1), T0)
    assert d.direction is None and math.isnan(d.score) and d.confidence == 0.0
    assert len(d.votes) == 1 and math.isnan(d.votes[0].score)  # listed, with its reason
    e.set_enabled("a", False)
    assert e.decide("WALK", regime_walk(1, seed=1), T0).votes == ()


def vote(voter: str, score: float, source: str = "strategy", confidence: float = 1.0) -> Signal:
    return Signal(voter, "AAPL", score, confidence, "", T0, source)


def test_record_outcome_when_voters_agree_then_pnl_split_by_weight_times_conviction() -> None:
    e = ensemble(a=[], b=[], c=[])
    e.set_weight("b", 2.0)
    votes = [vote("a", 1.0), vote("b", 0.5), vote("c", -1.0)]
    e.record_outcome("AAPL", votes, 100.0, True)  # net +1: a long trade
    e.record_outcome("AAPL", votes, -40.0, False)
    s = e.stats()
    assert s["a"] == StrategyStats(2, 1, 0.5, pytest.approx(30.0))  # type: ignore[arg-type]
    assert s["b"] == StrategyStats(2, 1, 0.5, pytest.approx(30.0))  # type: ignore[arg-type]
    assert s["c"].trades == 0 and math.isnan(s["c"].hit_rate) and s["c"].pnl == 0.0


def test_record_outcome_when_direction_given_then_the_dissenters_are_credited() -> None:
    e = ensemble(a=[], b=[])
    e.record_outcome("AAPL", [vote("a", 1.0), vote("b", -0.25)], 10.0, True, direction=-1)
    assert e.stats()["b"] == StrategyStats(1, 1, 1.0, 10.0)
    assert e.stats()["a"].trades == 0


def test_record_outcome_when_votes_are_nan_flat_or_analyst_then_handled() -> None:
    e = ensemble(analyst_weight=1.0, a=[], b=[])
    votes = [
        vote("a", NAN),
        vote("b", 0.0),
        vote("analyst:rules", 1.0, "analyst", confidence=0.5),
        vote("analyst:ollama", 1.0, "analyst", confidence=1.5),  # confidence clipped to 1
    ]
    e.record_outcome("AAPL", votes, 30.0, True)
    s = e.stats()
    assert s["a"].trades == 0 and s["b"].trades == 0
    assert s["analyst:rules"].pnl == pytest.approx(10.0)
    assert s["analyst:ollama"].pnl == pytest.approx(20.0)
    e.record_outcome("AAPL", [vote("a", NAN)], 5.0, True)  # nobody had an opinion
    e.record_outcome("MSFT", [vote("b", 1.0)], 5.0, True)  # votes for another symbol
    assert e.stats()["b"].trades == 0
