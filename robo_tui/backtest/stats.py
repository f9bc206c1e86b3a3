"""Backtest statistics with backtesting.py's definitions, computed with numpy.

`compute_stats` turns an equity curve, its timestamps and the closed trades of a run into a
`BacktestStats`. Every figure follows backtesting.py's `compute_stats` (`backtesting/_stats.py`,
version 0.6) formula for formula, so a robo-tui backtest can be checked against that trusted peer
to a relative 1e-6: the daily (weekly, monthly, yearly) returns come from the last equity of each
calendar period, annualisation uses trading days inferred from the index (252 for weekday data,
365 when weekends trade), annual return and volatility compound the geometric mean period return,
and trade statistics count closed trades only while the equity curve includes open ones
(backtesting.py's `finalize_trades=False`). docs/backtesting.md writes every formula out.

Beyond the peer's figures there are a monthly and yearly returns table, P&L attribution per
strategy and per symbol, and buy-and-hold comparison figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

import numpy as np

from robo_tui.domain.frozen import frozen
from robo_tui.domain.market import FloatArray, IntArray
from robo_tui.domain.serialize import to_jsonable
from robo_tui.domain.time import datetime_to_ns, ns_to_datetime

_DAY_NS = 86_400 * 10**9
_MAX_NS = 2**63 - 1
_NS_RANGE = "timestamps must lie within 1677-09-21..2262-04-11 (int64 epoch nanoseconds)"
# Timedelta resolutions, coarsest first: pandas' `resolution_string` of the data period.
_RESOLUTIONS_NS = (_DAY_NS, 3_600 * 10**9, 60 * 10**9, 10**9, 10**6, 10**3, 1)


@frozen
class TradeRecord:
    """One round trip of one symbol, as the statistics and the reports need it.

    `size` is signed units (negative for a short). `entry_bar`/`exit_bar` index the run's bars.
    `pnl` is cash after all commissions of the trade; `return_pct` is in PERCENT (5.0 for +5%):
    the signed price return minus the commissions per unit of entry value, backtesting.py's
    `Trade.pl_pct` times 100. `TradeRecord.round_trip` computes both from the fills.
    For a trade still open at the end, `exit_*` is the last bar and its close (marked, not filled).
    """

    symbol: str
    size: float
    entry_bar: int
    exit_bar: int
    entry_time: datetime
    exit_time: datetime
    entry_price: float
    exit_price: float
    pnl: float
    return_pct: float
    commission: float
    strategy: str = ""

    @classmethod
    def round_trip(
        cls,
        *,
        symbol: str,
        size: float,
        entry_bar: int,
        exit_bar: int,
        entry_time: datetime,
        exit_time: datetime,
        entry_price: float,
        exit_price: float,
        commission: float,
        strategy: str = "",
    ) -> TradeRecord:
        """A trade with `pnl` and `return_pct` derived from the fills by backtesting.py's rules.

        pnl = size * (exit - entry) - commission;
        return_pct = 100 * (sign(size) * (exit / entry - 1) - commission / (|size| * entry)).
        """
        pnl = size * (exit_price - entry_price) - commission
        gross = math.copysign(1.0, size) * (exit_price / entry_price - 1.0)
        ret = gross - commission / (abs(size) * entry_price)
        return cls(
            symbol,
            size,
            entry_bar,
            exit_bar,
            entry_time,
            exit_time,
            entry_price,
            exit_price,
            pnl,
            ret * 100.0,
            commission,
            strategy,
        )

    @property
    def is_long(self) -> bool:
        """Whether the trade bought first."""
        return self.size > 0


@frozen
class PeriodReturn:
    """The equity return of one calendar month (`month` 1..12) or year (`month` 0), in percent."""

    year: int
    month: int
    return_pct: float


@frozen
class Attribution:
    """What one strategy (or one symbol) contributed: its closed trades' figures.

    `pnl_share_pct` is its share of the summed P&L of all closed trades; `contribution_pct` is its
    P&L relative to the starting equity; `exposure_pct` the share of bars it held a position.
    """

    name: str
    trades: int
    pnl: float
    pnl_share_pct: float
    contribution_pct: float
    commission: float
    win_rate_pct: float
    profit_factor: float
    expectancy_pct: float
    exposure_pct: float


@frozen
class BacktestStats:
    """The statistics of one backtest run; the keys of `--json`.

    The first block is the issue's key list, in its order, with backtesting.py's definitions
    (docs/backtesting.md). Percentages are in percent; `max_drawdown_pct` is negative; NaN means
    undefined (e.g. profit factor with no losing trade), and becomes null in JSON. Trade
    statistics count closed trades only; `open_trades` says how many were still open.
    """

    start: datetime
    end: datetime
    bars: int
    return_pct: float
    buy_hold_return_pct: float
    cagr_pct: float
    volatility_ann_pct: float
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown_pct: float
    max_drawdown_duration: str
    trades: int
    win_rate_pct: float
    profit_factor: float
    expectancy_pct: float
    sqn: float
    exposure_pct: float
    equity_final: float
    equity_peak: float
    # backtesting.py's other figures
    duration: str
    equity_start: float
    commissions: float
    return_ann_pct: float
    alpha_pct: float
    beta: float
    max_drawdown_duration_days: float
    avg_drawdown_pct: float
    avg_drawdown_duration: str
    best_trade_pct: float
    worst_trade_pct: float
    avg_trade_pct: float
    max_trade_duration: str
    avg_trade_duration: str
    kelly_criterion: float
    # context and tables
    annual_trading_days: float
    risk_free_rate: float
    open_trades: int
    buy_hold_max_drawdown_pct: float
    monthly_returns: tuple[PeriodReturn, ...]
    yearly_returns: tuple[PeriodReturn, ...]
    by_strategy: tuple[Attribution, ...]
    by_symbol: tuple[Attribution, ...]

    def metric(self, name: str) -> float:
        """A numeric statistic by field name (for optimisation); NaN stays NaN."""
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name!r} is not a numeric statistic")
        return float(value)


def numeric_stat_names() -> tuple[str, ...]:
    """The names of the numeric statistics of `BacktestStats` (what an optimiser may rank by)."""
    return tuple(f.name for f in fields(BacktestStats) if f.type in ("float", "int"))


def drawdown(equity: FloatArray) -> FloatArray:
    """The drawdown per bar as a positive fraction of the running peak: 1 - equity / peak.

    This is backtesting.py's `_equity_curve.DrawdownPct`; charts show it negated.
    """
    eq = np.asarray(equity, dtype=np.float64)
    result: FloatArray = 1.0 - eq / np.maximum.accumulate(eq)
    return result


def to_ns(index: Sequence[datetime] | IntArray | Any) -> IntArray:
    """Timestamps as int64 epoch nanoseconds (UTC); naive datetimes are taken as UTC.

    Accepts epoch-ns integer arrays, numpy datetime64 arrays (pandas DatetimeIndex works too)
    and sequences of datetimes.
    """
    arr = np.asarray(index)
    if arr.dtype.kind == "M":
        micros = arr.astype("datetime64[us]").view(np.int64)
        if micros.size and np.abs(micros).max() >= _MAX_NS // 1000:
            raise ValueError(_NS_RANGE)
        return arr.astype("datetime64[ns]").view(np.int64)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    try:
        return np.array([datetime_to_ns(ts) for ts in index], dtype=np.int64)
    except OverflowError:
        raise ValueError(_NS_RANGE) from None


def format_timedelta(ns: float) -> str:
    """A duration as pandas prints a Timedelta ('830 days 00:00:00'); '' when undefined."""
    if not math.isfinite(ns):
        return ""
    total = int(ns)
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rem = divmod(total, _DAY_NS)
    secs, frac = divmod(rem, 10**9)
    hours, secs = divmod(secs, 3600)
    minutes, secs = divmod(secs, 60)
    text = f"{sign}{days} days {hours:02d}:{minutes:02d}:{secs:02d}"
    if frac:
        text += f".{frac:09d}".rstrip("0")
    return text


# --------------------------------------------------------------------------- helpers


def geometric_mean(returns: FloatArray) -> float:
    """exp(mean(log(1 + r))) - 1; 0 when any 1 + r <= 0; NaN for no returns (NaN counts as 0)."""
    r = np.nan_to_num(np.asarray(returns, dtype=np.float64), nan=0.0) + 1.0
    if np.any(r <= 0):
        return 0.0
    if r.size == 0:
        return math.nan
    return float(np.exp(np.log(r).sum() / r.size) - 1.0)


def _data_period_ns(ts: IntArray) -> float:
    """The median spacing of the last 100 timestamps (backtesting.py's `_data_period`)."""
    tail = ts[-100:]
    if tail.size < 2:
        return math.nan
    wide = int(tail[-1]) - int(tail[0]) > _MAX_NS
    diffs = np.diff(tail.astype(object)).astype(np.float64) if wide else np.diff(tail)
    return float(np.median(diffs))


def _resolution_ns(period_ns: float) -> int:
    """The unit a duration is rounded up to: the coarsest unit dividing the data period."""
    if not math.isfinite(period_ns):
        return 1
    period = int(period_ns)
    return next((u for u in _RESOLUTIONS_NS if period % u == 0), 1)


def _ceil_ns(value: int, unit: int) -> int:
    return -(-value // unit) * unit


def _period_keys(ts: IntArray, freq: str) -> IntArray:
    """Calendar period number of each timestamp: day, week (Monday..Sunday), month or year."""
    days = ts // _DAY_NS
    if freq == "D":
        return days
    if freq == "W":
        return (days + 3) // 7  # 1970-01-01 was a Thursday; weeks end on Sunday (pandas 'W')
    unit = "M" if freq == "ME" else "Y"
    return ts.astype("datetime64[ns]").astype(f"datetime64[{unit}]").view(np.int64)


def _last_per_period(values: FloatArray, keys: IntArray) -> tuple[FloatArray, IntArray]:
    """The last non-NaN value in each calendar period (pandas `resample(...).last().dropna()`)."""
    ok = ~np.isnan(values)
    values, keys = values[ok], keys[ok]
    if values.size == 0:
        return values, keys
    last = np.r_[keys[1:] != keys[:-1], True]
    return values[last], keys[last]


def _pct_change(values: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 after a ruin: NaN, as pandas
        result: FloatArray = values[1:] / values[:-1] - 1.0
    return result


def _mean(values: FloatArray) -> float:
    return float(values.mean()) if values.size else math.nan


def _max(values: FloatArray) -> float:
    return float(values.max()) if values.size else math.nan


def _min(values: FloatArray) -> float:
    return float(values.min()) if values.size else math.nan


def _std(values: FloatArray) -> float:
    return float(values.std(ddof=1)) if values.size > 1 else math.nan


def _or_nan(value: float) -> float:
    """Python's `value or nan`: zero becomes NaN (backtesting.py's guard against dividing by 0)."""
    return value if value else math.nan


def _div(a: float, b: float) -> float:
    """a / b with IEEE semantics (±inf, NaN) instead of ZeroDivisionError."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(a) / np.float64(b))


def _drawdown_periods(dd: FloatArray, ts: IntArray) -> tuple[IntArray, FloatArray]:
    """Durations (ns) and depths of each drawdown period (backtesting.py's duration/peaks).

    A period runs from a bar at a new peak (dd == 0) to the next such bar, or to the last bar.
    """
    n = dd.size
    iloc = np.unique(np.r_[np.flatnonzero(dd == 0), n - 1])
    prev, cur = iloc[:-1], iloc[1:]
    gap = cur > prev + 1
    prev, cur = prev[gap], cur[gap]
    # Differences of int64 ns overflow beyond 292 years; Python ints don't.
    wide = int(ts[-1]) - int(ts[0]) > _MAX_NS
    stamps = ts.astype(object) if wide else ts
    durations: IntArray = stamps[cur] - stamps[prev]
    if prev.size == 0:
        return durations, np.empty(0)
    # Between one period's end and the next one's start dd is 0 and dd >= 0 elsewhere, so the
    # max over [prev_i, prev_i+1) is the max over period i.
    depths: FloatArray = np.maximum.reduceat(dd, prev)
    return durations, depths


def _win_rate(pl: FloatArray) -> float:
    return float((pl > 0).mean()) if pl.size else math.nan


def _profit_factor(returns: FloatArray) -> float:
    return _div(float(returns[returns > 0].sum()), _or_nan(abs(float(returns[returns < 0].sum()))))


def _exposure(trades: Sequence[TradeRecord], n: int) -> float:
    if n == 0:
        return math.nan
    have = np.zeros(n + 1, dtype=np.int64)
    for t in trades:
        have[t.entry_bar] += 1
        have[t.exit_bar + 1] -= 1
    return float((np.cumsum(have[:n]) > 0).mean() * 100.0)


def _attribution(
    trades: Sequence[TradeRecord], key: Callable[[TradeRecord], str], equity_start: float, n: int
) -> tuple[Attribution, ...]:
    groups: dict[str, list[TradeRecord]] = {}
    for t in trades:
        groups.setdefault(key(t), []).append(t)
    total_pnl = sum(t.pnl for t in trades)
    result = []
    for name, group in sorted(groups.items()):
        pl = np.array([t.pnl for t in group], dtype=np.float64)
        rets = np.array([t.return_pct for t in group], dtype=np.float64) / 100.0
        pnl = float(pl.sum())
        result.append(
            Attribution(
                name=name,
                trades=len(group),
                pnl=pnl,
                pnl_share_pct=_div(pnl, _or_nan(total_pnl)) * 100.0,
                contribution_pct=_div(pnl, equity_start) * 100.0,
                commission=float(sum(t.commission for t in group)),
                win_rate_pct=_win_rate(pl) * 100.0,
                profit_factor=_profit_factor(rets),
                expectancy_pct=_mean(rets) * 100.0,
                exposure_pct=_exposure(group, n),
            )
        )
    return tuple(result)


def _period_returns(equity: FloatArray, ts: IntArray, freq: str) -> tuple[PeriodReturn, ...]:
    """Return of each calendar month/year: its last equity over the previous period's last
    (the first period over the starting equity)."""
    keys = ts.astype("datetime64[ns]").astype("datetime64[M]").view(np.int64)
    if freq == "YE":
        keys = keys // 12
    ends, end_keys = _last_per_period(equity, keys)
    if ends.size == 0:
        return ()
    base = np.r_[equity[~np.isnan(equity)][0], ends[:-1]]
    with np.errstate(divide="ignore", invalid="ignore"):  # periods after a ruin: 0/0
        rets = (ends / base - 1.0) * 100.0
    out = []
    for k, r in zip(end_keys.tolist(), rets.tolist(), strict=True):
        if freq == "YE":
            out.append(PeriodReturn(1970 + k, 0, r))
        else:
            out.append(PeriodReturn(1970 + k // 12, k % 12 + 1, r))
    return tuple(out)


def _benchmark(
    close: FloatArray | Mapping[str, FloatArray] | None, n: int, first: int
) -> FloatArray | None:
    """The buy-and-hold value path: one close series, or an equal-weight basket of several.

    A basket holds 1/k of the capital in each symbol from `first` (or from its first price, cash
    before), each leg marked at its last known price.
    """
    if close is None:
        return None
    if not isinstance(close, Mapping):
        c = np.asarray(close, dtype=np.float64)
        if c.size != n:
            raise ValueError(f"close has {c.size} values for {n} bars")
        return c
    if not close:
        return None
    legs = []
    for symbol, series in close.items():
        c = np.asarray(series, dtype=np.float64)
        if c.size != n:
            raise ValueError(f"close of {symbol} has {c.size} values for {n} bars")
        valid = np.flatnonzero(~np.isnan(c) & (np.arange(n) >= first))
        leg = np.ones(n)
        if valid.size:
            start = int(valid[0])
            idx = np.where(~np.isnan(c), np.arange(n), 0)
            filled = c[np.maximum.accumulate(idx)]
            leg[start:] = filled[start:] / c[start]
        legs.append(leg)
    basket: FloatArray = np.mean(legs, axis=0)
    return basket


# --------------------------------------------------------------------------- compute_stats


def compute_stats(
    *,
    equity: FloatArray,
    index: Sequence[datetime] | IntArray,
    trades: Sequence[TradeRecord],
    close: FloatArray | Mapping[str, FloatArray] | None,
    risk_free_rate: float = 0.0,
    warmup_bars: int = 0,
    open_trades: Sequence[TradeRecord] = (),
) -> BacktestStats:
    """The statistics of a run from its per-bar equity, bar timestamps and closed trades.

    `equity` is marked to market at each bar's close, open positions included. `close` is the
    benchmark for buy-and-hold: the first symbol's closes, or a mapping of several symbols'
    closes held as an equal-weight basket. `warmup_bars` is where buy-and-hold starts (the
    strategies' indicator warm-up, as backtesting.py does). `risk_free_rate` is annual, as a
    fraction, and enters Sharpe, Sortino and alpha. `open_trades` are only counted, never
    included in the trade statistics. Raises ValueError on mismatched or unsorted input.
    """
    if not -1.0 < risk_free_rate < 1.0:
        raise ValueError(f"risk_free_rate must be a fraction in (-1, 1), got {risk_free_rate}")
    eq = np.asarray(equity, dtype=np.float64)
    ts = to_ns(index)
    n = int(eq.size)
    _check_bars(ts, n, warmup_bars, (*trades, *open_trades))

    dd = drawdown(eq)
    dd_durations, dd_depths = _drawdown_periods(dd, ts)
    if dd_depths.size == 0:
        # No completed drawdown period: backtesting.py averages the nonzero drawdowns instead.
        nonzero = dd[(dd != 0) & ~np.isnan(dd)]
        dd_depths = nonzero

    pl = np.array([t.pnl for t in trades], dtype=np.float64)
    rets = np.array([t.return_pct for t in trades], dtype=np.float64) / 100.0
    trade_ns = np.array(
        [datetime_to_ns(t.exit_time) - datetime_to_ns(t.entry_time) for t in trades],
        dtype=np.int64,
    )
    period_ns = _data_period_ns(ts)
    unit = _resolution_ns(period_ns)
    yearly = _annualised(eq, ts, period_ns, risk_free_rate)
    span_ns = int(ts[-1]) - int(ts[0])
    span_days, span_rem = divmod(span_ns, _DAY_NS)
    years = (span_days + (span_rem // 10**9) / 86_400) / 365.25
    growth = _div(float(eq[-1]), float(eq[0]))
    # an account wiped out below zero has no real growth rate: it lost everything, -100 %
    # and a huge gain over a few hours overflows to +inf, as backtesting.py's numpy power does
    with np.errstate(over="ignore"):
        compounded = float(np.power(np.float64(growth), 1.0 / years)) if growth > 0 else 0.0
    cagr = compounded - 1.0 if years else math.nan

    return_pct = (eq[-1] - eq[0]) / eq[0] * 100.0
    max_dd = -float(np.nan_to_num(np.nanmax(dd) if not np.all(np.isnan(dd)) else np.nan))
    calmar = _div(yearly.annualized, _or_nan(-max_dd))
    bh_return, bh_max_dd, beta = _buy_and_hold(_benchmark(close, n, warmup_bars), eq, warmup_bars)
    alpha = return_pct - risk_free_rate * 100.0 - beta * (bh_return - risk_free_rate * 100.0)

    win_rate = _win_rate(pl)
    wins, losses = pl[pl > 0], pl[pl < 0]
    kelly = win_rate - (1.0 - win_rate) / _div(_mean(wins), -_mean(losses))
    max_dd_dur = _rounded(dd_durations, "max", unit)
    avg_dd_dur = _rounded(dd_durations, "mean", unit)
    equity_start = float(eq[0])

    return BacktestStats(
        start=ns_to_datetime(int(ts[0])),
        end=ns_to_datetime(int(ts[-1])),
        bars=n,
        return_pct=float(return_pct),
        buy_hold_return_pct=bh_return,
        cagr_pct=float(cagr * 100.0),
        volatility_ann_pct=yearly.vol_pct,
        sharpe=yearly.sharpe,
        sortino=yearly.sortino,
        calmar=calmar,
        max_drawdown_pct=max_dd * 100.0,
        max_drawdown_duration=format_timedelta(max_dd_dur),
        trades=len(trades),
        win_rate_pct=win_rate * 100.0,
        profit_factor=_profit_factor(rets),
        expectancy_pct=_mean(rets) * 100.0,
        sqn=_div(math.sqrt(len(trades)) * _mean(pl), _or_nan(_std(pl))),
        exposure_pct=_exposure(trades, n),
        equity_final=float(eq[-1]),
        equity_peak=float(np.nanmax(eq)) if not np.all(np.isnan(eq)) else math.nan,
        duration=format_timedelta(float(span_ns)),
        equity_start=equity_start,
        commissions=float(sum(t.commission for t in trades)),
        return_ann_pct=yearly.ann_pct,
        alpha_pct=float(alpha),
        beta=beta,
        max_drawdown_duration_days=max_dd_dur / _DAY_NS,
        avg_drawdown_pct=-_mean(dd_depths) * 100.0,
        avg_drawdown_duration=format_timedelta(avg_dd_dur),
        best_trade_pct=_max(rets) * 100.0,
        worst_trade_pct=_min(rets) * 100.0,
        avg_trade_pct=geometric_mean(rets) * 100.0,
        max_trade_duration=format_timedelta(_rounded(trade_ns, "max", unit)),
        avg_trade_duration=format_timedelta(_rounded(trade_ns, "mean", unit)),
        kelly_criterion=kelly,
        annual_trading_days=float(yearly.annual_days),
        risk_free_rate=risk_free_rate,
        open_trades=len(open_trades),
        buy_hold_max_drawdown_pct=bh_max_dd,
        monthly_returns=_period_returns(eq, ts, "ME"),
        yearly_returns=_period_returns(eq, ts, "YE"),
        by_strategy=_attribution(trades, lambda t: t.strategy, equity_start, n),
        by_symbol=_attribution(trades, lambda t: t.symbol, equity_start, n),
    )


def _check_bars(ts: IntArray, n: int, warmup_bars: int, trades: Sequence[TradeRecord]) -> None:
    """ValueError unless there are `n` > 0 sorted timestamps, a warm-up inside them, and every
    trade's bars within the equity curve."""
    if n == 0:
        raise ValueError("an empty equity curve has no statistics")
    if ts.size != n:
        raise ValueError(f"index has {ts.size} timestamps for {n} equity values")
    if np.any(ts[1:] < ts[:-1]):
        raise ValueError("index must be sorted oldest first")
    if not 0 <= warmup_bars < n:
        raise ValueError(f"warmup_bars must be in [0, {n}), got {warmup_bars}")
    for t in trades:
        if not 0 <= t.entry_bar <= t.exit_bar < n:
            raise ValueError(
                f"trade bars {t.entry_bar}..{t.exit_bar} outside the {n} bars of the equity curve"
            )


def _rounded(durations: IntArray, how: str, unit: int) -> float:
    """The longest (`how` "max") or mean duration in ns, rounded up to the data's `unit`."""
    if durations.size == 0:
        return math.nan
    if how == "max":
        return float(_ceil_ns(int(durations.max()), unit))
    total = int(durations.astype(object).sum())  # exact: a long sum overflows float ns
    return float(-(-total // (durations.size * unit)) * unit)


@frozen
class _Annual:
    """The annualised figures of one equity curve."""

    annual_days: int
    annualized: float
    ann_pct: float
    vol_pct: float
    sharpe: float
    sortino: float


def _annualised(eq: FloatArray, ts: IntArray, period_ns: float, risk_free_rate: float) -> _Annual:
    """Annual return, volatility, Sharpe and Sortino from the per-period (day, week, month or
    year, as the data's spacing says) returns, as backtesting.py computes them."""
    # Annualisation: trading days inferred from the spacing and the share of weekend bars.
    freq_days = int(period_ns // _DAY_NS) if math.isfinite(period_ns) else 0
    days = ts // _DAY_NS
    weekday = (days + 3) % 7  # Monday = 0
    have_weekends = float(((weekday == 5) | (weekday == 6)).mean()) > 2 / 7 * 0.6
    annual_days = {7: 52, 31: 12, 365: 1}.get(freq_days, 365 if have_weekends else 252)
    freq = {7: "W", 31: "ME", 365: "YE"}.get(freq_days, "D")
    period_values, _ = _last_per_period(eq, _period_keys(ts, freq))
    day_returns = _pct_change(period_values) if period_values.size > 1 else np.empty(0)
    gmean = geometric_mean(day_returns)

    annualized = (1.0 + gmean) ** annual_days - 1.0
    var = float(day_returns.var(ddof=1)) if day_returns.size > 1 else math.nan
    with np.errstate(invalid="ignore"):
        vol = float(
            np.sqrt((var + (1.0 + gmean) ** 2) ** annual_days - (1.0 + gmean) ** (2 * annual_days))
        )
    ann_pct = annualized * 100.0
    vol_pct = vol * 100.0
    downside = (
        float(np.sqrt(np.mean(np.clip(day_returns, -np.inf, 0) ** 2)))
        if (day_returns.size)
        else math.nan
    )
    return _Annual(
        annual_days=annual_days,
        annualized=annualized,
        ann_pct=ann_pct,
        vol_pct=vol_pct,
        sharpe=_div(ann_pct - risk_free_rate * 100.0, _or_nan(vol_pct)),
        sortino=_div(annualized - risk_free_rate, downside * math.sqrt(annual_days)),
    )


def _buy_and_hold(
    bench: FloatArray | None, eq: FloatArray, warmup_bars: int
) -> tuple[float, float, float]:
    """Buy-and-hold return and max drawdown (%) from the warm-up on, and the run's beta to it
    (all NaN without a benchmark)."""
    bh_return = math.nan
    bh_max_dd = math.nan
    beta = math.nan
    if bench is None:
        return bh_return, bh_max_dd, beta
    b0 = bench[warmup_bars]
    bh_return = float((bench[-1] - b0) / b0 * 100.0)
    held = bench[warmup_bars:]
    with np.errstate(invalid="ignore", divide="ignore"):
        bh_max_dd = -float(np.nanmax(1.0 - held / np.fmax.accumulate(held))) * 100.0
        eq_log = np.log(eq[1:] / eq[:-1])
        mkt_log = np.log(bench[1:] / bench[:-1])
    if eq_log.size > 1:
        cov = np.cov(eq_log, mkt_log)
        beta = _div(float(cov[0, 1]), float(cov[1, 1]))
    return bh_return, bh_max_dd, beta


# --------------------------------------------------------------------------- JSON


def trade_to_json(trade: TradeRecord) -> dict[str, Any]:
    """One trade as JSON-able data: times as ISO strings, plus its duration."""
    data: dict[str, Any] = to_jsonable(trade)
    data["duration"] = format_timedelta(
        float(datetime_to_ns(trade.exit_time) - datetime_to_ns(trade.entry_time))
    )
    return data


def to_json(
    stats: BacktestStats,
    trades: Sequence[TradeRecord],
    *,
    open_trades: Sequence[TradeRecord] = (),
) -> dict[str, Any]:
    """The statistics and the trade list as strict-JSON data (the `--json` file).

    All `BacktestStats` fields, with datetimes as ISO strings and NaN/inf as null, plus
    `trade_list` (closed trades: entry/exit time, bar, price, size, P&L, ...) and
    `open_trade_list` (positions still open at the end, marked at the last close).
    """
    data: dict[str, Any] = to_jsonable(stats)
    data["trade_list"] = [trade_to_json(t) for t in trades]
    data["open_trade_list"] = [trade_to_json(t) for t in open_trades]
    return data
