"""The `robo-tui` command line (typer).

`robo-tui` opens the console; `robo-tui --headless` runs the engine without UI; the subcommands
act on a data dir from a shell (kill switch, proposals, config check). Every subcommand takes the
common options after its name.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer import _click as typer_click  # typer's own click: the types its group class takes
from typer.core import TyperCommand, TyperGroup, TyperOption

from robo_tui.catalogue.cli import data_app  # light: typer only
from robo_tui.domain.control import halted_after
from robo_tui.domain.risk import Mode
from robo_tui.ports import StorageFault
from robo_tui.registries.analysts import ANALYSTS
from robo_tui.runtime import ExitCode, RunError, RunOptions, load_run_settings, resolve_data_dir

if TYPE_CHECKING:
    from robo_tui.domain.signals import Proposal, ProposalStatus

BOOLEAN_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "1", "0"})


class HelpIsAFlag:
    """Shows `--help` as the flag it is (typer labels it `<bool>`)."""

    def get_help_option(self, ctx: typer_click.Context) -> TyperOption | None:
        option: TyperOption | None = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.metavar = ""
        return option


class FlagAwareCommand(HelpIsAFlag, TyperCommand):
    """A subcommand whose help shows flags as flags."""


class FlagAwareGroup(HelpIsAFlag, TyperGroup):
    """The command group, telling `--headless true` apart from an unknown command: flags take no
    value, so a boolean word where a command belongs is explained, not "No such command"."""

    def resolve_command(
        self, ctx: typer_click.Context, args: list[str]
    ) -> tuple[str | None, typer_click.Command | None, list[str]]:
        if args and args[0].lower() in BOOLEAN_WORDS:
            raise typer_click.exceptions.UsageError(
                f"{args[0]!r} is not a command: on/off options are flags and take no value "
                f"(write `robo-tui --headless`, not `robo-tui --headless {args[0]}`)", ctx)
        return super().resolve_command(ctx, args)


def flag(name: str, help_text: str, **kwargs: Any) -> Any:
    """A boolean option shown as a flag (`--headless`, not `--headless <bool>`)."""
    return typer.Option(name, help=help_text, metavar="", **kwargs)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"robo-tui {version('robo-tui')}")
        except PackageNotFoundError:
            typer.echo("robo-tui (not installed: run from a source tree)")
        raise typer.Exit(0)


app = typer.Typer(
    cls=FlagAwareGroup,
    name="robo-tui",
    help="A keyboard-driven trading console with an LLM-assisted trading engine.",
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(cls=FlagAwareGroup, help="Inspect the configuration.",
                         no_args_is_help=True)
proposals_app = typer.Typer(cls=FlagAwareGroup,
                            help="Semi-auto from a shell: list, approve or reject proposals.",
                            no_args_is_help=True)
orders_app = typer.Typer(cls=FlagAwareGroup,
                         help="List and cancel working orders; settle orders whose outcome "
                         "robo-tui could not learn.",
                         no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(proposals_app, name="proposals")
app.add_typer(data_app, name="data", cls=FlagAwareGroup)
app.add_typer(orders_app, name="orders")

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Config file (TOML).",
                                                   dir_okay=False)]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Folder for the database and logs.",
                                                    file_okay=False)]
ModeOpt = Annotated[Mode | None, typer.Option("--mode", help="paper, semi-auto, auto, live or "
                                                 "shadow (the live account, orders never sent).",
                                                 case_sensitive=False)]
JsonOpt = Annotated[bool, flag("--json", "Machine-readable output (one JSON object per cycle).")]
ConfirmLiveOpt = Annotated[bool, flag("--confirm-live",
                                      "Explicitly confirm trading real money in live mode.")]
AnalystOpt = Annotated[str | None, typer.Option(
    "--analyst", help=f"Analyst for this run: {ANALYSTS.choices(' | ')}.")]
NewsOpt = Annotated[list[str] | None, typer.Option(
    "--news", help="Add a news source (RSS/Atom URL or file) for this run; repeatable.")]


def _options(config: Path | None, data_dir: Path | None, mode: Mode | None = None,
             json_out: bool = False, confirm_live: bool = False, analyst: str | None = None,
             news: list[str] | None = None) -> RunOptions:
    if analyst is not None and analyst not in ANALYSTS:
        raise typer.BadParameter(f"unknown analyst {analyst!r}; use {ANALYSTS.choices()}",
                                 param_hint="--analyst")
    return RunOptions(config=config, data_dir=data_dir, mode=mode, json=json_out,
                      confirm_live=confirm_live, analyst=analyst, news=tuple(news or ()))


def _fail(exc: RunError) -> typer.Exit:
    typer.echo(f"robo-tui: {exc}", err=True)
    return typer.Exit(int(exc.code))


@app.callback(invoke_without_command=True)
def main_command(
    ctx: typer.Context,
    headless: Annotated[bool, flag("--headless", "Run the engine without UI (for cron).")] = False,
    once: Annotated[bool, flag("--once", "Headless: run one cycle and exit.")] = False,
    cycles: Annotated[int | None, typer.Option("--cycles", min=1, help="Headless: run N cycles and exit.")] = None,
    theme: Annotated[str | None, typer.Option("--theme", help="Console theme name.")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    mode: ModeOpt = None,
    json_out: JsonOpt = False,
    confirm_live: ConfirmLiveOpt = False,
    analyst: AnalystOpt = None,
    news: NewsOpt = None,
    version: Annotated[bool, flag("--version", "Print the version and exit.", is_eager=True,
                                  callback=_version)] = False,
) -> None:
    """Open the console, or with --headless run the engine without UI."""
    if ctx.invoked_subcommand is not None:
        return
    options = _options(config, data_dir, mode, json_out, confirm_live, analyst, news)
    if once and cycles is not None:
        raise typer.BadParameter("use --once or --cycles N, not both", param_hint="--once")
    if headless:
        from robo_tui.headless import HeadlessOptions, run_headless

        code = asyncio.run(run_headless(HeadlessOptions(options, cycles=1 if once else cycles)))
        raise typer.Exit(code)
    if once or cycles is not None:
        raise typer.BadParameter("--once and --cycles need --headless", param_hint="--once")
    try:
        from robo_tui.console import run_console
    except ImportError:
        typer.echo("The console is not built yet; run `robo-tui --headless` for the engine.")
        raise typer.Exit(0) from None
    raise typer.Exit(run_console(options, theme=theme))


@config_app.command("check", cls=FlagAwareCommand)
def config_check(config: ConfigOpt = None, data_dir: DataDirOpt = None, mode: ModeOpt = None,
                 json_out: JsonOpt = False) -> None:
    """Validate the configuration and print the effective settings, secrets redacted."""
    from robo_tui.config import redacted_dict, render_toml, resolve_config_path

    options = _options(config, data_dir, mode, json_out)
    try:
        settings = load_run_settings(options)
    except RunError as exc:
        raise _fail(exc) from exc
    source = resolve_config_path(config)
    if json_out:
        import json

        typer.echo(json.dumps(redacted_dict(settings), indent=2, default=str))
        return
    typer.echo(f"# config OK: {source or 'built-in defaults (no config file)'}")
    typer.echo(f"# data dir: {resolve_data_dir(options, settings)}")
    typer.echo(render_toml(settings))


async def _with_store(options: RunOptions, work):  # type: ignore[no-untyped-def]
    from robo_tui.wiring import build_store

    settings = load_run_settings(options)
    store = build_store(resolve_data_dir(options, settings))
    try:
        await store.open()
        try:
            return await work(store, settings)
        finally:
            await store.close()
    except StorageFault as exc:
        raise _storage_error(exc) from exc


def _storage_error(exc: StorageFault) -> RunError:
    """A storage fault as the run error with its own message and exit code."""
    return RunError(f"{exc.what}: {exc}", ExitCode(exc.exit_code))


def _engine_running(options: RunOptions) -> bool:
    """Whether another process holds the data dir (a console or a headless run)."""
    from robo_tui.adapters.store.lock import DataDirLock, DataDirLocked

    settings = load_run_settings(options)
    lock = DataDirLock(resolve_data_dir(options, settings))
    try:
        lock.acquire()
    except DataDirLocked:
        return True
    lock.release()
    return False


@app.command("halt", cls=FlagAwareCommand)
def halt_command(
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "halted from the shell",
    config: ConfigOpt = None, data_dir: DataDirOpt = None,
) -> None:
    """Kill switch: write the halt file beside the database, then journal a halt in it (a
    running engine halts within a second and cancels its open orders; otherwise the next start
    halts before it trades, and stays halted). The halt file holds even when the database
    cannot be written."""
    from robo_tui.adapters.store.haltfile import write_halt_file

    options = _options(config, data_dir)

    async def work(store, settings) -> None:  # type: ignore[no-untyped-def]
        await store.journal_command("halt", {"reason": reason}, "cli")
        await store.audit("killswitch", {"state": "HALTED", "reason": reason}, "cli")

    try:
        folder = resolve_data_dir(options, load_run_settings(options))
    except RunError as exc:
        raise _fail(exc) from exc
    try:
        halt_file: Path | None = write_halt_file(folder, reason, "cli")
    except OSError as exc:
        typer.echo(f"robo-tui: could not write the halt file in {folder}: {exc}", err=True)
        halt_file = None
    try:
        asyncio.run(_with_store(options, work))
    except RunError as exc:
        if halt_file is None:
            raise _fail(exc) from exc  # neither the file nor the database: the halt failed
        typer.echo(f"robo-tui: {exc}\nrobo-tui: the halt file {halt_file} holds the kill "
                   "switch: every start stays HALTED until `robo-tui resume`.", err=True)
    typer.echo(f"HALTED: {reason}. No new orders will be placed until `robo-tui resume`.")


@app.command("resume", cls=FlagAwareCommand)
def resume_command(
    yes: Annotated[bool, flag("--yes", "Do not ask for confirmation.")] = False,
    config: ConfigOpt = None, data_dir: DataDirOpt = None,
) -> None:
    """Leave HALTED and restore trading (asks for confirmation on a terminal)."""
    options = _options(config, data_dir)
    if not yes and sys.stdin.isatty():
        typer.confirm("Resume trading (the kill switch is released)?", abort=True)

    async def work(store, settings) -> bool:  # type: ignore[no-untyped-def]
        from robo_tui.adapters.store.haltfile import clear_halt_file

        # the engine accepts the losses so far when it carries the resume out (now, or at start)
        before = halted_after(await store.load_control(), await store.pending_commands())
        clear_halt_file(resolve_data_dir(options, settings))  # first: the engine re-reads it
        await store.journal_command("resume", {}, "cli")
        await store.audit("killswitch", {"state": "ACTIVE"}, "cli")
        return before

    try:
        before = asyncio.run(_with_store(options, work))
    except RunError as exc:
        raise _fail(exc) from exc
    was = "was HALTED" if before else "was not halted"
    typer.echo(f"ACTIVE: trading restored ({was}).")


@proposals_app.command("list", cls=FlagAwareCommand)
def proposals_list(
    all_: Annotated[bool, flag("--all", "Show decided proposals too.")] = False,
    config: ConfigOpt = None, data_dir: DataDirOpt = None, json_out: JsonOpt = False,
    wide: Annotated[bool, flag("--wide", "Add each proposal's rationale on its own line.")] = False,
) -> None:
    """List pending proposals (semi-auto): one line each, ids whole (`--wide` adds the
    rationale, `--json` everything)."""
    from robo_tui.domain.signals import ProposalStatus

    options = _options(config, data_dir, json_out=json_out)

    async def work(store, settings):  # type: ignore[no-untyped-def]
        return await store.proposals(None if all_ else ProposalStatus.PENDING)

    try:
        rows = asyncio.run(_with_store(options, work))
    except RunError as exc:
        raise _fail(exc) from exc
    if json_out:
        import json

        from robo_tui.domain.serialize import to_jsonable

        typer.echo(json.dumps([{**to_jsonable(p), "status": s.value} for p, s in rows], default=str))
        return
    from robo_tui.ops.proposals_text import render_proposals

    if not rows:
        typer.echo("No pending proposals." if not all_ else "No proposals.")
        return
    typer.echo(render_proposals(rows, datetime.now(UTC), wide=wide))


def already_decided(proposal: Proposal, status: ProposalStatus) -> str:
    """Why a decided proposal cannot be approved or rejected again, with what happened to it."""
    from robo_tui.domain.signals import ProposalStatus

    what = {
        ProposalStatus.APPROVED: "already approved",
        ProposalStatus.SUBMITTED: "already approved and submitted to the broker",
        ProposalStatus.DENIED: "already approved, then denied by the risk gate at submit time",
        ProposalStatus.REJECTED: "already rejected",
        ProposalStatus.EXPIRED: "already expired",
    }.get(status, f"already {status.value}")
    if status is ProposalStatus.EXPIRED and proposal.expires_at is not None:
        what += f" (at {proposal.expires_at:%Y-%m-%d %H:%M:%S} UTC)"
    return (f"proposal {proposal.id} ({proposal.side.value} {proposal.quantity:g} "
            f"{proposal.symbol}) is {what}; nothing to decide")


def _decide(proposal_id: str, approve: bool, reason: str, options: RunOptions) -> int:
    """Approve or reject: journal it for a running engine (it carries the decision out at its
    next control sync, the gate judging an approval again), or run the engine here to do it."""
    try:
        return _decide_now(proposal_id, approve, reason, options)
    except StorageFault as exc:
        raise _storage_error(exc) from exc


def _decide_now(proposal_id: str, approve: bool, reason: str, options: RunOptions) -> int:
    from robo_tui.domain.signals import ProposalStatus

    async def lookup(store, settings):  # type: ignore[no-untyped-def]
        return await store.get_proposal(proposal_id)

    found = asyncio.run(_with_store(options, lookup))
    if found is None:
        typer.echo(f"robo-tui: no proposal {proposal_id}", err=True)
        return int(ExitCode.USAGE)
    if found[1] is not ProposalStatus.PENDING:
        typer.echo(f"robo-tui: {already_decided(*found)}", err=True)
        return int(ExitCode.USAGE)
    if _engine_running(options):
        async def mark(store, settings):  # type: ignore[no-untyped-def]
            row = await store.get_proposal(proposal_id)
            if row is None or row[1] is not ProposalStatus.PENDING:
                return row
            payload = {"proposal_id": proposal_id} | ({} if approve else {"reason": reason})
            await store.journal_command("approve" if approve else "reject", payload, "cli")
            return row

        row = asyncio.run(_with_store(options, mark))
        if row is None:
            typer.echo(f"robo-tui: no proposal {proposal_id}", err=True)
            return int(ExitCode.USAGE)
        if row[1] is not ProposalStatus.PENDING:  # decided between the look-up and now
            typer.echo(f"robo-tui: {already_decided(*row)}", err=True)
            return int(ExitCode.USAGE)
        if not approve:
            typer.echo(f"rejected {proposal_id}")
            return 0
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # the running engine re-runs the gate and submits
            async def read(store, settings):  # type: ignore[no-untyped-def]
                return await store.get_proposal(proposal_id)

            row = asyncio.run(_with_store(options, read))
            if row and row[1] in (ProposalStatus.SUBMITTED, ProposalStatus.DENIED):
                typer.echo(f"{proposal_id}: {row[1].value} (by the running engine's risk gate)")
                return 0 if row[1] is ProposalStatus.SUBMITTED else int(ExitCode.ERROR)
            time.sleep(0.3)
        typer.echo(f"{proposal_id}: approved; the running engine has not submitted it yet")
        return 0
    return asyncio.run(_decide_here(proposal_id, approve, reason, options))


async def _decide_here(proposal_id: str, approve: bool, reason: str, options: RunOptions) -> int:
    from robo_tui.adapters.store.lock import DataDirLock
    from robo_tui.engine.engine import ProposalNotFound
    from robo_tui.wiring import build_engine

    settings = load_run_settings(options)
    data_dir = resolve_data_dir(options, settings)
    with DataDirLock(data_dir):
        engine = build_engine(settings, data_dir=data_dir, intelligence=False)
        await engine.start()
        try:
            if not approve:
                await engine.reject(proposal_id, by="cli", reason=reason)
                typer.echo(f"rejected {proposal_id}")
                return 0
            last = await engine.approve(proposal_id, by="cli", source="cli")
        except ProposalNotFound as exc:
            typer.echo(f"robo-tui: {exc}", err=True)
            return int(ExitCode.USAGE)
        finally:
            await engine.stop()
    if last.sent and last.ack is not None:
        typer.echo(f"{proposal_id}: submitted {last.order.client_order_id if last.order else ''} → "
                   f"{last.ack.status.value}")
        return 0
    typer.echo(f"{proposal_id}: DENIED by the risk gate: "
               + "; ".join(r.message for r in last.verdict.reasons))
    return int(ExitCode.ERROR)


@proposals_app.command("approve", cls=FlagAwareCommand)
def proposals_approve(proposal_id: str, config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Approve a pending proposal; the risk gate runs again at submit time."""
    try:
        raise typer.Exit(_decide(proposal_id, True, "", _options(config, data_dir)))
    except RunError as exc:
        raise _fail(exc) from exc


