"""The history catalogue on disk: one Parquet file per source, symbol and timeframe.

Layout: `<data dir>/catalogue/<source>/<symbol>/<timeframe>.parquet` (a source like
`ccxt:kraken` becomes the folder `ccxt-kraken`). Columns: `ts` (UTC, nanoseconds), `open`,
`high`, `low`, `close`, `volume` (float64), oldest first, one row per bar; the file's metadata
names its source, symbol and timeframe. Every write goes to a temporary file in the same folder
and then `os.replace`s the old one, so an interrupted download leaves the previous complete
file, never half of a new one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robo_tui.domain.market import BarArrays
from robo_tui.domain.time import ns_to_datetime

TIMEFRAMES: Mapping[str, int] = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400}
"""The timeframes the catalogue stores, with their bar length in seconds."""

_COLUMNS = ("open", "high", "low", "close", "volume")
_NS = 1_000_000_000


class CatalogueError(Exception):
    """A catalogue file that is missing or cannot be used; the message names the file and why."""


def timeframe_seconds(timeframe: str) -> int:
    """Bar length of a timeframe; CatalogueError naming the allowed ones."""
    try:
        return TIMEFRAMES[timeframe]
    except KeyError:
        raise CatalogueError(f"timeframe {timeframe!r}: use one of {', '.join(TIMEFRAMES)}") from None


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing bars between two stored ones: `after` is the last bar before the hole."""

    after_ns: int
    missing: int


@dataclass(frozen=True, slots=True)
class Entry:
    """What one catalogue file holds: for `robo-tui data list`."""

    source: str
    symbol: str
    timeframe: str
    path: Path
    bars: int
    first_ns: int
    last_ns: int
    gaps: tuple[Gap, ...]

    @property
    def missing(self) -> int:
        """Bars missing inside the stored range."""
        return sum(g.missing for g in self.gaps)


