"""Incremental downloads into the catalogue: resume after the last stored bar, save as you go.

Bad bars (non-finite, zero or negative prices, high below low, a repeated or older timestamp)
are dropped and counted, never stored. Fetched bars are saved every `flush_bars` bars and once
more when the download stops for any reason (Ctrl-C included); each save replaces the file
atomically, so the file on disk is always complete and a rerun resumes after its last bar.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from robo_tui.catalogue.sources import HistorySource
from robo_tui.catalogue.store import Catalogue, Gap, find_gaps, timeframe_seconds
from robo_tui.domain.market import BarArrays
from robo_tui.domain.time import ns_to_datetime

log = logging.getLogger("robo_tui.catalogue")

_NS = 1_000_000_000

Progress = Callable[[str, int, int], None]
"""on_progress(symbol, bars done, bars expected): called after each page."""


@dataclass(frozen=True, slots=True)
class DownloadResult:
    """What one symbol's download did."""

    symbol: str
    added: int
    rejected: int
    first_ns: int | None
    last_ns: int | None
    gaps: tuple[Gap, ...]
    """Holes inside the bars this download added (and the join with the stored ones)."""


def clean(page: BarArrays, after_ns: int | None) -> tuple[BarArrays, int]:
    """The page without bad bars or bars at/before `after_ns`; and how many were dropped."""
    ok = (np.isfinite(page.open) & np.isfinite(page.high) & np.isfinite(page.low)
          & np.isfinite(page.close) & (page.open > 0) & (page.high > 0) & (page.low > 0)
          & (page.close > 0) & (page.high >= page.low))
    if after_ns is not None:
        ok &= page.ts > after_ns
    if page.ts.size > 1:  # a repeated or older timestamp within the page
        increasing = np.concatenate(([True], np.diff(page.ts) > 0))
        ok &= increasing
    dropped = int(page.ts.size - np.count_nonzero(ok))
    if dropped:
        bad = page.ts[~ok]
        log.warning("%s: dropped %d bad bar(s), first at %s", page.symbol, dropped,
                    ns_to_datetime(int(bad[0])).isoformat())
    index = np.flatnonzero(ok)
    return BarArrays(page.symbol, *(getattr(page, n)[index] for n in
                                    ("ts", "open", "high", "low", "close", "volume"))), dropped


async def download_symbol(catalogue: Catalogue, source: HistorySource, symbol: str, timeframe: str,
                          since_ns: int, until_ns: int, *, on_progress: Progress | None = None,
                          flush_bars: int = 50_000) -> DownloadResult:
    """Fetch `symbol`'s bars after the last stored one (or from `since_ns`) up to `until_ns`."""
    step = timeframe_seconds(timeframe) * _NS
    stored_last = catalogue.last_ns(source.name, symbol, timeframe)
    start = since_ns if stored_last is None else max(since_ns, stored_last + step)
    expected = max(0, (until_ns - start) // step)
    pending: list[BarArrays] = []
    pending_bars = added = rejected = done = 0
    last = stored_last
    first_new: int | None = None
    joined: list[np.ndarray] = [] if stored_last is None else [np.array([stored_last], dtype=np.int64)]

    def flush() -> None:
        nonlocal pending, pending_bars, added
        if pending:
            merged = BarArrays(symbol, *(np.concatenate([getattr(p, n) for p in pending]) for n in
                                         ("ts", "open", "high", "low", "close", "volume")))
            added += catalogue.append(source.name, symbol, timeframe, merged)
        pending, pending_bars = [], 0

    try:
        if start < until_ns:
            async for page in source.pages(symbol, timeframe, start, until_ns):
                good, dropped = clean(page, last)
                rejected += dropped
                done += int(page.ts.size)
                if len(good):
                    pending.append(good)
                    joined.append(good.ts)
                    pending_bars += len(good)
                    last = int(good.ts[-1])
                    first_new = int(good.ts[0]) if first_new is None else first_new
                if pending_bars >= flush_bars:
                    flush()
                if on_progress is not None:
                    on_progress(symbol, min(done, expected), expected)
    finally:
        flush()  # whatever stopped us, what was fetched is saved (atomically)
    gaps = find_gaps(np.concatenate(joined), timeframe_seconds(timeframe)) if joined else ()
    return DownloadResult(symbol, added, rejected, first_new, last if added else None, gaps)


async def download(catalogue: Catalogue, source: HistorySource, symbols: Sequence[str],
                   timeframe: str, since_ns: int, until_ns: int, *,
                   on_progress: Progress | None = None) -> list[DownloadResult]:
    """`download_symbol` for each symbol in turn; the source is closed at the end."""
    try:
        return [await download_symbol(catalogue, source, s, timeframe, since_ns, until_ns,
                                      on_progress=on_progress) for s in symbols]
    finally:
        await source.close()