@proposals_app.command("reject", cls=FlagAwareCommand)
def proposals_reject(
    proposal_id: str,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
    config: ConfigOpt = None, data_dir: DataDirOpt = None,
) -> None:
    """Reject a pending proposal."""
    try:
        raise typer.Exit(_decide(proposal_id, False, reason, _options(config, data_dir)))
    except RunError as exc:
        raise _fail(exc) from exc


_RESOLUTIONS = ("filled", "cancelled", "rejected")


@orders_app.command("resolve")
def orders_resolve(
    order_id: Annotated[str, typer.Argument(help="The client order id (as in the orders table).")],
    status: Annotated[str, typer.Option("--status", help="filled, cancelled or rejected.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded with the decision).")],
    price: Annotated[float | None, typer.Option("--price", help="filled: the execution price.")] = None,
    qty: Annotated[float | None, typer.Option("--qty", help="filled: the quantity (default: the order's).")] = None,
    fee: Annotated[float, typer.Option("--fee", help="filled: the fee paid, in cash.")] = 0.0,
    at: Annotated[datetime | None, typer.Option("--at", help="filled: when (ISO time; default now).")] = None,
    config: ConfigOpt = None, data_dir: DataDirOpt = None,
) -> None:
    """Settle an order robo-tui could not learn the outcome of (UNKNOWN, or still open after a
    restart) with a recorded reason; `filled` records the execution from the venue's statement.
    A running engine drops it from its working orders at its next check."""
    import math

    from robo_tui.domain.orders import Fill, OrderStatus

    if status not in _RESOLUTIONS:
        raise typer.BadParameter(f"use one of {', '.join(_RESOLUTIONS)}", param_hint="--status")
    if not reason.strip():
        raise typer.BadParameter("say why (it is recorded)", param_hint="--reason")
    if status == "filled" and (price is None or not math.isfinite(price) or price <= 0):
        raise typer.BadParameter("a fill needs its positive execution price", param_hint="--price")
    if qty is not None and not (math.isfinite(qty) and qty > 0):
        raise typer.BadParameter("a positive quantity", param_hint="--qty")
    if not math.isfinite(fee) or fee < 0:
        raise typer.BadParameter("a fee of zero or more", param_hint="--fee")
    options = _options(config, data_dir)

    async def work(store, settings) -> str:  # type: ignore[no-untyped-def]
        row = await store.get_order(order_id)
        if row is None:
            return f"no order {order_id}"
        order, _ = row
        fill = None
        if status == "filled":
            when = at or datetime.now(UTC)
            quantity = qty if qty is not None else order.quantity
            fill = Fill(f"manual-{order_id}", order_id, order.symbol, order.side, quantity,
                        float(price or 0.0), fee,
                        when if when.tzinfo else when.replace(tzinfo=UTC),
                        reason="manual", order_done=True)
        try:
            await store.resolve_order(order_id, OrderStatus(status), reason, "cli", fill=fill)
        except ValueError as exc:
            return str(exc)
        return ""

    try:
        problem = asyncio.run(_with_store(options, work))
    except RunError as exc:
        raise _fail(exc) from exc
    if problem:
        typer.echo(f"robo-tui: {problem}", err=True)
        raise typer.Exit(int(ExitCode.USAGE))
    typer.echo(f"{order_id}: {status.upper()} ({reason})")


