"""The Backtests screen lists the runs `robo-tui backtest` stored in the data dir and shows each
one's report, at the sizes a trader uses over SSH."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from backtesting.test import GOOG
from textual.geometry import Region
from textual.widgets import DataTable
from typer.testing import CliRunner

from robo_tui.cli import app as cli
from robo_tui.ui.screens.backtests import BacktestsScreen
from robo_tui.ui.screens.detail import DetailScreen
from robo_tui.ui.screens.main import MainScreen

from .helpers import make_app, make_engine, screen_text, started, wait_until


def store_goog_run(data_dir: Path) -> str:
    """Run backtesting.py's README strategy on GOOG through the CLI into `data_dir`; its run id."""
    csv = data_dir / "GOOG.csv"
    GOOG.to_csv(csv)
    config = data_dir / "config.toml"
    config.write_text("")
    result = CliRunner().invoke(cli, [
        "backtest", "--data", str(csv), "--strategy", "sma_cross", "--param", "fast=10",
        "--param", "slow=20", "--no-chart", "--max-trades", "0", "--config", str(config),
        "--data-dir", str(data_dir),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    with sqlite3.connect(data_dir / "robo-tui.sqlite3") as db:
        (run_id,) = db.execute("select id from backtest_runs").fetchone()
    return str(run_id)


@pytest.fixture
def stored_dir(tmp_path: Path) -> tuple[Path, str]:
    """A data dir holding one stored GOOG backtest (sync: the CLI runs its own event loop)."""
    return tmp_path, store_goog_run(tmp_path)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_backtests_when_b_then_lists_stored_runs_and_enter_shows_the_report(
    stored_dir: tuple[Path, str], size: tuple[int, int]
) -> None:
    data_dir, run_id = stored_dir
    app = make_app(make_engine(data_dir))
    async with app.run_test(size=size) as pilot:
        await started(pilot)
        await pilot.press("b")
        await wait_until(pilot, lambda: isinstance(app.screen, BacktestsScreen), what="the list")
        table = app.screen.query_one("#runs", DataTable)
        await wait_until(pilot, lambda: table.row_count == 1, what="the stored run")
        listing = screen_text(app)
        assert run_id[:8] in listing and "462.64%" in listing and "-33.93%" in listing

        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), what="the report")
        await pilot.pause(0.1)
        report = screen_text(app)
        assert f"Backtest {run_id[:12]}" in report
        assert "Summary" in report and "462.64%" in report  # the return, first lines of the report
        body = app.screen.query_one("#detail-body")  # the whole report, not only what shows
        rendered = "\n".join(s.text for s in body.render_lines(Region(0, 0, *body.size)))
        assert "Trades (last 50 of 93)" in rendered and "Equity and drawdown" in rendered
        assert "…" not in rendered.replace("Backtest", "")  # the tables fit the view

        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, BacktestsScreen), what="back")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen), what="the console")


async def test_backtests_when_none_stored_then_says_how_to_make_one(tmp_path: Path) -> None:
    app = make_app(make_engine(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        await pilot.press("b")
        await wait_until(pilot, lambda: isinstance(app.screen, BacktestsScreen), what="the list")
        await wait_until(pilot, lambda: "No stored backtests yet" in screen_text(app),
                         what="the empty-list note")  # fmt: skip
        assert "robo-tui backtest --data" in screen_text(app)
        await pilot.press("enter")  # nothing to open: stays on the list
        await pilot.pause(0.1)
        assert isinstance(app.screen, BacktestsScreen)
