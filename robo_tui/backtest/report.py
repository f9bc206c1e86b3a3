"""The terminal backtest report: rich tables and a plotext equity and drawdown chart.

Everything that came from outside (symbols, strategy names) is rendered as `rich.text.Text`,
never as markup. Number formatting (`robo_tui.backtest.figures`) is shared with the HTML report
and the stored-run listing.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import plotext as plt
from rich import box
from rich.console import Console, Group
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from robo_tui.backtest.figures import DASH, decimate, fmt_num, fmt_pct, json_number
from robo_tui.backtest.stats import (
    Attribution,
    BacktestStats,
    PeriodReturn,
    TradeRecord,
    to_ns,
)
from robo_tui.backtest.stats import drawdown as drawdown_of
from robo_tui.backtest.walkforward import WalkForwardResult, WindowResult
from robo_tui.domain.market import FloatArray, IntArray
from robo_tui.domain.time import ns_to_datetime

if TYPE_CHECKING:
    from robo_tui.backtest.results import StoredRun

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --------------------------------------------------------------------------- formatting


def fmt_price(value: float) -> str:
    """A price with as many decimals as it has, from 2 up to 6 (593.00, 1.23456)."""
    if not math.isfinite(value):
        return fmt_num(value)
    tolerance = 1e-9 * max(1.0, abs(value))
    digits = next((d for d in range(2, 6) if abs(round(value, d) - value) <= tolerance), 6)
    return fmt_num(value, digits)


def fmt_time(ts: datetime) -> str:
    """A timestamp as a date, with the time of day only when it is not midnight."""
    if (ts.hour, ts.minute, ts.second) == (0, 0, 0):
        return ts.strftime("%Y-%m-%d")
    return ts.strftime("%Y-%m-%d %H:%M")


def fmt_duration(text: str) -> str:
    """A pandas-style duration ('830 days 00:00:00') without its zero parts ('830 days');
    a dash when undefined."""
    if not text:
        return DASH
    days, _, clock = text.partition(" days ")
    if not clock:
        return text
    if clock == "00:00:00":
        return "1 day" if days == "1" else f"{days} days"
    return clock if days == "0" else f"{days}d {clock}"


def summary_rows(stats: BacktestStats) -> list[tuple[str, list[tuple[str, str]]]]:
    """The summary statistics as (section, [(label, value)]) for both reports."""
    return [
        (
            "Period",
            [
                ("Start", fmt_time(stats.start)),
                ("End", fmt_time(stats.end)),
                ("Duration", fmt_duration(stats.duration)),
                ("Bars", f"{stats.bars:,}"),
                ("Exposure", fmt_pct(stats.exposure_pct)),
            ],
        ),
        (
            "Returns",
            [
                ("Equity start", fmt_num(stats.equity_start)),
                ("Equity final", fmt_num(stats.equity_final)),
                ("Equity peak", fmt_num(stats.equity_peak)),
                ("Return", fmt_pct(stats.return_pct)),
                ("Return (ann.)", fmt_pct(stats.return_ann_pct)),
                ("CAGR", fmt_pct(stats.cagr_pct)),
                ("Commissions", fmt_num(stats.commissions)),
            ],
        ),
        (
            "Risk",
            [
                ("Volatility (ann.)", fmt_pct(stats.volatility_ann_pct)),
                ("Sharpe", fmt_num(stats.sharpe)),
                ("Sortino", fmt_num(stats.sortino)),
                ("Calmar", fmt_num(stats.calmar)),
                ("Max drawdown", fmt_pct(stats.max_drawdown_pct)),
                ("Avg drawdown", fmt_pct(stats.avg_drawdown_pct)),
                ("Max DD duration", fmt_duration(stats.max_drawdown_duration)),
                ("Avg DD duration", fmt_duration(stats.avg_drawdown_duration)),
            ],
        ),
        (
            "Trades",
            [
                ("Closed trades", f"{stats.trades:,}"),
                ("Open at end", f"{stats.open_trades:,}"),
                ("Win rate", fmt_pct(stats.win_rate_pct)),
                ("Best trade", fmt_pct(stats.best_trade_pct)),
                ("Worst trade", fmt_pct(stats.worst_trade_pct)),
                ("Avg trade (geo.)", fmt_pct(stats.avg_trade_pct)),
                ("Expectancy", fmt_pct(stats.expectancy_pct)),
                ("Profit factor", fmt_num(stats.profit_factor)),
                ("SQN", fmt_num(stats.sqn)),
                ("Kelly", fmt_num(stats.kelly_criterion, 4)),
                ("Max trade duration", fmt_duration(stats.max_trade_duration)),
                ("Avg trade duration", fmt_duration(stats.avg_trade_duration)),
            ],
        ),
    ]


def benchmark_rows(stats: BacktestStats) -> list[tuple[str, str, str]]:
    """Strategy versus buy-and-hold as (figure, strategy, buy and hold) rows."""
    return [
        ("Return", fmt_pct(stats.return_pct), fmt_pct(stats.buy_hold_return_pct)),
        ("Max drawdown", fmt_pct(stats.max_drawdown_pct), fmt_pct(stats.buy_hold_max_drawdown_pct)),
        ("Alpha", fmt_pct(stats.alpha_pct), DASH),
        ("Beta", fmt_num(stats.beta, 3), "1.000"),
    ]


def monthly_grid(
    monthly: Sequence[PeriodReturn], yearly: Sequence[PeriodReturn]
) -> list[tuple[int, list[float], float]]:
    """(year, 12 monthly returns with NaN for missing months, year return) rows."""
    years: dict[int, list[float]] = {}
    for m in monthly:
        years.setdefault(m.year, [math.nan] * 12)[m.month - 1] = m.return_pct
    totals = {y.year: y.return_pct for y in yearly}
    return [(year, row, totals.get(year, math.nan)) for year, row in sorted(years.items())]


def attribution_rows(rows: Sequence[Attribution]) -> list[list[str]]:
    """Attribution figures as table cells (name first)."""
    return [
        [
            a.name or "(unnamed)",
            f"{a.trades:,}",
            fmt_num(a.pnl),
            fmt_pct(a.pnl_share_pct, 1),
            fmt_pct(a.contribution_pct),
            fmt_pct(a.win_rate_pct, 1),
            fmt_num(a.profit_factor),
            fmt_pct(a.expectancy_pct),
            fmt_pct(a.exposure_pct, 1),
            fmt_num(a.commission),
        ]
        for a in rows
    ]


ATTRIBUTION_HEADERS = (
    "Trades", "P&L", "Share", "Contribution", "Win rate", "Profit factor", "Expectancy",
    "Exposure", "Commission",
)  # fmt: skip


# --------------------------------------------------------------------------- rich parts


def _value_style(value: float) -> str:
    if math.isnan(value) or value == 0:
        return ""
    return "green" if value > 0 else "red"


def fit_table(console: Console, *layouts: Callable[[], Table]) -> Table:
    """The first (richest) of `layouts` whose natural width fits the console; failing that the
    last with one space between columns: a narrow terminal gets a compact table instead of one
    whose every cell is cut short."""
    unbounded = console.options.update_width(1 << 20)  # measure the natural width, unclamped
    for build in layouts:
        table = build()
        if Measurement.get(console, unbounded, table).maximum <= console.width:
            return table
    table.padding = (0, 0, 0, 0)
    return table


def fit_layout(console: Console, build: Callable[[bool, bool], Table]) -> Table:
    """`fit_table` over `build(compact, narrow)`'s three layouts: boxed, compact, then compact
    with fewer columns."""
    variants = ((False, False), (True, False), (True, True))
    return fit_table(console, *(partial(build, *v) for v in variants))


def report_table(title: str, compact: bool) -> Table:
    """A report table: boxed, or when `compact` with only a rule under the header and two
    spaces between columns."""
    if compact:
        return Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                     padding=(0, 0, 0, 1))  # fmt: skip
    return Table(title=title)


def _summary_table(stats: BacktestStats, per_row: int) -> Table:
    """The summary sections side by side, `per_row` to a band."""
    table = Table(title="Summary", show_header=False, box=None, padding=(0, 1))
    for _ in range(per_row):
        table.add_column(justify="left", style="bold", no_wrap=True)
        table.add_column(justify="right", no_wrap=True)
    sections = summary_rows(stats)
    bands = [sections[i : i + per_row] for i in range(0, len(sections), per_row)]
    for n, band in enumerate(bands):
        if n:
            table.add_row()
        blank = [Text()] * (2 * (per_row - len(band)))
        table.add_row(*[c for title, _ in band for c in (Text(title, style="underline"), Text())],
                      *blank)  # fmt: skip
        for i in range(max(len(rows) for _, rows in band)):
            cells: list[Text] = []
            for _, rows in band:
                label, value = rows[i] if i < len(rows) else ("", "")
                cells += [Text(label), Text(value)]
            table.add_row(*cells, *blank)
    return table


def _benchmark_table(stats: BacktestStats) -> Table:
    table = Table(title="Strategy vs buy & hold")
    table.add_column("")
    table.add_column("Strategy", justify="right")
    table.add_column("Buy & hold", justify="right")
    for label, mine, bench in benchmark_rows(stats):
        table.add_row(Text(label), Text(mine), Text(bench))
    return table


def _monthly_table(stats: BacktestStats, compact: bool, narrow: bool) -> Table:
    """Narrow: whole percents."""
    digits = 0 if narrow else 1
    table = report_table("Monthly returns (%)", compact)
    table.add_column("Year")
    for month in MONTHS:
        table.add_column(month, justify="right")
    table.add_column("Year", justify="right", style="bold")
    for year, months, total in monthly_grid(stats.monthly_returns, stats.yearly_returns):
        cells = [Text(str(year))]
        for r in months:
            cells.append(Text("" if math.isnan(r) else fmt_num(r, digits), style=_value_style(r)))
        cells.append(Text(fmt_num(total, digits), style=_value_style(total)))
        table.add_row(*cells)
    return table


# (header, narrow header) of the attribution columns after the name; a narrow table keeps the
# ones with a narrow header
ATTRIBUTION_COLUMNS = (
    ("Trades", "Trades"), ("P&L", "P&L"), ("Share", "Share"), ("Contribution", ""),
    ("Win rate", "Win"), ("Profit factor", "PF"), ("Expectancy", "Expect."), ("Exposure", ""),
    ("Commission", ""),
)  # fmt: skip


def _attribution_table(title: str, first: str, rows: Sequence[Attribution], compact: bool,
                       narrow: bool) -> Table:  # fmt: skip
    table = report_table(title, compact)
    table.add_column(first)
    keep = [i for i, (_, short) in enumerate(ATTRIBUTION_COLUMNS) if short or not narrow]
    for i in keep:
        wide, short = ATTRIBUTION_COLUMNS[i]
        table.add_column(short if narrow else wide, justify="right")
    for a, cells in zip(rows, attribution_rows(rows), strict=True):
        styled = [Text(c) for c in cells]
        styled[2].stylize(_value_style(a.pnl))
        table.add_row(styled[0], *(styled[i + 1] for i in keep))
    return table


def _trades_table(trades: Sequence[TradeRecord], limit: int, compact: bool,
                  narrow: bool) -> Table:  # fmt: skip
    """The last `limit` trades. Narrow: no symbol or strategy column when all trades share it
    (the report's title names them), no bar numbers."""
    shown = list(trades)[-limit:] if limit else []
    title = f"Trades (last {len(shown)} of {len(trades)})" if len(shown) < len(trades) else "Trades"
    table = report_table(title, compact)
    columns: list[tuple[str, Callable[[TradeRecord], Text]]] = []
    if not narrow or len({t.symbol for t in trades}) > 1:
        columns.append(("Symbol", lambda t: Text(t.symbol)))
    if not narrow or len({t.strategy for t in trades}) > 1:
        columns.append(("Strategy", lambda t: Text(t.strategy)))

    def when(ts: datetime, bar: int) -> Text:
        return Text(fmt_time(ts) if narrow else f"{fmt_time(ts)} #{bar}")

    def price(value: float) -> Text:
        return Text(fmt_price(value))

    columns += [
        ("Side", lambda t: Text("long" if t.is_long else "short")),
        ("Size", lambda t: Text(f"{abs(t.size):,.6g}")),
        ("Entry", lambda t: when(t.entry_time, t.entry_bar)),
        ("Entry price", lambda t: price(t.entry_price)),
        ("Exit", lambda t: when(t.exit_time, t.exit_bar)),
        ("Exit price", lambda t: price(t.exit_price)),
        ("P&L", lambda t: Text(fmt_num(t.pnl), style=_value_style(t.pnl))),
        ("Return", lambda t: Text(fmt_pct(t.return_pct), style=_value_style(t.return_pct))),
    ]
    for header, _ in columns:
        right = "price" in header or header in ("Size", "P&L", "Return")
        table.add_column(header, justify="right" if right else "left")
    for t in shown:
        table.add_row(*(cell(t) for _, cell in columns))
    return table


def equity_chart(
    equity: FloatArray,
    drawdown: FloatArray,
    index: Sequence[datetime] | IntArray,
    *,
    width: int,
    height: int = 24,
    color: bool = True,
) -> str:
    """An equity chart over a drawdown chart as plotext text (ANSI colours when `color`).

    The x axis is bar number with dates as tick labels; the drawdown is shown as a negative
    percentage; long series are decimated to the chart's resolution.
    """
    eq = np.asarray(equity, dtype=np.float64)
    dd = -np.abs(np.asarray(drawdown, dtype=np.float64)) * 100.0
    ts = to_ns(index)
    buckets = max(10, width * 2)
    ex, ey = decimate(eq, buckets)
    dx, dy = decimate(dd, buckets, "min")
    ticks = np.unique(np.linspace(0, eq.size - 1, 5).astype(np.int64))
    labels = [fmt_time(ns_to_datetime(int(ts[i]))) for i in ticks]

    plt.clear_figure()
    plt.limitsize(False, False)  # size to the console, not to the (maybe absent) terminal
    plt.subplots(2, 1)
    plt.plotsize(width, height)
    plt.theme("clear")
    top = plt.subplot(1, 1)
    top.plotsize(width, max(6, height * 2 // 3))
    plt.plot(ex.tolist(), ey.tolist(), color="cyan" if color else "default", marker="braille")
    plt.title("Equity")
    plt.xticks(ticks.tolist(), labels)
    bottom = plt.subplot(2, 1)
    bottom.plotsize(width, max(4, height // 3))
    plt.plot(dx.tolist(), dy.tolist(), color="red" if color else "default", marker="braille",
             fillx=True)  # fmt: skip
    plt.title("Drawdown (%)")
    plt.xticks(ticks.tolist(), labels)
    text: str = plt.build()
    plt.clear_figure()
    return text if color else str(plt.uncolorize(text))


def render_report(
    stats: BacktestStats,
    trades: Sequence[TradeRecord],
    equity: FloatArray,
    drawdown: FloatArray,
    index: Sequence[datetime] | IntArray,
    *,
    console: Console,
    max_trades: int = 20,
    chart: bool = True,
    warnings: Sequence[str] = (),
) -> None:
    """Print `report` sized to the console's width, in colour when the console has it."""
    color = console.color_system is not None and not console.no_color
    console.print(report(stats, trades, equity, drawdown, index, width=console.width,
                         color=color, max_trades=max_trades, chart=chart,
                         warnings=warnings))  # fmt: skip


def report(
    stats: BacktestStats,
    trades: Sequence[TradeRecord],
    equity: FloatArray,
    drawdown: FloatArray,
    index: Sequence[datetime] | IntArray,
    *,
    width: int,
    color: bool = True,
    max_trades: int = 20,
    chart: bool = True,
    warnings: Sequence[str] = (),
) -> Group:
    """The backtest report: the checks' warnings first (a figure built on nonsense must not
    read as a result), then summary, buy-and-hold comparison, monthly returns, per-strategy (and
    per-symbol, when several) attribution, recent trades, and the equity and drawdown chart, for
    `width` columns. Tables that would not fit fall back to compact layouts (fewer borders, then
    fewer columns and digits).

    `drawdown` is per bar, as `stats.drawdown` gives it (a positive fraction; the sign is
    ignored). `max_trades` caps the trade table (0 hides it); the HTML report lists them all.
    """
    console = Console(width=width, file=io.StringIO())  # measures the tables, prints nothing

    def fit(build: Callable[..., Table], *args: object) -> Table:
        """`build(*args, compact, narrow)` in the layout that fits."""
        return fit_layout(console, partial(build, *args))

    parts: list[Table | Panel | Text] = []
    if warnings:
        parts.append(warnings_panel(warnings))
    parts += [
        fit_table(console, *(partial(_summary_table, stats, n) for n in (4, 2, 1))),
        _benchmark_table(stats),
        fit(_monthly_table, stats),
    ]
    if stats.by_strategy:
        parts.append(fit(_attribution_table, "Per-strategy attribution", "Strategy",
                         stats.by_strategy))  # fmt: skip
    if len(stats.by_symbol) > 1:
        parts.append(fit(_attribution_table, "Per-symbol attribution", "Symbol", stats.by_symbol))
    if max_trades and trades:
        parts.append(fit(_trades_table, trades, max_trades))
    if chart and len(equity) > 1:
        art = equity_chart(equity, drawdown, index, width=max(40, width - 4), color=color)
        parts.append(Panel(Text.from_ansi(art), title="Equity and drawdown", expand=False))
    return Group(*parts)


def warnings_panel(warnings: Sequence[str]) -> Panel:
    """The checks' warnings, one per line, in a yellow box."""
    body = Text("\n".join(f"! {w}" for w in warnings), style="yellow")
    return Panel(body, title=f"{len(warnings)} warning(s)", border_style="bold yellow",
                 title_align="left")


def stored_report(run: StoredRun, *, width: int, color: bool = True, max_trades: int = 20,
                  chart: bool = True) -> Group:  # fmt: skip
    """A stored run's report (`backtest --show`, the console's Backtests screen): a heading
    with its settings, then `report`, or a walk-forward run's summary."""
    if run.kind == "walk_forward":
        return _stored_walk_forward(run)
    stats, trades = run.stats(), run.trades()
    ts, equity = run.equity()
    p = run.params
    strategies = " ".join(
        f"{n}({', '.join(f'{k}={v}' for k, v in ps.items() if (k, v) != ('weight', 1.0))})"
        for n, ps in (p.get("strategies") or {}).items()
    )
    heading = Text.assemble(
        (f"Run {run.id}", "bold"), f" · {run.ts[:19].replace('T', ' ')} UTC\n",
        f"{', '.join(p.get('symbols', []))} · {strategies} · cash {p.get('cash')} · commission "
        f"{p.get('commission')} · fill {p.get('fill')} · "
        f"{'compat' if p.get('compat') else 'config risk profile'}",
        (" · STOPPED EARLY" if p.get("stopped_early") else "", "bold yellow"),
    )  # fmt: skip
    dd = drawdown_of(equity) if equity.size else equity
    body = report(stats, trades, equity, dd, ts, width=width, color=color, max_trades=max_trades,
                  chart=chart and equity.size > 1,
                  warnings=[str(w) for w in p.get("warnings") or ()])  # fmt: skip
    return Group(heading, body)


def _stored_walk_forward(run: StoredRun) -> Group:
    s, p = run.stats_json, run.params
    heading = Text.assemble(
        (f"Walk-forward run {run.id}", "bold"),
        f" · {run.ts[:19].replace('T', ' ')} UTC · {', '.join(p.get('symbols', []))} · "
        f"ranked by {s.get('metric')}",
    )
    table = Table(title="In-sample vs out-of-sample")
    table.add_column("")
    table.add_column("In-sample", justify="right")
    table.add_column("Out-of-sample", justify="right")
    ins, oos = s.get("in_sample") or {}, s.get("out_of_sample") or {}
    for label, key, pct in (("Mean metric", "metric_mean", False),
                            ("Mean return", "return_pct_mean", True),
                            ("Compounded return", "return_pct_compounded", True),
                            ("Mean Sharpe", "sharpe_mean", False),
                            ("Worst drawdown", "max_drawdown_pct_worst", True),
                            ("Win rate", "win_rate_pct", True)):  # fmt: skip
        fmt: Callable[[float], str] = fmt_pct if pct else fmt_num
        # train windows overlap: compounding their returns means nothing (as in the live report)
        mine = DASH if key == "return_pct_compounded" else fmt(json_number(ins.get(key)))
        table.add_row(Text(label), Text(mine), Text(fmt(json_number(oos.get(key)))))
    table.add_row(Text("Trades"), Text(str(ins.get("trades"))), Text(str(oos.get("trades"))))
    guard = Text(
        f"Trials: {s.get('trials')} ({len(s.get('windows', []))} windows × "
        f"{s.get('candidates')} candidates) · degradation "
        f"{fmt_num(json_number(s.get('degradation')), 3)} "
        f"({fmt_pct(json_number(s.get('degradation_pct')), 0)}) · efficiency "
        f"{fmt_num(json_number(s.get('efficiency')))}"
    )
    notes = [Text(f"⚠ {note}", style="bold yellow") for note in s.get("warnings", [])]
    return Group(heading, table, guard, *notes)


def _windows_table(result: WalkForwardResult, compact: bool, narrow: bool) -> Table:
    """Each walk-forward window: its chosen parameters and in- and out-of-sample figures.
    Narrow: the test period only, short headers, no in-sample return."""
    metric = result.metric
    table = report_table(f"Walk-forward windows (ranked by {metric})", compact)
    columns: list[tuple[str, str, Callable[[WindowResult], Text]]] = [
        ("#", "#", lambda w: Text(str(w.index + 1))),
        ("Train", "", lambda w: Text(_span(w.in_sample))),
        ("Test", "Test", lambda w: Text(_span(w.out_of_sample))),
        ("Chosen params", "Params",
         lambda w: Text(" ".join(f"{k}={v}" for k, v in w.params.items()) or "(defaults)")),
        (f"IS {metric}", "IS", lambda w: Text(fmt_num(w.is_metric, 3))),
        (f"OOS {metric}", "OOS",
         lambda w: Text(fmt_num(w.oos_metric, 3), style=_value_style(w.oos_metric))),
        ("Degradation", "Degr.",
         lambda w: Text(fmt_num(w.degradation, 3), style=_value_style(-w.degradation))),
        ("IS return", "", lambda w: Text(fmt_pct(w.in_sample.return_pct))),
        ("OOS return", "OOS ret.", lambda w: Text(fmt_pct(w.out_of_sample.return_pct),
                                                  style=_value_style(w.out_of_sample.return_pct))),
        ("OOS trades", "Trades", lambda w: Text(f"{w.out_of_sample.trades:,}")),
    ]  # fmt: skip
    kept = [
        (short if narrow else wide, cell) for wide, short, cell in columns if short or not narrow
    ]
    for header, _ in kept:
        left = header in ("Train", "Test", "Chosen params", "Params")
        table.add_column(header, justify="left" if left else "right",
                         no_wrap=header in ("Train", "Test"))  # fmt: skip
    for w in result.windows:
        table.add_row(*(cell(w) for _, cell in kept))
    return table


def _span(stats: BacktestStats) -> str:
    return f"{fmt_time(stats.start)} → {fmt_time(stats.end)}"


def render_walk_forward(result: WalkForwardResult, *, console: Console) -> None:
    """Print a walk-forward run: each window's chosen parameters with in-sample and
    out-of-sample figures side by side, both samples' summaries, and the overfitting guard."""
    metric = result.metric
    windows = fit_layout(console, partial(_windows_table, result))
    samples = Table(title="In-sample vs out-of-sample")
    samples.add_column("")
    samples.add_column("In-sample", justify="right")
    samples.add_column("Out-of-sample", justify="right")
    ins, oos = result.in_sample, result.out_of_sample
    for label, a, b in (
        (f"Mean {metric}", fmt_num(ins.metric_mean, 3), fmt_num(oos.metric_mean, 3)),
        (f"Median {metric}", fmt_num(ins.metric_median, 3), fmt_num(oos.metric_median, 3)),
        ("Mean return", fmt_pct(ins.return_pct_mean), fmt_pct(oos.return_pct_mean)),
        ("Compounded return", DASH, fmt_pct(oos.return_pct_compounded)),
        ("Worst drawdown", fmt_pct(ins.max_drawdown_pct_worst), fmt_pct(oos.max_drawdown_pct_worst)),
        ("Trades", f"{ins.trades:,}", f"{oos.trades:,}"),
        ("Win rate", fmt_pct(ins.win_rate_pct), fmt_pct(oos.win_rate_pct)),
        ("Positive windows", fmt_pct(ins.positive_windows_pct, 0), fmt_pct(oos.positive_windows_pct, 0)),
    ):  # fmt: skip
        samples.add_row(Text(label), Text(a), Text(b))
    if metric != "sharpe":
        samples.add_row(Text("Mean Sharpe"), Text(fmt_num(ins.sharpe_mean, 3)),
                        Text(fmt_num(oos.sharpe_mean, 3)))  # fmt: skip
    # Train windows overlap, so compounding in-sample returns means nothing: shown as a dash.
    guard = Table(title="Overfitting guard", show_header=False)
    guard.add_column(style="bold")
    guard.add_column(justify="right")
    guard.add_row(Text("Trials (windows × candidates)"),
                  Text(f"{result.trials:,} ({len(result.windows)} × {result.candidates})"))  # fmt: skip
    guard.add_row(Text(f"Degradation of mean {metric}"),
                  Text(f"{fmt_num(result.degradation, 3)} ({fmt_pct(result.degradation_pct, 0)})"))  # fmt: skip
    guard.add_row(Text("Walk-forward efficiency (OOS / IS)"), Text(fmt_num(result.efficiency, 2)))
    guard.add_row(Text("Deflated Sharpe ratio (mean of windows)"),
                  Text(fmt_num(result.deflated_sharpe, 2)))
    guard.add_row(Text("Probability of backtest overfitting"), Text(fmt_pct(result.pbo * 100)))
    chosen = ", ".join(f"{k} ×{n}" for k, n in result.chosen_params[:5])
    guard.add_row(Text("Most chosen params"), Text(chosen))
    parts: list[Table | Text] = [windows, samples, guard]
    for note in result.warnings:
        parts.append(Text(f"⚠ {note}", style="bold yellow"))
    console.print(Group(*parts))
