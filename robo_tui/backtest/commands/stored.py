"""`robo-tui backtest --list` and `--show ID`: the stored runs, listed and printed again."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from rich.table import Table
from rich.text import Text

from robo_tui.backtest.arguments import UsageProblem
from robo_tui.backtest.commands.console import stdout, write_json
from robo_tui.backtest.commands.storage import read_runs
from robo_tui.backtest.html import write_html_report
from robo_tui.backtest.report import fit_layout, report_table, stored_report
from robo_tui.backtest.results import (
    FIND_RUN_SQL,
    LIST_RUNS_SQL,
    StoredRun,
    issue_json,
    run_listing,
    stored_run,
)
from robo_tui.backtest.stats import BacktestStats, TradeRecord, drawdown
from robo_tui.runtime import RunOptions


def list_stored(options: RunOptions, limit: int) -> None:
    """The newest `limit` stored runs as a table that fits the terminal."""
    rows = read_runs(options, LIST_RUNS_SQL, (limit,))
    console = stdout()
    if not rows:
        console.print("No stored backtest runs.")
        return

    one_kind = len({run_listing(row, narrow=True)["kind"] for row in rows}) == 1

    def layout(compact: bool, narrow: bool) -> Table:
        """Narrow: `run_listing`'s narrow cells, no bars column, no kind column when every run
        is of one kind (the title says which)."""
        table = report_table("Backtest runs (newest first)", compact)
        numeric = ("bars", "return", "sharpe", "max DD", "trades")
        headers = ("id", "when (UTC)", "kind", "symbols", "strategies", *numeric)
        dropped = {"bars", "kind"} if one_kind else {"bars"}
        kept = [h for h in headers if not (narrow and h in dropped)]
        for header in kept:
            table.add_column(header, justify="right" if header in numeric else "left",
                             overflow="fold",
                             no_wrap=header in ("id", "when (UTC)", "strategies"))
        for row in rows:
            cells = run_listing(row, narrow=narrow)
            table.add_row(*(Text(cells[h]) for h in kept))
        return table

    console.print(fit_layout(console, layout))


def _find_run(options: RunOptions, run_id: str) -> StoredRun:
    prefix = run_id.strip().lower()
    if not prefix or any(c not in "0123456789abcdef" for c in prefix):
        raise UsageProblem(f"--show {run_id!r}: a run id is hexadecimal (see --list)")
    rows = read_runs(options, FIND_RUN_SQL, (prefix + "%",))
    if not rows:
        raise UsageProblem(f"no stored run {run_id} (see robo-tui backtest --list)")
    if len(rows) > 1:
        raise UsageProblem(f"run id prefix {run_id} is ambiguous; give more characters")
    return stored_run(rows[0])


def show_stored(options: RunOptions, run_id: str, json_path: Path | None,
                html_path: Path | None, max_trades: int, chart: bool) -> None:
    """Print a stored run (id or unique prefix); with --json/--html, write it too."""
    run = _find_run(options, run_id)
    console = stdout()
    color = console.color_system is not None and not console.no_color
    console.print(stored_report(run, width=console.width, color=color, max_trades=max_trades,
                                chart=chart))
    if run.kind == "walk_forward":
        if json_path is not None:
            write_json(json_path, run.stats_json)
            console.print(f"JSON written to {json_path}", highlight=False)
        if html_path is not None:
            raise UsageProblem("--html is for a single backtest, not a walk-forward run")
        return
    if json_path is None and html_path is None:
        return
    stats, trades = run.stats(), run.trades()  # decoded again only when a file is asked for
    if json_path is not None:
        write_json(json_path, issue_json(stats, trades, run.params.get("warnings") or ()))
        console.print(f"JSON written to {json_path}", highlight=False)
    if html_path is not None:
        _write_stored_html(run, stats, trades, html_path)
        console.print(f"HTML report written to {html_path}", highlight=False)


def _write_stored_html(run: StoredRun, stats: BacktestStats, trades: list[TradeRecord],
                       html_path: Path) -> None:
    """The HTML report of a stored single backtest, markers on the stored (maybe decimated) curve."""
    ts, equity = run.equity()
    bars = np.asarray((run.equity_json or {}).get("bar", []), dtype=np.int64) \
        if isinstance(run.equity_json, dict) else np.empty(0, dtype=np.int64)
    shown = trades
    if bars.size and bars.size < stats.bars:  # decimated: put the markers on the kept points
        shown = [replace(t, entry_bar=min(int(np.searchsorted(bars, t.entry_bar)), bars.size - 1),
                         exit_bar=min(int(np.searchsorted(bars, t.exit_bar)), bars.size - 1))
                 for t in trades]
    dd = drawdown(equity) if equity.size else equity
    write_html_report(html_path, stats, shown, equity, dd, ts,
                      title=f"Backtest run {run.id[:12]}",
                      warnings=[str(w) for w in run.params.get("warnings") or ()])
