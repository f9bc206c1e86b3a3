"""`robo-tui backtest`: replay history through the engine, report, store; or walk-forward optimise.

Registered on the main app in robo_tui/cli.py as
`app.command("backtest", cls=BacktestCommand)(backtest_command)`. Everything heavy (pandas, the
engine, rich reports) is imported inside the command, so `robo-tui --headless` does not pay for
it at start-up.

Exit codes: 0 done; 1 the run could not be stored; 2 bad input (option, parameter, data file,
config); 130 interrupted by Ctrl-C (the partial results are still reported, written and stored).
"""

from __future__ import annotations

import math
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from typer.core import TyperCommand

if TYPE_CHECKING:
    import asyncio

    from rich.console import Console

    from robo_tui.backtest.results import RunOutcome, StoredRun
    from robo_tui.backtest.runner import BacktestSpec
    from robo_tui.config import Settings
    from robo_tui.domain.market import BarArrays
    from robo_tui.runtime import RunOptions

USAGE = 2
INTERRUPTED = 130
#: Show a progress bar from this many timeline bars (when stderr is a terminal).
PROGRESS_MIN_BARS = 20_000
#: Metrics where a lower value is better (walk-forward ranks them ascending).
LOWER_IS_BETTER = frozenset({"volatility_ann_pct", "max_drawdown_duration_days"})
_ORDER_KEY = "robo_tui.backtest.strategy_param_order"


class FillTiming(StrEnum):
    """When an order decided at a bar's close fills."""

    NEXT_OPEN = "next-open"
    CLOSE = "close"


