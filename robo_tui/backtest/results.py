"""From a replay to what a trader reads: inputs, trades, statistics, JSON and stored runs.

`robo-tui backtest` (robo_tui/backtest/cli.py) and the walk-forward workers share these helpers:

- inputs: `load_bars` (CSV/Parquet files, a date range) and `load_news` (timestamped news to
  replay);
- analysis: `analyse` turns the driver's `BacktestResult` into round-trip `TradeRecord`s (with
  the strategy that opened each one), the positions still open, and `BacktestStats`;
- output: `issue_json` (the `--json` file: exactly the documented keys), `run_record` and
  `StoredRun` (the `backtest_runs` table: what `--list` and `--show` read back);
- walk-forward: `SliceJob` and `run_slice`, a picklable backtest of one window of bars.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from dataclasses import field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from robo_tui.backtest.checks import (
    CheckLimits,
    backlog_warning,
    compat_ruin_warning,
    outlier_warnings,
    ruin_bar,
    ruin_warning,
    warmup_warnings,
)
from robo_tui.backtest.figures import decimate, fmt_num, fmt_pct, json_number
from robo_tui.backtest.runner import BacktestSpec, run_backtest
from robo_tui.backtest.stats import (
    BacktestStats,
    TradeRecord,
    compute_stats,
    trade_to_json,
)
from robo_tui.config import Settings
from robo_tui.domain.frozen import frozen
from robo_tui.domain.market import BarArrays, FloatArray, IntArray
from robo_tui.domain.news import NewsItem
from robo_tui.domain.orders import Fill
from robo_tui.domain.serialize import to_jsonable
from robo_tui.domain.time import datetime_to_ns, ns_to_datetime
from robo_tui.engine.backtest import BacktestResult

#: The statistics keys of the `--json` file, in order (issue 5); `trade_list` follows them.
JSON_KEYS: tuple[str, ...] = (
    "start",
    "end",
    "bars",
    "return_pct",
    "buy_hold_return_pct",
    "cagr_pct",
    "volatility_ann_pct",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown_pct",
    "max_drawdown_duration",
    "trades",
    "win_rate_pct",
    "profit_factor",
    "expectancy_pct",
    "sqn",
    "exposure_pct",
    "equity_final",
    "equity_peak",
)

#: Equity points kept per stored run (longer curves are decimated keeping highs and lows).
STORED_EQUITY_POINTS = 20_000

_DAY = timedelta(days=1)


class InputError(ValueError):
    """Backtest input that cannot be used (a file, a date, a news feed), with the reason."""


# --------------------------------------------------------------------------- inputs


def parse_when(text: str, *, end: bool = False) -> int:
    """A `--start`/`--end` value as epoch ns (UTC unless it has an offset).

    A bare date as `end` means the whole day: the bound is the next midnight, exclusive.
    Raises InputError for text that is not a date.
    """
    import pandas as pd

    try:
        stamp = pd.Timestamp(text.strip())
    except (ValueError, TypeError) as exc:
        raise InputError(f"{text!r} is not a date or time (use e.g. 2012-01-31)") from exc
    if stamp is pd.NaT:
        raise InputError(f"{text!r} is not a date or time (use e.g. 2012-01-31)")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    ns = int(stamp.value)
    date_only = len(text.strip()) <= 10 and stamp == stamp.normalize()
    if end and date_only:
        ns += int(_DAY.total_seconds()) * 10**9
    return ns


def load_bars(
    paths: Sequence[Path],
    symbols: Sequence[str] | None = None,
    *,
    start: str | None = None,
    end: str | None = None,
    file_symbol: str | None = None,
) -> dict[str, BarArrays]:
    """Bars keyed by symbol from one or more files/folders, optionally a subset and a date range.
    `file_symbol` names the bars of a single per-symbol file (`--symbol`).

    Each path is what `load_ohlcv` reads (a per-symbol file, a long table, or a folder). A symbol
    found in two paths is an error. `start` is inclusive; `end` is inclusive too (a bare date
    includes that whole day). Raises InputError (or the loader's DataError) with the reason.
    """
    from robo_tui.adapters.feeds.replay import DataError, load_ohlcv

    if not paths:
        raise InputError("give at least one --data file or folder")
    data: dict[str, BarArrays] = {}
    origin: dict[str, Path] = {}
    for path in paths:
        try:
            loaded = load_ohlcv(Path(path), symbol=file_symbol)
        except DataError as exc:
            raise InputError(str(exc)) from None
        for symbol, bars in loaded.items():
            if symbol in data:
                raise InputError(f"{path}: symbol {symbol} is also in {origin[symbol]}")
            data[symbol] = bars
            origin[symbol] = Path(path)
    if symbols:
        wanted = [s.strip().upper() for s in symbols if s.strip()]
        missing = [s for s in wanted if s not in data]
        if missing:
            raise InputError(
                f"no bars for {', '.join(missing)} in {', '.join(str(p) for p in paths)} "
                f"(symbols there: {', '.join(sorted(data)) or 'none'})"
            )
        data = {s: data[s] for s in wanted}
    lo = parse_when(start) if start else None
    hi = parse_when(end, end=True) if end else None
    if lo is not None and hi is not None and hi <= lo:
        raise InputError(f"--end {end} is not after --start {start}")
    if lo is None and hi is None:
        return data
    out: dict[str, BarArrays] = {}
    for symbol, bars in data.items():
        first = 0 if lo is None else int(np.searchsorted(bars.ts, lo, side="left"))
        last = len(bars) if hi is None else int(np.searchsorted(bars.ts, hi, side="left"))
        if last > first:
            out[symbol] = bars.slice(first, last)
    if not out:
        raise InputError(f"no bars between {start or 'the start'} and {end or 'the end'}")
    return out


def load_news(sources: Sequence[str], *, until: datetime | None = None) -> list[NewsItem]:
    """Timestamped news to replay: RSS/Atom files (or http(s) URLs, fetched once), oldest first.

    Each item keeps its own publication time, so the replay can release it only once the
    simulated clock reaches that time (no look-ahead). Items without a publication time cannot
    be placed in history and are dropped; so are items published after `until` (the data's end).
    Raises InputError for a missing file or something that is not a feed.
    """
    from robo_tui.adapters.news import SourceError
    from robo_tui.adapters.news.rss import parse_feed

    undated = datetime(9999, 12, 31, tzinfo=UTC)  # parse_feed stamps undated items with `now`
    items: dict[str, NewsItem] = {}
    for source in sources:
        body = _read_source(source)
        name = Path(source).stem if "://" not in source else source.split("://", 1)[1][:60]
        try:
            parsed = parse_feed(body, source=f"replay:{name}", now=undated)
        except SourceError as exc:
            raise InputError(f"--news {source}: {exc}") from None
        for item in parsed:
            if item.published >= undated:
                continue
            if until is not None and item.published > until:
                continue
            items.setdefault(item.id, replace(item, seen=item.published))
    return sorted(items.values(), key=lambda item: item.published)


def _read_source(source: str) -> bytes:
    from robo_tui.adapters.news import MAX_BODY_BYTES

    if source.lower().startswith(("http://", "https://")):
        import httpx

        try:
            response = httpx.get(source, timeout=15.0, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise InputError(f"--news {source}: {exc}") from None
        return response.content[:MAX_BODY_BYTES]
    path = Path(source.removeprefix("file://")).expanduser()
    try:
        size = path.stat().st_size
        if size > MAX_BODY_BYTES:
            raise InputError(f"--news {path}: larger than {MAX_BODY_BYTES} bytes; refused")
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"--news {path}: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------- analysis


@frozen
class RunOutcome:
    """A finished (or interrupted) run with its trades and statistics.

    `trades` are the closed round trips; `open_trades` the positions still held at the end,
    marked at the last close (counted, never in the trade statistics). `warmup_bars` is where
    buy-and-hold starts. `equity`, `index` and `closes` are cut to the bars actually replayed
    (up to `ruined_at`, the bar where the account fell below the ruin threshold, if it did; in
    compat mode they run on to the last bar, flat after the ruin, as backtesting.py's do).
    `warnings` are the checks' plain-language findings (see `robo_tui.backtest.checks`).
    """

    result: BacktestResult
    settings: Settings
    stats: BacktestStats
    trades: tuple[TradeRecord, ...]
    open_trades: tuple[TradeRecord, ...]
    warmup_bars: int
    voters: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    ruined_at: int | None = None

    @property
    def equity(self) -> FloatArray:
        """Equity per timeline bar."""
        return self.result.equity

    @property
    def index(self) -> IntArray:
        """Epoch ns per timeline bar."""
        return self.result.index[: self.result.equity.shape[0]]


def voter_names(settings: Settings) -> tuple[str, ...]:
    """The strategies that vote in a run with these settings (enabled, weight above 0)."""
    return tuple(_voters(settings))


def _voters(settings: Settings) -> dict[str, Any]:
    from robo_tui.engine.ensemble import Ensemble
    from robo_tui.engine.strategies import build_strategies

    ensemble = Ensemble(build_strategies(settings.strategies), settings.strategies,
                        settings.ensemble)
    return dict(ensemble.voters())


def warmup_bars(settings: Settings, n_bars: int) -> int:
    """Where buy-and-hold starts: the first bar at which every voting strategy's indicators are
    defined, one bar before its first possible signal (backtesting.py starts buy-and-hold at its
    indicators' warm-up the same way: bar 19 for SMA(20))."""
    voters = _voters(settings)
    warm = max((int(s.warmup) for s in voters.values()), default=1) - 1
    return max(0, min(warm, n_bars - 1))


def _signal_bar(bars: BarArrays, ts_ns: int, fill: str) -> int:
    """The symbol bar whose decision produced a fill at `ts_ns` (the bar before for next-open)."""
    if fill == "next-open":
        return int(np.searchsorted(bars.ts, ts_ns, side="left")) - 1
    return int(np.searchsorted(bars.ts, ts_ns, side="right")) - 1


def attribute_trades(
    trades: Sequence[tuple[str, float, int]],
    data: Mapping[str, BarArrays],
    voters: Mapping[str, Any],
    fill: str,
) -> list[str]:
    """Per trade `(symbol, signed size, entry fill time in ns)`, the strategy that opened it.

    One voter: that strategy. Several: the voters whose score at the bar that decided the entry
    pointed the trade's way, joined with `+` (`sma_cross+breakout`); `ensemble` when none did.
    `voters` maps names to objects with `scores(bars)`.
    """
    names = list(voters)
    if len(names) == 1:
        return [names[0]] * len(trades)
    if not names:
        return ["ensemble"] * len(trades)
    votes: dict[str, dict[str, FloatArray]] = {}
    out = []
    for symbol, size, entry_ns in trades:
        bars = data.get(symbol)
        if bars is None:
            out.append("ensemble")
            continue
        if symbol not in votes:
            votes[symbol] = {n: s.scores(bars) for n, s in voters.items()}
        i = _signal_bar(bars, entry_ns, fill)
        sign = 1.0 if size > 0 else -1.0
        agreed = [
            n for n in names if i >= 0 and not math.isnan(v := float(votes[symbol][n][i]))
            and v * sign > 0
        ]
        out.append("+".join(agreed) or "ensemble")
    return out


def _open_positions(fills: Sequence[Fill]) -> dict[str, tuple[float, datetime, float, float]]:
    """Per symbol still held after `fills`: (signed size, entry time, average entry price, entry
    fees of what is held). The entry is the fill that opened the position from flat (or reversed
    it); adds average in, partial exits scale cost and fees down."""
    state: dict[str, list[Any]] = {}  # symbol -> [pos, time, cost, fees]
    for f in fills:
        signed = f.quantity * f.side.sign
        pos, opened, cost, fees = state.get(f.symbol, [0.0, f.ts, 0.0, 0.0])
        new = pos + signed
        fee_unit = f.fee / f.quantity if f.quantity else 0.0
        if abs(new) < 1e-12:
            new, cost, fees = 0.0, 0.0, 0.0
        elif pos == 0.0 or (new > 0) != (pos > 0):
            opened, cost, fees = f.ts, abs(new) * f.price, abs(new) * fee_unit
        elif abs(new) > abs(pos):
            added = abs(new) - abs(pos)
            cost += added * f.price
            fees += added * fee_unit
        else:
            scale = abs(new) / abs(pos)
            cost *= scale
            fees *= scale
        state[f.symbol] = [new, opened, cost, fees]
    return {
        s: (pos, opened, cost / abs(pos), fees)
        for s, (pos, opened, cost, fees) in state.items()
        if pos != 0.0
    }


def analyse(
    result: BacktestResult,
    settings: Settings,
    data: Mapping[str, BarArrays],
    *,
    fill: str = "next-open",
    risk_free_rate: float = 0.0,
    limits: CheckLimits | None = None,
    unfilled: Sequence[tuple[str, datetime]] = (),
    compat: bool = False,
    commission: float = 0.0,
) -> RunOutcome:
    """Trades (closed and open), attribution and statistics of a run.

    Buy-and-hold is the single symbol's close, or an equal-weight basket of several, from the
    strategies' warm-up (`warmup_bars`). Closed trades map to `TradeRecord.round_trip`, so P&L
    and returns follow backtesting.py's rules. For an interrupted run only the bars replayed
    count: trades beyond them are left out. A run whose equity falls below `limits.ruin_fraction`
    of its start is cut at that bar the same way, and every check's warning is attached.

    `compat` (backtesting.py's conventions, `commission` its rate): a ruined account (below the
    threshold, or at or below zero whatever the threshold) stops as backtesting.py's does: the
    open trades close at that bar's close (exit commission charged) and the equity stays at what
    is left (0 when nothing is) to the last bar, so the figures cover the whole series.
    """
    limits = limits if limits is not None else CheckLimits()
    n = int(result.equity.shape[0])
    if n == 0:
        raise InputError("the run stopped before its first bar: no statistics")
    voters = _voters(settings)
    warnings = _input_warnings(data, voters, limits)
    ruined_at = ruin_bar(result.equity, limits, at_zero=compat)
    liquidated: dict[str, float] = {}  # compat ruin: symbol -> exit price at the ruin bar
    if ruined_at is not None and compat:
        marked = float(result.equity[ruined_at])
        result, liquidated = _stop_ruined(result, data, ruined_at, commission)
        n = int(result.equity.shape[0])
        warnings.append(compat_ruin_warning(ruined_at, int(result.index[ruined_at]), marked,
                                            float(result.equity[0]),
                                            float(result.equity[ruined_at]), limits, n))
    elif ruined_at is not None:
        warnings.append(ruin_warning(ruined_at, int(result.index[ruined_at]),
                                     float(result.equity[ruined_at]), float(result.equity[0]),
                                     limits, timeline_length(data)))
        result = replace(result, equity=result.equity[: ruined_at + 1])
        n = ruined_at + 1
    equity = result.equity
    index = result.index[:n]
    if ruined_at is None and not result.stopped_early:
        backlog = backlog_warning(unfilled, ns_to_datetime(int(index[-1])), limits)
        if backlog is not None:
            warnings.append(backlog)
    closed = [t for t in result.trades if t.exit_bar < n]
    names = attribute_trades(
        [(t.trade.symbol, t.trade.size, datetime_to_ns(t.trade.entry_time)) for t in closed],
        data, voters, fill,
    )
    trades = tuple(
        TradeRecord.round_trip(
            symbol=t.trade.symbol,
            size=t.trade.size,
            entry_bar=t.entry_bar,
            exit_bar=t.exit_bar,
            entry_time=t.trade.entry_time,
            exit_time=t.trade.exit_time,
            entry_price=t.trade.entry_price,
            exit_price=t.trade.exit_price,
            commission=t.trade.fees,
            strategy=name,
        )
        for t, name in zip(closed, names, strict=True)
    )
    last_ts = ns_to_datetime(int(index[-1]))
    held = _open_positions([f for f in result.fills if datetime_to_ns(f.ts) <= int(index[-1])])
    open_names = attribute_trades(
        [(s, size, datetime_to_ns(t)) for s, (size, t, _, _) in held.items()], data, voters, fill
    )
    open_trades = []
    liquidations = []
    for (symbol, (size, opened, price, fees)), name in zip(held.items(), open_names, strict=True):
        if symbol in liquidated:  # closed at the ruin bar's close, with its exit commission
            exit_price = liquidated[symbol]
            assert ruined_at is not None
            liquidations.append(TradeRecord.round_trip(
                symbol=symbol, size=size,
                entry_bar=int(np.searchsorted(index, datetime_to_ns(opened))),
                exit_bar=ruined_at, entry_time=opened,
                exit_time=ns_to_datetime(int(index[ruined_at])), entry_price=price,
                exit_price=exit_price, commission=fees + abs(size) * exit_price * commission,
                strategy=name))
            continue
        closes = result.closes.get(symbol)
        mark = float(closes[n - 1]) if closes is not None and closes.shape[0] >= n else price
        open_trades.append(
            TradeRecord.round_trip(
                symbol=symbol, size=size,
                entry_bar=int(np.searchsorted(index, datetime_to_ns(opened))), exit_bar=n - 1,
                entry_time=opened, exit_time=last_ts, entry_price=price, exit_price=mark,
                commission=fees, strategy=name,
            )
        )
    trades += tuple(liquidations)
    warm = warmup_bars(settings, n)
    closes_cut = {s: c[:n] for s, c in result.closes.items()}
    close: FloatArray | dict[str, FloatArray] | None
    close = next(iter(closes_cut.values())) if len(closes_cut) == 1 else closes_cut or None
    stats = compute_stats(
        equity=equity,
        index=index,
        trades=trades,
        close=close,
        risk_free_rate=risk_free_rate,
        warmup_bars=warm,
        open_trades=open_trades,
    )
    return RunOutcome(result, settings, stats, trades, tuple(open_trades), warm, tuple(voters),
                      tuple(warnings), ruined_at)


def _stop_ruined(result: BacktestResult, data: Mapping[str, BarArrays], bar: int,
                 commission: float) -> tuple[BacktestResult, dict[str, float]]:
    """A compat run ruined at timeline `bar`, stopped as backtesting.py stops one: what happened
    after `bar` is dropped (the replay may have run on a little), every position still open
    there is closed at that bar's close with its exit commission, and the equity left (never
    below 0) is carried to the last bar of the data. The result over the whole timeline, and
    the exit price of each position closed."""
    index = np.unique(np.concatenate([b.ts for b in data.values()])).astype(np.int64)
    stamp = int(result.index[bar])
    fills = [f for f in result.fills if datetime_to_ns(f.ts) <= stamp]
    closes = {s: _on_timeline(b, index) for s, b in data.items()}
    held = _open_positions(fills)
    exits = {s: float(closes[s][bar]) for s in held if s in closes}
    fees = sum(abs(held[s][0]) * price * commission for s, price in exits.items())
    left = max(0.0, float(result.equity[bar]) - fees)
    equity = np.empty(index.shape[0], dtype=np.float64)
    equity[:bar] = result.equity[:bar]
    equity[bar:] = left
    trades = [t for t in result.trades if t.exit_bar <= bar]
    return replace(result, index=index, equity=equity, closes=closes, trades=trades,
                   fills=fills), exits


def _on_timeline(bars: BarArrays, index: IntArray) -> FloatArray:
    """A symbol's closes forward-filled onto the timeline `index` (0 before its first bar)."""
    last = np.searchsorted(bars.ts, index, side="right") - 1
    out: FloatArray = np.where(last >= 0, bars.close[np.maximum(last, 0)], 0.0)
    return out


def _input_warnings(data: Mapping[str, BarArrays], voters: Mapping[str, Any],
                    limits: CheckLimits) -> list[str]:
    """The checks of the input: bars too few for the voters' warm-up, price outliers."""
    warm = max((int(s.warmup) for s in voters.values()), default=0)
    slowest = max(voters.items(), key=lambda kv: int(kv[1].warmup), default=None)
    who = "the strategies"
    if slowest is not None:
        params = ",".join(f"{k}={v}" for k, v in slowest[1].params().items())
        who = f"{slowest[0]}({params})"
    return warmup_warnings(data, warm, who) + outlier_warnings(data, limits)


# --------------------------------------------------------------------------- JSON and store


def issue_json(stats: BacktestStats, trades: Sequence[TradeRecord],
               warnings: Sequence[str] = ()) -> dict[str, Any]:
    """The `--json` document: exactly `JSON_KEYS`, `trade_list`, then `warnings` (the checks'
    findings, empty when none), strict JSON (NaN is null).

    Each trade has entry/exit time (ISO, UTC), bar index, price, signed size, P&L after
    commissions, return in percent, commission, symbol, strategy and duration.
    """
    data = to_jsonable(stats)
    out: dict[str, Any] = {key: data[key] for key in JSON_KEYS}
    out["trade_list"] = [trade_to_json(t) for t in trades]
    out["warnings"] = list(warnings)
    return out


def strategy_params(settings: Settings, voters: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The parameters each voting strategy ran with (config values merged with `--param`)."""
    sections = settings.strategies.model_dump()
    return {
        name: {k: v for k, v in sections.get(name, {}).items() if k != "enabled"}
        for name in voters
    }


def run_record(outcome: RunOutcome, params: Mapping[str, Any]) -> dict[str, Any]:
    """The `backtest_runs` row of a run: its parameters, full statistics, every trade (closed
    and open) and the equity curve (decimated beyond `STORED_EQUITY_POINTS` points)."""
    equity = outcome.equity
    idx, values = decimate(equity, STORED_EQUITY_POINTS)
    result = outcome.result
    return {
        "params": {
            "kind": "backtest",
            **params,
            "strategies": strategy_params(outcome.settings, outcome.voters),
            "warmup_bars": outcome.warmup_bars,
            "orders": result.orders,
            "denied": result.denied,
            "proposals": result.proposals,
            "symbol_bars": result.bars,
            "elapsed_s": result.elapsed_s,
            "bars_per_second": result.bars_per_second,
            "stopped_early": result.stopped_early and outcome.ruined_at is None,
            "ruined_at": outcome.ruined_at,
            "warnings": list(outcome.warnings),
        },
        "stats": to_jsonable(outcome.stats),
        "trades": {
            "closed": [trade_to_json(t) for t in outcome.trades],
            "open": [trade_to_json(t) for t in outcome.open_trades],
        },
        "equity": {
            "bar": idx.tolist(),
            "ts": outcome.index[idx].tolist(),
            "equity": values.tolist(),
        },
    }


@frozen
class StoredRun:
    """A backtest run read back from the store (what `--show` prints)."""

    id: str
    ts: str
    params: dict[str, Any]
    stats_json: dict[str, Any]
    trades_json: dict[str, Any] | list[Any]
    equity_json: dict[str, Any] | list[Any]
    kind: str = "backtest"
    extra: dict[str, Any] = field(default_factory=dict)

    def stats(self) -> BacktestStats:
        """The stored statistics as `BacktestStats` (NaN where JSON has null)."""
        from robo_tui.adapters.store.codec import from_jsonable

        return from_jsonable(BacktestStats, self.stats_json)

    def trades(self, which: str = "closed") -> list[TradeRecord]:
        """The stored closed (or `"open"`) trades."""
        from robo_tui.adapters.store.codec import from_jsonable

        rows = self.trades_json.get(which, []) if isinstance(self.trades_json, dict) else []
        return [from_jsonable(TradeRecord, row) for row in rows]

    def equity(self) -> tuple[IntArray, FloatArray]:
        """The stored equity curve: (epoch ns, equity), possibly decimated."""
        eq = self.equity_json if isinstance(self.equity_json, dict) else {}
        ts = np.asarray(eq.get("ts", []), dtype=np.int64)
        values = np.asarray(eq.get("equity", []), dtype=np.float64)
        return ts, values


LIST_RUNS_SQL = "SELECT id, ts, params, stats FROM backtest_runs ORDER BY ts DESC LIMIT ?"
"""The newest stored runs' summaries (the limit is the one parameter)."""

FIND_RUN_SQL = ("SELECT id, ts, params, stats, trades, equity FROM backtest_runs "
                "WHERE id LIKE ? ORDER BY ts DESC LIMIT 2")  # fmt: skip
"""Whole stored runs whose id starts with a prefix (the parameter is the prefix plus "%")."""


def run_listing(row: Mapping[str, Any], *, narrow: bool = False) -> dict[str, str]:
    """A stored run's cells in a list of runs (`backtest --list`, the console's Backtests
    screen) by column header; `row` is a `LIST_RUNS_SQL` row. Narrow: an 8-digit id (enough for
    `--show`), the time as month-day and minute, "bt"/"wf" for the kind, each strategy's parameter values
    without their names (`sma_cross(10,20)`), so runs stay told apart. A run with warnings
    carries a "!" after its id."""
    import json

    params = json.loads(row["params"])
    stats = json.loads(row["stats"])
    kind = str(params.get("kind", "backtest"))
    strategies = params.get("strategies") or {}
    if kind == "backtest":
        names = " ".join(
            f"{n}({','.join(str(v) for k, v in p.items() if k != 'weight')})"
            for n, p in strategies.items()
        )
        described = " ".join(
            f"{n}({','.join(f'{k}={v}' for k, v in p.items() if k != 'weight')})"
            for n, p in strategies.items()
        )
    else:
        names = described = str(params.get("strategy_names", ""))
    if kind == "walk_forward":
        oos = stats.get("out_of_sample") or {}
        ret, sharpe = oos.get("return_pct_compounded"), oos.get("sharpe_mean")
        mdd, trades, bars = oos.get("max_drawdown_pct_worst"), oos.get("trades"), "OOS"
    else:
        ret, sharpe = stats.get("return_pct"), stats.get("sharpe")
        mdd, trades, bars = stats.get("max_drawdown_pct"), stats.get("trades"), stats.get("bars")
    return {
        "id": row["id"][:8 if narrow else 12] + ("!" if params.get("warnings") else ""),
        "when (UTC)": (row["ts"][5:16] if narrow else row["ts"][:19]).replace("T", " "),
        "kind": ("wf" if kind == "walk_forward" else "bt") if narrow else kind,
        "symbols": ",".join(params.get("symbols", []))[:30],
        "strategies": _clip(names if narrow else described, 40 if narrow else 60),
        "bars": f"{bars:,}" if isinstance(bars, int) else str(bars),
        "return": fmt_pct(json_number(ret)),
        "sharpe": fmt_num(json_number(sharpe)),
        "max DD": fmt_pct(json_number(mdd)),
        "trades": f"{trades:,}" if isinstance(trades, int) else "-",
    }


def _clip(text: str, width: int) -> str:
    """`text` cut to `width` characters, an ellipsis saying it was cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def stored_run(row: Mapping[str, Any]) -> StoredRun:
    """A `backtest_runs` row (as `SqliteStore.query` returns it) as a `StoredRun`."""
    import json

    params = json.loads(row["params"])
    return StoredRun(
        id=str(row["id"]),
        ts=str(row["ts"]),
        params=params,
        stats_json=json.loads(row["stats"]),
        trades_json=json.loads(row["trades"]),
        equity_json=json.loads(row["equity"]),
        kind=str(params.get("kind", "backtest")),
    )


# --------------------------------------------------------------------------- walk-forward


@frozen
class SliceJob:
    """Everything a worker process needs to backtest one window: picklable, and small (the bars
    are re-read from `paths` once per worker and cached, never shipped with each task)."""

    settings: Settings
    spec: BacktestSpec
    paths: tuple[str, ...]
    symbols: tuple[str, ...] | None
    start: str | None
    end: str | None
    targets: tuple[tuple[str, str], ...] = ()  # grid key -> (strategy, param): "fast" -> sma_cross


_BARS_CACHE: dict[tuple[Any, ...], dict[str, BarArrays]] = {}


def job_bars(job: SliceJob) -> dict[str, BarArrays]:
    """The job's bars (loaded once per process)."""
    key = (job.paths, job.symbols, job.start, job.end)
    data = _BARS_CACHE.get(key)
    if data is None:
        data = load_bars([Path(p) for p in job.paths], job.symbols, start=job.start, end=job.end)
        _BARS_CACHE.clear()
        _BARS_CACHE[key] = data
    return data


def timeline_length(data: Mapping[str, BarArrays]) -> int:
    """Bars on the merged timeline of all symbols (what walk-forward windows index)."""
    return int(np.unique(np.concatenate([b.ts for b in data.values()])).shape[0])


def spec_with(job: SliceJob, params: Mapping[str, Any]) -> BacktestSpec:
    """The job's spec with a candidate's parameters applied to their strategies."""
    strategies = {k: dict(v) for k, v in (job.spec.strategies or {}).items()}
    where = dict(job.targets)
    for key, value in params.items():
        target = where.get(key, key)
        if "." not in target:
            raise InputError(f"parameter {key!r}: name its strategy as STRATEGY.{key}")
        name, param = target.split(".", 1)
        strategies.setdefault(name, {})[param] = str(value)
    return replace(job.spec, strategies=strategies)


def slice_bars(data: Mapping[str, BarArrays], bars: slice) -> dict[str, BarArrays]:
    """Each symbol's bars inside the timeline slice `bars` (symbols with none are left out)."""
    index = np.unique(np.concatenate([b.ts for b in data.values()]))
    lo = int(index[bars.start]) if bars.start is not None else int(index[0])
    stop = bars.stop if bars.stop is not None else index.shape[0]
    out = {}
    for symbol, b in data.items():
        first = int(np.searchsorted(b.ts, lo, side="left"))
        last = (
            int(np.searchsorted(b.ts, index[stop], side="left")) if stop < index.shape[0]
            else len(b)
        )
        if last > first:
            out[symbol] = b.slice(first, last)
    return out


def run_slice(job: SliceJob, params: dict[str, Any], bars: slice) -> BacktestStats:
    """Backtest the candidate `params` on the timeline bars `bars` through the full engine.

    A top-level function so that `functools.partial(run_slice, job)` pickles into a spawned
    worker; each call runs its own event loop. Indicators warm up inside the window.
    """
    window = slice_bars(job_bars(job), bars)
    if not window:
        raise InputError(f"no bars in window {bars.start}..{bars.stop}")
    spec = spec_with(job, params)
    result, settings = asyncio.run(run_backtest(job.settings, window, spec))
    return analyse(result, settings, window, fill=spec.fill, limits=spec.limits,
                   compat=spec.compat, commission=spec.commission).stats
