"""Instructions per backtest run, counted by valgrind's callgrind (the machine's load does not
disturb them, unlike wall time).

Two cases, the ones docs/benchmarks.md tracks:

- ``goog``: backtesting.py's GOOG (2,148 daily bars) with its README SMA(10)/SMA(20) reversal in
  compat mode, cash 10,000, commission 0.002 (93 trades);
- ``portfolio``: 5 symbols x 2,000 bars with the default config's strategies, sizing and every
  risk limit, cash 100,000, commission 0.0005, 1 bp slippage.

Each case is counted twice, with N runs and with 0 runs after one warm-up run, so start-up, imports
and the warm-up cancel out: per run = (count(N) - count(0)) / N.

    .venv/bin/python tests/bench/icount_backtest.py                 # this tree, pure Python
    .venv/bin/python tests/bench/icount_backtest.py --tree /tmp/x   # another tree (e.g. a compiled
                                                                    # build: setup.py build_ext -i)
    .venv/bin/python tests/bench/icount_backtest.py --case goog --runs 10

The child process (``--probe CASE RUNS``) is what valgrind runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = {"goog": 10, "portfolio": 2}


def probe(case: str, runs: int) -> None:
    """Run `case` once to warm up, then `runs` more times (what callgrind counts)."""
    sys.path.insert(0, str(Path.cwd() / "tests" / "bench"))  # the counted tree's own scripts
    from bench_backtest import GOOG, bars_of, portfolio

    from robo_tui.backtest.runner import BacktestSpec, run_backtest
    from robo_tui.config import Settings

    if case == "goog":
        data = {"GOOG": bars_of("GOOG", GOOG)}
        spec = BacktestSpec(cash=10_000.0, commission=0.002, compat=True,
                            strategies={"sma_cross": {"fast": "10", "slow": "20"}})
    else:
        data = portfolio(5, 2_000)
        spec = BacktestSpec(cash=100_000.0, commission=0.0005, slippage_bps=1.0, compat=False)
    settings = Settings()
    for _ in range(1 + runs):
        outcome: object = asyncio.run(run_backtest(settings, data, spec))[0]
    print(case, runs, outcome)


def count(tree: Path, case: str, runs: int) -> int:
    """Instructions callgrind collects for a probe of `case` with `runs` runs in `tree`."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        env = dict(os.environ, PYTHONPATH=str(tree))
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
             str(Path(__file__).resolve()), "--probe", case, str(runs)],
            cwd=tree, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the probe failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    """Print the per-run instruction count of each case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=HERE.parent.parent,
                        help="the source (or built) tree to put first on PYTHONPATH")
    parser.add_argument("--case", choices=sorted(RUNS), action="append")
    parser.add_argument("--runs", type=int, help="runs counted per case (default: goog 10, "
                        "portfolio 2)")
    parser.add_argument("--probe", nargs=2, metavar=("CASE", "RUNS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        probe(args.probe[0], int(args.probe[1]))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    tree = args.tree.resolve()
    compiled = any(tree.glob("*__mypyc*.so"))
    print(f"tree {tree} ({'compiled' if compiled else 'pure Python'})")
    for case in args.case or sorted(RUNS):
        runs = args.runs or RUNS[case]
        zero, many = count(tree, case, 0), count(tree, case, runs)
        per_run = (many - zero) / runs
        print(f"{case:9} {runs:2} runs  {per_run / 1e6:9.2f} M instructions per run")


if __name__ == "__main__":
    main()
