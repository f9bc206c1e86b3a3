"""Optuna as a walk-forward search: TPE proposes each train window's candidates, a median
pruner drops the unpromising ones after half the window.

Needs the `optimize` extra (`pip install 'robo-tui[optimize]'`); optuna is imported only when an
Optuna search is made. Trials are asked and told in fixed-size batches, in batch order, and the
sampler is seeded, so a search gives the same trials and the same winner whichever executor
(inline, process pool, cluster) ran its backtests and in whatever order they finished.

Pruning: each new candidate is first backtested on the first half of the train window; its
score there is the trial's intermediate value, and the median pruner stops it when that is
below the median of earlier trials at the same step. Only candidates that survive are
backtested on the whole window, and only whole-window scores compete for the window's pick.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from robo_tui.backtest.search import Params
from robo_tui.backtest.walkforward import CandidateSearch, Proposal

EXTRA = "optimize"
HALF = 0.5
"""Part of the train window a candidate is first backtested on (the pruning step)."""


class MissingExtraError(ImportError):
    """An optional dependency group is not installed (the message names it)."""


def _optuna() -> Any:
    try:
        import optuna
    except ImportError as exc:
        raise MissingExtraError(
            f"--search optuna needs optuna: pip install 'robo-tui[{EXTRA}]'"
        ) from exc
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _numbers(values: Sequence[Any]) -> list[float] | None:
    try:
        return [float(v) for v in values]
    except (TypeError, ValueError):
        return None


class OptunaSearch:
    """One window's TPE search over the values of a grid spec, `trials` whole-window backtests
    at most (fewer when the space runs out of new combinations).

    `constraint` rejects combinations without a backtest (told to the study as failed).
    """

    def __init__(
        self,
        spec: Mapping[str, Sequence[Any]],
        trials: int,
        seed: int,
        *,
        batch: int = 8,
        prune: bool = True,
        constraint: Callable[[Params], bool] | None = None,
    ) -> None:
        if trials < 1 or batch < 1:
            raise ValueError(f"trials and batch must be at least 1, got {trials}, {batch}")
        optuna = _optuna()
        self._optuna = optuna
        self._spec = {name: list(values) for name, values in spec.items()}
        self._planned = trials
        self._batch = batch
        self._prune = prune
        self._constraint = constraint
        self._study = optuna.create_study(
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=batch, n_warmup_steps=0),
        )
        self._pending: list[tuple[Any, Params]] = []
        self._stage = 1.0
        self._scores: dict[tuple[tuple[str, str], ...], float] = {}
        self._full = 0  # whole-window backtests proposed
        self._started = 0  # trials backtested (pruned ones included): the budget
        self._exhausted = False

    @property
    def trials(self) -> int:
        """Whole-window backtests this search runs (its plan until it knows better)."""
        return self._full if self._exhausted else self._planned - self.pruned

    @property
    def pruned(self) -> int:
        """Trials the pruner stopped after their first half-window backtest."""
        state = self._optuna.trial.TrialState.PRUNED
        return sum(t.state == state for t in self._study.trials)

    def propose(self) -> list[Proposal]:
        """Survivors of the pruning step on the whole window, or a new batch of trials."""
        if self._stage == HALF:
            survivors = self._pending
            self._stage = 1.0
            self._pending = survivors
            if survivors:
                self._full += len(survivors)
                return [Proposal(dict(p)) for _, p in survivors]
        self._pending = self._ask(min(self._batch, self._planned - self._started))
        self._started += len(self._pending)
        if not self._pending:
            self._exhausted = True
            return []
        if self._prune and len(self._study.trials) > self._batch:
            self._stage = HALF
            return [Proposal(dict(p), HALF) for _, p in self._pending]
        self._full += len(self._pending)
        return [Proposal(dict(p)) for _, p in self._pending]

    def learn(self, scores: Sequence[float]) -> None:
        """Tell the study the batch's scores (half-window ones as the pruning step)."""
        state = self._optuna.trial.TrialState
        if self._stage == HALF:
            survivors = []
            for (trial, params), score in zip(self._pending, scores, strict=True):
                trial.report(score if math.isfinite(score) else -1e300, step=0)
                if trial.should_prune():
                    self._study.tell(trial, state=state.PRUNED)
                else:
                    survivors.append((trial, params))
            self._pending = survivors
            return
        for (trial, params), score in zip(self._pending, scores, strict=True):
            self._scores[_key(params)] = score
            self._tell(trial, score)
        self._pending = []

    def _tell(self, trial: Any, score: float) -> None:
        if math.isfinite(score):
            self._study.tell(trial, score)
        else:
            self._study.tell(trial, state=self._optuna.trial.TrialState.FAIL)

    def _ask(self, n: int) -> list[tuple[Any, Params]]:
        """Up to `n` new, valid combinations (repeats are told their known score at once)."""
        out: list[tuple[Any, Params]] = []
        seen = {_key(p) for _, p in out}
        for _ in range(n * 20):
            if len(out) >= n:
                break
            trial = self._study.ask()
            params = {name: self._suggest(trial, name, values)
                      for name, values in self._spec.items()}
            key = _key(params)
            if key in self._scores:
                self._tell(trial, self._scores[key])
            elif key in seen or (self._constraint is not None and not self._constraint(params)):
                self._study.tell(trial, state=self._optuna.trial.TrialState.FAIL)
            else:
                seen.add(key)
                out.append((trial, params))
        return out

    @staticmethod
    def _suggest(trial: Any, name: str, values: list[Any]) -> Any:
        """An evenly spaced numeric axis as an ordered range (TPE models its order), anything
        else as categories; the value returned is always one of `values`."""
        numbers = _numbers(values)
        if numbers is not None and len(values) > 2:
            steps = {round(b - a, 12) for a, b in itertools.pairwise(numbers)}
            if len(steps) == 1 and next(iter(steps)) > 0:
                i = trial.suggest_int(name, 0, len(values) - 1)
                return values[i]
        return trial.suggest_categorical(name, values)


def _key(params: Params) -> tuple[tuple[str, str], ...]:
    return tuple((k, str(v)) for k, v in params.items())


def optuna_searches(
    spec: Mapping[str, Sequence[Any]],
    trials: int,
    seed: int,
    *,
    batch: int = 8,
    prune: bool = True,
    constraint: Callable[[Params], bool] | None = None,
) -> Callable[[int], CandidateSearch]:
    """A factory of one `OptunaSearch` per window (window i seeded with `seed + i`); checks
    that optuna is installed before anything runs."""
    _optuna()

    def make(window: int) -> CandidateSearch:
        return OptunaSearch(spec, trials, seed + window, batch=batch, prune=prune,
                            constraint=constraint)

    return make
