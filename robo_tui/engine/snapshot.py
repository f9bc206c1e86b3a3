"""Verified market numbers for one symbol (price, returns, volatility, RSI, SMAs, ATR).

Computed by us with `ta` from the bars we hold, so an analyst (or a model) never has to
invent a number. `ta` and pandas are imported on first use, not at engine start.
"""

from __future__ import annotations

import math

import numpy as np

from robo_tui.domain.analysis import MarketSnapshot
from robo_tui.domain.market import BarArrays
from robo_tui.domain.time import ns_to_datetime

MIN_BARS = 15
"""Fewer bars than this give no snapshot (RSI and ATR need 14 bars plus one)."""
_HISTORY = 250  # enough for the RSI/ATR smoothing to settle; keeps each call cheap


def build_snapshot(bars: BarArrays, *, simulated: bool = False) -> MarketSnapshot | None:
    """The snapshot at the last bar of `bars`, or None when there are too few usable bars.

    With fewer than 50 (or 20) bars the SMA is the mean of the bars there are, so every field
    is a finite number; an analyst can see how much history there was from `return_20`.
    """
    if len(bars) < MIN_BARS:
        return None
    import pandas as pd
    from ta.momentum import RSIIndicator
    from ta.volatility import AverageTrueRange

    b = bars.tail(_HISTORY)
    close_np = np.asarray(b.close, dtype=np.float64)
    if not np.all(np.isfinite(close_np)) or np.any(close_np <= 0):
        return None
    close = pd.Series(close_np)
    rsi = RSIIndicator(close, window=14, fillna=False).rsi().iloc[-1]
    atr = AverageTrueRange(
        pd.Series(np.asarray(b.high, dtype=np.float64)),
        pd.Series(np.asarray(b.low, dtype=np.float64)),
        close,
        window=14,
        fillna=False,
    ).average_true_range().iloc[-1]
    price = float(close_np[-1])
    rets = close_np[1:] / close_np[:-1] - 1.0
    last20 = rets[-20:]
    ref20 = close_np[-21] if len(close_np) > 20 else close_np[0]
    values = {
        "return_1": float(rets[-1]),
        "return_20": float(price / ref20 - 1.0),
        "volatility_20": float(np.std(last20, ddof=1)) if len(last20) > 1 else 0.0,
        "rsi_14": float(rsi),
        "sma_20": float(np.mean(close_np[-20:])),
        "sma_50": float(np.mean(close_np[-50:])),
        "atr_14": float(atr),
    }
    if not all(math.isfinite(v) for v in values.values()):
        return None
    return MarketSnapshot(
        symbol=bars.symbol,
        ts=ns_to_datetime(int(b.ts[-1])),
        price=price,
        simulated=simulated,
        **values,
    )
