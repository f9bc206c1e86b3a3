"""Search spaces for walk-forward optimisation: every combination of a grid, or seeded random
draws from it (the Optuna search lives in `robo_tui.backtest.optuna_search`)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

Params = dict[str, Any]


def _axes(spec: Mapping[str, Sequence[Any]]) -> list[tuple[str, list[Any]]]:
    axes = []
    for name, values in spec.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise TypeError(f"parameter {name!r}: give a sequence of values, not {values!r}")
        listed = list(values)
        if not listed:
            raise ValueError(f"parameter {name!r} has no values")
        axes.append((name, listed))
    return axes


def param_grid(
    spec: Mapping[str, Sequence[Any]],
    *,
    constraint: Callable[[Params], bool] | None = None,
) -> list[Params]:
    """Every combination of the values in `spec`, in spec order (the last key varies fastest).

    `constraint` drops combinations it returns False for (e.g. `lambda p: p["fast"] < p["slow"]`).
    An empty spec gives one candidate, the empty dict (the strategy's defaults).
    """
    axes = _axes(spec)
    names = [name for name, _ in axes]
    grid = [
        dict(zip(names, combo, strict=True)) for combo in itertools.product(*(v for _, v in axes))
    ]
    return [p for p in grid if constraint is None or constraint(p)]


def random_search(
    spec: Mapping[str, Sequence[Any]],
    n: int,
    seed: int,
    *,
    constraint: Callable[[Params], bool] | None = None,
) -> list[Params]:
    """`n` distinct combinations of `spec` drawn at random (reproducible for a given seed).

    Draws without replacement from the full grid, so huge grids are never materialised (unless a
    `constraint` is given); returns the whole grid, shuffled, when it has `n` or fewer points.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    if constraint is not None:
        grid = param_grid(spec, constraint=constraint)
        order = rng.permutation(len(grid))[:n]
        return [grid[int(i)] for i in order]
    axes = _axes(spec)
    sizes = [len(values) for _, values in axes]
    total = math.prod(sizes)
    picks = rng.choice(total, size=min(n, total), replace=False)
    result = []
    for flat in picks.tolist():
        params: Params = {}
        for (name, values), size in zip(reversed(axes), reversed(sizes), strict=True):
            flat, digit = divmod(flat, size)
            params[name] = values[digit]
        result.append({name: params[name] for name, _ in axes})
    return result
