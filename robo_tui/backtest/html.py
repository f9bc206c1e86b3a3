"""A self-contained HTML backtest report: inline SVG charts and tables, no network, no scripts.

The equity chart carries a marker per trade entry and exit (hover for the details, via SVG
`<title>`), the drawdown chart sits under it on the same bar axis, and the statistics, monthly
returns, attribution and full trade list follow. All text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
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
from robo_tui.domain.market import FloatArray, IntArray
from robo_tui.domain.time import ns_to_datetime

_W, _PAD_L, _PAD_R, _PAD_T, _PAD_B = 1100, 78, 16, 14, 26
_MAX_POINTS = 2400

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
    """Maps bar numbers and values to SVG coordinates."""

    def __init__(self, n: int, lo: float, hi: float, height: int, *, pad_top: bool = True) -> None:
        self.n, self.height = max(n - 1, 1), height
        if not hi > lo:
            lo, hi = lo - 1.0, hi + (1.0 if pad_top else 0.0)
        pad = (hi - lo) * 0.04
        self.lo, self.hi = lo - pad, hi + (pad if pad_top else 0.0)

    def x(self, bar: float) -> float:
        return _PAD_L + (_W - _PAD_L - _PAD_R) * bar / self.n

    def y(self, value: float) -> float:
        span = self.hi - self.lo
        return _PAD_T + (self.height - _PAD_T - _PAD_B) * (self.hi - value) / span


def _frame(axis: _Axis, ts: IntArray, y_fmt: str, ticks: int = 5) -> list[str]:
    """Horizontal grid lines with value labels, and date labels along the bottom."""
    parts = []
    for v in np.linspace(axis.lo, axis.hi, ticks):
        y = axis.y(float(v))
        parts.append(
            f'<line class="grid" x1="{_PAD_L}" x2="{_W - _PAD_R}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        label = escape(format(float(v), y_fmt))
        parts.append(f'<text x="{_PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    for i in np.unique(np.linspace(0, ts.size - 1, 7).astype(np.int64)).tolist():
        x = axis.x(i)
        when = escape(fmt_time(ns_to_datetime(int(ts[i]))))
        anchor = "start" if i == 0 else "end" if i == ts.size - 1 else "middle"
        parts.append(
            f'<text x="{x:.1f}" y="{axis.height - 8}" text-anchor="{anchor}">{when}</text>'
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


def equity_svg(equity: FloatArray, ts: IntArray, trades: Sequence[TradeRecord]) -> str:
    """The equity curve with a triangle at each entry (up long, down short) and a ring at each
    exit (green win, red loss), each with a hover title."""
    eq = np.asarray(equity, dtype=np.float64)
    height = 340
    finite = eq[np.isfinite(eq)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    axis = _Axis(eq.size, lo, hi, height)
    xs, ys = decimate(eq, _MAX_POINTS)
    points = " ".join(f"{axis.x(x):.1f},{axis.y(y):.1f}" for x, y in zip(xs.tolist(), ys.tolist()))
    parts = [f'<svg viewBox="0 0 {_W} {height}" role="img" aria-label="Equity curve">']
    parts += _frame(axis, ts, ",.0f")
    parts.append(f'<polyline class="equity" points="{points}"/>')
    for t in trades:
        if not (0 <= t.entry_bar < eq.size and 0 <= t.exit_bar < eq.size):
            continue
        title = f"<title>{escape(_trade_title(t))}</title>"
        x, y = axis.x(t.entry_bar), axis.y(float(eq[t.entry_bar]))
        if t.is_long:
            tri = f"{x:.1f},{y - 7:.1f} {x - 5:.1f},{y + 2:.1f} {x + 5:.1f},{y + 2:.1f}"
        else:
            tri = f"{x:.1f},{y + 7:.1f} {x - 5:.1f},{y - 2:.1f} {x + 5:.1f},{y - 2:.1f}"
        side = "long" if t.is_long else "short"
        parts.append(f'<polygon class="{side}" points="{tri}">{title}</polygon>')
        ex, ey = axis.x(t.exit_bar), axis.y(float(eq[t.exit_bar]))
        outcome = "win" if t.pnl > 0 else "loss"
        parts.append(
            f'<circle class="{outcome}" cx="{ex:.1f}" cy="{ey:.1f}" r="4">{title}</circle>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


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
) -> str:
    """The report as one HTML document string (see `write_html_report`); the run's warnings,
    if any, in a box under the heading."""
    ts = to_ns(index)
    if ts.size != len(equity) or len(drawdown) != len(equity):
        raise ValueError("equity, drawdown and index must have one value per bar")
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
        equity_svg(equity, ts, trades),
        (
            '<p class="legend">▲ long entry · ▼ short entry · ○ exit (green win, red loss);'
            " hover a marker for the trade.</p>"
        ),
        "<h2>Drawdown (%)</h2>",
        drawdown_svg(drawdown, ts),
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
) -> Path:
    """Write a self-contained HTML report (no network, no scripts) and return its path.

    Equity with trade entry/exit markers, drawdown, statistics, buy-and-hold comparison,
    monthly returns, attribution and every trade. Parent directories are created.
    """
    document = render_html(stats, trades, equity, drawdown, index, title=title,
                           warnings=warnings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document, encoding="utf-8")
    return path
