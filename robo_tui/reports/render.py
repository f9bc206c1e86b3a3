"""The account report card as terminal text (rich) and as a self-contained HTML page."""

from __future__ import annotations

import html
from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from robo_tui.reports.account import AccountReport, Breakdown
from robo_tui.reports.shadow import ShadowSection


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
    if report.shadow is not None:
        rows.append(("Shadow", shadow_headline(report.shadow)))
    if report.goal is not None:
        rows.append(("Goal", (f"{_money(report.goal.achieved)} of {report.goal.target:,.2f} "
                             f"({report.goal.progress:.0%})")))
    return rows


def _price(value: float) -> str:
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.6g}"


def shadow_headline(shadow: ShadowSection) -> str:
    """One line: how many would-be orders, their hypothetical P&L and hit rate."""
    scored = len(shadow.scored)
    text = (f"{len(shadow.orders)} would-be orders, {scored} priced {shadow.horizon_hours:g} h "
            f"later: P&L {_money(shadow.pnl)}, {shadow.wins} won ({shadow.hit_rate:.0%})")
    if shadow.pending:
        text += f", {shadow.pending} pending"
    if shadow.unpriced:
        text += f", {shadow.unpriced} without a price"
    return text


def _shadow_table(shadow: ShadowSection) -> Table:
    table = Table(title=f"Shadow: would-be orders and the price {shadow.horizon_hours:g} h later",
                  title_justify="left", pad_edge=False)
    table.add_column("Time", no_wrap=True)
    table.add_column("Order", no_wrap=True, overflow="ellipsis", max_width=24)
    table.add_column("Entry", justify="right")
    table.add_column("Later", justify="right")
    table.add_column("P&L", justify="right")
    for o in shadow.orders:
        style = "green" if o.pnl > 0 else "red" if o.pnl < 0 else ""
        table.add_row(f"{o.ts:%m-%d %H:%M}", f"{o.side.upper()} {o.quantity:g} {o.symbol}",
                      _price(o.entry_price),
                      "pending" if o.exit_price is None else _price(o.exit_price),
                      Text("" if o.exit_price is None else _money(o.pnl), style=style))
    table.add_row("Total", f"{shadow.wins}/{len(shadow.scored)} won", "", "",
                  Text(_money(shadow.pnl), style="bold"))
    return table


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
    parts: list[RenderableType] = [
        Text(f"{title} report card", style="bold"), head, Text(""),
        _breakdown_table("By strategy", report.by_strategy),
        _breakdown_table("By analyst", report.by_analyst),
        _breakdown_table("By symbol", report.by_symbol), calibration]
    if report.shadow is not None:
        parts.append(_shadow_table(report.shadow))
    return Group(*parts)


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


def _shadow_html(shadow: ShadowSection) -> str:
    """The shadow section: each would-be order, its price then and later, and the totals."""
    def css(pnl: float) -> str:
        return "pos" if pnl > 0 else "neg" if pnl < 0 else ""
    body = "".join(
        f"<tr><td>{o.ts:%Y-%m-%d %H:%M}</td><td>{html.escape(o.side.upper())} {o.quantity:g} "
        f"{html.escape(o.symbol)}</td><td>{html.escape(o.source)}</td><td>{o.entry_price:,.4f}</td>"
        f"<td>{'pending' if o.exit_price is None else f'{o.exit_price:,.4f}'}</td>"
        f"<td class=\"{css(o.pnl)}\">{'' if o.exit_price is None else _money(o.pnl)}</td></tr>"
        for o in shadow.orders)
    return (f"<h2>Shadow: would-be orders, priced {shadow.horizon_hours:g} h later</h2>"
            f"<p>{html.escape(shadow_headline(shadow))}</p><table><tr><th>Time</th><th>Order</th>"
            f"<th>Source</th><th>Entry</th><th>Later</th><th>P&amp;L</th></tr>{body}"
            f"<tr><th colspan=5>Total</th><td class=\"{css(shadow.pnl)}\">{_money(shadow.pnl)}"
            f"</td></tr></table>")


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
    shadow = "" if report.shadow is None else _shadow_html(report.shadow)
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
{shadow}
</body></html>
"""