def find_gaps(ts: np.ndarray, step_seconds: int) -> tuple[Gap, ...]:
    """The holes in a sorted ns timestamp array for bars `step_seconds` apart."""
    if ts.size < 2:
        return ()
    step = step_seconds * _NS
    diff = np.diff(ts)
    where = np.flatnonzero(diff > step)
    return tuple(Gap(int(ts[i]), int(diff[i] // step) - 1) for i in where)


def validate(path: Path, arrays: BarArrays) -> None:
    """The backtest loader's checks: increasing timestamps, finite positive prices, high >= low.

    Raises CatalogueError naming the file, the symbol, the row (1-based) and the reason.
    """
    where = f"{path}: {arrays.symbol}"
    if len(arrays) > 1:
        bad = np.flatnonzero(np.diff(arrays.ts) <= 0)
        if bad.size:
            row = int(bad[0]) + 1
            raise CatalogueError(
                f"{where}: row {row + 1}: timestamps must increase "
                f"({ns_to_datetime(int(arrays.ts[row])).isoformat()} after "
                f"{ns_to_datetime(int(arrays.ts[row - 1])).isoformat()})")
    for name in ("open", "high", "low", "close"):
        values: np.ndarray = getattr(arrays, name)
        bad = np.flatnonzero(~np.isfinite(values) | (values <= 0))
        if bad.size:
            row = int(bad[0])
            raise CatalogueError(f"{where}: row {row + 1}: {name} {values[row]} is not a positive number")
    bad = np.flatnonzero(arrays.high < arrays.low)
    if bad.size:
        row = int(bad[0])
        raise CatalogueError(f"{where}: row {row + 1}: high {arrays.high[row]} is below low {arrays.low[row]}")


class Catalogue:
    """The Parquet files under `root`; reads, atomic appends and the listing."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, source: str, symbol: str, timeframe: str) -> Path:
        """Where the bars of `symbol` at `timeframe` from `source` live."""
        timeframe_seconds(timeframe)
        folder = source.replace(":", "-").replace("/", "-")
        return self.root / folder / symbol.upper().replace("/", "-") / f"{timeframe}.parquet"

    def read(self, source: str, symbol: str, timeframe: str) -> BarArrays:
        """The stored bars, validated; CatalogueError when there are none or they are bad."""
        path = self.path(source, symbol, timeframe)
        if not path.is_file():
            raise CatalogueError(
                f"{path}: no {timeframe} bars of {symbol} from {source} in the catalogue "
                f"(run: robo-tui data download --source {source} --symbols {symbol} "
                f"--timeframe {timeframe} --since DATE)")
        arrays = _read_file(path, symbol.upper())
        validate(path, arrays)
        return arrays

    def last_ns(self, source: str, symbol: str, timeframe: str) -> int | None:
        """The open time of the newest stored bar (None when nothing is stored)."""
        path = self.path(source, symbol, timeframe)
        if not path.is_file():
            return None
        ts = _read_ts(path)
        return int(ts[-1]) if ts.size else None

    def append(self, source: str, symbol: str, timeframe: str, new: BarArrays) -> int:
        """Add bars newer than the stored ones (older or equal ones are dropped) atomically.

        Returns how many bars were added. The new bars are validated before anything is written.
        """
        path = self.path(source, symbol, timeframe)
        old = _read_file(path, symbol.upper()) if path.is_file() else None
        if old is not None and len(old) and len(new):
            keep = int(np.searchsorted(new.ts, int(old.ts[-1]), side="right"))
            new = new.slice(keep, len(new))
        if not len(new):
            return 0
        validate(path, new)
        merged = new if old is None else _concat(old, new)
        _write_atomic(path, merged, {"source": source, "symbol": symbol.upper(), "timeframe": timeframe})
        return len(new)

    def entries(self) -> Iterator[Entry]:
        """Every stored file, by source, symbol and timeframe."""
        if not self.root.is_dir():
            return
        for path in sorted(self.root.glob("*/*/*.parquet")):
            meta = _metadata(path)
            timeframe = meta.get("timeframe", path.stem)
            ts = _read_ts(path)
            if not ts.size or timeframe not in TIMEFRAMES:
                continue
            yield Entry(meta.get("source", path.parent.parent.name), meta.get("symbol", path.parent.name),
                        timeframe, path, int(ts.size), int(ts[0]), int(ts[-1]),
                        find_gaps(ts, TIMEFRAMES[timeframe]))


def _concat(a: BarArrays, b: BarArrays) -> BarArrays:
    return BarArrays(a.symbol, *(np.concatenate([getattr(a, n), getattr(b, n)])
                                 for n in ("ts", *_COLUMNS)))


def _read_ts(path: Path) -> np.ndarray:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path, columns=["ts"])
    except (OSError, ValueError) as exc:
        raise CatalogueError(f"{path}: cannot read: {exc}") from None
    ts: np.ndarray = table.column("ts").cast("int64").to_numpy()
    return ts


def _metadata(path: Path) -> dict[str, str]:
    import pyarrow.parquet as pq

    try:
        raw = pq.read_schema(path).metadata or {}
    except (OSError, ValueError):
        return {}
    return {k.decode(): v.decode() for k, v in raw.items() if not k.startswith(b"pandas")}


def _read_file(path: Path, symbol: str) -> BarArrays:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path, columns=["ts", *_COLUMNS])
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise CatalogueError(f"{path}: cannot read: {exc}") from None

    def column(name: str, dtype: type) -> np.ndarray:
        data = table.column(name)
        if name == "ts":
            data = data.cast(pa.int64())
        out: np.ndarray = np.ascontiguousarray(data.to_numpy(zero_copy_only=False), dtype=dtype)
        return out

    return BarArrays(symbol, column("ts", np.int64), *(column(n, np.float64) for n in _COLUMNS))


def _write_atomic(path: Path, arrays: BarArrays, meta: Mapping[str, str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {"ts": pa.array(arrays.ts, type=pa.int64()).cast(pa.timestamp("ns", tz="UTC")),
         **{n: pa.array(getattr(arrays, n), type=pa.float64()) for n in _COLUMNS}},
    ).replace_schema_metadata(dict(meta))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
