"""Time backtesting.py and robo-tui's full engine path on the same backtests, in one run.

1. GOOG (backtesting.py's own data), the README SMA(10)/SMA(20) reversal, cash 10,000,
   commission 0.002, exclusive orders; robo-tui in compat mode.
2. The same on a 100,000-bar series: GOOG tiled as hourly bars from 2004 (well inside int64
   nanoseconds), the tiles chained by returns (drift removed, moves scaled to an hourly size) so
   prices continue instead of jumping. Trades are checked to be identical in both engines.
3. backtesting.py's hourly EURUSD tiled to 500,000 bars, forward and reversed copies
   alternating on a fresh hourly index (the series with re-entries on repeated crosses), without
   commission (backtesting.py's default: at 0.002 a trade every ~19 hours ruins both accounts
   within the first tiles and the peer stops trading), ruin check off (`CheckLimits(0)`).
4. Whole processes on GOOG and the 500,000-bar tile: `robo-tui backtest --data FILE.csv ...`
   against a Python process that reads the same CSV with pandas and runs backtesting.py.
5. The engine path's cost per order (its wall time over the orders it sent, every per-bar step
   included) on GOOG and the 500,000-bar tile.
6. A 20-symbol x 500,000-bar portfolio (10 M bars) through robo-tui with the config's risk
   profile (the three default strategies, ensemble, fixed-fractional sizing with ATR stops, every
   risk limit), in a child process: its time and peak memory (max RSS).

Times are CPU seconds of the process (children's for whole processes; `time.process_time`,
`getrusage`), so a machine shared with other work does not skew them; wall times are printed
too. Prints bars per second, ratios and the issue's targets met or short; no thresholds. Run:
    .venv/bin/python tests/bench/bench_backtest.py [--portfolio-bars N] [--skip-portfolio]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover
from backtesting.test import EURUSD, GOOG, SMA
from bench_engine import engine_build  # a sibling script: tests/bench is the script's directory

from robo_tui.backtest.checks import CheckLimits
from robo_tui.backtest.results import RunOutcome, analyse
from robo_tui.backtest.runner import BacktestSpec, run_backtest
from robo_tui.config import Settings
from robo_tui.domain.market import BarArrays

TILED_BARS = 100_000
EURUSD_BARS = 500_000
PORTFOLIO_SYMBOLS = 20
PORTFOLIO_BARS = 500_000
ROOT = Path(__file__).resolve().parents[2]


class SmaCross(Strategy):  # type: ignore[misc]
    """backtesting.py's README strategy."""

    def init(self) -> None:
        self.ma1 = self.I(SMA, self.data.Close, 10)
        self.ma2 = self.I(SMA, self.data.Close, 20)

    def next(self) -> None:
        if crossover(self.ma1, self.ma2):
            self.buy()
        elif crossover(self.ma2, self.ma1):
            self.sell()


