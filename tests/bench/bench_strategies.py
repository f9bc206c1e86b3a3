"""Print how long strategies → ensemble take on 100,000 bars (backtest path) and per decision
(live path). Figures only, no thresholds: run `.venv/bin/python tests/bench/bench_strategies.py`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np

from robo_tui.config import EnsembleSettings, RiskSettings, SizingSettings, StrategiesSettings
from robo_tui.domain.market import BarArrays
from robo_tui.engine.ensemble import Ensemble
from robo_tui.engine.sizing import Sizer, SizeRequest, atr
from robo_tui.engine.strategies import build_strategies

N = 100_000
REPEATS = 5


def walk(n: int, seed: int = 42) -> BarArrays:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.005, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.005, n))
    ts = np.arange(n, dtype=np.int64) * 60 * 10**9
    return BarArrays("BENCH", ts, open_, high, low, close, np.ones(n))


def best(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    fn()  # warm caches and imports
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    bars = walk(N)
    settings = StrategiesSettings.model_validate({})
    strategies = build_strategies(settings)
    ensemble = Ensemble(strategies, settings, EnsembleSettings.model_validate({}))

    print(f"backtest path: one call over {N:,} bars (best of {REPEATS})")
    total = 0.0
    for name, strategy in strategies.items():
        t = best(lambda s=strategy: s.scores(bars))  # type: ignore[misc]
        total += t
        print(f"  {name:<16} scores  {t * 1e3:8.2f} ms  {N / t:>14,.0f} bars/s")
    votes = ensemble.vote_arrays(bars)
    t = best(lambda: ensemble.combine(votes))
    total += t
    print(f"  {'ensemble':<16} combine {t * 1e3:8.2f} ms  {N / t:>14,.0f} bars/s")
    t_all = best(lambda: ensemble.combine(ensemble.vote_arrays(bars)))
    print(f"  {'all':<16} scores+combine {t_all * 1e3:8.2f} ms  {N / t_all:>14,.0f} bars/s")

    window = bars.tail(ensemble.history_bars())
    now = datetime(2026, 1, 5, tzinfo=UTC)
    t = best(lambda: ensemble.decide("BENCH", window, now), repeats=50)
    print(f"live path: decide() on a {len(window)}-bar window: {t * 1e3:.2f} ms per symbol")

    sizer = Sizer(SizingSettings.model_validate({}), RiskSettings.model_validate({}))
    a = atr(window, 14)
    req = SizeRequest("BENCH", 1, float(window.close[-1]), a, 0.7, 100_000.0, 100_000.0)
    t = best(lambda: sizer.size(req), repeats=1000)
    t_atr = best(lambda: atr(window, 14), repeats=100)
    print(f"sizing: size() {t * 1e6:.1f} us, atr() on the window {t_atr * 1e6:.1f} us")


if __name__ == "__main__":
    main()
