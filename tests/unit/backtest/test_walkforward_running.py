"""Walk-forward running: the latest choice to trade now, the measured time left, and Ctrl-C."""

from __future__ import annotations

import signal
import time

import pytest

from robo_tui.backtest.walkforward import (
    WalkProgress,
    param_grid,
    rolling_windows,
    walk_forward,
    walk_forward_to_json,
)

from .synthetic import N_BARS, run_trending
from .timed_runs import run_in_proportion, run_slow_late

SPEC = {"fast": [5, 10, 20], "slow": [30, 50, 100]}


def test_walk_forward_when_done_then_trade_now_is_the_latest_windows_choice() -> None:
    result = walk_forward(
        run_trending, param_grid(SPEC), rolling_windows(N_BARS, 500, 250), processes=1
    )

    assert result.trade_now == result.windows[-1].params
    assert walk_forward_to_json(result)["trade_now"] == result.windows[-1].params
    assert not result.interrupted


def test_walk_forward_status_when_backtests_take_time_per_bar_then_eta_tracks_the_time_left() -> (
    None
):
    seen: list[tuple[float, WalkProgress]] = []
    windows = rolling_windows(N_BARS, train=600, test=200, step=400)
    walk_forward(
        run_in_proportion,
        param_grid(SPEC),
        windows,
        processes=1,
        status=lambda p: seen.append((time.perf_counter(), p)),
    )
    finished = seen[-1][0]

    assert seen[-1][1].done == seen[-1][1].total == len(windows) * 10
    assert seen[-1][1].eta_s == 0
    # past the first few backtests the estimate is within a factor of two of the real time left
    for when, status in seen[5:-1]:
        assert status.eta_s is not None
        actual = finished - when
        assert actual / 2 <= status.eta_s <= actual * 2


def test_walk_forward_when_interrupted_inline_then_returns_the_windows_tested() -> None:
    windows = rolling_windows(N_BARS, train=500, test=250)

    def interrupt_after_second_window(p: WalkProgress) -> None:
        if p.done == 20:  # 9 candidates and a test per window
            signal.raise_signal(signal.SIGINT)

    result = walk_forward(
        run_trending, param_grid(SPEC), windows, processes=1,
        status=interrupt_after_second_window,
    )

    assert result.interrupted
    assert [w.index for w in result.windows] == [0, 1]
    assert result.trials == 18
    assert result.warnings[0] == f"interrupted: 2 of {len(windows)} windows tested"
    full = walk_forward(run_trending, param_grid(SPEC), windows[:2], processes=1)
    assert walk_forward_to_json(result)["windows"] == walk_forward_to_json(full)["windows"]


def test_walk_forward_when_interrupted_on_a_pool_then_stops_within_a_second() -> None:
    windows = rolling_windows(N_BARS, train=500, test=500)  # the last one's backtests are slow
    stopped: list[float] = []

    def interrupt_once_the_quick_windows_are_tested(p: WalkProgress) -> None:
        if p.windows_tested == 2 and not stopped:  # only the slow backtests are left
            stopped.append(time.perf_counter())
            signal.raise_signal(signal.SIGINT)

    result = walk_forward(
        run_slow_late, param_grid(SPEC), windows, processes=2,
        status=interrupt_once_the_quick_windows_are_tested,
    )

    assert time.perf_counter() - stopped[0] < 1.0  # the 5 s backtests were killed
    assert result.interrupted and len(result.windows) == 2 < len(windows)
    assert result.trade_now == result.windows[-1].params


def test_walk_forward_when_interrupted_before_any_window_then_keyboard_interrupt() -> None:
    def interrupt_at_once(p: WalkProgress) -> None:
        signal.raise_signal(signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        walk_forward(
            run_trending, param_grid(SPEC), rolling_windows(N_BARS, 500, 250), processes=1,
            status=interrupt_at_once,
        )
