"""Return correlation for the risk gate's correlation rule: the math, and a per-symbol cache.

One check compares the entered symbol with every held one, and the checks of one moment share
their return windows, so each series' centred form is kept while its (read-only) window is.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from robo_tui.domain.market import FloatArray

__all__ = ["MIN_CORR_SAMPLES", "Centered", "CenteredCache", "correlation_of", "return_correlation"]

MIN_CORR_SAMPLES = 10


def return_correlation(a: FloatArray, b: FloatArray, window: int) -> tuple[float, int] | None:
    """Pearson correlation of the last `window` aligned returns of `a` and `b`, and the sample size.

    The series are aligned at their ends (the most recent bars); pairs with a non-finite value
    are dropped. None when fewer than 10 pairs remain or either series is constant.
    """
    n = min(len(a), len(b), window)
    if n < MIN_CORR_SAMPLES:
        return None
    return correlation_of(a, b, n, Centered.of(a, n), Centered.of(b, n))


class Centered:
    """The last `n` values of a return series minus their mean, and their sum of squares: the
    part of a correlation that depends on one series only (`source` is that series).

    A plain class with read-only (`Final`) fields rather than `@frozen`, so that mypyc compiles
    it as a native class and the correlation rule reads it without generic attribute lookups.
    """

    __slots__ = ("deviations", "n", "source", "sum_squares")

    def __init__(self, source: FloatArray, n: int, deviations: FloatArray,
                 sum_squares: float) -> None:
        self.source: Final = source
        self.n: Final = n
        self.deviations: Final = deviations
        self.sum_squares: Final = sum_squares

    @staticmethod
    def of(returns: FloatArray, n: int) -> Centered | None:
        """None when one of the values is not finite (the pair must then be filtered together)."""
        x = np.asarray(returns[len(returns) - n:], dtype=np.float64)
        total = float(np.add.reduce(x))
        if not math.isfinite(total):
            return None
        dev = x - total / n  # the mean, as ndarray.mean computes it
        return Centered(returns, n, dev, float(dev @ dev))


def correlation_of(a: FloatArray, b: FloatArray, n: int, ca: Centered | None,
                   cb: Centered | None) -> tuple[float, int] | None:
    """`return_correlation` over the last n values, from their centred forms when both are
    finite, else by dropping the non-finite pairs first."""
    if ca is None or cb is None:
        x = np.asarray(a[len(a) - n:], dtype=np.float64)
        y = np.asarray(b[len(b) - n:], dtype=np.float64)
        ok = np.isfinite(x) & np.isfinite(y)
        m = int(np.count_nonzero(ok))
        if m < MIN_CORR_SAMPLES:
            return None
        ca, cb = Centered.of(x[ok], m), Centered.of(y[ok], m)
        assert ca is not None and cb is not None
    if ca.sum_squares <= 0.0 or cb.sum_squares <= 0.0:
        return None
    corr = float(ca.deviations @ cb.deviations) / math.sqrt(ca.sum_squares * cb.sum_squares)
    return max(-1.0, min(1.0, corr)), ca.n


class CenteredCache:
    """`Centered.of(returns, n)` per symbol, kept while its returns (a read-only window) and n
    are unchanged."""

    def __init__(self) -> None:
        self._known: dict[str, Centered | None] = {}

    def get(self, symbol: str, returns: FloatArray, n: int) -> Centered | None:
        """The centred last `n` returns of `symbol` (remembered only for an immutable series,
        which can be recognised by identity)."""
        if returns.flags.writeable:
            return Centered.of(returns, n)
        known = self._known.get(symbol)
        if known is not None and known.source is returns and known.n == n:
            return known
        fresh = Centered.of(returns, n)
        self._known[symbol] = fresh
        return fresh
