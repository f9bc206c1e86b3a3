"""Bar series for strategy tests: hand-shaped closes and seeded random walks with regimes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from robo_tui.domain.market import BarArrays

DAY_NS = 86_400 * 10**9


def bars_from_close(close: Sequence[float] | np.ndarray, spread: float = 0.3) -> BarArrays:
    """Daily bars whose open is the previous close and whose high/low sit `spread` outside."""
    c = np.asarray(close, dtype=np.float64)
    o = np.concatenate(([c[0]], c[:-1]))
    return BarArrays(
        "TEST",
        np.arange(c.shape[0], dtype=np.int64) * DAY_NS,
        o,
        np.maximum(o, c) + spread,
        np.minimum(o, c) - spread,
        c,
        np.ones(c.shape[0]),
    )


def regime_walk(n: int, seed: int) -> BarArrays:
    """A seeded price path alternating trending and ranging stretches, with intrabar noise."""
    rng = np.random.default_rng(seed)
    drift = np.zeros(n)
    pos = 0
    while pos < n:
        length = int(rng.integers(80, 300))
        drift[pos : pos + length] = rng.choice([-0.003, 0.0, 0.0, 0.003])
        pos += length
    rets = drift + rng.normal(0.0, 0.012, n)
    close = 100.0 * np.exp(np.cumsum(rets))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0.0, 0.002, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.006, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.006, n)))
    return BarArrays(
        "WALK",
        np.arange(n, dtype=np.int64) * 60 * 10**9,
        open_,
        high,
        low,
        close,
        rng.integers(1_000, 10_000, n).astype(np.float64),
    )


def goog() -> BarArrays:
    """backtesting.py's bundled GOOG daily bars."""
    from backtesting.test import GOOG

    frame: pd.DataFrame = GOOG
    return BarArrays(
        "GOOG",
        np.asarray(frame.index, dtype="datetime64[ns]").view(np.int64),
        frame["Open"].to_numpy(np.float64),
        frame["High"].to_numpy(np.float64),
        frame["Low"].to_numpy(np.float64),
        frame["Close"].to_numpy(np.float64),
        frame["Volume"].to_numpy(np.float64),
    )
