"""Walk-forward trials on a Dask cluster (dask.distributed): a LocalCluster the test starts on
127.0.0.1 speaks Dask's real TCP protocol to the real client; the results equal the local
process pool's, the backtest function travels once, and a missing extra or an unreachable
scheduler is a message, never a traceback."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from backtesting.test import GOOG
from typer.testing import CliRunner

from robo_tui.backtest.executors import ClusterUnreachable, DaskTrials, MissingClusterExtra
from robo_tui.backtest.optuna_search import optuna_searches
from robo_tui.backtest.walkforward import (
    param_grid,
    rolling_windows,
    walk_forward,
    walk_forward_to_json,
)
from robo_tui.cli import app

from .synthetic import N_BARS, run_trending
from .timed_runs import PICKLED, CountedRun

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.filterwarnings("ignore:DatetimeIndex.dayofweek")

SPACE = {"fast": list(range(2, 41, 2)), "slow": list(range(20, 201, 10))}
WINDOWS = rolling_windows(N_BARS, train=500, test=250, step=500)


def below(params: dict[str, int]) -> bool:
    return params["fast"] < params["slow"]


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A one-worker, two-thread LocalCluster on 127.0.0.1 (TCP, in this process)."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        yield str(cluster.scheduler_address)


def test_optuna_walk_forward_when_run_on_a_dask_cluster_then_the_same_winners_as_the_pool(
    scheduler: str,
) -> None:
    pooled = walk_forward(run_trending, optuna_searches(SPACE, 16, seed=1, constraint=below),
                          WINDOWS, processes=2)
    executor = DaskTrials(run_trending, scheduler)

    clustered = walk_forward(run_trending, optuna_searches(SPACE, 16, seed=1, constraint=below),
                             WINDOWS, executor=executor)

    assert executor.capacity == 2
    assert [w.params for w in clustered.windows] == [w.params for w in pooled.windows]
    assert walk_forward_to_json(clustered) == walk_forward_to_json(pooled)


def test_dask_cluster_when_many_trials_then_the_run_is_sent_once_not_per_trial(
    scheduler: str,
) -> None:
    PICKLED.clear()
    executor = DaskTrials(CountedRun(), scheduler)

    result = walk_forward(CountedRun(), param_grid({"fast": [5, 10, 20], "slow": [30, 50, 100]}),
                          rolling_windows(N_BARS, 500, 250), executor=executor)

    assert result.trials == 54
    assert 1 <= len(PICKLED) <= 2  # scattered once (the scatter may serialise it once more)


def test_dask_trials_when_the_scheduler_is_not_there_then_unreachable_names_the_address() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(ClusterUnreachable, match=f"tcp://127.0.0.1:{port}"):
        DaskTrials(run_trending, f"tcp://127.0.0.1:{port}", timeout_s=1.0)


def test_dask_trials_when_distributed_is_missing_then_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # what an uninstalled package looks like

    with pytest.raises(MissingClusterExtra, match=r"robo-tui\[cluster\]"):
        DaskTrials(run_trending, "tcp://127.0.0.1:8786")


def _goog_cli(tmp_path: Path, *extra: str) -> Any:
    csv = tmp_path / "GOOG.csv"
    GOOG.to_csv(csv)
    config = tmp_path / "config.toml"
    config.write_text("")
    return CliRunner().invoke(app, [
        "backtest", "--data", str(csv), "--strategy", "sma_cross", "--no-progress", *extra,
        "--config", str(config), "--data-dir", str(tmp_path / "data")])


def test_backtest_cli_when_cluster_is_named_then_the_walk_forward_runs_there_like_the_pool(
    tmp_path: Path, scheduler: str,
) -> None:
    grid = ("--optimize", "--grid", "fast=5,10", "--grid", "slow=20,40", "--train", "600",
            "--test", "300")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    pooled = _goog_cli(tmp_path / "a", *grid, "--processes", "1", "--json",
                       str(tmp_path / "a.json"))
    clustered = _goog_cli(tmp_path / "b", *grid, "--cluster", scheduler, "--json",
                          str(tmp_path / "b.json"))

    assert pooled.exit_code == 0, pooled.output
    assert clustered.exit_code == 0, clustered.output
    assert f"Dask cluster at {scheduler}" in clustered.output
    a, b = (json.loads((tmp_path / f"{k}.json").read_text()) for k in "ab")
    assert [w["params"] for w in a["windows"]] == [w["params"] for w in b["windows"]]
    assert a == b


def test_backtest_cli_when_cluster_is_unreachable_or_without_optimize_then_exit_2(
    tmp_path: Path,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    nowhere = _goog_cli(tmp_path, "--optimize", "--grid", "fast=5,10", "--cluster",
                        f"tcp://127.0.0.1:{port}")
    alone = _goog_cli(tmp_path, "--cluster", "tcp://127.0.0.1:8786")
    bad = _goog_cli(tmp_path, "--optimize", "--grid", "fast=5,10", "--cluster", "127.0.0.1:1")

    assert nowhere.exit_code == 2 and f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" \
        in nowhere.output
    assert alone.exit_code == 2 and "need --optimize" in alone.output
    assert bad.exit_code == 2 and "name a Dask scheduler as tcp://host:port" in bad.output
