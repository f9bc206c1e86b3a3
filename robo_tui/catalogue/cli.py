"""`robo-tui data download|list`: fill the history catalogue and show what it holds.

Light at import (typer only): `robo-tui` imports this module at start-up; the catalogue, ccxt,
pyarrow and rich are imported when a command runs.

Exit codes: 0 done; 1 the source failed (unreachable, refused, rate-limited past the retries);
2 bad input (option, date, source, symbol); 130 interrupted (what was fetched is saved).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from robo_tui.catalogue.download import DownloadResult
    from robo_tui.catalogue.store import Entry

data_app = typer.Typer(help="The local history catalogue: download bars, list what is stored.",
                       no_args_is_help=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Config file (TOML).", dir_okay=False)]
DataDirOpt = Annotated[Path | None, typer.Option(
    "--data-dir", help="Folder for the database, logs and the catalogue.", file_okay=False)]

USAGE, FAILED, INTERRUPTED = 2, 1, 130


def parse_date(text: str, option: str) -> datetime:
    """A `--since`/`--until` value (a date or an ISO time; UTC unless it has an offset)."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (use 2024-01-31 or 2024-01-31T12:00)",
                                 param_hint=option) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M")


@data_app.command("download")
def download_command(
    source: Annotated[str, typer.Option("--source", help="ccxt:EXCHANGE (e.g. ccxt:kraken), ccxt "
                                        "for feeds.ccxt.exchange, or yfinance (US stocks, delayed).")],
    symbols: Annotated[str, typer.Option("--symbols", help="Comma-separated, e.g. BTC-USD,ETH-USD.")],
    since: Annotated[str, typer.Option("--since", help="First bar (date or ISO time, UTC).")],
    timeframe: Annotated[str, typer.Option("--timeframe", help="1m, 5m, 15m, 1h, 4h or 1d.")] = "1h",
    until: Annotated[str | None, typer.Option("--until", help="Up to here (default: now).")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Download OHLCV bars into the catalogue (Parquet); a rerun fetches only newer bars."""
    import asyncio

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from robo_tui.catalogue.download import download
    from robo_tui.catalogue.sources import open_source
    from robo_tui.catalogue.store import Catalogue, CatalogueError, timeframe_seconds
    from robo_tui.runtime import RunError, RunOptions, load_run_settings, resolve_data_dir

    wanted = [s.strip().upper() for s in symbols.split(",") if s.strip()]
    if not wanted:
        raise typer.BadParameter("needs at least one symbol", param_hint="--symbols")
    start = parse_date(since, "--since")
    end = parse_date(until, "--until") if until else datetime.now(UTC)
    if end <= start:
        raise typer.BadParameter(f"{until} is not after --since {since}", param_hint="--until")
    console = Console(stderr=True)
    try:
        timeframe_seconds(timeframe)
        options = RunOptions(config=config, data_dir=data_dir)
        settings = load_run_settings(options)
        catalogue = Catalogue(resolve_data_dir(options, settings) / "catalogue")
        history = open_source(source, settings)
    except (CatalogueError, ValueError, ImportError) as exc:
        console.print(f"robo-tui data: {exc}", markup=False, highlight=False)
        raise typer.Exit(USAGE) from None
    except RunError as exc:
        console.print(f"robo-tui: {exc}", markup=False, highlight=False)
        raise typer.Exit(int(exc.code)) from None

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        tasks = {s: progress.add_task(f"{history.name} {s} {timeframe}", total=None) for s in wanted}

        def on_progress(symbol: str, done: int, expected: int) -> None:
            progress.update(tasks[symbol], completed=done, total=expected or None)

        try:
            results = asyncio.run(download(catalogue, history, wanted, timeframe,
                                           int(start.timestamp() * 1e9), int(end.timestamp() * 1e9),
                                           on_progress=on_progress))
        except KeyboardInterrupt:
            console.print("interrupted: the bars fetched so far are saved; rerun to resume")
            raise typer.Exit(INTERRUPTED) from None
        except (CatalogueError, ValueError) as exc:
            console.print(f"robo-tui data: {exc}", markup=False, highlight=False)
            raise typer.Exit(FAILED) from None
    for result in results:
        typer.echo(_summary(history.name, timeframe, result))


def _summary(source: str, timeframe: str, result: DownloadResult) -> str:
    if not result.added:
        text = f"{source} {result.symbol} {timeframe}: up to date, no new bars"
    else:
        assert result.first_ns is not None and result.last_ns is not None
        text = (f"{source} {result.symbol} {timeframe}: +{result.added} bars "
                f"{_iso(result.first_ns)} .. {_iso(result.last_ns)}")
    if result.rejected:
        text += f"; {result.rejected} bad bar(s) rejected"
    if result.gaps:
        missing = sum(g.missing for g in result.gaps)
        worst = max(result.gaps, key=lambda g: g.missing)
        text += (f"; {len(result.gaps)} gap(s), {missing} bar(s) missing "
                 f"(largest: {worst.missing} after {_iso(worst.after_ns)})")
    return text


@data_app.command("list")
def list_command(config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Show what the catalogue holds: source, symbol, timeframe, range, bars and gaps."""
    from rich.console import Console
    from rich.table import Table

    from robo_tui.catalogue.store import Catalogue, CatalogueError
    from robo_tui.runtime import RunError, RunOptions, load_run_settings, resolve_data_dir

    try:
        options = RunOptions(config=config, data_dir=data_dir)
        root = resolve_data_dir(options, load_run_settings(options)) / "catalogue"
        entries = list(Catalogue(root).entries())
    except RunError as exc:
        typer.echo(f"robo-tui: {exc}", err=True)
        raise typer.Exit(int(exc.code)) from None
    except CatalogueError as exc:
        typer.echo(f"robo-tui data: {exc}", err=True)
        raise typer.Exit(FAILED) from None
    if not entries:
        typer.echo(f"the catalogue at {root} is empty (robo-tui data download ...)")
        return
    table = Table("source", "symbol", "timeframe", "first", "last", "bars", "gaps", title=str(root))
    for entry in entries:
        table.add_row(*_row(entry))
    Console(width=120).print(table)


def _row(entry: Entry) -> tuple[str, ...]:
    gaps = f"{len(entry.gaps)} ({entry.missing} bars)" if entry.gaps else "none"
    return (entry.source, entry.symbol, entry.timeframe, _iso(entry.first_ns), _iso(entry.last_ns),
            str(entry.bars), gaps)
