"""Replay of recorded OHLCV bars from CSV or Parquet files: tests, backtests and demos.

`load_ohlcv` reads a long table (one row per symbol and bar, with a symbol column), one file per
symbol, or a folder of such files. A per-symbol file's symbol is given explicitly (`--symbol`), or
taken from its name by one rule: the name up to its first `_` (or its suffix), upper-cased, so
`AAPL.csv`, `aapl_1d.csv` and `AAPL_2020-2024.parquet` are AAPL and `BTC-USD_1h.csv` is BTC-USD.
A name the rule cannot turn into a symbol is an error naming the file, never a crash. Every row
is checked: prices finite, positive and below `MAX_PRICE`, open and close inside low..high,
timestamps increasing and within the range a bar can hold. `ReplayFeed` releases the bars
as a clock passes their timestamps, so a `SimClock` drives a backtest bar by bar.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from robo_tui.domain.market import Bar, BarArrays, Quote
from robo_tui.domain.time import datetime_to_ns, ns_to_datetime
from robo_tui.ports import Clock

_PRICE_COLUMNS = ("open", "high", "low", "close")
_TIME_NAMES = ("timestamp", "datetime", "date", "time", "ts")
_SYMBOL_NAMES = ("symbol", "ticker")
_CSV_SUFFIXES = (".csv", ".csv.gz", ".txt")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_SYMBOL = re.compile(r"^[A-Z0-9.\-]{1,20}$")
MAX_PRICE = 1e12
"""Largest price a bar may carry: far above any traded instrument, far below where a notional
(price x quantity) or a report's arithmetic overflows."""


class DataError(Exception):
    """Market data that cannot be used, with the file and the reason in the message."""