@orders_app.command("list", cls=FlagAwareCommand)
def orders_list(
    config: ConfigOpt = None, data_dir: DataDirOpt = None, json_out: JsonOpt = False,
) -> None:
    """List the working orders (sent and not yet done, UNKNOWN included), oldest first."""
    options = _options(config, data_dir, json_out=json_out)

    async def work(store, settings):  # type: ignore[no-untyped-def]
        return await store.open_orders()

    try:
        rows = asyncio.run(_with_store(options, work))
    except RunError as exc:
        raise _fail(exc) from exc
    now = datetime.now(UTC)
    if json_out:
        import json

        from robo_tui.domain.serialize import to_jsonable

        typer.echo(json.dumps([{**to_jsonable(o), "status": s.value,
                                "age_seconds": round((now - o.created_at).total_seconds(), 1)}
                               for o, s in rows], default=str))
        return
    if not rows:
        typer.echo("No working orders.")
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Working orders", expand=False)
    for col in ("id", "status", "symbol", "side", "type", "qty", "price", "stop", "age", "by"):
        table.add_column(col, overflow="fold")
    for o, status in rows:
        it = o.intent
        price = "market" if it.limit_price is None else f"{it.limit_price:g}"
        table.add_row(o.client_order_id, status.value, o.symbol, it.side.value,
                      it.order_type.value + (" ↓" if it.reduce_only else ""), f"{it.quantity:g}",
                      price, "-" if it.stop_loss is None else f"{it.stop_loss:g}",
                      f"{max(0.0, (now - o.created_at).total_seconds()):.0f}s", Text(o.source))
    Console().print(table)