def tiled_goog(n: int) -> pd.DataFrame:
    """GOOG's bars repeated to `n` as hourly bars, chained close to close.

    Each daily move is scaled to an hourly one (log returns and the open/high/low offsets times
    1/sqrt(6.5), a 6.5-hour session) and the drift is taken out, so every tile ends at the level
    it started from. Unscaled, the strategy's edge on GOOG compounds the all-in equity to ~1e27
    over 47 tiles, beyond any meaningful order size.
    """
    scale = 1.0 / np.sqrt(6.5)
    base = GOOG[["Open", "High", "Low", "Close", "Volume"]].to_numpy(dtype=np.float64)
    close = base[:, 3]
    log_ret = np.diff(np.log(close), prepend=np.log(close[0]))
    log_ret[1:] -= log_ret[1:].mean()
    log_ret *= scale
    rel = np.exp(np.log(base[:, :3] / close[:, None]) * scale)  # open/high/low vs the close
    tiles = -(-n // len(base))
    steps = np.tile(log_ret, tiles)[:n]
    steps[0] = 0.0
    closes = close[0] * np.exp(np.cumsum(steps))
    ohl = np.tile(rel, (tiles, 1))[:n] * closes[:, None]
    index = pd.date_range("2004-01-01", periods=n, freq="h")
    return pd.DataFrame({"Open": ohl[:, 0], "High": ohl[:, 1], "Low": ohl[:, 2],
                         "Close": closes, "Volume": np.tile(base[:, 4], tiles)[:n]}, index=index)


def tiled_eurusd(n: int) -> pd.DataFrame:
    """backtesting.py's hourly EURUSD, forward and reversed copies alternating, cut to `n` bars
    on a fresh hourly index (the tiling of issue 16)."""
    copies = -(-n // len(EURUSD))
    frame = pd.concat([EURUSD if k % 2 == 0 else EURUSD.iloc[::-1] for k in range(copies)])
    frame = frame.iloc[:n].copy()
    frame.index = pd.date_range("2000-01-03", periods=n, freq="h")
    return frame


def bars_of(symbol: str, frame: pd.DataFrame) -> BarArrays:
    index = pd.DatetimeIndex(frame.index)
    ts = (index.tz_localize("UTC") if index.tz is None else index).as_unit("ns").asi8
    return BarArrays(symbol, ts.astype(np.int64),
                     *(frame[c].to_numpy(dtype=np.float64)
                       for c in ("Open", "High", "Low", "Close", "Volume")))


def portfolio(symbols: int, n: int, seed: int = 20) -> dict[str, BarArrays]:
    """Seeded daily bars with trending regimes and volatility clusters, one series per symbol."""
    rng = np.random.default_rng(seed)
    ts = pd.bdate_range("2000-01-03", periods=n).tz_localize("UTC").as_unit("ns").asi8
    out = {}
    for k in range(symbols):
        drift = np.repeat(rng.choice([-1.0, 1.0], size=n // 150 + 1), 150)[:n] * 0.0008
        vol = 0.01 + 0.01 * np.abs(np.sin(np.arange(n) / 90.0 + k))
        close = rng.uniform(20, 400) * np.exp(np.cumsum(drift + rng.normal(0, 1, n) * vol))
        open_ = np.r_[close[0], close[:-1]] * np.exp(rng.normal(0, 0.002, n))
        high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
        low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
        symbol = f"S{k:02d}"
        out[symbol] = BarArrays(symbol, ts.astype(np.int64), open_, high, low, close,
                                np.full(n, 1e6))
    return out


WALL: dict[str, float] = {}
"""The fastest wall time of each function of the last `interleaved` call."""


def interleaved(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, tuple[float, list[Any]]]:
    """Each function's fastest CPU time over `repeats` rounds (after one warm-up call each) and
    every call's result (the fastest wall times in `WALL`). Rounds interleave the functions."""
    results: dict[str, list[Any]] = {name: [fn()] for name, fn in fns.items()}
    times: dict[str, list[float]] = {name: [] for name in fns}
    walls: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0, w0 = time.process_time(), time.perf_counter()
            results[name].append(fn())
            times[name].append(time.process_time() - t0)
            walls[name].append(time.perf_counter() - w0)
    WALL.clear()
    WALL.update({name: min(w) for name, w in walls.items()})
    return {name: (min(times[name]), results[name]) for name in fns}


def peer(frame: pd.DataFrame, commission: float = 0.002) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Backtest(frame, SmaCross, cash=10_000, commission=commission,
                        exclusive_orders=True).run()


SMA_SPEC = BacktestSpec(cash=10_000, commission=0.002, compat=True,
                        strategies={"sma_cross": {"fast": "10", "slow": "20"}})
FX_SPEC = BacktestSpec(cash=10_000, commission=0.0, compat=True,
                       strategies={"sma_cross": {"fast": "10", "slow": "20"}},
                       limits=CheckLimits(ruin_fraction=0.0))


def robo(data: dict[str, BarArrays], spec: BacktestSpec, stats: bool) -> RunOutcome | Any:
    result, settings = asyncio.run(run_backtest(Settings(), data, spec))
    if not stats:
        return result
    return analyse(result, settings, data, limits=spec.limits, compat=spec.compat,
                   commission=spec.commission)


def same_trades(stats: pd.Series, outcome: RunOutcome) -> bool:
    t = stats._trades
    theirs = list(zip(t.EntryBar.astype(int), t.ExitBar.astype(int), t.Size.astype(float),
                      t.EntryPrice.astype(float), t.ExitPrice.astype(float), strict=True))
    ours = [(x.entry_bar, x.exit_bar, x.size, x.entry_price, x.exit_price)
            for x in outcome.trades]
    if len(theirs) != len(ours):
        return False
    return all(a[:3] == b[:3] and np.allclose(a[3:], b[3:], rtol=1e-9)
               for a, b in zip(theirs, ours, strict=True))


def compare(label: str, frame: pd.DataFrame, repeats: int,
            spec: BacktestSpec = SMA_SPEC) -> tuple[float, float, float, int]:
    """backtesting.py and robo-tui in-process on `frame`: (peer s, engine s, full s, orders)."""
    n = len(frame)
    data = {"GOOG": bars_of("GOOG", frame)}
    timed = interleaved({
        "peer": lambda: peer(frame, spec.commission),
        "engine": lambda: robo(data, spec, stats=False),
        "full": lambda: robo(data, spec, stats=True),
    }, repeats)
    (t_peer, peers), (t_engine, _), (t_full, outcomes) = timed["peer"], timed["engine"], timed["full"]
    stats, outcome = peers[-1], outcomes[-1]
    identical = sum(same_trades(stats, o) for o in outcomes)
    print(f"\n{label}: {n:,} bars, {stats['# Trades']} trades (backtesting.py) vs "
          f"{outcome.stats.trades} (robo-tui); identical trades in {identical} of "
          f"{len(outcomes)} robo-tui runs; return {stats['Return [%]']:.6f}% vs "
          f"{outcome.stats.return_pct:.6f}%")
    rows = (
        ("backtesting.py Backtest.run() (incl. stats)", t_peer),
        ("robo-tui engine path (run_backtest)", t_engine),
        ("robo-tui engine path + trades + stats", t_full),
    )
    walls = (WALL["peer"], WALL["engine"], WALL["full"])
    for (name, t), wall in zip(rows, walls, strict=True):
        print(f"  {name:<46} {t * 1e3:10.1f} ms CPU {n / t:>12,.0f} bars/s  "
              f"x{t_peer / t:6.2f} vs backtesting.py   (wall {wall * 1e3:,.0f} ms)")
    orders = int(outcome.result.orders)
    print(f"  engine path per order: {t_engine / max(orders, 1) * 1e6:,.1f} µs CPU "
          f"({orders:,} orders; every per-bar step and the run's set-up included)")
    return t_peer, t_engine, t_full, orders


PEER_SCRIPT = """
import sys, warnings
import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover
from backtesting.test import SMA
class SmaCross(Strategy):
    def init(self):
        self.ma1 = self.I(SMA, self.data.Close, 10)
        self.ma2 = self.I(SMA, self.data.Close, 20)
    def next(self):
        if crossover(self.ma1, self.ma2):
            self.buy()
        elif crossover(self.ma2, self.ma1):
            self.sell()
warnings.simplefilter("ignore")
frame = pd.read_csv(sys.argv[1], index_col=0, parse_dates=True)
stats = Backtest(frame, SmaCross, cash=10_000, commission=float(sys.argv[2]),
                 exclusive_orders=True).run()
print(stats["# Trades"], stats["Return [%]"])
"""


def processes(label: str, frame: pd.DataFrame, repeats: int, commission: float = 0.002) -> float:
    """Whole processes on `frame` written as a CSV: `robo-tui backtest` against a backtesting.py
    script reading the same file; the best wall time of each; the ratio."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "GOOG.csv"
        frame.to_csv(csv)
        robo_cmd = [sys.executable, "-c", "from robo_tui.cli import main; main()", "backtest",
                    "--data", str(csv), "--strategy", "sma_cross", "--param", "fast=10",
                    "--param", "slow=20", "--no-chart", "--max-trades", "0", "--no-progress",
                    "--commission", str(commission), "--ruin", "0" if commission == 0 else "0.1",
                    "--data-dir", str(Path(tmp) / "data"), "--config", str(Path(tmp) / "c.toml")]
        (Path(tmp) / "c.toml").write_text("")
        peer_cmd = [sys.executable, "-c", PEER_SCRIPT, str(csv), str(commission)]
        best = {"peer": float("inf"), "robo": float("inf")}
        wall = {"peer": float("inf"), "robo": float("inf")}
        for _ in range(repeats):
            for name, cmd in (("peer", peer_cmd), ("robo", robo_cmd)):
                before = _children_cpu()
                w0 = time.perf_counter()
                subprocess.run(cmd, env=env, check=True, capture_output=True)
                wall[name] = min(wall[name], time.perf_counter() - w0)
                best[name] = min(best[name], _children_cpu() - before)
    ratio = best["peer"] / best["robo"]
    print(f"\nWhole process, {label}: {len(frame):,} bars (CSV in, report out, run stored)")
    print(f"  {'python + pandas.read_csv + backtesting.py':<46} {best['peer'] * 1e3:10.1f} ms CPU"
          f"   (wall {wall['peer'] * 1e3:,.0f} ms)")
    print(f"  {'robo-tui backtest':<46} {best['robo'] * 1e3:10.1f} ms CPU  x{ratio:6.2f} "
          f"vs backtesting.py   (wall {wall['robo'] * 1e3:,.0f} ms)")
    return ratio


def _children_cpu() -> float:
    """User + system CPU seconds of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


PORTFOLIO_CHILD = """
import asyncio, resource, sys, time
sys.path.insert(0, {here!r})
from bench_backtest import portfolio, robo
from robo_tui.backtest.runner import BacktestSpec
data = portfolio({symbols}, {bars})
spec = BacktestSpec(cash=1_000_000, commission=0.0005, compat=False)
t0 = time.process_time()
outcome = robo(data, spec, stats=True)
elapsed = time.process_time() - t0
r = outcome.result
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(elapsed, peak, r.proposals, r.orders, r.denied, outcome.stats.trades, r.events,
      outcome.stats.return_pct)
"""


def portfolio_run(symbols: int, bars: int) -> float:
    """The portfolio in a child process (its own peak memory): prints time and max RSS; the
    peak in GiB."""
    script = PORTFOLIO_CHILD.format(here=str(Path(__file__).resolve().parent), symbols=symbols,
                                    bars=bars)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    elapsed, peak_kib = float(out[0]), int(out[1])
    proposals, orders, denied, trades, events = (int(x) for x in out[2:7])
    total = symbols * bars
    gib = peak_kib / 2**20
    print(f"\nPortfolio: {symbols} symbols x {bars:,} daily bars = {total:,} bars, config risk "
          "profile, the default strategies (child process)")
    print(f"  {proposals:,} proposals, {orders:,} orders, {denied:,} denied, {trades:,} closed "
          f"trades, {events:,} bars visited, return {float(out[7]):.2f}%")
    print(f"  {'robo-tui engine path + trades + stats':<46} {elapsed * 1e3:10.1f} ms CPU "
          f"{total / elapsed:>12,.0f} bars/s  peak memory {gib:.2f} GiB (max RSS)")
    return gib


def verdict(name: str, value: float, target: float, unit: str, *, below: bool = False) -> None:
    """One target, met or short, plainly."""
    met = value <= target if below else value >= target
    print(f"  {'MET  ' if met else 'SHORT'} {name}: {value:,.2f}{unit} "
          f"(target {'<=' if below else '>='} {target:g}{unit})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--portfolio-bars", type=int, default=PORTFOLIO_BARS)
    parser.add_argument("--skip-portfolio", action="store_true")
    parser.add_argument("--skip-processes", action="store_true")
    parser.add_argument("--only-eurusd", action="store_true",
                        help="the EURUSD tile alone (in-process and whole process)")
    args = parser.parse_args()
    print(f"bench_backtest · {time.strftime('%Y-%m-%d')} · {platform.processor() or platform.machine()}"
          f" · {os.cpu_count()} CPUs · Python {platform.python_version()} · "
          f"numpy {np.__version__} · pandas {pd.__version__} · engine {engine_build()}"
          f" · load {os.getloadavg()[0]:.1f}")
    nothing = (float("nan"), 1.0, float("nan"), 1)
    goog = tiled = nothing
    if not args.only_eurusd:
        goog = compare("GOOG daily (backtesting.py's data)", GOOG, repeats=5)
        tiled = compare("GOOG tiled, hourly", tiled_goog(TILED_BARS), repeats=1)
    eurusd_frame = tiled_eurusd(EURUSD_BARS)
    eurusd = compare("EURUSD tiled forward and reversed, hourly, no commission", eurusd_frame,
                     repeats=1, spec=FX_SPEC)
    whole = peak = float("nan")
    if not args.skip_processes:
        if not args.only_eurusd:
            processes("GOOG daily", GOOG, repeats=2)
        whole = processes("EURUSD tiled, 500,000 bars, no commission", eurusd_frame, repeats=1,
                          commission=0.0)
    if not args.skip_portfolio and not args.only_eurusd:
        peak = portfolio_run(PORTFOLIO_SYMBOLS, args.portfolio_bars)
    print("\nTargets (issue 16):")
    verdict("in-process, GOOG", goog[0] / goog[1], 5.0, "x")
    verdict("in-process, GOOG 100,000-bar tile", tiled[0] / tiled[1], 3.0, "x")
    verdict("in-process, EURUSD 500,000-bar tile", eurusd[0] / eurusd[1], 3.0, "x")
    if not args.skip_processes:
        verdict("whole process, EURUSD 500,000-bar tile", whole, 2.0, "x")
    verdict("per order (engine path, EURUSD tile)", eurusd[1] / max(eurusd[3], 1) * 1e6, 30.0,
            " µs", below=True)
    if not args.skip_portfolio and not args.only_eurusd and args.portfolio_bars == PORTFOLIO_BARS:
        verdict("10 M-bar portfolio peak memory", peak, 4.0, " GiB", below=True)


if __name__ == "__main__":
    main()
