"""The `robo-tui backtest` commands: run one backtest, walk-forward optimise, list and show
stored runs.

The typer command (`robo_tui.backtest.cli`) imports this package only when it runs, so the
modules here import pandas, the engine and rich at the top like any other module.
"""

from __future__ import annotations

from robo_tui.backtest.commands.optimize import optimize
from robo_tui.backtest.commands.run import run_backtest_command
from robo_tui.backtest.commands.stored import list_stored, show_stored

__all__ = ["list_stored", "optimize", "run_backtest_command", "show_stored"]