@orders_app.command("cancel", cls=FlagAwareCommand)
def orders_cancel(
    order_id: Annotated[str, typer.Argument(help="The client order id (as `orders list` shows).")],
    config: ConfigOpt = None, data_dir: DataDirOpt = None,
) -> None:
    """Cancel one working order: journaled for the engine, which carries it out at its next
    check (a running engine within a second, otherwise the next start)."""
    options = _options(config, data_dir)

    async def work(store, settings) -> str:  # type: ignore[no-untyped-def]
        row = await store.get_order(order_id)
        if row is None:
            return f"no order {order_id}"
        if not row[1].is_open:
            return f"order {order_id} is {row[1].value}, not working"
        await store.journal_command("cancel", {"order_id": order_id}, "cli")
        return ""

    try:
        problem = asyncio.run(_with_store(options, work))
    except RunError as exc:
        raise _fail(exc) from exc
    if problem:
        typer.echo(f"robo-tui: {problem}", err=True)
        raise typer.Exit(int(ExitCode.USAGE))
    typer.echo(f"{order_id}: cancel requested (the engine sends it at its next check).")


from robo_tui.backtest.cli import BacktestCommand, backtest_command  # light: typer only

app.command("backtest", cls=BacktestCommand)(backtest_command)


@app.command("review", cls=FlagAwareCommand)
def review_command(config: ConfigOpt = None, data_dir: DataDirOpt = None,
                   json_out: JsonOpt = False) -> None:
    """Run the daily review now: score past analyst ideas against what prices did next, store
    it in daily_reviews and print what worked and what failed."""
    from robo_tui.engine.review import run_daily_review, summarize

    options = _options(config, data_dir, json_out=json_out)

    async def work(store, settings):  # type: ignore[no-untyped-def]
        return await run_daily_review(store, datetime.now(UTC))

    try:
        review = asyncio.run(_with_store(options, work))
    except RunError as exc:
        raise _fail(exc) from exc
    if json_out:
        import json

        typer.echo(json.dumps(review, default=str))
        return
    typer.echo(summarize(review))
    for label in ("by_provider", "by_model", "by_event_type"):
        groups = review.get(label) or {}
        if groups:
            typer.echo(f"{label.removeprefix('by_').replace('_', ' ')}: " + ", ".join(
                f"{name} {g['hits']}/{g['n']} ({g['hit_rate']:.0%})" for name, g in groups.items()))


