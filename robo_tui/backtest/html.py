"""A self-contained HTML backtest report: inline SVG charts and tables, no network, no scripts.

The equity chart carries the buy-and-hold curve beside the strategy's and a marker per trade
entry and exit (hover for the details, via SVG `<title>`); a log-scale toggle (a CSS checkbox,
no script) swaps it for the same chart on a log axis. Markers closer than a few pixels merge
into one marker with a count, so 93 trades over 2,000 bars do not pile up. Each symbol gets a
price chart (candles when they fit, else the close with its high-low band) with its volume
under it and the trades at their fill prices. The drawdown chart sits under the equity on the
same bar axis, and the statistics, monthly returns, attribution and full trade list follow.
All text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path

import numpy as np

from robo_tui.backtest.figures import decimate, fmt_num, fmt_pct
from robo_tui.backtest.report import (
    ATTRIBUTION_HEADERS,
    MONTHS,
    attribution_rows,
    benchmark_rows,
    fmt_time,
    monthly_grid,
    summary_rows,
)
from robo_tui.backtest.stats import Attribution, BacktestStats, TradeRecord, to_ns
from robo_tui.domain.market import BarArrays, FloatArray, IntArray
from robo_tui.domain.time import ns_to_datetime

_W, _PAD_L, _PAD_R, _PAD_T, _PAD_B = 1100, 78, 16, 14, 26
_MAX_POINTS = 2400
_MERGE_PX = 7.0
"""Markers of one kind closer than this (in SVG units, 1,100 wide) merge into one."""
_MAX_CANDLES = 320
"""Up to this many bars a price chart draws candles; beyond, the close and its high-low band."""
_MAX_PRICE_CHARTS = 6
_TITLE_TRADES = 8

_CSS = """
:root { --fg:#1d2433; --muted:#6b7385; --line:#2563eb; --up:#15803d; --down:#b91c1c;
        --grid:#e5e7eb; --bg:#ffffff; --panel:#f8fafc; }
* { box-sizing: border-box; }
.warnings { border: 2px solid #d97706; background: #fffbeb; color: #92400e; padding: .5em 1em;
            margin: 1em 0; border-radius: 4px; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: var(--fg); background: var(--bg); margin: 24px auto; max-width: 1160px;
       padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.sub { color: var(--muted); margin-bottom: 16px; }
svg { display: block; width: 100%; height: auto; background: var(--panel);
      border: 1px solid var(--grid); border-radius: 6px; }
svg text { font: 11px sans-serif; fill: var(--muted); }
.grid { stroke: var(--grid); stroke-width: 1; }
.equity { fill: none; stroke: var(--line); stroke-width: 1.4; }
.dd { fill: rgba(185,28,28,.25); stroke: var(--down); stroke-width: 1; }
.long { fill: var(--up); } .short { fill: var(--down); }
.win { fill: none; stroke: var(--up); stroke-width: 1.6; }
.loss { fill: none; stroke: var(--down); stroke-width: 1.6; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(250px, 1fr)); gap: 12px; }
.card { background: var(--panel); border: 1px solid var(--grid); border-radius: 6px;
        padding: 8px 12px; }
.card h3 { font-size: 13px; margin: 0 0 6px; text-transform: uppercase; color: var(--muted); }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 8px; text-align: right; border-bottom: 1px solid var(--grid);
         white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
.card td { border: 0; padding: 1px 0; } .card td:first-child { color: var(--muted); }
.pos { color: var(--up); } .neg { color: var(--down); }
.scroll { max-height: 520px; overflow: auto; border: 1px solid var(--grid); border-radius: 6px; }
.scroll th { position: sticky; top: 0; background: var(--panel); }
.legend { color: var(--muted); font-size: 12px; margin: 4px 0 0; }
.bh { fill: none; stroke: #9ca3af; stroke-width: 1.2; stroke-dasharray: 5 3; }
.close { fill: none; stroke: var(--fg); stroke-width: 1.1; }
.band { fill: rgba(37,99,235,.12); stroke: none; }
.cup { fill: var(--up); stroke: var(--up); } .cdown { fill: var(--down); stroke: var(--down); }
.wick { stroke-width: 1; } .vol { fill: rgba(107,115,133,.45); }
svg text.count { font: bold 10px sans-serif; fill: var(--fg); }
.scale { margin: 4px 0; color: var(--muted); font-size: 13px; }
.eq-log { display: none; }
#log-scale:checked ~ .eq-lin { display: none; }
#log-scale:checked ~ .eq-log { display: block; }
"""


def _cls(value: float) -> str:
    if math.isnan(value) or value == 0:
        return ""
    return ' class="pos"' if value > 0 else ' class="neg"'


def _heat(value: float, scale: float) -> str:
    """A background colour for a monthly return cell: green up, red down, stronger further."""
    if math.isnan(value) or scale <= 0:
        return ""
    alpha = min(1.0, abs(value) / scale) * 0.55 + 0.05
    rgb = "21,128,61" if value >= 0 else "185,28,28"
    return f' style="background:rgba({rgb},{alpha:.2f})"'


def _row(cells: Iterable[str], tag: str = "td") -> str:
    return "<tr>" + "".join(f"<{tag}>{escape(c)}</{tag}>" for c in cells) + "</tr>"


class _Axis:
    """Maps bar numbers and values to SVG coordinates (values on a log10 axis when `log`; the
    caller checks that every value is positive)."""

    def __init__(self, n: int, lo: float, hi: float, height: int, *, pad_top: bool = True,
                 log: bool = False, top: int = _PAD_T, bottom: int = _PAD_B) -> None:
        self.n, self.height, self.log = max(n - 1, 1), height, log
        self.top, self.bottom = top, bottom
        if log:
            lo, hi = math.log10(lo), math.log10(hi)
        if not hi > lo:
            lo, hi = lo - 1.0, hi + (1.0 if pad_top else 0.0)
        pad = (hi - lo) * 0.04
        self.lo, self.hi = lo - pad, hi + (pad if pad_top else 0.0)

    def x(self, bar: float) -> float:
        return _PAD_L + (_W - _PAD_L - _PAD_R) * bar / self.n

    def y(self, value: float) -> float:
        if self.log:
            value = math.log10(value) if value > 0 else self.lo
        span = self.hi - self.lo
        return self.top + (self.height - self.top - self.bottom) * (self.hi - value) / span

    def levels(self, ticks: int) -> list[float]:
        """`ticks` values evenly spaced on the axis (geometrically on a log axis)."""
        return [10 ** v if self.log else v
                for v in np.linspace(self.lo, self.hi, ticks).tolist()]


def _frame(axis: _Axis, ts: IntArray, y_fmt: str, ticks: int = 5, *,
           dates: bool = True) -> list[str]:
    """Horizontal grid lines with value labels, and (when `dates`) date labels along the
    bottom."""
    parts = []
    for v in axis.levels(ticks):
        y = axis.y(float(v))
        parts.append(
            f'<line class="grid" x1="{_PAD_L}" x2="{_W - _PAD_R}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        label = escape(format(float(v), y_fmt))
        parts.append(f'<text x="{_PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    for i in (np.unique(np.linspace(0, ts.size - 1, 7).astype(np.int64)).tolist()
              if dates and ts.size else []):
        x = axis.x(i)
        when = escape(fmt_time(ns_to_datetime(int(ts[i]))))
        anchor = "start" if i == 0 else "end" if i == ts.size - 1 else "middle"
        parts.append(
            f'<text x="{x:.1f}" y="{axis.height - axis.bottom + 18}" '
            f'text-anchor="{anchor}">{when}</text>'
        )
    return parts


def _trade_title(t: TradeRecord) -> str:
    side = "long" if t.is_long else "short"
    return (
        f"{t.symbol} {side} {abs(t.size):,.6g} [{t.strategy or '-'}]\n"
        f"entry {fmt_time(t.entry_time)} (bar {t.entry_bar}) @ {fmt_num(t.entry_price, 4)}\n"
        f"exit {fmt_time(t.exit_time)} (bar {t.exit_bar}) @ {fmt_num(t.exit_price, 4)}\n"
        f"P&L {fmt_num(t.pnl)} ({fmt_pct(t.return_pct)})"
    )


@dataclass(frozen=True, slots=True)
class _Mark:
    """One marker to draw: where, which kind, and the trades it stands for."""

    x: float
    y: float
    kind: str
    trades: tuple[TradeRecord, ...]


def merge_marks(points: Iterable[tuple[float, float, str, TradeRecord]],
                min_px: float = _MERGE_PX) -> list[_Mark]:
    """Markers of one kind closer than `min_px` along x merge into one at their mean position,
    standing for all their trades (its title lists them, a count is drawn beside it)."""
    by_kind: dict[str, list[tuple[float, float, TradeRecord]]] = {}
    for x, y, kind, trade in points:
        by_kind.setdefault(kind, []).append((x, y, trade))
    marks: list[_Mark] = []
    for kind, items in by_kind.items():
        items.sort(key=lambda item: item[0])
        group: list[tuple[float, float, TradeRecord]] = []
        for item in items:
            if group and item[0] - group[0][0] >= min_px:
                marks.append(_merged(kind, group))
                group = []
            group.append(item)
        if group:
            marks.append(_merged(kind, group))
    return marks


def _merged(kind: str, group: Sequence[tuple[float, float, TradeRecord]]) -> _Mark:
    xs = [g[0] for g in group]
    ys = [g[1] for g in group]
    return _Mark(sum(xs) / len(xs), sum(ys) / len(ys), kind, tuple(g[2] for g in group))


def _mark_title(mark: _Mark) -> str:
    shown = mark.trades[:_TITLE_TRADES]
    text = "\n\n".join(_trade_title(t) for t in shown)
    if len(mark.trades) > 1:
        more = len(mark.trades) - len(shown)
        text = f"{len(mark.trades)} trades\n\n{text}" + (f"\n\n… and {more} more" if more else "")
    return f"<title>{escape(text)}</title>"


def _mark_svg(mark: _Mark) -> str:
    """A triangle (entry: up long, down short) or a ring (exit: green win, red loss), with the
    number of trades beside it when it stands for more than one."""
    x, y, n = mark.x, mark.y, len(mark.trades)
    title = _mark_title(mark)
    if mark.kind == "long":
        shape = (f'<polygon class="long" data-n="{n}" points="{x:.1f},{y - 7:.1f} '
                 f'{x - 5:.1f},{y + 2:.1f} {x + 5:.1f},{y + 2:.1f}">{title}</polygon>')
    elif mark.kind == "short":
        shape = (f'<polygon class="short" data-n="{n}" points="{x:.1f},{y + 7:.1f} '
                 f'{x - 5:.1f},{y - 2:.1f} {x + 5:.1f},{y - 2:.1f}">{title}</polygon>')
    else:
        shape = (f'<circle class="{mark.kind}" data-n="{n}" cx="{x:.1f}" cy="{y:.1f}" '
                 f'r="{4 if n == 1 else 5}">{title}</circle>')
    if n > 1:
        shape += f'<text class="count" x="{x + 6:.1f}" y="{y - 6:.1f}">{n}</text>'
    return shape


def _trade_points(trades: Sequence[TradeRecord], n: int, axis: _Axis,
                  entry_y: Callable[[TradeRecord], float], exit_y: Callable[[TradeRecord], float],
                  entry_x: Callable[[TradeRecord], int], exit_x: Callable[[TradeRecord], int],
                  ) -> list[tuple[float, float, str, TradeRecord]]:
    points = []
    for t in trades:
        first, last = entry_x(t), exit_x(t)
        if not (0 <= first < n and 0 <= last < n):
            continue
        points.append((axis.x(first), axis.y(entry_y(t)), "long" if t.is_long else "short", t))
        points.append((axis.x(last), axis.y(exit_y(t)), "win" if t.pnl > 0 else "loss", t))
    return points


def buy_and_hold(equity: FloatArray, ts: IntArray, bars: Mapping[str, BarArrays],
                 start: int = 0) -> FloatArray | None:
    """The equity of putting the starting equity in the symbols at bar `start`, equal weights,
    and holding (each symbol's last close carried over timeline bars where it has none); NaN
    before `start`. None without bars."""
    eq = np.asarray(equity, dtype=np.float64)
    if not bars or eq.size == 0:
        return None
    start = max(0, min(start, eq.size - 1))
    ratios = []
    for series in bars.values():
        if len(series) == 0:
            continue
        at = np.searchsorted(series.ts, ts, side="right") - 1
        close = series.close[np.clip(at, 0, len(series) - 1)].astype(np.float64)
        close[at < 0] = series.close[0]
        base = close[start]
        if math.isfinite(base) and base > 0:
            ratios.append(close / base)
    if not ratios:
        return None
    curve = float(eq[start]) * np.mean(np.vstack(ratios), axis=0)
    curve[:start] = np.nan
    return np.asarray(curve, dtype=np.float64)


def equity_svg(equity: FloatArray, ts: IntArray, trades: Sequence[TradeRecord], *,
               benchmark: FloatArray | None = None, log: bool = False) -> str:
    """The equity curve (and the buy-and-hold curve, dashed, when given) with a triangle at
    each entry (up long, down short) and a ring at each exit (green win, red loss), each with a
    hover title; nearby markers merged. `log` draws it on a log axis."""
    eq = np.asarray(equity, dtype=np.float64)
    height = 340
    both = eq if benchmark is None else np.concatenate([eq, benchmark])
    finite = both[np.isfinite(both)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    log = log and lo > 0
    axis = _Axis(eq.size, lo, hi, height, log=log)
    cls = "eq-log" if log else "eq-lin"
    name = "Equity curve (log scale)" if log else "Equity curve"
    parts = [f'<svg class="{cls}" viewBox="0 0 {_W} {height}" role="img" aria-label="{name}">']
    parts += _frame(axis, ts, ",.0f")
    if benchmark is not None:
        parts.append(_polyline(axis, np.asarray(benchmark, dtype=np.float64), "bh"))
    parts.append(_polyline(axis, eq, "equity"))
    points = _trade_points(trades, eq.size, axis, lambda t: float(eq[t.entry_bar]),
                           lambda t: float(eq[t.exit_bar]), lambda t: t.entry_bar,
                           lambda t: t.exit_bar)
    parts += [_mark_svg(m) for m in merge_marks(points)]
    parts.append("</svg>")
    return "\n".join(parts)


def _polyline(axis: _Axis, values: FloatArray, cls: str) -> str:
    """A decimated line over the finite values (a gap-free line from the first one)."""
    first = int(np.argmax(np.isfinite(values))) if np.isfinite(values).any() else values.size
    xs, ys = decimate(values[first:], _MAX_POINTS)
    points = " ".join(f"{axis.x(x + first):.1f},{axis.y(y):.1f}"
                      for x, y in zip(xs.tolist(), ys.tolist()) if math.isfinite(y))
    return f'<polyline class="{cls}" points="{points}"/>'


def price_svg(bars: BarArrays, trades: Sequence[TradeRecord]) -> str:
    """A symbol's price chart: candles when they fit (else the close and its high-low band),
    the volume under it on the same bar axis, and its trades at their fill prices (merged when
    close)."""
    n = len(bars)
    height, vol_h = 360, 80
    lo = float(np.nanmin(bars.low)) if n else 0.0
    hi = float(np.nanmax(bars.high)) if n else 1.0
    axis = _Axis(n, lo, hi, height - vol_h, bottom=8)
    label = escape(bars.symbol)
    parts = [f'<svg viewBox="0 0 {_W} {height}" role="img" aria-label="{label} price">']
    parts += _frame(axis, bars.ts, ",.2f", dates=False)
    if 0 < n <= _MAX_CANDLES:
        half = max(0.6, (_W - _PAD_L - _PAD_R) / max(n, 1) * 0.35)
        for i in range(n):
            o, c = float(bars.open[i]), float(bars.close[i])
            cls = "cup" if c >= o else "cdown"
            x = axis.x(i)
            top, bot = axis.y(max(o, c)), axis.y(min(o, c))
            parts.append(f'<line class="{cls} wick" x1="{x:.1f}" x2="{x:.1f}" '
                         f'y1="{axis.y(float(bars.high[i])):.1f}" '
                         f'y2="{axis.y(float(bars.low[i])):.1f}"/>'
                         f'<rect class="{cls}" x="{x - half:.1f}" y="{top:.1f}" '
                         f'width="{2 * half:.1f}" height="{max(bot - top, 0.8):.1f}"/>')
    elif n:
        xs, highs = _decimate_max(np.asarray(bars.high, dtype=np.float64))
        xl, lows = decimate(np.asarray(bars.low, dtype=np.float64), _MAX_POINTS, "min")
        upper = [f"{axis.x(x):.1f},{axis.y(y):.1f}" for x, y in zip(xs.tolist(), highs.tolist())]
        lower = [f"{axis.x(x):.1f},{axis.y(y):.1f}" for x, y in zip(xl.tolist(), lows.tolist())]
        parts.append(f'<polygon class="band" points="{" ".join(upper + lower[::-1])}"/>')
        parts.append(_polyline(axis, np.asarray(bars.close, dtype=np.float64), "close"))
    parts += _volume(bars, axis, height, vol_h)
    mine = [t for t in trades if t.symbol == bars.symbol]

    def bar_of(when: datetime) -> int:
        return int(np.searchsorted(bars.ts, to_ns([when])[0], side="right")) - 1

    points = _trade_points(mine, n, axis, lambda t: t.entry_price, lambda t: t.exit_price,
                           lambda t: bar_of(t.entry_time), lambda t: bar_of(t.exit_time))
    parts += [_mark_svg(m) for m in merge_marks(points)]
    parts.append("</svg>")
    return "\n".join(parts)


def _decimate_max(values: FloatArray) -> tuple[IntArray, FloatArray]:
    """Each bucket's highest point (`decimate` keeps lowest ones: flip the sign twice)."""
    xs, neg = decimate(-values, _MAX_POINTS, "min")
    return xs, -neg


def _volume(bars: BarArrays, axis: _Axis, height: int, vol_h: int) -> list[str]:
    """Volume bars in the bottom `vol_h` units, on the price chart's bar axis, and the dates."""
    n = len(bars)
    if n == 0:
        return []
    volume = np.nan_to_num(np.asarray(bars.volume, dtype=np.float64), nan=0.0)
    xs, vs = _decimate_max(volume)
    top_v = float(vs.max(initial=0.0)) or 1.0
    base, span = height - _PAD_B, vol_h - _PAD_B - 6
    width = max(0.8, (_W - _PAD_L - _PAD_R) / max(xs.size, 1) * 0.7)
    parts = [f'<text x="{_PAD_L - 6}" y="{base - span + 8:.1f}" text-anchor="end">vol</text>']
    for x, v in zip(xs.tolist(), vs.tolist()):
        h = span * v / top_v
        parts.append(f'<rect class="vol" x="{axis.x(x) - width / 2:.1f}" y="{base - h:.1f}" '
                     f'width="{width:.1f}" height="{h:.1f}"/>')
    for i in np.unique(np.linspace(0, n - 1, 7).astype(np.int64)).tolist():
        anchor = "start" if i == 0 else "end" if i == n - 1 else "middle"
        when = escape(fmt_time(ns_to_datetime(int(bars.ts[i]))))
        parts.append(f'<text x="{axis.x(i):.1f}" y="{height - 8}" '
                     f'text-anchor="{anchor}">{when}</text>')
    return parts


def drawdown_svg(drawdown: FloatArray, ts: IntArray) -> str:
    """The drawdown as a filled area below zero, in percent."""
    dd = -np.abs(np.asarray(drawdown, dtype=np.float64)) * 100.0
    dd = np.nan_to_num(dd, nan=0.0)
    height = 170
    axis = _Axis(dd.size, float(dd.min(initial=0.0)), 0.0, height, pad_top=False)
    xs, ys = decimate(dd, _MAX_POINTS, "min")
    top = axis.y(0.0)
    pts = [f"{axis.x(0):.1f},{top:.1f}"]
    pts += [f"{axis.x(x):.1f},{axis.y(y):.1f}" for x, y in zip(xs.tolist(), ys.tolist())]
    pts.append(f"{axis.x(dd.size - 1):.1f},{top:.1f}")
    parts = [f'<svg viewBox="0 0 {_W} {height}" role="img" aria-label="Drawdown">']
    parts += _frame(axis, ts, ".1f", ticks=4)
    parts.append(f'<polygon class="dd" points="{" ".join(pts)}"/>')
    parts.append("</svg>")
    return "\n".join(parts)


def _summary_cards(stats: BacktestStats) -> str:
    cards = []
    for section, rows in summary_rows(stats):
        body = "".join(_row(r) for r in rows)
        cards.append(f'<div class="card"><h3>{escape(section)}</h3><table>{body}</table></div>')
    return '<div class="cards">' + "".join(cards) + "</div>"


def _benchmark_table(stats: BacktestStats) -> str:
    head = _row(["", "Strategy", "Buy & hold"], "th")
    return f"<table>{head}{''.join(_row(r) for r in benchmark_rows(stats))}</table>"


def _monthly_table(stats: BacktestStats) -> str:
    grid = monthly_grid(stats.monthly_returns, stats.yearly_returns)
    values = [abs(v) for _, months, _ in grid for v in months if math.isfinite(v)]
    scale = float(np.percentile(values, 95)) if values else 0.0
    rows = [_row(["Year", *MONTHS, "Year"], "th")]
    for year, months, total in grid:
        cells = [f"<td>{year}</td>"]
        for v in months:
            text = "" if math.isnan(v) else f"{v:.1f}"
            cells.append(f"<td{_heat(v, scale)}>{text}</td>")
        cells.append(f"<td{_cls(total)}><b>{escape(fmt_num(total, 1))}</b></td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return "<table>" + "".join(rows) + "</table>"


def _attribution_table(first: str, rows: Sequence[Attribution]) -> str:
    out = [_row([first, *ATTRIBUTION_HEADERS], "th")]
    out += [_row(cells) for cells in attribution_rows(rows)]
    return "<table>" + "".join(out) + "</table>"


def _trades_table(trades: Sequence[TradeRecord]) -> str:
    head = _row(
        ["#", "Symbol", "Strategy", "Side", "Size", "Entry", "Entry bar", "Entry price", "Exit",
         "Exit bar", "Exit price", "Commission", "P&L", "Return"],
        "th",
    )  # fmt: skip
    rows = [head]
    for i, t in enumerate(trades, 1):
        cells = [
            str(i), t.symbol, t.strategy, "long" if t.is_long else "short", f"{abs(t.size):,.6g}",
            fmt_time(t.entry_time), str(t.entry_bar), fmt_num(t.entry_price, 4),
            fmt_time(t.exit_time), str(t.exit_bar), fmt_num(t.exit_price, 4),
            fmt_num(t.commission),
        ]  # fmt: skip
        tds = "".join(f"<td>{escape(c)}</td>" for c in cells)
        tds += f"<td{_cls(t.pnl)}>{escape(fmt_num(t.pnl))}</td>"
        tds += f"<td{_cls(t.return_pct)}>{escape(fmt_pct(t.return_pct))}</td>"
        rows.append(f"<tr>{tds}</tr>")
    return '<div class="scroll"><table>' + "".join(rows) + "</table></div>"


def render_html(
    stats: BacktestStats,
    trades: Sequence[TradeRecord],
    equity: FloatArray,
    drawdown: FloatArray,
    index: Sequence[datetime] | IntArray,
    *,
    title: str,
    warnings: Sequence[str] = (),
    bars: Mapping[str, BarArrays] | None = None,
    hold_from: int = 0,
) -> str:
    """The report as one HTML document string (see `write_html_report`); the run's warnings,
    if any, in a box under the heading. With the run's `bars`, the equity chart gains the
    buy-and-hold curve (from bar `hold_from`, the warm-up) and each symbol a price chart."""
    ts = to_ns(index)
    if ts.size != len(equity) or len(drawdown) != len(equity):
        raise ValueError("equity, drawdown and index must have one value per bar")
    held = buy_and_hold(equity, ts, bars or {}, hold_from)
    sections = [
        f"<h1>{escape(title)}</h1>",
        (
            f'<div class="sub">{escape(fmt_time(stats.start))} → {escape(fmt_time(stats.end))}'
            f" · {stats.bars:,} bars · return {escape(fmt_pct(stats.return_pct))}"
            f" · Sharpe {escape(fmt_num(stats.sharpe))}"
            f" · max drawdown {escape(fmt_pct(stats.max_drawdown_pct))}</div>"
        ),
        *([_warnings_box(warnings)] if warnings else []),
        "<h2>Equity</h2>",
        ('<div class="equity-charts"><input type="checkbox" id="log-scale">'
         '<label class="scale" for="log-scale"> log scale</label>'),
        equity_svg(equity, ts, trades, benchmark=held),
        equity_svg(equity, ts, trades, benchmark=held, log=True),
        "</div>",
        (
            '<p class="legend">▲ long entry · ▼ short entry · ○ exit (green win, red loss);'
            " a number beside a marker counts the trades merged into it;"
            + (" dashed: buy &amp; hold;" if held is not None else "")
            + " hover a marker for the trades.</p>"
        ),
        "<h2>Drawdown (%)</h2>",
        drawdown_svg(drawdown, ts),
        *_price_sections(bars or {}, trades, int(ts[-1]) if ts.size else None),
        "<h2>Statistics</h2>",
        _summary_cards(stats),
        "<h2>Strategy vs buy &amp; hold</h2>",
        _benchmark_table(stats),
        "<h2>Monthly returns (%)</h2>",
        _monthly_table(stats),
    ]
    if stats.by_strategy:
        sections += [
            "<h2>Per-strategy attribution</h2>",
            _attribution_table("Strategy", stats.by_strategy),
        ]
    if len(stats.by_symbol) > 1:
        sections += [
            "<h2>Per-symbol attribution</h2>",
            _attribution_table("Symbol", stats.by_symbol),
        ]
    sections += [f"<h2>Trades ({len(trades):,})</h2>", _trades_table(trades)]
    body = "\n".join(sections)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n"
        "</body>\n</html>\n"
    )


def _price_sections(bars: Mapping[str, BarArrays], trades: Sequence[TradeRecord],
                    until: int | None) -> list[str]:
    """A price chart per symbol (the first few, by trade count when there are many), cut at
    `until` (epoch ns: where an interrupted run stopped)."""
    if not bars:
        return []
    counts = {symbol: 0 for symbol in bars}
    for t in trades:
        if t.symbol in counts:
            counts[t.symbol] += 1
    shown = sorted(bars, key=lambda symbol: -counts[symbol])[:_MAX_PRICE_CHARTS]
    out: list[str] = []
    for symbol in shown:
        out += [f"<h2>{escape(symbol)} price and volume ({counts[symbol]:,} trades)</h2>",
                price_svg(_until(bars[symbol], until), trades)]
    if len(bars) > len(shown):
        out.append(f'<p class="legend">{len(bars) - len(shown)} more symbol(s) without a '
                   "chart (the ones with the fewest trades).</p>")
    return out


def _until(bars: BarArrays, until: int | None) -> BarArrays:
    if until is None:
        return bars
    return bars.slice(0, int(np.searchsorted(bars.ts, until, side="right")))


def _warnings_box(warnings: Sequence[str]) -> str:
    items = "".join(f"<li>{escape(w)}</li>" for w in warnings)
    return (f'<div class="warnings"><strong>{len(warnings)} warning(s)</strong>'
            f"<ul>{items}</ul></div>")


def write_html_report(
    path: Path,
    stats: BacktestStats,
    trades: Sequence[TradeRecord],
    equity: FloatArray,
    drawdown: FloatArray,
    index: Sequence[datetime] | IntArray,
    *,
    title: str,
    warnings: Sequence[str] = (),
    bars: Mapping[str, BarArrays] | None = None,
    hold_from: int = 0,
) -> Path:
    """Write a self-contained HTML report (no network, no scripts) and return its path.

    Equity with trade entry/exit markers (and the buy-and-hold curve and a log-scale toggle),
    drawdown, a price chart with volume and trades per symbol (given `bars`), statistics,
    buy-and-hold comparison, monthly returns, attribution and every trade. Parent directories
    are created.
    """
    document = render_html(stats, trades, equity, drawdown, index, title=title,
                           warnings=warnings, bars=bars, hold_from=hold_from)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document, encoding="utf-8")
    return path
