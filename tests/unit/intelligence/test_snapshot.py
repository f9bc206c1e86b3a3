"""Market snapshots: our own numbers from bars, via `ta`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from robo_tui.engine.snapshot import MIN_BARS, build_snapshot

from .conftest import bars, trending


def test_snapshot_when_enough_bars_then_numbers_match_an_independent_computation() -> None:
    b = trending("AAPL", 0.001, n=120)
    snap = build_snapshot(b, simulated=True)
    assert snap is not None and snap.simulated
    close = pd.Series(b.close)
    assert snap.price == pytest.approx(b.close[-1])
    assert snap.sma_20 == pytest.approx(close.tail(20).mean())
    assert snap.sma_50 == pytest.approx(close.tail(50).mean())
    assert snap.return_20 == pytest.approx(b.close[-1] / b.close[-21] - 1)
    assert snap.return_1 == pytest.approx(b.close[-1] / b.close[-2] - 1)
    assert snap.volatility_20 == pytest.approx(close.pct_change().tail(20).std())
    delta = close.diff()
    gain = delta.clip(lower=0).ewm(alpha=1 / 14, min_periods=14, adjust=False).mean()
    loss = (-delta.clip(upper=0)).ewm(alpha=1 / 14, min_periods=14, adjust=False).mean()
    # Wilder smoothing; ta seeds the average slightly differently, so the warm-up differs a hair
    assert snap.rsi_14 == pytest.approx(100 - 100 / (1 + gain.iloc[-1] / loss.iloc[-1]), rel=1e-3)
    assert snap.sma_20 > snap.sma_50  # an uptrend
    assert snap.atr_14 > 0


def test_snapshot_when_too_few_bars_then_none() -> None:
    assert build_snapshot(trending("AAPL", 0.0, n=MIN_BARS - 1)) is None
    assert build_snapshot(trending("AAPL", 0.0, n=MIN_BARS)) is not None


def test_snapshot_when_prices_are_broken_then_none() -> None:
    closes = np.linspace(100, 110, 60)
    closes[-5] = np.nan
    assert build_snapshot(bars("AAPL", closes)) is None
    assert build_snapshot(bars("AAPL", np.zeros(60))) is None