class BacktestCommand(TyperCommand):
    """The `backtest` command: remembers the order of `--strategy` and `--param` on the command
    line, so that each `--param` applies to the `--strategy` it follows (click keeps the values
    of each option in order, but not how the two options interleave)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer's (vendored) Context
        order: list[str] = []
        expect_value = False
        for token in args:
            if token == "--":
                break
            if expect_value:
                expect_value = False
                continue
            for flag, kind in (("--strategy", "s"), ("--param", "p")):
                if token == flag:
                    order.append(kind)
                    expect_value = True
                elif token.startswith(flag + "="):
                    order.append(kind)
        ctx.meta[_ORDER_KEY] = order
        return super().parse_args(ctx, args)


class UsageProblem(Exception):
    """Bad command-line input: printed as one line, exit code 2."""


# --------------------------------------------------------------------------- option parsing


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
    owners: list[str | None]
    if order is not None and order.count("s") == len(strategies) and order.count("p") == len(params):
        owners = []
        current: str | None = None
        names = iter(strategies)
        for kind in order:
            if kind == "s":
                current = next(names).strip()
            else:
                owners.append(current)
    elif len(strategies) == 1:
        owners = [strategies[0].strip()] * len(params)
    else:
        owners = [None] * len(params)
    for raw, owner in zip(params, owners, strict=True):
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


# --------------------------------------------------------------------------- the command


DataOpt = Annotated[list[Path] | None, typer.Option(
    "--data", help="OHLCV CSV/Parquet file or folder (per-symbol files or a long table with a "
    "symbol column); repeatable.")]


def backtest_command(
    ctx: typer.Context,
    data: DataOpt = None,
    symbols: Annotated[str | None, typer.Option(
        "--symbols", help="Only these symbols, comma-separated (e.g. AAPL,MSFT).")] = None,
    start: Annotated[str | None, typer.Option(
        "--start", help="First date (inclusive), e.g. 2010-01-01.")] = None,
    end: Annotated[str | None, typer.Option(
        "--end", help="Last date (inclusive; a bare date includes that day).")] = None,
    strategy: Annotated[list[str] | None, typer.Option(
        "--strategy", help="Strategy to run (sma_cross, mean_reversion, breakout); repeatable. "
        "Default: the config's enabled strategies.")] = None,
    param: Annotated[list[str] | None, typer.Option(
        "--param", help="key=value for the --strategy it follows (or STRATEGY.key=value); "
        "repeatable.")] = None,
    cash: Annotated[float, typer.Option("--cash", min=1.0, help="Starting cash.")] = 10_000.0,
    commission: Annotated[float, typer.Option(
        "--commission", min=0.0, max=0.0999,
        help="Commission as a fraction of traded value, on entry and on exit.")] = 0.002,
    slippage_bps: Annotated[float, typer.Option(
        "--slippage-bps", min=0.0, max=1000.0,
        help="Slippage against you in basis points (needs --no-compat).")] = 0.0,
    fill: Annotated[FillTiming, typer.Option(
        "--fill", help="Fill at the next bar's open (default) or at the signal bar's close.")
    ] = FillTiming.NEXT_OPEN,
    compat: Annotated[bool, typer.Option(
        "--compat/--no-compat",
        help="backtesting.py's conventions (default): all-in whole units, commission on entry and "
        "exit, close before reversing, no stops. --no-compat: the config's sizing, stops, costs "
        "and risk limits.")] = True,
    news: Annotated[list[str] | None, typer.Option(
        "--news", help="Timestamped news to replay (RSS/Atom file or URL); each item becomes "
        "visible at its published time. Repeatable.")] = None,
    json_path: Annotated[Path | None, typer.Option(
        "--json", dir_okay=False, help="Write statistics and trade list as JSON here.")] = None,
    html_path: Annotated[Path | None, typer.Option(
        "--html", dir_okay=False, help="Write a self-contained HTML report here.")] = None,
    risk_free: Annotated[float, typer.Option(
        "--risk-free", min=-0.99, max=0.99,
        help="Annual risk-free rate (fraction) for Sharpe, Sortino and alpha.")] = 0.0,
    chart: Annotated[bool, typer.Option(
        "--chart/--no-chart", help="Equity and drawdown chart in the terminal report.")] = True,
    progress: Annotated[bool | None, typer.Option(
        "--progress/--no-progress", help="Progress on stderr: a bar on a terminal, plain lines "
        "otherwise. Default: a bar on long runs when stderr is a terminal.")] = None,
    max_trades: Annotated[int, typer.Option(
        "--max-trades", min=0, help="Trades listed in the terminal report.")] = 20,
    optimize: Annotated[bool, typer.Option(
        "--optimize", help="Walk-forward optimisation over --grid values (or --random N draws).")
    ] = False,
    grid: Annotated[list[str] | None, typer.Option(
        "--grid", help="key=v1,v2,... or key=start:stop:step (inclusive); repeatable. Keys are "
        "params of the --strategy (or STRATEGY.key).")] = None,
    random: Annotated[int | None, typer.Option(
        "--random", min=1, help="Random search: try N combinations of the --grid values.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of --random.")] = 0,
    metric: Annotated[str, typer.Option(
        "--metric", help="Statistic the optimiser ranks by (a --json key, e.g. sharpe, "
        "return_pct, sqn).")] = "sharpe",
    train: Annotated[int | None, typer.Option(
        "--train", min=2, help="Walk-forward train window, in bars (default: 2 x test).")] = None,
    test: Annotated[int | None, typer.Option(
        "--test", min=2, help="Walk-forward test window, in bars (default: a sixth of the bars)."
    )] = None,
    anchored: Annotated[bool, typer.Option(
        "--anchored", help="Walk-forward train windows all start at the first bar.")] = False,
    processes: Annotated[int | None, typer.Option(
        "--processes", min=1, help="Worker processes for --optimize (default: every CPU).")
    ] = None,
    list_runs: Annotated[bool, typer.Option("--list", help="List stored runs and exit.")] = False,
    show: Annotated[str | None, typer.Option(
        "--show", help="Print a stored run (id or unique id prefix); with --json/--html, "
        "write it.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Runs listed by --list.")] = 20,
    config: Annotated[Path | None, typer.Option(
        "--config", help="Config file (TOML).", dir_okay=False)] = None,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", help="Folder for the database and logs.", file_okay=False)] = None,
) -> None:
    """Replay history through the engine (strategies, ensemble, sizing, risk gate, paper
    broker) and report the statistics; every run is stored in the data dir's database.

    Compat mode is on by default so that numbers are comparable with backtesting.py; use
    --no-compat to run with the config's sizing, stops and risk limits.
    """
    from robo_tui.runtime import RunError, RunOptions

    options = RunOptions(config=config, data_dir=data_dir)
    try:
        if list_runs:
            _list_stored(options, limit)
            return
        if show is not None:
            _show_stored(options, show, json_path, html_path, max_trades, chart)
            return
        order = ctx.meta.get(_ORDER_KEY)
        chosen = strategy_params(strategy or [], param or [], order)
        request = _Request(
            data=list(data or []), symbols=_split_symbols(symbols), start=start, end=end,
            strategies=chosen, cash=cash, commission=commission, slippage_bps=slippage_bps,
            fill=fill.value, compat=compat, news=list(news or []), json_path=json_path,
            html_path=html_path, risk_free=risk_free, chart=chart, max_trades=max_trades,
            progress=progress,
        )
        if optimize:
            code = _optimize(options, request, _WalkForwardRequest(
                grid=parse_grid(grid or []), random=random, seed=seed, metric=metric,
                train=train, test=test, anchored=anchored, processes=processes))
        else:
            if grid or random is not None or train is not None or test is not None:
                raise UsageProblem("--grid, --random, --train and --test need --optimize")
            code = _backtest(options, request)
    except UsageProblem as exc:
        typer.echo(f"robo-tui backtest: {exc}", err=True)
        raise typer.Exit(USAGE) from None
    except RunError as exc:
        typer.echo(f"robo-tui: {exc}", err=True)
        raise typer.Exit(int(exc.code)) from None
    raise typer.Exit(code)


def _split_symbols(text: str | None) -> list[str] | None:
    if text is None:
        return None
    out = [s.strip().upper() for s in text.split(",") if s.strip()]
    if not out:
        raise UsageProblem("--symbols needs at least one symbol")
    return out


class _Request:
    """The options of one backtest, after parsing."""

    def __init__(self, *, data: list[Path], symbols: list[str] | None, start: str | None,
                 end: str | None, strategies: dict[str, dict[str, str]] | None, cash: float,
                 commission: float, slippage_bps: float, fill: str, compat: bool,
                 news: list[str], json_path: Path | None, html_path: Path | None,
                 risk_free: float, chart: bool, max_trades: int,
                 progress: bool | None = None) -> None:
        self.data = data
        self.symbols = symbols
        self.start = start
        self.end = end
        self.strategies = strategies
        self.cash = cash
        self.commission = commission
        self.slippage_bps = slippage_bps
        self.fill = fill
        self.compat = compat
        self.news = news
        self.json_path = json_path
        self.html_path = html_path
        self.risk_free = risk_free
        self.chart = chart
        self.max_trades = max_trades
        self.progress = progress

    def spec(self) -> BacktestSpec:
        from robo_tui.backtest.runner import BacktestSpec

        if self.compat and self.slippage_bps:
            raise UsageProblem("--slippage-bps is not part of backtesting.py's conventions; "
                               "add --no-compat to model slippage")
        fill: Literal["next-open", "close"] = "next-open" if self.fill == "next-open" else "close"
        return BacktestSpec(cash=self.cash, commission=self.commission,
                            slippage_bps=self.slippage_bps, fill=fill, compat=self.compat,
                            strategies=self.strategies)

    def params(self, symbols: Sequence[str], options: RunOptions) -> dict[str, Any]:
        return {
            "data": [str(p) for p in self.data], "symbols": list(symbols),
            "start": self.start, "end": self.end, "cash": self.cash,
            "commission": self.commission, "slippage_bps": self.slippage_bps, "fill": self.fill,
            "compat": self.compat, "news": list(self.news), "risk_free_rate": self.risk_free,
            "config": str(options.config) if options.config else None,
        }


class _WalkForwardRequest:
    """The `--optimize` options."""

    def __init__(self, *, grid: dict[str, list[str]], random: int | None, seed: int, metric: str,
                 train: int | None, test: int | None, anchored: bool,
                 processes: int | None) -> None:
        self.grid = grid
        self.random = random
        self.seed = seed
        self.metric = metric
        self.train = train
        self.test = test
        self.anchored = anchored
        self.processes = processes


def _prepare(
    options: RunOptions, request: _Request
) -> tuple[Settings, BacktestSpec, dict[str, BarArrays], Settings]:
    """Settings, spec and bars, validated before anything runs (bad input exits 2 here)."""
    from robo_tui.backtest.results import InputError, load_bars
    from robo_tui.backtest.runner import BacktestSetupError, backtest_settings
    from robo_tui.runtime import load_run_settings

    if not request.data:
        raise UsageProblem("--data PATH is required (a CSV/Parquet file or a folder)")
    base = load_run_settings(options)
    spec = request.spec()
    try:
        bars = load_bars(request.data, request.symbols, start=request.start, end=request.end)
    except InputError as exc:
        raise UsageProblem(str(exc)) from None
    try:
        run_settings = backtest_settings(base, list(bars), spec)
    except BacktestSetupError as exc:
        raise UsageProblem(setup_message(exc)) from None
    return base, spec, bars, run_settings


def setup_message(exc: Exception) -> str:
    """A setup error in one or two plain lines (pydantic's details reduced to field: reason)."""
    from pydantic import ValidationError

    cause = exc.__cause__
    if isinstance(cause, ValidationError):
        parts = []
        for err in cause.errors(include_url=False):
            where = ".".join(str(p) for p in err.get("loc", ()))
            msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            parts.append(f"{where}: {msg}" if where else msg)
        return "; ".join(parts)
    return str(exc)


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def _stdout() -> Console:
    from rich.console import Console

    return Console()


@contextmanager
def _stop_on_sigint(stop: asyncio.Event, console: Console) -> Iterator[None]:
    """First Ctrl-C asks the replay to stop (partial results); a second one aborts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        console.print("[yellow]Stopping at the next bar: partial results follow "
                      "(Ctrl-C again to abort).[/]")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _progress_bar(console: Console, total: int, label: str) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                        transient=True)
    return progress


def _backtest(options: RunOptions, request: _Request) -> int:
    import asyncio

    from robo_tui.backtest.results import analyse, load_news, timeline_length
    from robo_tui.backtest.runner import run_backtest
    from robo_tui.domain.time import ns_to_datetime

    base, spec, bars, _ = _prepare(options, request)
    err = _stderr()
    news_items = []
    if request.news:
        from robo_tui.backtest.results import InputError

        last = max(int(b.ts[-1]) for b in bars.values())
        try:
            news_items = load_news(request.news, until=ns_to_datetime(last))
        except InputError as exc:
            raise UsageProblem(str(exc)) from None
    n_timeline = timeline_length(bars)
    total_bars = sum(len(b) for b in bars.values())
    stop = asyncio.Event()
    if request.progress is None:
        bar = err.is_terminal and n_timeline >= PROGRESS_MIN_BARS
        lines = False
    else:
        bar = request.progress and err.is_terminal
        lines = request.progress and not err.is_terminal

    async def replay() -> Any:
        if lines:  # not a terminal: one plain line per progress report (for logs and scripts)
            def line(done: int, total: int) -> None:
                err.print(f"progress {done}/{total} bars", highlight=False)

            return await run_backtest(base, bars, spec, news=news_items, progress=line, stop=stop)
        if not bar:
            return await run_backtest(base, bars, spec, news=news_items, stop=stop)
        with _progress_bar(err, n_timeline, "Backtest") as progress:
            task = progress.add_task("replay", total=n_timeline)

            def tick(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            return await run_backtest(base, bars, spec, news=news_items, progress=tick, stop=stop)

    with _stop_on_sigint(stop, err):
        err.print(f"Replaying {total_bars:,} bars of {len(bars)} symbol(s)"
                  + (f" with {len(news_items):,} news items" if request.news else "")
                  + (" (backtesting.py conventions)" if spec.compat else "") + " …",
                  highlight=False)
        try:
            result, settings = asyncio.run(replay())
        except KeyboardInterrupt:
            err.print("[red]Aborted.[/]")
            return INTERRUPTED
    if result.equity.shape[0] == 0:
        err.print("[yellow]Stopped before the first bar: nothing to report.[/]")
        return INTERRUPTED
    outcome = analyse(result, settings, bars, fill=spec.fill, risk_free_rate=request.risk_free)
    _report(outcome, request, list(bars))
    code = _store_run(options, base, outcome, request.params(list(bars), options))
    if result.stopped_early:
        err.print(f"[yellow]Interrupted: the figures cover {outcome.stats.bars:,} of "
                  f"{n_timeline:,} bars.[/]")
        return INTERRUPTED
    return code


def _title(symbols: Sequence[str], outcome: RunOutcome) -> str:
    names = ", ".join(outcome.voters) or "no strategy"
    shown = ", ".join(symbols[:5]) + (f" +{len(symbols) - 5}" if len(symbols) > 5 else "")
    return f"Backtest {shown} · {names}"


def _report(outcome: RunOutcome, request: _Request, symbols: Sequence[str]) -> None:
    """Terminal report, then the --json and --html files."""
    from robo_tui.backtest.html import write_html_report
    from robo_tui.backtest.report import render_report
    from robo_tui.backtest.results import issue_json
    from robo_tui.backtest.stats import drawdown

    console = _stdout()
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
                  console=console, max_trades=request.max_trades, chart=request.chart)
    if request.json_path is not None:
        _write_json(request.json_path, issue_json(outcome.stats, outcome.trades))
        console.print(f"JSON written to {request.json_path}", highlight=False)
    if request.html_path is not None:
        write_html_report(request.html_path, outcome.stats, outcome.trades, outcome.equity, dd,
                          outcome.index, title=_title(symbols, outcome))
        console.print(f"HTML report written to {request.html_path}", highlight=False)


def _write_json(path: Path, data: Any) -> None:
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def _store_run(options: RunOptions, base: Settings, outcome: RunOutcome,
               params: dict[str, Any]) -> int:
    from robo_tui.backtest.results import run_record

    return _store(options, base, run_record(outcome, params))


def _store(options: RunOptions, base: Settings, record: dict[str, Any]) -> int:
    """Save a run in the data dir's database; 0, or 1 (with the reason) when it cannot be."""
    import asyncio
    import sqlite3

    from robo_tui.adapters.store.sqlite import SqliteStore
    from robo_tui.runtime import resolve_data_dir

    data_dir = resolve_data_dir(options, base)

    async def save() -> str:
        store = SqliteStore.for_data_dir(data_dir)
        await store.open()
        try:
            return await store.record_backtest_run(record)
        finally:
            await store.close()

    try:
        run_id = asyncio.run(save())
    except (OSError, sqlite3.Error, RuntimeError) as exc:
        typer.echo(f"robo-tui backtest: could not store the run in {data_dir}: {exc}", err=True)
        return 1
    _stdout().print(f"Stored as run {run_id[:12]} (robo-tui backtest --show {run_id[:12]})",
                    highlight=False)
    return 0


# --------------------------------------------------------------------------- stored runs


def _read_runs(options: RunOptions, sql: str, args: Sequence[Any]) -> list[dict[str, Any]]:
    import asyncio

    from robo_tui.adapters.store.sqlite import SqliteStore
    from robo_tui.runtime import load_run_settings, resolve_data_dir

    settings = load_run_settings(options)
    data_dir = resolve_data_dir(options, settings)

    async def read() -> list[dict[str, Any]]:
        store = SqliteStore.for_data_dir(data_dir)
        await store.open()
        try:
            return await store.query(sql, args)
        finally:
            await store.close()

    return asyncio.run(read())


def _list_stored(options: RunOptions, limit: int) -> None:
    from rich.table import Table
    from rich.text import Text

    from robo_tui.backtest.report import fit_layout, report_table
    from robo_tui.backtest.results import LIST_RUNS_SQL, run_listing

    rows = _read_runs(options, LIST_RUNS_SQL, (limit,))
    console = _stdout()
    if not rows:
        console.print("No stored backtest runs.")
        return

    def layout(compact: bool, narrow: bool) -> Table:
        """Narrow: `run_listing`'s narrow cells, no bars column."""
        table = report_table("Backtest runs (newest first)", compact)
        numeric = ("bars", "return", "sharpe", "max DD", "trades")
        headers = ("id", "when (UTC)", "kind", "symbols", "strategies", *numeric)
        kept = [h for h in headers if not (narrow and h == "bars")]
        for header in kept:
            table.add_column(header, justify="right" if header in numeric else "left",
                             overflow="fold", no_wrap=header in ("id", "when (UTC)"))
        for row in rows:
            cells = run_listing(row, narrow=narrow)
            table.add_row(*(Text(cells[h]) for h in kept))
        return table

    console.print(fit_layout(console, layout))


def _find_run(options: RunOptions, run_id: str) -> StoredRun:
    from robo_tui.backtest.results import FIND_RUN_SQL, stored_run

    prefix = run_id.strip().lower()
    if not prefix or any(c not in "0123456789abcdef" for c in prefix):
        raise UsageProblem(f"--show {run_id!r}: a run id is hexadecimal (see --list)")
    rows = _read_runs(options, FIND_RUN_SQL, (prefix + "%",))
    if not rows:
        raise UsageProblem(f"no stored run {run_id} (see robo-tui backtest --list)")
    if len(rows) > 1:
        raise UsageProblem(f"run id prefix {run_id} is ambiguous; give more characters")
    return stored_run(rows[0])


def _show_stored(options: RunOptions, run_id: str, json_path: Path | None,
                 html_path: Path | None, max_trades: int, chart: bool) -> None:
    import numpy as np

    from robo_tui.backtest.html import write_html_report
    from robo_tui.backtest.report import stored_report
    from robo_tui.backtest.results import issue_json
    from robo_tui.backtest.stats import drawdown

    run = _find_run(options, run_id)
    console = _stdout()
    color = console.color_system is not None and not console.no_color
    console.print(stored_report(run, width=console.width, color=color, max_trades=max_trades,
                                chart=chart))
    if run.kind == "walk_forward":
        if json_path is not None:
            _write_json(json_path, run.stats_json)
            console.print(f"JSON written to {json_path}", highlight=False)
        if html_path is not None:
            raise UsageProblem("--html is for a single backtest, not a walk-forward run")
        return
    if json_path is None and html_path is None:
        return
    stats, trades = run.stats(), run.trades()  # decoded again only when a file is asked for
    if json_path is not None:
        _write_json(json_path, issue_json(stats, trades))
        console.print(f"JSON written to {json_path}", highlight=False)
    if html_path is not None:
        ts, equity = run.equity()
        bars = np.asarray((run.equity_json or {}).get("bar", []), dtype=np.int64) \
            if isinstance(run.equity_json, dict) else np.empty(0, dtype=np.int64)
        shown = trades
        if bars.size and bars.size < stats.bars:  # decimated: put the markers on the kept points
            from dataclasses import replace

            shown = [replace(t, entry_bar=min(int(np.searchsorted(bars, t.entry_bar)), bars.size - 1),
                             exit_bar=min(int(np.searchsorted(bars, t.exit_bar)), bars.size - 1))
                     for t in trades]
        dd = drawdown(equity) if equity.size else equity
        write_html_report(html_path, stats, shown, equity, dd, ts,
                          title=f"Backtest run {run.id[:12]}")
        console.print(f"HTML report written to {html_path}", highlight=False)


# --------------------------------------------------------------------------- walk-forward


def _grid_targets(grid: dict[str, list[str]], strategies: dict[str, dict[str, str]] | None,
                  settings: Settings) -> dict[str, str]:
    """Each --grid key as `strategy.param` (a bare key belongs to the one --strategy, or to the
    only enabled strategy that has such a parameter)."""
    from robo_tui.backtest.results import voter_names

    sections = settings.strategies.model_dump()
    named = list(strategies or {}) or list(voter_names(settings))
    out: dict[str, str] = {}
    for key in grid:
        if "." in key:
            name, param = key.split(".", 1)
        else:
            owners = [n for n in named if key in sections.get(n, {})]
            if len(owners) != 1:
                where = "none of" if not owners else "several of"
                raise UsageProblem(f"--grid {key}: {where} {', '.join(named) or 'the strategies'}"
                                   f" has it; write STRATEGY.{key}")
            name, param = owners[0], key
        if name not in sections:
            raise UsageProblem(f"--grid {key}: unknown strategy {name}; known: "
                               f"{', '.join(sections)}")
        if param in ("enabled",) or param not in sections[name]:
            known = ", ".join(k for k in sections[name] if k != "enabled")
            raise UsageProblem(f"--grid {key}: strategy {name} has no parameter {param!r}; "
                               f"parameters: {known}")
        out[key] = f"{name}.{param}"
    return out


def _optimize(options: RunOptions, request: _Request, wf: _WalkForwardRequest) -> int:
    import functools

    from robo_tui.backtest.report import render_walk_forward
    from robo_tui.backtest.results import SliceJob, run_slice, spec_with, timeline_length
    from robo_tui.backtest.runner import BacktestSetupError, backtest_settings
    from robo_tui.backtest.stats import numeric_stat_names
    from robo_tui.backtest.walkforward import (
        param_grid,
        random_search,
        rolling_windows,
        walk_forward,
        walk_forward_to_json,
    )

    if not wf.grid:
        raise UsageProblem("--optimize needs at least one --grid key=v1,v2,...")
    if request.html_path is not None:
        raise UsageProblem("--html is for a single backtest; --optimize writes --json")
    if request.news:
        raise UsageProblem("--news is not replayed during --optimize")
    if wf.metric not in numeric_stat_names():
        raise UsageProblem(f"--metric {wf.metric}: not a statistic; use one of "
                           f"{', '.join(numeric_stat_names())}")
    base, spec, bars, run_settings = _prepare(options, request)
    targets = _grid_targets(wf.grid, request.strategies, run_settings)
    strategies = dict(request.strategies or {})
    for target in targets.values():  # optimising a strategy's params runs that strategy
        strategies.setdefault(target.split(".", 1)[0], {})
    if request.strategies is None:
        from robo_tui.backtest.results import voter_names

        for name in voter_names(run_settings):
            strategies.setdefault(name, {})
    from dataclasses import replace

    spec = replace(spec, strategies=strategies)
    job = SliceJob(settings=base, spec=spec, paths=tuple(str(p) for p in request.data),
                   symbols=tuple(request.symbols) if request.symbols else None,
                   start=request.start, end=request.end, targets=tuple(targets.items()))
    symbols = list(bars)
    problems: dict[str, int] = {}

    def valid(params: dict[str, Any]) -> bool:
        try:
            backtest_settings(base, symbols, spec_with(job, params))
        except BacktestSetupError as exc:
            reason = setup_message(exc)
            problems[reason] = problems.get(reason, 0) + 1
            return False
        return True

    if wf.random is not None:
        candidates = random_search(wf.grid, wf.random, wf.seed, constraint=valid)
    else:
        candidates = param_grid(wf.grid, constraint=valid)
    err = _stderr()
    for reason, count in problems.items():
        err.print(f"Skipped {count} invalid combination(s): {reason}", highlight=False)
    if not candidates:
        raise UsageProblem("no valid parameter combination in the --grid")
    n = timeline_length(bars)
    test = wf.test or max(2, n // 6)
    train = wf.train or 2 * test
    windows = rolling_windows(n, train, test, anchored=wf.anchored)
    if not windows:
        raise UsageProblem(f"the data has {n:,} bars: --train {train} + --test {test} do not fit")
    maximize = wf.metric not in LOWER_IS_BETTER
    err.print(f"Walk-forward: {len(candidates)} candidates × {len(windows)} windows "
              f"(train {train:,}, test {test:,} bars) on {n:,} bars, ranked by {wf.metric} …",
              highlight=False)
    run = functools.partial(run_slice, job)
    try:
        if err.is_terminal:
            total = len(candidates) * len(windows) + len(windows)
            with _progress_bar(err, total, "Walk-forward") as progress:
                task = progress.add_task("wf", total=total)

                def tick(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                result = walk_forward(run, candidates, windows, metric=wf.metric,
                                      maximize=maximize, processes=wf.processes, progress=tick)
        else:
            result = walk_forward(run, candidates, windows, metric=wf.metric, maximize=maximize,
                                  processes=wf.processes)
    except KeyboardInterrupt:
        err.print("[red]Walk-forward interrupted; nothing stored.[/]")
        return INTERRUPTED
    console = _stdout()
    render_walk_forward(result, console=console)
    data = walk_forward_to_json(result)
    if request.json_path is not None:
        _write_json(request.json_path, data)
        console.print(f"JSON written to {request.json_path}", highlight=False)
    params = request.params(symbols, options)
    params.update(kind="walk_forward", grid=wf.grid, random=wf.random, seed=wf.seed,
                  train=train, test=test, anchored=wf.anchored, metric=wf.metric,
                  strategy_names=" ".join(strategies), fixed_params=strategies)
    return _store(options, base, {"params": params, "stats": data, "trades": [], "equity": []})
