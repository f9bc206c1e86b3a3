"""What `robo-tui backtest --source SOURCE --timeframe TF` reads: catalogue bars, validated.

The same checks as the CSV loader (file, row and reason in the error) and the same `--start` /
`--end` meaning (both inclusive; a bare end date includes that day).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from robo_tui.catalogue.store import Catalogue, CatalogueError
from robo_tui.domain.market import BarArrays


def catalogue_bars(root: Path, source: str, symbols: Sequence[str] | None, timeframe: str, *,
                   start: str | None = None, end: str | None = None) -> dict[str, BarArrays]:
    """Bars per symbol from the catalogue under `root`; all stored symbols when none are named.

    Raises CatalogueError naming what is missing, the file, row and reason of a bad bar, or an
    empty date range.
    """
    from robo_tui.backtest.results import InputError, parse_when

    catalogue = Catalogue(root)
    name = source.lower()
    if not symbols:
        symbols = sorted(e.symbol for e in catalogue.entries()
                         if e.source == name and e.timeframe == timeframe)
        if not symbols:
            raise CatalogueError(f"{root}: no {timeframe} bars from {name} "
                                 "(robo-tui data list shows what is stored)")
    data = {s.upper(): catalogue.read(name, s, timeframe) for s in symbols}
    try:
        lo = parse_when(start) if start else None
        hi = parse_when(end, end=True) if end else None
    except InputError as exc:
        raise CatalogueError(str(exc)) from None
    out: dict[str, BarArrays] = {}
    for symbol, bars in data.items():
        first = 0 if lo is None else int(np.searchsorted(bars.ts, lo, side="left"))
        last = len(bars) if hi is None else int(np.searchsorted(bars.ts, hi, side="left"))
        if last > first:
            out[symbol] = bars.slice(first, last)
    if not out:
        raise CatalogueError(f"no {timeframe} bars from {name} between {start or 'the start'} "
                             f"and {end or 'the end'}")
    return out
