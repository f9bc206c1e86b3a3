"""The account report card as terminal text (rich) and as a self-contained HTML page."""

from __future__ import annotations

import html
from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from robo_tui.reports.account import AccountReport, Breakdown


def _money(value: float) -> str:
    return f"{value:+,.2f}"


def _pct(value: float) -> str:
    return f"{value * 100:+.2f} %"


def summary_rows(report: AccountReport) -> list[tuple[str, str]]:
    """The headline figures as (label, value) pairs, shared by the text and the HTML."""
    rows = [
        ("Account", report.account),
        ("Period", f"{report.start:%Y-%m-%d} .. {report.end:%Y-%m-%d} (UTC, end excluded)"),
        ("Equity", f"{report.start_equity:,.2f} -> {report.end_equity:,.2f}"),
        ("P&L", f"{_money(report.pnl)} ({_pct(report.return_pct)})"),
        ("Max drawdown", _pct(report.max_drawdown)),
        ("Sharpe / Sortino", f"{report.sharpe:.2f} / {report.sortino:.2f} (hourly, annualised)"),
        ("Closed trades", (f"{report.trades}, {report.wins} won ({report.hit_rate:.0%}), "
                          f"P&L {_money(report.pnl_closed)}, fees {report.fees:,.2f}")),
        ("Ideas scored", f"{report.ideas_scored} ({report.ideas_pending} not matured yet)"),
    ]
    if report.goal is not None:
        rows.append(("Goal", (f"{_money(report.goal.achieved)} of {report.goal.target:,.2f} "
                             f"({report.goal.progress:.0%})")))
    return rows


def _breakdown_table(title: str, rows: Sequence[Breakdown]) -> Table:
    table = Table(title=title, title_justify="left", expand=False, pad_edge=False)
    table.add_column(title.split()[-1].capitalize(), no_wrap=True, overflow="ellipsis", max_width=28)
    table.add_column("Trades", justify="right")
    table.add_column("Hit", justify="right")
    table.add_column("P&L", justify="right")
    for b in rows:
        style = "green" if b.pnl > 0 else "red" if b.pnl < 0 else ""
        table.add_row(b.key, str(b.trades), f"{b.hit_rate:.0%}", Text(_money(b.pnl), style=style))
    if not rows:
        table.add_row("(no closed trades)", "", "", "")
    return table


def render_text(report: AccountReport) -> RenderableType:
    """The report card for a terminal (readable at 80 columns; plain in a pipe)."""
    title = "Daily" if report.period == "daily" else "Weekly"
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold", no_wrap=True)
    head.add_column()
    for label, value in summary_rows(report):
        head.add_row(label, value)
    calibration = Table(title="Confidence calibration (did 0.8 win more often than 0.5?)",
                        title_justify="left", pad_edge=False)
    calibration.add_column("Confidence")
    calibration.add_column("Ideas", justify="right")
    calibration.add_column("Right", justify="right")
    for b in report.calibration:
        calibration.add_row(f"{b.low:.1f}-{min(b.high, 1.0):.1f}", str(b.ideas),
                            f"{b.hit_rate:.0%}" if b.ideas else "-")
    return Group(Text(f"{title} report card", style="bold"), head, Text(""),
                 _breakdown_table("By strategy", report.by_strategy),
                 _breakdown_table("By analyst", report.by_analyst),
                 _breakdown_table("By symbol", report.by_symbol), calibration)


def equity_svg(report: AccountReport, width: int = 760, height: int = 220) -> str:
    """The period's equity curve as an inline SVG polyline (no scripts, no network)."""
    points = report.equity
    if len(points) < 2:
        return "<p>No equity recorded in this period.</p>"
    t0 = points[0][0].timestamp()
    span = max(1.0, points[-1][0].timestamp() - t0)
    values = [v for _, v in points]
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.05 or max(1.0, abs(hi) * 0.001)
    lo, hi = lo - pad, hi + pad
    coords = " ".join(
        f"{40 + (ts.timestamp() - t0) / span * (width - 50):.1f},"
        f"{10 + (hi - v) / (hi - lo) * (height - 30):.1f}" for ts, v in points)
    return (f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'role="img" aria-label="equity curve">'
            f'<text x="2" y="16" class="axis">{hi:,.0f}</text>'
            f'<text x="2" y="{height - 20}" class="axis">{lo:,.0f}</text>'
            f'<polyline fill="none" stroke="#4e9af1" stroke-width="1.5" points="{coords}"/></svg>')


def render_html(report: AccountReport) -> str:
    """A self-contained HTML page of the report card (the backtest report's look)."""
    def table(title: str, rows: Sequence[Breakdown]) -> str:
        body = "".join(
            f"<tr><td>{html.escape(b.key)}</td><td>{b.trades}</td><td>{b.hit_rate:.0%}</td>"
            f"<td class=\"{'pos' if b.pnl > 0 else 'neg' if b.pnl < 0 else ''}\">{_money(b.pnl)}</td></tr>"
            for b in rows) or "<tr><td colspan=4>no closed trades</td></tr>"
        return (f"<h2>{html.escape(title)}</h2><table><tr><th>Key</th><th>Trades</th>"
                f"<th>Hit</th><th>P&amp;L</th></tr>{body}</table>")
    summary = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                      for k, v in summary_rows(report))
    calibration = "".join(
        f"<tr><td>{b.low:.1f}-{min(b.high, 1.0):.1f}</td><td>{b.ideas}</td>"
        f"<td>{f'{b.hit_rate:.0%}' if b.ideas else '-'}</td></tr>" for b in report.calibration)
    title = f"{'Daily' if report.period == 'daily' else 'Weekly'} report card, {report.start:%Y-%m-%d}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #111; color: #ddd; margin: 2em; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
th, td {{ padding: 2px 10px; text-align: left; border-bottom: 1px solid #333; }}
.pos {{ color: #3fb950; }} .neg {{ color: #f85149; }} .axis {{ fill: #888; font-size: 11px; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<table>{summary}</table>
<h2>Equity</h2>{equity_svg(report)}
{table("By strategy", report.by_strategy)}
{table("By analyst", report.by_analyst)}
{table("By symbol", report.by_symbol)}
<h2>Confidence calibration</h2>
<table><tr><th>Confidence</th><th>Ideas</th><th>Right</th></tr>{calibration}</table>
</body></html>
"""
