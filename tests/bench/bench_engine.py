"""Engine throughput and headless cycle time. Prints figures; asserts nothing.

    .venv/bin/python tests/bench/bench_engine.py

1. bars/s through strategies → ensemble → sizing → risk gate → paper broker (the backtest driver
   on the full `Engine`, default config: three strategies, fixed-fractional sizing with stops,
   default risk limits), replaying 100,000 bars of one symbol and 20 symbols x 5,000 bars of the
   seeded simulated market;
2. the wall time of one `robo-tui --headless --once` over 20 symbols, process start included.
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from robo_tui.adapters.feeds.sim import SimulatedMarket
from robo_tui.backtest.runner import BacktestSpec, run_backtest
from robo_tui.config import InstrumentSettings, Settings
from robo_tui.domain.market import AssetClass, BarArrays
from robo_tui.engine.clock import SimClock

SYMBOLS_20 = [
    ("AAPL", "Technology"), ("MSFT", "Technology"), ("NVDA", "Technology"), ("AMZN", "Consumer"),
    ("JPM", "Financials"), ("XOM", "Energy"), ("GOOG", "Technology"), ("META", "Technology"),
    ("TSLA", "Consumer"), ("BRK.B", "Financials"), ("V", "Financials"), ("UNH", "Health"),
    ("JNJ", "Health"), ("WMT", "Consumer"), ("PG", "Consumer"), ("CVX", "Energy"),
    ("HD", "Consumer"), ("KO", "Consumer"), ("BTC-USD", "Crypto"), ("ETH-USD", "Crypto"),
]


def universe_20() -> list[InstrumentSettings]:
    return [InstrumentSettings(symbol=s, sector=sec,
                               asset_class=AssetClass.CRYPTO if sec == "Crypto" else AssetClass.STOCK)
            for s, sec in SYMBOLS_20]


def sim_history(symbols: list[InstrumentSettings], bars: int) -> dict[str, BarArrays]:
    clock = SimClock(datetime(2026, 1, 5, 14, 30, tzinfo=UTC))
    feed = SimulatedMarket([s.to_instrument() for s in symbols], seed=7, bar_seconds=60, clock=clock)

    async def load() -> dict[str, BarArrays]:
        return {s.symbol: await feed.history(s.symbol, bars) for s in symbols}

    return asyncio.run(load())


def throughput(label: str, settings: Settings, data: dict[str, BarArrays], repeat: int = 9) -> None:
    spec = BacktestSpec(cash=100_000.0, commission=0.0005, slippage_bps=1.0, compat=False)
    runs = []
    result = None
    for _ in range(repeat):
        result, _ = asyncio.run(run_backtest(settings, data, spec))
        runs.append(result.elapsed_s)
    assert result is not None
    best = min(runs)
    print(f"{label:<34} {result.bars:>9,} bars  {best * 1000:8.1f} ms  "
          f"{result.bars / best:>12,.0f} bars/s  (median {statistics.median(runs) * 1000:.1f} ms; "
          f"{result.proposals} proposals, {result.orders} orders, {result.denied} denied, "
          f"{len(result.trades)} trades, {result.events} bars visited)")


def headless_cycle(repeat: int = 5) -> None:
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        lines = []
        for inst in universe_20():
            lines += ["[[universe.instruments]]", f'symbol = "{inst.symbol}"',
                      f'asset_class = "{inst.asset_class.value}"', f'sector = "{inst.sector}"', ""]
        config.write_text("\n".join(lines))
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROBO_TUI_")}
        for i in range(repeat):
            data_dir = Path(tmp) / f"d{i}"
            start = time.perf_counter()
            run = subprocess.run(
                [sys.executable, "-m", "robo_tui.cli", "--headless", "--once", "--config",
                 str(config), "--data-dir", str(data_dir)],
                check=False, capture_output=True, text=True, env=env,
                cwd=tmp)  # not the checkout: the installed package, as a trader runs it
            elapsed = time.perf_counter() - start
            if run.returncode != 0:
                print(run.stderr)
                raise SystemExit(f"headless run failed with {run.returncode}")
            times.append(elapsed)
            cycle_line = run.stdout.splitlines()[0]
    print(f"headless --once, 20 symbols          process start to exit: best {min(times):.2f} s, "
          f"median {statistics.median(times):.2f} s ({repeat} fresh data dirs)")
    print(f"  last summary: {cycle_line}")


def engine_build() -> str:
    """Whether the installed engine is the compiled build (setup.py) or the plain source."""
    from robo_tui.engine import risk

    return "pure Python (editable install)" if risk.__file__.endswith(".py") else "compiled (mypyc)"


def main() -> None:
    print(f"robo-tui engine bench — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python "
          f"{platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}, "
          f"engine {engine_build()}")
    base = Settings()
    one = [InstrumentSettings(symbol="AAPL", sector="Technology")]
    throughput("1 symbol x 100,000 bars", base, sim_history(one, 100_000))
    throughput("20 symbols x 5,000 bars", base, sim_history(universe_20(), 5_000))
    headless_cycle()


if __name__ == "__main__":
    main()
