"""Figures shared by the backtest reports and the stored-run listing: numbers as text, stored
JSON numbers read back, long series thinned for charts and storage.

Pure functions over floats and numpy arrays (no rich, no plotext), so the stored-run code and
the reports can both use them without importing each other.
"""

from __future__ import annotations

import math

import numpy as np

from robo_tui.domain.market import FloatArray, IntArray

DASH = "—"
"""What an undefined figure shows as."""


def fmt_num(value: float, digits: int = 2) -> str:
    """A number with thousands separators; a dash when undefined, ∞ when infinite."""
    if math.isnan(value):
        return DASH
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    text = f"{value:,.{digits}f}"
    return text[1:] if text[0] == "-" and not text.strip("-0.") else text  # no "-0.00"


def json_number(value: object) -> float:
    """A number read back from stored JSON (null or a missing key: NaN, shown as a dash)."""
    return float(value) if isinstance(value, (int, float)) else math.nan


def fmt_pct(value: float, digits: int = 2) -> str:
    """A percentage figure (already in percent) with a % sign."""
    text = fmt_num(value, digits)
    return text if text == DASH else f"{text}%"


def decimate(
    values: FloatArray, buckets: int, how: str = "envelope"
) -> tuple[IntArray, FloatArray]:
    """At most about `buckets` points of a long series, for charts; short series come back whole.

    "envelope" keeps each bucket's lowest and highest point in time order (peaks and troughs
    survive); "min" keeps each bucket's lowest (the depth of a drawdown).
    """
    n = values.size
    if n <= buckets:
        return np.arange(n, dtype=np.int64), values
    filled = np.nan_to_num(values, nan=-np.inf if how == "min" else 0.0)
    if how == "envelope":
        buckets = max(1, buckets // 2)
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    picks: list[int] = [0]
    for s, e in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        chunk = filled[s:e]
        lo = s + int(np.argmin(chunk))
        if how == "min":
            picks.append(lo)
        else:
            picks += sorted({lo, s + int(np.argmax(chunk))})
    picks.append(n - 1)
    idx = np.unique(np.array(picks, dtype=np.int64))
    return idx, values[idx]