@app.command("report", cls=FlagAwareCommand)
def report_command(
    period: Annotated[str, typer.Argument(help="daily or weekly.")] = "daily",
    day: Annotated[str | None, typer.Option("--day", help="The (last) UTC day, YYYY-MM-DD; "
                                            "default today.")] = None,
    html_out: Annotated[Path | None, typer.Option("--html", help="Also write a self-contained "
                                                  "HTML report card here.")] = None,
    config: ConfigOpt = None, data_dir: DataDirOpt = None, json_out: JsonOpt = False,
) -> None:
    """The account's report card (paper, shadow or live, as recorded): equity, Sharpe and
    Sortino, drawdown, closed trades and hit rate by strategy, analyst and symbol, the analysts'
    confidence calibration, and progress against your own target."""
    from robo_tui.reports.cli import run_report

    raise typer.Exit(run_report(period, day, html_out, _options(config, data_dir,
                                                                 json_out=json_out), _with_store))


from robo_tui.ops.cli import register as register_ops  # light: typer only

register_ops(app, FlagAwareCommand)


# ---------------------------------------------------------------- drift report and flatten (issue 13)

drift_app = typer.Typer(cls=FlagAwareGroup,
                        help="The drift report: what a live venue holds that the journal cannot "
                        "explain (new entries wait until it is accepted).",
                        no_args_is_help=True)
