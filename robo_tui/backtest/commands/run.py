"""`robo-tui backtest --data ...`: replay history through the engine, report, write, store."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from rich.console import Console

from robo_tui.backtest.arguments import BacktestRequest, UsageProblem
from robo_tui.backtest.commands.console import (
    INTERRUPTED,
    progress_bar,
    stderr,
    stdout,
    stop_on_sigint,
    write_json,
)
from robo_tui.backtest.commands.inputs import prepare
from robo_tui.backtest.commands.storage import store_run
from robo_tui.backtest.html import write_html_report
from robo_tui.backtest.report import render_report
from robo_tui.backtest.results import (
    InputError,
    RunOutcome,
    analyse,
    issue_json,
    load_news,
    run_record,
    timeline_length,
)
from robo_tui.backtest.runner import BacktestSpec, Replay, replay
from robo_tui.backtest.stats import drawdown
from robo_tui.config import Settings
from robo_tui.domain.market import BarArrays
from robo_tui.domain.news import NewsItem
from robo_tui.domain.time import ns_to_datetime
from robo_tui.runtime import RunOptions

PROGRESS_MIN_BARS = 20_000
"""Show a progress bar from this many timeline bars (when stderr is a terminal)."""


def run_backtest_command(options: RunOptions, request: BacktestRequest) -> int:
    """One backtest: replay, report, --json/--html, store; the exit code."""
    base, spec, bars, _ = prepare(options, request)
    err = stderr()
    news_items = _news(request, bars)
    n_timeline = timeline_length(bars)
    total_bars = sum(len(b) for b in bars.values())
    stop = asyncio.Event()
    with stop_on_sigint(stop, err):
        err.print(f"Replaying {total_bars:,} bars of {len(bars)} symbol(s)"
                  + (f" with {len(news_items):,} news items" if request.news else "")
                  + (" (backtesting.py conventions)" if spec.compat else "") + " …",
                  highlight=False)
        try:
            run = asyncio.run(
                _replay(base, bars, spec, news_items, stop, err, request.progress, n_timeline))
        except KeyboardInterrupt:
            err.print("[red]Aborted.[/]")
            return INTERRUPTED
    result = run.result
    if result.equity.shape[0] == 0:
        err.print("[yellow]Stopped before the first bar: nothing to report.[/]")
        return INTERRUPTED
    outcome = analyse(result, run.settings, bars, fill=spec.fill,
                      risk_free_rate=request.risk_free, limits=spec.limits,
                      unfilled=run.unfilled, compat=spec.compat, commission=spec.commission)
    _report(outcome, request, list(bars), bars)
    params = request.params(list(bars), options.config)
    code = store_run(options, base, run_record(outcome, params))
    for warning in outcome.warnings:
        err.print(f"[yellow]Warning: {warning}[/]", highlight=False, markup=True)
    if result.stopped_early and outcome.ruined_at is None and not run.ruined:
        err.print(f"[yellow]Interrupted: the figures cover {outcome.stats.bars:,} of "
                  f"{n_timeline:,} bars.[/]")
        return INTERRUPTED
    return code


def _news(request: BacktestRequest, bars: dict[str, BarArrays]) -> list[NewsItem]:
    """The --news items published up to the last bar."""
    if not request.news:
        return []
    last = max(int(b.ts[-1]) for b in bars.values())
    try:
        return load_news(request.news, until=ns_to_datetime(last))
    except InputError as exc:
        raise UsageProblem(str(exc)) from None


async def _replay(base: Settings, bars: dict[str, BarArrays], spec: BacktestSpec,
                  news: list[NewsItem], stop: asyncio.Event, err: Console,
                  progress: bool | None, n_timeline: int) -> Replay:
    """The replay, with a progress bar on a terminal, plain lines elsewhere, or silent.

    `progress` None: a bar on long runs when stderr is a terminal.
    """
    if progress is None:
        bar, lines = err.is_terminal and n_timeline >= PROGRESS_MIN_BARS, False
    else:
        bar, lines = progress and err.is_terminal, progress and not err.is_terminal
    if lines:  # not a terminal: one plain line per progress report (for logs and scripts)
        def line(done: int, total: int) -> None:
            err.print(f"progress {done}/{total} bars", highlight=False)

        return await replay(base, bars, spec, news=news, progress=line, stop=stop)
    if not bar:
        return await replay(base, bars, spec, news=news, stop=stop)
    with progress_bar(err, n_timeline, "Backtest") as shown:
        task = shown.add_task("replay", total=n_timeline)

        def tick(done: int, total: int) -> None:
            shown.update(task, completed=done, total=total)

        return await replay(base, bars, spec, news=news, progress=tick, stop=stop)


def _title(symbols: Sequence[str], outcome: RunOutcome) -> str:
    names = ", ".join(outcome.voters) or "no strategy"
    shown = ", ".join(symbols[:5]) + (f" +{len(symbols) - 5}" if len(symbols) > 5 else "")
    return f"Backtest {shown} · {names}"


def _report(outcome: RunOutcome, request: BacktestRequest, symbols: Sequence[str],
            bars: Mapping[str, BarArrays] | None = None) -> None:
    """Terminal report, then the --json and --html files."""
    console = stdout()
    result = outcome.result
    console.print(f"[bold]{_title(symbols, outcome)}[/]", highlight=False)
    console.print(
        f"{result.bars:,} bars in {result.elapsed_s:.3f}s ({result.bars_per_second:,.0f} bars/s) · "
        f"{result.proposals:,} proposals · {result.orders:,} orders · {result.denied:,} denied by "
        f"the risk gate · {len(outcome.open_trades)} position(s) open at the end",
        highlight=False,
    )
    dd = drawdown(outcome.equity)
    render_report(outcome.stats, outcome.trades, outcome.equity, dd, outcome.index,
                  console=console, max_trades=request.max_trades, chart=request.chart,
                  warnings=outcome.warnings)
    if request.json_path is not None:
        write_json(request.json_path, issue_json(outcome.stats, outcome.trades, outcome.warnings))
        console.print(f"JSON written to {request.json_path}", highlight=False)
    if request.html_path is not None:
        write_html_report(request.html_path, outcome.stats, outcome.trades, outcome.equity, dd,
                          outcome.index, title=_title(symbols, outcome),
                          warnings=outcome.warnings, bars=bars, hold_from=outcome.warmup_bars)
        console.print(f"HTML report written to {request.html_path}", highlight=False)
