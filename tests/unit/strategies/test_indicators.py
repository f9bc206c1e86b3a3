"""The vectorised indicator helpers against the pandas definitions they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_tui.domain.market import BarArrays
from robo_tui.engine.indicators import rolling_max_before, rolling_min_before, true_range
from robo_tui.engine.strategies.base import bar_time

values = st.lists(
    st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(float("nan"))),
    min_size=0, max_size=300,
)


@settings(max_examples=300, deadline=None)
@given(values, st.integers(1, 60))
def test_rolling_extremes_when_random_values_with_gaps_then_equal_pandas_rolling(
    xs: list[float], window: int,
) -> None:
    x = np.array(xs, dtype=np.float64)
    for ours, name in ((rolling_max_before, "max"), (rolling_min_before, "min")):
        expected = np.full(x.shape[0], np.nan)
        if x.shape[0] > window:
            rolled = getattr(pd.Series(x).rolling(window), name)().to_numpy()
            expected[window:] = rolled[window - 1 : -1]
        np.testing.assert_array_equal(ours(x, window), expected)


def test_true_range_when_gaps_open_beyond_the_range_then_uses_the_previous_close() -> None:
    bars = BarArrays(
        "X", np.arange(4, dtype=np.int64),
        open=np.array([10.0, 13.0, 8.0, 9.0]), high=np.array([11.0, 14.0, 9.0, 9.5]),
        low=np.array([9.0, 12.5, 7.0, 8.5]), close=np.array([10.0, 13.0, 8.5, 9.0]),
        volume=np.ones(4),
    )
    # bar 0: high - low; bar 1 gaps up (high - prev close); bar 2 gaps down (prev close - low)
    np.testing.assert_array_equal(true_range(bars), [2.0, 4.0, 6.0, 1.0])


def test_bar_time_when_midnight_then_date_else_date_and_minute_utc() -> None:
    ns = np.array([0, (365 * 86_400 + 13 * 3600 + 7 * 60 + 5) * 10**9, -86_400 * 10**9],
                  dtype=np.int64)
    zeros = np.zeros(3)
    bars = BarArrays("X", ns, zeros, zeros, zeros, zeros, zeros)
    assert [bar_time(bars, i) for i in range(3)] == [
        "1970-01-01", "1971-01-01 13:07 UTC", "1969-12-31",
    ]
