"""`robo-tui backtest`: the typer command, its options and help, dispatching to the commands.

Registered on the main app in robo_tui/cli.py as
`app.command("backtest", cls=BacktestCommand)(backtest_command)`. This module imports only typer
and the argument parser; the commands (`robo_tui.backtest.commands`: run, optimize, list, show)
and everything heavy they need (pandas, the engine, rich reports) are imported when the command
runs, so `robo-tui --headless` does not pay for them at start-up.

Exit codes: 0 done; 1 the run could not be stored; 2 bad input (option, parameter, data file,
config); 130 interrupted by Ctrl-C (the partial results are still reported, written and stored).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from typer.core import TyperCommand

from robo_tui.backtest.arguments import (
    BacktestRequest,
    UsageProblem,
    WalkForwardRequest,
    parse_grid,
    split_symbols,
    strategy_params,
)

USAGE = 2
"""Exit code of bad input."""
_ORDER_KEY = "robo_tui.backtest.strategy_param_order"


class FillTiming(StrEnum):
    """When an order decided at a bar's close fills."""

    NEXT_OPEN = "next-open"
    CLOSE = "close"


class SearchMethod(StrEnum):
    """How `--optimize` finds its candidates."""

    GRID = "grid"
    RANDOM = "random"
    OPTUNA = "optuna"


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


def _search_method(search: SearchMethod | None, random: int | None,
                   trials: int | None) -> Literal["grid", "random", "optuna"]:
    """The --search method, checked against --random and --trials."""
    method = search or (SearchMethod.RANDOM if random is not None else SearchMethod.GRID)
    if method is SearchMethod.RANDOM and random is None:
        raise UsageProblem("--search random needs --random N (how many draws)")
    if method is not SearchMethod.RANDOM and random is not None:
        raise UsageProblem(f"--random does not combine with --search {method.value}")
    if trials is not None and method is not SearchMethod.OPTUNA:
        raise UsageProblem("--trials is for --search optuna")
    if method is SearchMethod.OPTUNA:
        return "optuna"
    return "random" if method is SearchMethod.RANDOM else "grid"


DataOpt = Annotated[list[Path] | None, typer.Option(
    "--data", help="OHLCV CSV/Parquet file or folder (per-symbol files or a long table with a "
    "symbol column); repeatable.")]


def backtest_command(
    ctx: typer.Context,
    data: DataOpt = None,
    symbols: Annotated[str | None, typer.Option(
        "--symbols", help="Only these symbols, comma-separated (e.g. AAPL,MSFT).")] = None,
    symbol: Annotated[str | None, typer.Option(
        "--symbol", help="The symbol of a single per-symbol --data file (default: its name up "
        "to the first '_', e.g. aapl_1d.csv is AAPL).")] = None,
    start: Annotated[str | None, typer.Option(
        "--start", help="First date (inclusive), e.g. 2010-01-01.")] = None,
    end: Annotated[str | None, typer.Option(
        "--end", help="Last date (inclusive; a bare date includes that day).")] = None,
    source: Annotated[str | None, typer.Option(
        "--source", help="Read the history catalogue instead of --data, e.g. ccxt:kraken "
        "(fill it with robo-tui data download).")] = None,
    timeframe: Annotated[str, typer.Option(
        "--timeframe", help="Catalogue bars to read with --source: 1m, 5m, 15m, 1h, 4h or 1d.")] = "1h",
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
    seed: Annotated[int, typer.Option("--seed", help="Seed of --random and --search optuna.")
    ] = 0,
    search: Annotated[SearchMethod | None, typer.Option(
        "--search", help="How --optimize finds candidates: every --grid combination, --random "
        "draws, or optuna (TPE with median pruning; needs robo-tui[optimize]). Default: grid, or "
        "random with --random.")] = None,
    trials: Annotated[int | None, typer.Option(
        "--trials", min=1, help="--search optuna: trials per train window (default 50).")
    ] = None,
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
    outlier_ratio: Annotated[float, typer.Option(
        "--outlier-ratio", min=0.0, help="Warn about a close this many times the one before, or "
        "1/x of it (0: off).")] = 5.0,
    outlier_z: Annotated[float, typer.Option(
        "--outlier-z", min=0.0, help="Warn about a log return beyond this many robust standard "
        "deviations (1.4826 x MAD) from the median (0, the default: off).")] = 0.0,
    ruin: Annotated[float, typer.Option(
        "--ruin", min=0.0, max=0.999, help="Stop the run when equity falls below this fraction "
        "of the start, and say so (0: off; compat mode still stops at zero equity, as "
        "backtesting.py does).")] = 0.1,
    backlog: Annotated[int, typer.Option(
        "--backlog", min=0, help="Warn when at least this many orders placed before the last "
        "bar never filled (0: off).")] = 1,
    cluster: Annotated[str | None, typer.Option(
        "--cluster", help="Run --optimize trials on a Dask cluster: its scheduler address, "
        "tcp://host:port (needs robo-tui[cluster]). Default: a local process pool.")] = None,
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
    # Imported here, not at the top: `robo-tui --headless` imports this module at start-up and
    # must not pay for pandas, the engine and rich.
    from robo_tui.backtest import commands
    from robo_tui.runtime import RunError, RunOptions

    options = RunOptions(config=config, data_dir=data_dir)
    try:
        if list_runs:
            commands.list_stored(options, limit)
            return
        if show is not None:
            commands.show_stored(options, show, json_path, html_path, max_trades, chart)
            return
        chosen = strategy_params(strategy or [], param or [], ctx.meta.get(_ORDER_KEY))
        request = BacktestRequest(
            data=list(data or []), symbols=split_symbols(symbols), start=start, end=end,
            strategies=chosen, cash=cash, commission=commission, slippage_bps=slippage_bps, fill=fill.value,
            compat=compat, news=list(news or []), json_path=json_path, html_path=html_path,
            risk_free=risk_free, chart=chart, max_trades=max_trades, progress=progress,
            source=source, timeframe=timeframe, symbol=symbol, outlier_ratio=outlier_ratio,
            outlier_z=outlier_z, ruin=ruin, backlog=backlog,
        )
        if optimize and symbol:  # the walk-forward workers reload the files by name
            raise UsageProblem("--symbol does not combine with --optimize; name the file "
                               "SYMBOL.csv (or SYMBOL_anything.csv) instead")
        if optimize:
            code = commands.optimize(options, request, WalkForwardRequest(
                grid=parse_grid(grid or []), random=random, seed=seed, metric=metric,
                train=train, test=test, anchored=anchored, processes=processes,
                search=_search_method(search, random, trials), trials=trials, cluster=cluster))
        else:
            if (grid or random is not None or train is not None or test is not None
                    or search is not None or trials is not None or cluster is not None):
                raise UsageProblem("--grid, --random, --search, --trials, --train, --test and "
                                   "--cluster need --optimize")
            code = commands.run_backtest_command(options, request)
    except UsageProblem as exc:
        typer.echo(f"robo-tui backtest: {exc}", err=True)
        raise typer.Exit(USAGE) from None
    except RunError as exc:
        typer.echo(f"robo-tui: {exc}", err=True)
        raise typer.Exit(int(exc.code)) from None
    raise typer.Exit(code)