app.add_typer(drift_app, name="drift")


async def _drift_report(store: Any) -> Any:
    from robo_tui.domain.drift import REPORT_KEY, DriftReport

    text = await store.get_control(REPORT_KEY)
    return None if not text else DriftReport.from_json(text)


@drift_app.command("show", cls=FlagAwareCommand)
def drift_show(config: ConfigOpt = None, data_dir: DataDirOpt = None,
               json_out: JsonOpt = False) -> None:
    """Show the last reconciliation's drift report (exit 3 while it blocks new entries)."""
    options = _options(config, data_dir, json_out=json_out)

    async def work(store, settings):  # type: ignore[no-untyped-def]
        return await _drift_report(store)

    try:
        report = asyncio.run(_with_store(options, work))
    except RunError as exc:
        raise _fail(exc) from exc
    if report is None:
        typer.echo("{}" if json_out else "No reconciliation yet (a live broker is compared at start).")
        return
    if json_out:
        typer.echo(report.to_json())
    else:
        from rich.console import Console
        from rich.text import Text

        Console().print(Text(report.sentence()))
        for item in report.items:
            Console().print(Text(f"  {item.kind:8} {item.symbol:10} venue {item.venue:g}  "
                                 f"journal {item.journal:g}  {item.detail}"))
    if report.blocking:
        raise typer.Exit(int(ExitCode.HALTED))


