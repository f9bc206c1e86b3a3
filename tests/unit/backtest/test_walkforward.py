"""Walk-forward optimisation on seeded synthetic series with a vectorised SMA-cross backtest."""

from __future__ import annotations

import itertools
import json
import math

import pytest

from robo_tui.backtest.walkforward import (
    param_grid,
    random_search,
    rolling_windows,
    walk_forward,
    walk_forward_to_json,
)

from .synthetic import N_BARS, run_random_walk, run_trending

SPEC = {"fast": [5, 10, 20], "slow": [30, 50, 100]}


def test_param_grid_when_spec_has_two_axes_then_lists_every_combination_last_fastest() -> None:
    grid = param_grid({"a": [1, 2], "b": ["x", "y", "z"]})
    assert grid[:3] == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 1, "b": "z"}]
    assert len(grid) == 6
    assert param_grid({}) == [{}]


def test_param_grid_when_constraint_given_then_drops_rejected_combinations() -> None:
    grid = param_grid(
        {"fast": [10, 20, 30], "slow": [20, 30]}, constraint=lambda p: p["fast"] < p["slow"]
    )
    assert grid == [{"fast": 10, "slow": 20}, {"fast": 10, "slow": 30}, {"fast": 20, "slow": 30}]


def test_param_grid_when_a_value_is_a_string_or_empty_then_raises() -> None:
    with pytest.raises(TypeError):
        param_grid({"mode": "fast"})  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        param_grid({"fast": []})


def test_random_search_when_seeded_then_reproducible_distinct_and_from_the_grid() -> None:
    spec = {"fast": range(2, 50), "slow": range(20, 200, 5), "stop": [0.01, 0.02, 0.05]}
    first = random_search(spec, 40, seed=3)
    assert first == random_search(spec, 40, seed=3)
    assert first != random_search(spec, 40, seed=4)
    assert len({tuple(p.items()) for p in first}) == 40
    grid = [tuple(p.items()) for p in param_grid(spec)]
    assert all(tuple(p.items()) in grid for p in first)
    assert all(list(p) == ["fast", "slow", "stop"] for p in first)


def test_random_search_when_n_exceeds_grid_then_returns_whole_grid() -> None:
    found = random_search(SPEC, 100, seed=1)
    assert sorted(tuple(p.values()) for p in found) == sorted(
        tuple(p.values()) for p in param_grid(SPEC)
    )
    constrained = random_search(SPEC, 100, seed=1, constraint=lambda p: p["fast"] == 5)
    assert {p["fast"] for p in constrained} == {5} and len(constrained) == 3


def test_rolling_windows_when_step_defaults_then_test_windows_tile_without_overlap() -> None:
    windows = rolling_windows(1000, train=300, test=100)
    assert len(windows) == 7
    assert windows[0] == (slice(0, 300), slice(300, 400))
    assert windows[1] == (slice(100, 400), slice(400, 500))
    assert all(w[1].start == prev[1].stop for prev, w in itertools.pairwise(windows))
    assert windows[-1][1].stop <= 1000


def test_rolling_windows_when_anchored_then_train_always_starts_at_zero() -> None:
    windows = rolling_windows(1000, train=300, test=100, step=200, anchored=True)
    assert [w[0] for w in windows] == [slice(0, 300), slice(0, 500), slice(0, 700), slice(0, 900)]
    assert [w[1] for w in windows] == [
        slice(300, 400),
        slice(500, 600),
        slice(700, 800),
        slice(900, 1000),
    ]
    with pytest.raises(ValueError):
        rolling_windows(1000, train=0, test=100)


