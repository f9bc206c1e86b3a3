"""The `robo-tui backtest` command line, parsed: `--strategy`/`--param` and `--grid` parsing, and
the requests the commands receive.

Plain Python only (no pandas, no engine): the typer command module imports it at start-up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal


class UsageProblem(Exception):
    """Bad command-line input: printed as one line, exit code 2."""


@dataclass(frozen=True, slots=True)
class BacktestRequest:
    """The options of one backtest, after parsing."""

    data: list[Path]
    symbols: list[str] | None
    start: str | None
    end: str | None
    strategies: dict[str, dict[str, str]] | None
    cash: float
    commission: float
    slippage_bps: float
    fill: Literal["next-open", "close"]
    compat: bool
    news: list[str]
    json_path: Path | None
    html_path: Path | None
    risk_free: float
    chart: bool
    max_trades: int
    progress: bool | None = None
    source: str | None = None
    """Read bars from the history catalogue (e.g. ccxt:kraken) instead of `data`."""
    timeframe: str = "1h"
    """The catalogue timeframe `source` is read at."""
    symbol: str | None = None
    """`--symbol`: the symbol of the one per-symbol --data file (else the file-name rule)."""
    outlier_ratio: float = 5.0
    """`--outlier-ratio`: a close this many times the one before (or 1/x of it) is an outlier."""
    outlier_z: float = 0.0
    """`--outlier-z`: a log return beyond this many robust standard deviations is an outlier."""
    ruin: float = 0.1
    """`--ruin`: the run stops when equity falls below this fraction of the start."""
    backlog: int = 1
    """`--backlog`: warn when at least this many orders were never filled."""

    def params(self, symbols: Sequence[str], config: Path | None) -> dict[str, Any]:
        """The run's inputs as stored with it (`config` is the --config file, if any)."""
        return {
            "data": [str(p) for p in self.data], "symbols": list(symbols),
            "start": self.start, "end": self.end, "cash": self.cash,
            "commission": self.commission, "slippage_bps": self.slippage_bps, "fill": self.fill,
            "compat": self.compat, "news": list(self.news), "risk_free_rate": self.risk_free,
            "config": str(config) if config else None,
            "checks": {"outlier_ratio": self.outlier_ratio, "outlier_z": self.outlier_z,
                       "ruin_fraction": self.ruin, "backlog_orders": self.backlog},
            **({"source": self.source, "timeframe": self.timeframe} if self.source else {}),
        }


@dataclass(frozen=True, slots=True)
class WalkForwardRequest:
    """The `--optimize` options."""

    grid: dict[str, list[str]]
    random: int | None
    seed: int
    metric: str
    train: int | None
    test: int | None
    anchored: bool
    processes: int | None
    search: Literal["grid", "random", "optuna"] = "grid"
    """How candidates are found (`--random N` alone means random)."""
    trials: int | None = None
    """`--trials`: Optuna trials per train window."""
    cluster: str | None = None
    """`--cluster`: a Dask scheduler address (tcp://host:port) to run the trials on."""


def strategy_params(
    strategies: Sequence[str], params: Sequence[str], order: Sequence[str] | None
) -> dict[str, dict[str, str]] | None:
    """`--strategy NAME --param k=v ...` as {name: {k: v}}; None when no strategy was named.

    A `--param` belongs to the `--strategy` before it (`order` is the command line's sequence of
    "s"/"p"); `--param name.k=v` names its strategy explicitly. Without order information, all
    params go to a single strategy. Raises UsageProblem for a malformed or orphan `--param`.
    """
    out: dict[str, dict[str, str]] = {}
    for name in strategies:
        if not name.strip():
            raise UsageProblem("--strategy needs a name")
        out.setdefault(name.strip(), {})
    for raw, owner in zip(params, _param_owners(strategies, params, order), strict=True):
        key, sep, value = raw.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageProblem(f"--param {raw!r}: use key=value (e.g. --param fast=10)")
        if "." in key:
            owner, key = key.split(".", 1)
            out.setdefault(owner, {})
        if owner is None:
            raise UsageProblem(
                f"--param {raw}: put it after the --strategy it belongs to "
                "(or write --param STRATEGY.key=value)"
            )
        out[owner][key] = value.strip()
    return out or None


def _param_owners(
    strategies: Sequence[str], params: Sequence[str], order: Sequence[str] | None
) -> list[str | None]:
    """The `--strategy` each `--param` follows (None where that is unknown)."""
    if order is not None and order.count("s") == len(strategies) and order.count("p") == len(params):
        owners: list[str | None] = []
        current: str | None = None
        names = iter(strategies)
        for kind in order:
            if kind == "s":
                current = next(names).strip()
            else:
                owners.append(current)
        return owners
    if len(strategies) == 1:
        return [strategies[0].strip()] * len(params)
    return [None] * len(params)


def parse_grid(items: Sequence[str]) -> dict[str, list[str]]:
    """`--grid key=v1,v2,...` or `--grid key=start:stop[:step]` (inclusive) as {key: values}."""
    out: dict[str, list[str]] = {}
    for raw in items:
        key, sep, values = raw.partition("=")
        key = key.strip()
        if not sep or not key or not values.strip():
            raise UsageProblem(f"--grid {raw!r}: use key=v1,v2,... or key=start:stop:step")
        if ":" in values and "," not in values:
            out[key] = _range_values(raw, values)
        else:
            out[key] = [v.strip() for v in values.split(",") if v.strip()]
        if not out[key]:
            raise UsageProblem(f"--grid {raw!r}: no values")
    return out


def _range_values(raw: str, text: str) -> list[str]:
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise UsageProblem(f"--grid {raw!r}: a range is start:stop or start:stop:step")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise UsageProblem(f"--grid {raw!r}: range bounds must be numbers") from None
    start, stop = nums[0], nums[1]
    step = nums[2] if len(nums) == 3 else 1.0
    if step <= 0 or stop < start:
        raise UsageProblem(f"--grid {raw!r}: need start <= stop and a positive step")
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > 100_000:
        raise UsageProblem(f"--grid {raw!r}: {count} values is too many")
    integral = all(float(p).is_integer() for p in parts)
    values = [start + i * step for i in range(count)]
    return [str(int(v)) if integral else repr(round(v, 12)) for v in values]


def split_symbols(text: str | None) -> list[str] | None:
    """`--symbols AAPL,msft` as ["AAPL", "MSFT"]; None when the option was not given."""
    if text is None:
        return None
    out = [s.strip().upper() for s in text.split(",") if s.strip()]
    if not out:
        raise UsageProblem("--symbols needs at least one symbol")
    return out