@drift_app.command("accept", cls=FlagAwareCommand)
def drift_accept(
    yes: Annotated[bool, flag("--yes", "Do not ask for confirmation.")] = False,
    config: ConfigOpt = None, data_dir: DataDirOpt = None,
) -> None:
    """Accept the drift report: what the venue holds becomes the baseline and new entries are
    allowed again (journaled: a running engine carries it out within a second, otherwise the
    next start)."""
    options = _options(config, data_dir)

    async def read(store, settings):  # type: ignore[no-untyped-def]
        return await _drift_report(store)

    try:
        report = asyncio.run(_with_store(options, read))
    except RunError as exc:
        raise _fail(exc) from exc
    if report is None or not report.blocking:
        typer.echo("Nothing to accept: no blocking drift report.")
        return
    typer.echo(report.sentence())
    if not yes and sys.stdin.isatty():
        typer.confirm("Accept what the venue holds as the baseline?", abort=True)

    async def work(store, settings) -> None:  # type: ignore[no-untyped-def]
        await store.journal_command("drift_accept", {}, "cli")

    try:
        asyncio.run(_with_store(options, work))
    except RunError as exc:
        raise _fail(exc) from exc
    typer.echo("Drift accepted (the engine lifts the block at its next check).")


@app.command("flatten", cls=FlagAwareCommand)
def flatten_command(
    symbol: Annotated[str | None, typer.Argument(help="The symbol to close.")] = None,
    all_: Annotated[bool, flag("--all", "Close every position.")] = False,
    yes: Annotated[bool, flag("--yes", "Do not ask for confirmation.")] = False,
    config: ConfigOpt = None, data_dir: DataDirOpt = None,
) -> None:
    """Close a position (or --all) with reduce-only market orders through the engine's order
    path and risk gate, HALTED included: journaled for a running engine, otherwise run once
    here through the same path."""
    if (symbol is None) == (not all_):
        typer.echo("robo-tui: name one SYMBOL or --all", err=True)
        raise typer.Exit(int(ExitCode.USAGE))
    target = "*" if all_ else str(symbol)
    what = "every position" if all_ else target
    if not yes and sys.stdin.isatty():
        typer.confirm(f"Close {what} at market?", abort=True)
    options = _options(config, data_dir)
    try:
        running = _engine_running(options)

        async def work(store, settings) -> None:  # type: ignore[no-untyped-def]
            await store.journal_command("flatten", {"symbol": target}, "cli")

        asyncio.run(_with_store(options, work))
    except RunError as exc:
        raise _fail(exc) from exc
    if running:
        typer.echo(f"flatten {what}: requested (the running engine sends it within a second).")
        return
    try:
        left = asyncio.run(_flatten_here(options, target))
    except StorageFault as exc:
        raise _fail(_storage_error(exc)) from exc
    except (RunError, ConnectionError) as exc:
        typer.echo(f"robo-tui: {exc}", err=True)
        raise typer.Exit(int(ExitCode.UNREACHABLE)) from exc
    if left:
        typer.echo(f"flatten {what}: still held {left} (see `robo-tui orders list`)", err=True)
        raise typer.Exit(int(ExitCode.ERROR))
    typer.echo(f"flatten {what}: done.")


