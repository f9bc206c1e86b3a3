"""Time the history catalogue: Parquet into the engine's arrays, the way a backtest reads it.

Writes a synthetic 1-minute series (one file per symbol, as `robo-tui data download` does) into a
temporary catalogue, then times `catalogue_bars` (read + validate into BarArrays) and, for
comparison, the CSV path (`load_ohlcv` on the same bars). Prints bars per second; no thresholds.
Run:
    .venv/bin/python tests/bench/bench_catalogue.py
"""

from __future__ import annotations

import platform
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from robo_tui.adapters.feeds.replay import load_ohlcv
from robo_tui.catalogue.reading import catalogue_bars
from robo_tui.catalogue.store import Catalogue
from robo_tui.domain.market import BarArrays

SIZES = ((1, 1_000_000), (10, 100_000))  # (symbols, bars each)
START = 1_577_836_800 * 1_000_000_000  # 2020-01-01
MINUTE = 60 * 1_000_000_000


def series(symbol: str, bars: int, seed: int) -> BarArrays:
    rng = np.random.default_rng(seed)
    close = 30_000.0 * np.exp(np.cumsum(rng.normal(0, 0.001, bars)))
    open_ = np.concatenate(([close[0]], close[:-1]))
    spread = np.abs(rng.normal(0, 0.0005, bars)) * close
    return BarArrays(symbol, START + np.arange(bars, dtype=np.int64) * MINUTE, open_,
                     np.maximum(open_, close) + spread, np.minimum(open_, close) - spread, close,
                     rng.uniform(0.1, 5.0, bars))


def best_of(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    print(f"python {platform.python_version()} on {platform.machine()}, best of 3")
    for symbols, bars in SIZES:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "catalogue"
            catalogue = Catalogue(root)
            names = [f"SYM{i}-USD" for i in range(symbols)]
            for n, name in enumerate(names):
                catalogue.append("ccxt:bench", name, "1m", series(name, bars, n))
                arrays = series(name, bars, n)
                pd.DataFrame({"timestamp": arrays.ts, "open": arrays.open, "high": arrays.high,
                              "low": arrays.low, "close": arrays.close, "volume": arrays.volume}
                             ).to_csv(Path(tmp) / f"{name}.csv", index=False)
            total = symbols * bars
            parquet = best_of(3, partial(catalogue_bars, root, "ccxt:bench", names, "1m"))
            csv = best_of(3, partial(load_ohlcv, Path(tmp), names))
            size = sum(p.stat().st_size for p in root.rglob("*.parquet"))
            print(f"{symbols:>3} x {bars:>9,} bars: catalogue {parquet * 1e3:8.1f} ms "
                  f"({total / parquet / 1e6:6.1f} M bars/s, {size / 1e6:5.1f} MB)  |  "
                  f"CSV {csv * 1e3:8.1f} ms ({total / csv / 1e6:5.2f} M bars/s)")


if __name__ == "__main__":
    main()