def test_walk_forward_when_run_inline_then_picks_in_sample_best_and_reports_oos_separately() -> (
    None
):
    candidates = param_grid(SPEC)
    windows = rolling_windows(N_BARS, train=500, test=250)
    result = walk_forward(run_trending, candidates, windows, metric="sharpe", processes=1)

    assert result.trials == len(windows) * len(candidates) == 54
    assert len(result.windows) == len(windows)
    for w, (train, test) in zip(result.windows, windows):
        in_sample = [run_trending(p, train).sharpe for p in candidates]
        best = max(range(len(candidates)), key=lambda i: (in_sample[i], -i))
        assert w.params == candidates[best]
        assert w.trial_metrics == pytest.approx(in_sample)
        assert w.is_metric == pytest.approx(max(in_sample))
        assert w.oos_metric == pytest.approx(run_trending(candidates[best], test).sharpe)
        assert w.in_sample.bars == train.stop - train.start
        assert w.out_of_sample.bars == test.stop - test.start
        assert w.degradation == pytest.approx(w.is_metric - w.oos_metric)
    means = [sum(x) / len(x) for x in zip(*[(w.is_metric, w.oos_metric) for w in result.windows])]
    assert result.in_sample.metric_mean == pytest.approx(means[0])
    assert result.out_of_sample.metric_mean == pytest.approx(means[1])
    assert result.in_sample.metric_mean != result.out_of_sample.metric_mean
    assert result.degradation == pytest.approx(means[0] - means[1])
    compounded = math.prod(1 + w.out_of_sample.return_pct / 100 for w in result.windows) - 1
    assert result.out_of_sample.return_pct_compounded == pytest.approx(compounded * 100)
    assert sum(n for _, n in result.chosen_params) == len(windows)
    # trends are real here: the chosen parameters keep an edge out of sample
    assert result.out_of_sample.metric_mean > 0
    # the degradation guard is quiet; DSR and PBO on ~16 monthly returns per window cannot show
    # significance, and say so (see test_walkforward_overfit.py)
    assert [w for w in result.warnings if not w.startswith(("deflated", "probability"))] == []


def test_walk_forward_when_series_is_a_random_walk_then_guard_reports_degradation() -> None:
    result = walk_forward(
        run_random_walk, param_grid(SPEC), rolling_windows(N_BARS, 500, 250), processes=1
    )
    assert result.in_sample.metric_mean > 0.5  # the best of 9 fits the noise
    assert result.out_of_sample.metric_mean < 0
    assert result.degradation > result.in_sample.metric_mean
    assert result.efficiency < 0
    assert any("overfit" in w for w in result.warnings)


def test_walk_forward_when_run_in_a_process_pool_then_equals_inline_result() -> None:
    candidates = param_grid(SPEC)
    windows = rolling_windows(N_BARS, train=500, test=250, step=500)
    inline = walk_forward(run_trending, candidates, windows, processes=1)
    pooled = walk_forward(run_trending, candidates, windows, processes=2)
    assert walk_forward_to_json(pooled) == walk_forward_to_json(inline)


def test_walk_forward_when_metric_is_minimised_then_picks_the_lowest() -> None:
    candidates = param_grid(SPEC)
    windows = rolling_windows(N_BARS, train=500, test=500, step=1000)
    result = walk_forward(
        run_trending, candidates, windows, metric="volatility_ann_pct", maximize=False, processes=1
    )
    for w in result.windows:
        assert w.is_metric == pytest.approx(min(w.trial_metrics))
        assert w.degradation == pytest.approx(w.oos_metric - w.is_metric)


def test_walk_forward_when_progress_given_then_counts_every_backtest() -> None:
    seen: list[tuple[int, int]] = []
    windows = rolling_windows(N_BARS, 500, 500, step=1000)
    walk_forward(
        run_trending,
        param_grid(SPEC),
        windows,
        processes=1,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen[-1] == (len(windows) * 9 + len(windows),) * 2
    assert [d for d, _ in seen] == list(range(1, len(seen) + 1))


def test_walk_forward_when_run_is_not_picklable_then_raises_type_error_before_spawning() -> None:
    windows = rolling_windows(N_BARS, 500, 500)
    with pytest.raises(TypeError, match="picklable"):
        walk_forward(lambda p, s: run_trending(p, s), param_grid(SPEC), windows, processes=2)


def test_walk_forward_when_input_is_empty_or_metric_unknown_then_raises_value_error() -> None:
    windows = rolling_windows(N_BARS, 500, 500)
    with pytest.raises(ValueError, match="candidate"):
        walk_forward(run_trending, [], windows, processes=1)
    with pytest.raises(ValueError, match="windows"):
        walk_forward(run_trending, param_grid(SPEC), [], processes=1)
    with pytest.raises(ValueError, match="metric"):
        walk_forward(run_trending, param_grid(SPEC), windows, metric="nope", processes=1)


def test_walk_forward_to_json_when_dumped_strictly_then_keeps_both_samples() -> None:
    result = walk_forward(
        run_trending, param_grid(SPEC), rolling_windows(N_BARS, 500, 500, step=1000), processes=1
    )
    data = json.loads(json.dumps(walk_forward_to_json(result), allow_nan=False))
    assert data["trials"] == 9 * len(result.windows)
    assert data["windows"][0]["train"] == [0, 500] and data["windows"][0]["test"] == [500, 1000]
    assert data["in_sample"]["metric_mean"] == pytest.approx(result.in_sample.metric_mean)
    assert data["out_of_sample"]["metric_mean"] == pytest.approx(result.out_of_sample.metric_mean)
    assert "sharpe" in data["windows"][0]["out_of_sample"]
