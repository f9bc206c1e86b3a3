"""Market data values: instruments, bars, quotes and column arrays for hot paths."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from robo_tui.domain.frozen import frozen

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class AssetClass(StrEnum):
    """What kind of instrument a symbol is; crypto trades 24/7 and in fractions."""

    STOCK = "stock"
    CRYPTO = "crypto"


@frozen
class Instrument:
    """A tradable symbol of the universe, with what the risk gate and the news mapper need."""

    symbol: str
    asset_class: AssetClass = AssetClass.STOCK
    sector: str = "unknown"
    name: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def fractional(self) -> bool:
        """Whether quantities may be fractional (crypto) rather than whole units."""
        return self.asset_class is AssetClass.CRYPTO


@frozen
class Bar:
    """One OHLCV bar of one symbol; `ts` is the bar's open time, tz-aware UTC."""

    symbol: str
    ts: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float


@frozen
class Quote:
    """A streaming price update between bars."""

    symbol: str
    ts: datetime
    bid: float
    ask: float
    last: float

    @property
    def mid(self) -> float:
        """The midpoint of bid and ask."""
        return (self.bid + self.ask) / 2.0


@frozen
class BarArrays:
    """The bars of one symbol as column arrays, oldest first; the hot-path form of a series.

    `ts` holds epoch nanoseconds (UTC). Every array has the same length. Strategies compute on
    these, causally: the value at index i may only use indices <= i.
    """

    symbol: str
    ts: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def tail(self, n: int) -> BarArrays:
        """The last `n` bars (all of them when there are fewer)."""
        return self.slice(max(0, len(self) - n), len(self))

    def slice(self, start: int, stop: int) -> BarArrays:
        """Bars [start, stop) as views, no copy."""
        return BarArrays(
            self.symbol,
            self.ts[start:stop],
            self.open[start:stop],
            self.high[start:stop],
            self.low[start:stop],
            self.close[start:stop],
            self.volume[start:stop],
        )

    def bar(self, i: int) -> Bar:
        """Bar `i` as a `Bar` value (negative indices count from the end)."""
        from robo_tui.domain.time import ns_to_datetime

        return Bar(
            self.symbol,
            ns_to_datetime(int(self.ts[i])),
            float(self.open[i]),
            float(self.high[i]),
            float(self.low[i]),
            float(self.close[i]),
            float(self.volume[i]),
        )

    @classmethod
    def from_bars(cls, symbol: str, bars: list[Bar]) -> BarArrays:
        """Build column arrays from a list of `Bar` values."""
        from robo_tui.domain.time import datetime_to_ns

        return cls(
            symbol,
            np.array([datetime_to_ns(b.ts) for b in bars], dtype=np.int64),
            np.array([b.open for b in bars], dtype=np.float64),
            np.array([b.high for b in bars], dtype=np.float64),
            np.array([b.low for b in bars], dtype=np.float64),
            np.array([b.close for b in bars], dtype=np.float64),
            np.array([b.volume for b in bars], dtype=np.float64),
        )

    @classmethod
    def concat(cls, first: BarArrays, second: BarArrays) -> BarArrays:
        """`first` followed by `second` (same symbol)."""
        return cls(
            first.symbol,
            np.concatenate([first.ts, second.ts]),
            np.concatenate([first.open, second.open]),
            np.concatenate([first.high, second.high]),
            np.concatenate([first.low, second.low]),
            np.concatenate([first.close, second.close]),
            np.concatenate([first.volume, second.volume]),
        )