def load_ohlcv(path: Path, symbols: Sequence[str] | None = None, *,
               symbol: str | None = None) -> dict[str, BarArrays]:
    """Read OHLCV bars from a CSV/Parquet file or a folder of them, keyed by symbol.

    Columns are matched case-insensitively (Open/High/Low/Close/Volume as in backtesting.py's
    GOOG CSV). The timestamp is the column named timestamp/datetime/date/time, else the first
    column (or a datetime index); naive timestamps are UTC. A `symbol` (or `ticker`) column makes
    it a long table; otherwise the symbol is `symbol` when given (one file only), else taken from
    the file name (see the module docstring). Volume is optional (0). `symbols` keeps only those
    and requires each of them.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and _is_data_file(p))
        if not files:
            raise DataError(f"{path}: no .csv or .parquet files in this folder")
    elif path.is_file():
        files = [path]
    else:
        raise DataError(f"{path}: no such file or folder")

    if symbol is not None:
        symbol = symbol.strip().upper()
        if len(files) != 1:
            raise DataError(f"{path}: a symbol can be given for one file only, not a folder")
        if not _SYMBOL.match(symbol):
            raise DataError(f"{symbol!r} is not a symbol (letters, digits, '.', '-'; up to 20)")
    wanted = None if symbols is None else set(symbols)
    out: dict[str, BarArrays] = {}
    origin: dict[str, Path] = {}
    for file in files:
        for name, arrays in _read_file(file, wanted, symbol).items():
            if name in out:
                raise DataError(f"{file}: symbol {name} is also in {origin[name]}")
            out[name] = arrays
            origin[name] = file
    if symbols is not None:
        missing = [s for s in symbols if s not in out]
        if missing:
            raise DataError(f"{path}: no bars for {', '.join(missing)}")
        return {s: out[s] for s in symbols}
    return out


def _is_data_file(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(_CSV_SUFFIXES + _PARQUET_SUFFIXES) and not name.startswith(".")


def symbol_from_name(path: Path) -> str:
    """The symbol of a per-symbol file by the documented rule: its name up to the first `_` (or
    its suffix), upper-cased. DataError naming the file when that is not a symbol."""
    name = path.name
    for suffix in _CSV_SUFFIXES + _PARQUET_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    symbol = name.split("_", 1)[0].strip().upper()
    if not _SYMBOL.match(symbol):
        raise DataError(
            f"{path}: cannot take a symbol from the file name ({symbol!r}): name the file "
            "SYMBOL.csv or SYMBOL_anything.csv, add a symbol column, or pass --symbol"
        )
    return symbol


def _read_frame(path: Path) -> pd.DataFrame:
    name = path.name.lower()
    try:
        if name.endswith(_PARQUET_SUFFIXES):
            frame = pd.read_parquet(path)
            if isinstance(frame.index, pd.DatetimeIndex) or frame.index.name is not None:
                frame = frame.reset_index()
            return frame
        return pd.read_csv(path)
    except (OSError, ValueError, ImportError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None


def _read_file(path: Path, wanted: set[str] | None, given: str | None) -> dict[str, BarArrays]:
    frame = _read_frame(path)
    if frame.empty:
        raise DataError(f"{path}: no rows")
    columns = {str(c).strip().lower(): c for c in frame.columns}
    missing = [c for c in _PRICE_COLUMNS if c not in columns]
    if missing:
        have = ", ".join(str(c) for c in frame.columns)
        raise DataError(f"{path}: missing column(s) {', '.join(missing)} (columns: {have})")
    time_col = next((columns[n] for n in _TIME_NAMES if n in columns), None)
    if time_col is None:
        first = frame.columns[0]
        if str(first).strip().lower() in _PRICE_COLUMNS + ("volume",) + _SYMBOL_NAMES:
            raise DataError(f"{path}: no timestamp column (name one date, datetime or timestamp)")
        time_col = first
    symbol_col = next((columns[n] for n in _SYMBOL_NAMES if n in columns), None)

    if symbol_col is None:
        symbol = given or symbol_from_name(path)
        if wanted is not None and symbol not in wanted:
            return {}
        return {symbol: _to_arrays(path, symbol, frame, columns, time_col)}
    out: dict[str, BarArrays] = {}
    for symbol, group in frame.groupby(symbol_col, sort=False):
        name = str(symbol).strip().upper()
        if wanted is not None and name not in wanted:
            continue
        out[name] = _to_arrays(path, name, group, columns, time_col)
    return out


def _parse_times(path: Path, symbol: str, raw: pd.Series) -> np.ndarray:
    """Epoch nanoseconds (UTC) of a timestamp column; numbers are epoch s/ms/us/ns by size."""
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        values = raw.to_numpy(dtype=np.float64)
        if np.isnan(values).any():
            row = int(np.flatnonzero(np.isnan(values))[0])
            raise DataError(f"{path}: {symbol}: row {row + 1}: empty timestamp")
        magnitude = float(np.nanmax(np.abs(values))) if values.size else 0.0
        unit = "s" if magnitude < 1e11 else "ms" if magnitude < 1e14 else "us" if magnitude < 1e17 else "ns"
        times = pd.to_datetime(raw, unit=unit, utc=True)
    else:
        try:
            times = pd.to_datetime(raw, utc=False, errors="coerce", format="mixed")
        except (ValueError, TypeError) as exc:
            raise DataError(f"{path}: {symbol}: cannot parse timestamps: {exc}") from None
        if isinstance(times.dtype, pd.DatetimeTZDtype):
            times = times.dt.tz_convert("UTC")
        elif pd.api.types.is_datetime64_dtype(times.dtype):
            times = times.dt.tz_localize("UTC")
        else:  # mixed offsets come back as objects; normalise through UTC
            times = pd.to_datetime(raw, utc=True, errors="coerce", format="mixed")
    bad = times.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{path}: {symbol}: row {row + 1}: cannot parse timestamp {raw.iloc[row]!r}"
        )
    try:
        ns: np.ndarray = times.dt.as_unit("ns").astype("int64").to_numpy(dtype=np.int64)
    except pd.errors.OutOfBoundsDatetime:
        outside = ((times < pd.Timestamp.min.tz_localize("UTC"))
                   | (times > pd.Timestamp.max.tz_localize("UTC"))).to_numpy()
        row = int(np.flatnonzero(outside)[0]) if outside.any() else 0
        raise DataError(
            f"{path}: {symbol}: row {row + 1}: timestamp {raw.iloc[row]!r} is outside the years "
            "1678-2261 that a bar's time can hold"
        ) from None
    return ns


def _to_arrays(path: Path, symbol: str, frame: pd.DataFrame, columns: Mapping[str, object],
               time_col: object) -> BarArrays:
    ts = _parse_times(path, symbol, frame[time_col])
    if ts.size > 1:
        step = np.diff(ts)
        if (step <= 0).any():
            row = int(np.flatnonzero(step <= 0)[0]) + 1
            raise DataError(
                f"{path}: {symbol}: row {row + 1}: timestamps must increase "
                f"({ns_to_datetime(int(ts[row])).isoformat()} after "
                f"{ns_to_datetime(int(ts[row - 1])).isoformat()})"
            )
    prices: dict[str, np.ndarray] = {}
    for name in _PRICE_COLUMNS:
        column = frame[columns[name]]
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{path}: {symbol}: row {row + 1}: {columns[name]} is not a number "
                f"({column.iloc[row]!r})"
            )
        if (values <= 0).any():
            row = int(np.flatnonzero(values <= 0)[0])
            raise DataError(f"{path}: {symbol}: row {row + 1}: {columns[name]} is not positive")
        if (values > MAX_PRICE).any():
            row = int(np.flatnonzero(values > MAX_PRICE)[0])
            raise DataError(f"{path}: {symbol}: row {row + 1}: {columns[name]} {values[row]:g} is "
                            f"above {MAX_PRICE:g}, more than any instrument trades at")
        prices[name] = values
    inverted = prices["high"] < prices["low"]
    if inverted.any():
        row = int(np.flatnonzero(inverted)[0])
        raise DataError(
            f"{path}: {symbol}: row {row + 1}: high {prices['high'][row]} is below "
            f"low {prices['low'][row]}"
        )
    _check_ohlc(path, symbol, prices, columns)
    if "volume" in columns:
        volume = pd.to_numeric(frame[columns["volume"]], errors="coerce").to_numpy(
            dtype=np.float64
        )
        volume = np.where(np.isfinite(volume), volume, 0.0)
    else:
        volume = np.zeros(ts.size, dtype=np.float64)
    return BarArrays(
        symbol,
        np.ascontiguousarray(ts, dtype=np.int64),
        np.ascontiguousarray(prices["open"]),
        np.ascontiguousarray(prices["high"]),
        np.ascontiguousarray(prices["low"]),
        np.ascontiguousarray(prices["close"]),
        np.ascontiguousarray(volume),
    )


def _check_ohlc(path: Path, symbol: str, prices: Mapping[str, np.ndarray],
                columns: Mapping[str, object]) -> None:
    """Refuse a row whose open or close lies outside its low..high range (a bar that cannot
    have happened: fills and stops judged against it would be fiction)."""
    high, low = prices["high"], prices["low"]
    slack = 1e-9 * high  # rounding in the source data, not a different price
    for name in ("open", "close"):
        values = prices[name]
        outside = (values > high + slack) | (values < low - slack)
        if outside.any():
            row = int(np.flatnonzero(outside)[0])
            raise DataError(
                f"{path}: {symbol}: row {row + 1}: {columns[name]} {values[row]:g} is outside the bar's "
                f"range low {low[row]:g} .. high {high[row]:g}"
            )


class ReplayFeed:
    """Recorded bars released as the clock passes their timestamps; implements `MarketFeed`.

    For each symbol, bars before `start_index` are history from the start; later bars are
    released by `next_bars(now)` once their timestamp is <= now. A bar's timestamp is taken as
    the moment it is known, so drive the clock by bar timestamps and fill at the next bar.

    With `step=True` (a replayed market under the wall clock: the console and headless runs)
    each `next_bars` call releases the bars of the next timestamp, whatever `now` is: one
    recorded bar per engine cycle.
    """

    name = "replay"
    simulated = False
    supports_streaming = False

    def __init__(self, data: Mapping[str, BarArrays], clock: Clock, *, start_index: int = 0,
                 step: bool = False) -> None:
        if start_index < 0:
            raise ValueError("start_index must be >= 0")
        self._data = dict(data)
        self._clock = clock
        self._cursor = {s: min(start_index, len(a)) for s, a in self._data.items()}
        self._order = {s: n for n, s in enumerate(self._data)}
        self._step = step

    @property
    def symbols(self) -> list[str]:
        """The replayed symbols."""
        return list(self._data)

    @property
    def exhausted(self) -> bool:
        """Whether every bar has been released."""
        return all(self._cursor[s] >= len(a) for s, a in self._data.items())

    def next_time(self) -> datetime | None:
        """Timestamp of the next bar to be released (None when exhausted): where to set a SimClock."""
        pending = [int(a.ts[self._cursor[s]]) for s, a in self._data.items()
                   if self._cursor[s] < len(a)]
        return ns_to_datetime(min(pending)) if pending else None

    def _arrays(self, symbol: str) -> BarArrays:
        try:
            return self._data[symbol]
        except KeyError:
            raise KeyError(f"{symbol} is not in the replayed data") from None

    async def connect(self) -> None:
        """Nothing to connect to."""

    async def close(self) -> None:
        """Nothing to release."""

    async def history(self, symbol: str, bars: int) -> BarArrays:
        """The last `bars` bars already released (before the replay cursor), oldest first."""
        arrays = self._arrays(symbol)
        end = self._cursor[symbol]
        return arrays.slice(max(0, end - max(0, bars)), end)

    async def next_bars(self, now: datetime) -> list[Bar]:
        """Bars with timestamp <= now not released yet, oldest first (ties in symbol order)."""
        if self._step:
            upcoming = self.next_time()
            if upcoming is None:
                return []
            now = upcoming
        limit = datetime_to_ns(now)
        out: list[tuple[int, int, Bar]] = []
        for symbol, arrays in self._data.items():
            start = self._cursor[symbol]
            stop = int(np.searchsorted(arrays.ts, limit, side="right"))
            if stop <= start:
                continue
            order = self._order[symbol]
            out.extend((int(arrays.ts[i]), order, arrays.bar(i)) for i in range(start, stop))
            self._cursor[symbol] = stop
        if len(self._data) > 1:
            out.sort(key=lambda item: (item[0], item[1]))
        return [bar for _, _, bar in out]

    async def quotes(self, now: datetime) -> list[Quote]:
        """Recorded bars carry no quotes."""
        return []