async def _flatten_here(options: RunOptions, target: str) -> dict[str, float]:
    """Start the engine once (its start carries out the journaled flatten through the order
    path), settle, stop; the positions still held that were asked to close."""
    from robo_tui.adapters.store.lock import DataDirLock
    from robo_tui.wiring import build_engine

    settings = load_run_settings(options)
    data_dir = resolve_data_dir(options, settings)
    with DataDirLock(data_dir):
        engine = build_engine(settings, data_dir=data_dir, intelligence=False)
        await engine.start()
        try:
            await engine.settle(engine.clock.now())
            await engine.orders.refresh_account()
            held = {s: p.quantity for s, p in engine.account.positions.items()
                    if abs(p.quantity) > 1e-12 and (target == "*" or s == target)}
        finally:
            await engine.stop()
    return held
@app.command("serve", cls=FlagAwareCommand)
def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback only "
                                      "unless --allow-remote).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    allow_remote: Annotated[bool, flag("--allow-remote", "Allow a non-loopback --host (plain "
                                       "HTTP: prefer an SSH tunnel).")] = False,
    theme: Annotated[str | None, typer.Option("--theme", help="Console theme name.")] = None,
    config: ConfigOpt = None, data_dir: DataDirOpt = None, mode: ModeOpt = None,
    confirm_live: ConfirmLiveOpt = False, analyst: AnalystOpt = None, news: NewsOpt = None,
) -> None:
    """The same console in a browser (textual-serve, extra `serve`): prints a URL with a random
    token; each browser session runs the console on this data dir."""
    from robo_tui.runtime import check_live
    from robo_tui.serve import ServeOptions, check_host, console_args, make_server, new_token

    options = _options(config, data_dir, mode, confirm_live=confirm_live, analyst=analyst,
                       news=news)
    try:
        check_host(host, allow_remote)
        settings = load_run_settings(options)
        check_live(settings, confirm_live)
        folder = resolve_data_dir(options, settings)
        args = console_args(config=config, data_dir=folder, mode=mode.value if mode else None,
                            analyst=analyst, news=news or (), theme=theme,
                            confirm_live=confirm_live)
        server = make_server(ServeOptions(host=host, port=port, allow_remote=allow_remote,
                                          token=new_token(), console_args=args))
    except RunError as exc:
        raise _fail(exc) from exc
    server.serve()


def _flags_everywhere(root: typer.Typer) -> None:
    """Every subcommand registered without its own class (those of the `data` and `orders`
    groups, say) shows `--help` as a flag, like the rest. Run once, when this module is
    imported, after every command above is registered (so `app` itself is right, not only
    `main`)."""
    for group in root.registered_groups:
        if group.typer_instance is not None:
            for info in group.typer_instance.registered_commands:
                if info.cls in (None, TyperCommand):
                    info.cls = FlagAwareCommand


_flags_everywhere(app)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
