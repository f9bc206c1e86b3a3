"""The operations commands, registered on the main app by `robo_tui.cli` with `register`:
`preflight`, `health` and `status`. Light at import (typer only): each command imports what it
needs when it runs."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from robo_tui.ops.checks import PreflightReport
    from robo_tui.runtime import RunOptions

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Config file (TOML).",
                                                   dir_okay=False)]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Folder for the database and logs.",
                                                    file_okay=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (one JSON object).",
                                       metavar="")]


def register(app: typer.Typer, command_cls: Any) -> None:
    """Add `preflight`, `health` and `status` to `app` (each with `command_cls`)."""
    app.command("preflight", cls=command_cls)(preflight_command)
    app.command("health", cls=command_cls)(health_command)
    app.command("status", cls=command_cls)(status_command)


def _options(config: Path | None, data_dir: Path | None, json_out: bool = False) -> RunOptions:
    from robo_tui.runtime import RunOptions

    return RunOptions(config=config, data_dir=data_dir, json=json_out)


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"robo-tui: {message}", err=True)
    return typer.Exit(code)


def preflight_command(config: ConfigOpt = None, data_dir: DataDirOpt = None,
                      json_out: JsonOpt = False) -> None:
    """Every check before live money (broker and account, fresh prices, real news, the analyst,
    clock, limits against real equity, secrets, database and disk, kill switch, drift), each a
    PASS/FAIL line with its fix. The result is kept in the journal: a live start needs a pass
    from the last [live] preflight_max_age_minutes. Exits 0 when every check passes, 20 when any
    fails, 2 on a config error."""
    from robo_tui.ops.exitcodes import OpsExit
    from robo_tui.runtime import RunError, load_run_settings, resolve_data_dir

    options = _options(config, data_dir, json_out)
    try:
        settings = load_run_settings(options)
        folder = resolve_data_dir(options, settings)
        report = asyncio.run(_run_preflight(options, settings, folder))
    except RunError as exc:
        raise _fail(str(exc), int(exc.code)) from exc
    typer.echo(json.dumps(report.to_json()) if json_out else report.text())
    raise typer.Exit(int(OpsExit.OK if report.passed else OpsExit.PREFLIGHT_FAILED))


async def _run_preflight(options: RunOptions, settings: Any, folder: Path) -> PreflightReport:
    from robo_tui.config import resolve_config_path
    from robo_tui.domain.risk import Mode
    from robo_tui.engine.clock import WallClock
    from robo_tui.ops.preflight import PreflightInputs, run_preflight, secrets_file_for
    from robo_tui.ops.record import save_report
    from robo_tui.ports import StorageFault
    from robo_tui.runtime import ExitCode, RunError
    from robo_tui.wiring import (
        AnalystAdapters,
        WiringError,
        build_broker,
        build_feed,
        build_news_sources,
        build_store,
    )

    clock = WallClock()
    errors: list[tuple[str, str]] = []
    store = build_store(folder)
    try:
        await store.open()
    except StorageFault as exc:
        raise RunError(f"{exc.what}: {exc}", ExitCode(exc.exit_code)) from exc
    broker = feed = analyst = None
    news: list[Any] = []
    try:
        if settings.broker.kind != "paper":
            try:
                broker = build_broker(settings, Mode.LIVE, clock)
            except (WiringError, ValueError) as exc:
                errors.append(("broker", str(exc)))
        try:
            feed = build_feed(settings, clock)
        except (WiringError, ValueError, ImportError) as exc:
            errors.append(("prices", str(exc)))
        try:
            news = build_news_sources(settings, clock)
        except (ValueError, ImportError) as exc:
            errors.append(("news", str(exc)))
        try:
            analyst = AnalystAdapters(settings, None).build(settings.analysts.provider,
                                                            model=settings.analysts.model or None)
        except (ValueError, ImportError) as exc:
            errors.append(("analyst", str(exc)))
        inputs = PreflightInputs(settings=settings, data_dir=folder, store=store, broker=broker,
                                 feed=feed, news=news, analyst=analyst,
                                 secrets_file=secrets_file_for(resolve_config_path(options.config)),
                                 build_errors=tuple(errors))
        report = await run_preflight(inputs)
        await save_report(store, report)
        return report
    finally:
        for closer in ([broker.close] if broker else []) + ([feed.close] if feed else []) + \
                [s.close for s in news] + ([analyst.close] if analyst else []):
            with contextlib.suppress(Exception):  # closing must go on; the report says what failed
                async with asyncio.timeout(10):
                    await closer()
        await store.close()


def health_command(
    data_dir: DataDirOpt = None, config: ConfigOpt = None,
    max_age: Annotated[float | None, typer.Option(
        "--max-age", help="Seconds the last cycle may be old (default: 3 cycles + 30 s).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """For monitors: read the heartbeat the engine writes each cycle. Exits 0 when fresh and
    trading, 3 when the engine runs but trading is HALTED, 21 when the heartbeat is stale or its
    process is gone, 22 when there is no heartbeat."""
    from robo_tui.ops.health import judge
    from robo_tui.ops.heartbeat import heartbeat_path, read_heartbeat
    from robo_tui.runtime import RunError, load_run_settings, resolve_data_dir

    options = _options(config, data_dir, json_out)
    try:
        folder = resolve_data_dir(options, load_run_settings(options))
    except RunError as exc:
        raise _fail(str(exc), int(exc.code)) from exc
    beat = read_heartbeat(heartbeat_path(folder))
    verdict = judge(beat, datetime.now(UTC), max_age=max_age)
    if json_out:
        typer.echo(json.dumps({"code": int(verdict.code), "message": verdict.message,
                               "age_seconds": verdict.age_seconds,
                               "heartbeat": beat.model_dump(mode="json") if beat else None}))
    else:
        typer.echo(verdict.message)
    raise typer.Exit(int(verdict.code))


def status_command(config: ConfigOpt = None, data_dir: DataDirOpt = None,
                   json_out: JsonOpt = False) -> None:
    """State, mode, equity, day P&L, positions, working orders, last fills and the health of
    each source, from the journal (no engine needs to run). Plain text at 80 columns, no
    colours, ids never cut; --json for everything."""
    from robo_tui.ops.status import collect_status, render_status
    from robo_tui.ports import StorageFault
    from robo_tui.runtime import RunError, load_run_settings, resolve_data_dir
    from robo_tui.wiring import build_store

    options = _options(config, data_dir, json_out)

    async def work() -> dict[str, Any]:
        settings = load_run_settings(options)
        folder = resolve_data_dir(options, settings)
        store = build_store(folder)
        try:
            await store.open()
        except StorageFault as exc:
            from robo_tui.runtime import ExitCode

            raise RunError(f"{exc.what}: {exc}", ExitCode(exc.exit_code)) from exc
        try:
            return await collect_status(store, settings, folder, datetime.now(UTC))
        finally:
            await store.close()

    try:
        status = asyncio.run(work())
    except RunError as exc:
        raise _fail(str(exc), int(exc.code)) from exc
    typer.echo(json.dumps(status, default=str) if json_out else render_status(status))
