"""The strategy ensemble: weighted voting with a threshold, run-time toggles and P&L attribution.

Vectorised for backtests (`vote_arrays` + `combine` over whole series, numpy only) and the same
arithmetic on the live path (`decide` combines the last bar through `combine`), so both agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from robo_tui.config import EnsembleSettings, StrategiesSettings, StrategySettings
from robo_tui.domain.frozen import frozen
from robo_tui.domain.market import BarArrays, FloatArray
from robo_tui.domain.news import TradeIdea
from robo_tui.domain.signals import Direction, EnsembleDecision, Signal
from robo_tui.engine.strategies.base import ParamValue, Strategy

MAX_WEIGHT = 10.0
"""Largest weight a voter may have (the config's bound)."""


@frozen
class StrategySlot:
    """A strategy's place in the ensemble, as the console shows it."""

    name: str
    enabled: bool
    weight: float
    params: Mapping[str, ParamValue]


@frozen
class StrategyStats:
    """A voter's track record: trades it agreed with, how many won, and its share of the P&L.

    `hit_rate` is wins / trades, NaN before the first trade.
    """

    trades: int
    wins: int
    hit_rate: float
    pnl: float


@dataclass(slots=True)
class _Tally:
    trades: int = 0
    wins: int = 0
    pnl: float = 0.0


def _section(settings: StrategiesSettings | None, name: str) -> StrategySettings | None:
    """The `[strategies.<name>]` section, or None for a strategy the config has no section for
    (one built from the command line or a test)."""
    if settings is None:
        return None
    try:
        return settings.section(name)
    except KeyError:
        return None


def _check_weight(name: str, weight: float) -> float:
    w = float(weight)
    if not (math.isfinite(w) and 0.0 <= w <= MAX_WEIGHT):
        raise ValueError(f"weight of {name} must be between 0 and {MAX_WEIGHT:g}, got {weight!r}")
    return w


def strategy_vote(name: str, symbol: str, score: float, reason: str, ts: datetime) -> Signal:
    """A strategy's vote as a `Signal`: confidence |score|, none without an opinion (NaN)."""
    return Signal(name, symbol, score, 0.0 if math.isnan(score) else abs(score), reason, ts,
                  "strategy")


def idea_signal(idea: TradeIdea) -> Signal:
    """An analyst idea as the ensemble's analyst voter sees it."""
    return Signal(f"analyst:{idea.provider}", idea.symbol, idea.score, idea.confidence,
                  idea.rationale, idea.ts, "analyst")


def decision_from(symbol: str, ts: datetime, score: float, target: float,
                  votes: tuple[Signal, ...]) -> EnsembleDecision:
    """The decision for a combined score and target (`Ensemble.combine`): direction from the
    target (None when no voter has an opinion), confidence |score| capped at 1. The live path
    and the backtest build decisions only through here."""
    direction: Direction | None
    if math.isnan(target):
        direction = None
    else:
        direction = (
            Direction.LONG if target > 0 else Direction.SHORT if target < 0 else Direction.FLAT
        )
    confidence = 0.0 if math.isnan(score) else min(1.0, abs(score))
    return EnsembleDecision(symbol, ts, score, confidence, direction, votes)


class Ensemble:
    """Combines strategy scores (and analyst ideas) into one score and target per bar.

    score = sum(w_i * s_i) / sum(w_i) over the voters with an opinion (non-NaN) at that bar;
    target = +1 where score >= threshold, -1 where score <= -threshold, 0 in between, NaN where
    no voter has an opinion (hold what is held). With threshold 0 a score of exactly 0 is flat.
    """

    def __init__(
        self,
        strategies: Mapping[str, Strategy],
        settings: StrategiesSettings | None,
        ensemble: EnsembleSettings,
    ) -> None:
        self._strategies: dict[str, Strategy] = dict(strategies)
        self._enabled: dict[str, bool] = {}
        self._weights: dict[str, float] = {}
        for name in self._strategies:
            section = _section(settings, name)
            self._enabled[name] = section.enabled if section is not None else True
            self._weights[name] = _check_weight(name, section.weight if section else 1.0)
        self.threshold: float = ensemble.threshold
        self.analyst_weight: float = ensemble.analyst_weight
        self.idea_ttl_seconds: float = ensemble.idea_ttl_seconds
        self._tallies: dict[str, _Tally] = {name: _Tally() for name in self._strategies}

    # -- configuration -------------------------------------------------------------------------

    def _known(self, name: str) -> None:
        if name not in self._strategies:
            raise KeyError(f"unknown strategy {name!r}; known: {', '.join(self._strategies)}")

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Switch a strategy's vote on or off (KeyError naming the known ones if unknown)."""
        self._known(name)
        self._enabled[name] = bool(enabled)

    def set_weight(self, name: str, weight: float) -> None:
        """Reweight a strategy, 0..10 (ValueError outside; KeyError if unknown)."""
        self._known(name)
        self._weights[name] = _check_weight(name, weight)

    def slots(self) -> list[StrategySlot]:
        """Every strategy with its enabled flag, weight and parameters, in registration order."""
        return [
            StrategySlot(name, self._enabled[name], self._weights[name], dict(s.params()))
            for name, s in self._strategies.items()
        ]

    def strategy(self, name: str) -> Strategy:
        """The strategy registered under `name` (KeyError if unknown)."""
        self._known(name)
        return self._strategies[name]

    def voters(self) -> dict[str, Strategy]:
        """The strategies that vote now: enabled with a weight above 0."""
        return {
            n: s
            for n, s in self._strategies.items()
            if self._enabled[n] and self._weights[n] > 0.0
        }

    def history_bars(self) -> int:
        """Trailing bars the live path should pass to `decide` so that each strategy's last score
        equals its full-history score (indicator warm-up decayed, recent state changes seen)."""
        return max(
            (s.history for s in self._strategies.values()),
            default=0,
        )

    # -- vectorised path -----------------------------------------------------------------------

    def vote_arrays(self, bars: BarArrays) -> dict[str, FloatArray]:
        """Each voting strategy's score array over `bars`."""
        return {name: s.scores(bars) for name, s in self.voters().items()}

    def evaluations(self, bars: BarArrays) -> dict[str, tuple[FloatArray, Callable[[int], str]]]:
        """Each voting strategy's scores over `bars` and its explainer for any bar."""
        return {name: s.evaluate(bars) for name, s in self.voters().items()}

    def combine(
        self,
        votes: Mapping[str, FloatArray],
        extra: Sequence[tuple[FloatArray, float]] = (),
    ) -> tuple[FloatArray, FloatArray]:
        """(score, target) per bar from strategy score arrays and extra (array, weight) voters.

        Strategy arrays are weighted by their current weights (disabled or zero-weight ones are
        skipped); values are clipped to [-1, 1]; NaN is no opinion. All arrays must have the
        same length.
        """
        weighted: list[tuple[FloatArray, float]] = []
        length: int | None = None
        for name, arr in votes.items():
            self._known(name)
            length = self._same_length(length, arr)
            if self._enabled[name] and self._weights[name] > 0.0:
                weighted.append((arr, self._weights[name]))
        for arr, weight in extra:
            length = self._same_length(length, arr)
            w = _check_weight("an extra voter", weight)
            if w > 0.0:
                weighted.append((arr, w))
        n = length or 0
        num = np.zeros(n)
        den = np.zeros(n)
        for arr, w in weighted:
            has = ~np.isnan(arr)
            num += np.where(has, np.clip(arr, -1.0, 1.0), 0.0) * w
            den += has * w
        score = np.full(n, np.nan)
        np.divide(num, den, out=score, where=den > 0.0)
        target = np.zeros(n)
        with np.errstate(invalid="ignore"):
            target[(score >= self.threshold) & (score > 0.0)] = 1.0
            target[(score <= -self.threshold) & (score < 0.0)] = -1.0
        target[den <= 0.0] = np.nan
        return score, target

    @staticmethod
    def _same_length(length: int | None, arr: FloatArray) -> int:
        if arr.ndim != 1:
            raise ValueError(f"voter arrays must be 1-d, got shape {arr.shape}")
        if length is not None and arr.shape[0] != length:
            raise ValueError(f"voter arrays differ in length: {arr.shape[0]} != {length}")
        return int(arr.shape[0])

    # -- live path -----------------------------------------------------------------------------

    def idea_value(self, idea: Signal) -> float:
        """What an analyst idea votes: its score times its confidence, each clipped."""
        return max(-1.0, min(1.0, idea.score)) * max(0.0, min(1.0, idea.confidence))

    def live_ideas(self, symbol: str, ts: datetime, ideas: Sequence[Signal]) -> list[Signal]:
        """The ideas on `symbol` that may vote at `ts`: made at or before it (no look-ahead) and
        no older than `idea_ttl_seconds`, with a finite score."""
        out = []
        for idea in ideas:
            if idea.symbol != symbol or not math.isfinite(idea.score):
                continue
            age = (ts - idea.ts).total_seconds()
            if 0.0 <= age <= self.idea_ttl_seconds:
                out.append(idea)
        return out

    def decide(
        self, symbol: str, bars: BarArrays, ts: datetime, ideas: Sequence[Signal] = ()
    ) -> EnsembleDecision:
        """The ensemble's view at the last bar of `bars`.

        Each voting strategy contributes a `Signal` with its last score (NaN when it has no
        opinion; it is still listed, with its reason) and `explain()` as the reason. Analyst
        ideas on `symbol` that are live at `ts` (see `live_ideas`) together form one voter of
        weight `analyst_weight`, voting the mean of score x confidence; ideas on other symbols
        are ignored. The decision's confidence is |score|; direction is None when no voter has
        an opinion.
        """
        votes: list[Signal] = []
        arrays: dict[str, FloatArray] = {}
        for name, strategy in self.voters().items():
            if len(bars):
                scores, explain_at = strategy.evaluate(bars)
                last, reason = float(scores[-1]), explain_at(-1)
            else:
                last, reason = math.nan, "no bars yet"
            arrays[name] = np.array([last])
            votes.append(strategy_vote(name, symbol, last, reason, ts))
        live = self.live_ideas(symbol, ts, ideas)
        extra: list[tuple[FloatArray, float]] = []
        if live:
            value = sum(self.idea_value(i) for i in live) / len(live)
            extra.append((np.array([value]), self.analyst_weight))
        score, target = math.nan, math.nan
        if arrays or extra:
            score_arr, target_arr = self.combine(arrays, extra)
            score, target = float(score_arr[0]), float(target_arr[0])
        return decision_from(symbol, ts, score, target, tuple(votes + live))

    # -- performance tracking ------------------------------------------------------------------

    def record_outcome(
        self,
        symbol: str,
        votes: Sequence[Signal],
        pnl: float,
        won: bool,
        direction: int | None = None,
    ) -> None:
        """Attribute a closed trade to the voters that agreed with its direction.

        `votes` are the signals behind the entry (an `EnsembleDecision.votes`). Each voter whose
        vote had the trade's sign gets one trade (and one win if `won`) and a share of `pnl` in
        proportion to weight x |vote|. Strategy weights are the current ones; analyst votes share
        `analyst_weight`. `direction` (+1 long, -1 short) defaults to the sign of the weighted
        votes. Voters without an opinion (NaN) or voting flat get nothing.
        """
        usable = [v for v in votes if v.symbol == symbol and math.isfinite(v.score)]
        n_analysts = sum(1 for v in usable if v.source == "analyst")
        weighted: list[tuple[str, float]] = []
        for v in usable:
            if v.source == "analyst":
                weighted.append((v.voter, self.analyst_weight / n_analysts * self.idea_value(v)))
            else:
                weighted.append((v.voter, self._weights.get(v.voter, 1.0) * v.score))
        if direction is None:
            net = sum(c for _, c in weighted)
            direction = 1 if net > 0 else -1 if net < 0 else 0
        if direction not in (1, -1):
            return
        agreeing = [(voter, abs(c)) for voter, c in weighted if c * direction > 0]
        total = sum(c for _, c in agreeing)
        if total <= 0.0:
            return
        for voter, c in agreeing:
            tally = self._tallies.setdefault(voter, _Tally())
            tally.trades += 1
            tally.wins += int(won)
            tally.pnl += pnl * c / total

    def stats(self) -> dict[str, StrategyStats]:
        """Every strategy's track record (zeros before its first trade), plus any analyst voter
        that has been attributed a trade."""
        return {
            name: StrategyStats(
                t.trades, t.wins, t.wins / t.trades if t.trades else math.nan, t.pnl
            )
            for name, t in self._tallies.items()
        }
