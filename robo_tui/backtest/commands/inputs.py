"""What every backtest command validates before anything runs: settings, spec and bars.

Bad input becomes a `UsageProblem` here (exit code 2), never a traceback halfway through a run.
"""

from __future__ import annotations

from pydantic import ValidationError

from robo_tui.backtest.arguments import BacktestRequest, UsageProblem
from robo_tui.backtest.checks import CheckLimits
from robo_tui.backtest.results import InputError, load_bars
from robo_tui.backtest.runner import BacktestSetupError, BacktestSpec, backtest_settings
from robo_tui.catalogue.reading import catalogue_bars
from robo_tui.catalogue.sources import source_name
from robo_tui.catalogue.store import CatalogueError
from robo_tui.config import Settings
from robo_tui.domain.market import BarArrays
from robo_tui.runtime import RunOptions, load_run_settings, resolve_data_dir


def backtest_spec(request: BacktestRequest) -> BacktestSpec:
    """The replay's spec from the command line (slippage only outside compat mode)."""
    if request.compat and request.slippage_bps:
        raise UsageProblem("--slippage-bps is not part of backtesting.py's conventions; "
                           "add --no-compat to model slippage")
    try:
        limits = CheckLimits(outlier_ratio=request.outlier_ratio, outlier_z=request.outlier_z,
                             ruin_fraction=request.ruin, backlog_orders=request.backlog)
    except ValueError as exc:
        raise UsageProblem(_flag_message(str(exc))) from None
    return BacktestSpec(cash=request.cash, commission=request.commission,
                        slippage_bps=request.slippage_bps, fill=request.fill,
                        compat=request.compat, strategies=request.strategies, limits=limits)


_FLAGS = {"outlier_ratio": "--outlier-ratio", "outlier_z": "--outlier-z",
          "ruin_fraction": "--ruin", "backlog_orders": "--backlog"}


def _flag_message(message: str) -> str:
    """A check limit's complaint with the field named as its command-line flag."""
    for field, flag in _FLAGS.items():
        message = message.replace(field, flag)
    return message


def prepare(
    options: RunOptions, request: BacktestRequest
) -> tuple[Settings, BacktestSpec, dict[str, BarArrays], Settings]:
    """Settings, spec and bars, validated before anything runs (bad input exits 2 here)."""
    if not request.data and not request.source:
        raise UsageProblem("--data PATH is required (a CSV/Parquet file or a folder), "
                           "or --source SOURCE to read the history catalogue")
    if request.symbol is not None and len(request.data) != 1:
        raise UsageProblem("--symbol names the bars of one --data file; give exactly one")
    base = load_run_settings(options)
    spec = backtest_spec(request)
    try:
        bars = (catalogue_input(options, base, request) if request.source else
                load_bars(request.data, request.symbols, start=request.start, end=request.end,
                          file_symbol=request.symbol))
    except (InputError, CatalogueError) as exc:
        raise UsageProblem(str(exc)) from None
    try:
        run_settings = backtest_settings(base, list(bars), spec)
    except BacktestSetupError as exc:
        raise UsageProblem(setup_message(exc)) from None
    return base, spec, bars, run_settings


def catalogue_input(options: RunOptions, settings: Settings,
                    request: BacktestRequest) -> dict[str, BarArrays]:
    """Bars of `--source` at `--timeframe` from the data dir's catalogue (not with --data)."""
    if request.data:
        raise UsageProblem("give --data FILE or --source SOURCE, not both")
    assert request.source is not None
    source = source_name(request.source, settings)
    root = resolve_data_dir(options, settings) / "catalogue"
    return catalogue_bars(root, source, request.symbols, request.timeframe,
                          start=request.start, end=request.end)


def setup_message(exc: Exception) -> str:
    """A setup error in one or two plain lines (pydantic's details reduced to field: reason)."""
    cause = exc.__cause__
    if isinstance(cause, ValidationError):
        parts = []
        for err in cause.errors(include_url=False):
            where = ".".join(str(p) for p in err.get("loc", ()))
            msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            parts.append(f"{where}: {msg}" if where else msg)
        return "; ".join(parts)
    return str(exc)
