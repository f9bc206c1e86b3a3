"""The account's report card: equity, risk-adjusted figures, attribution and calibration."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from robo_tui.adapters.store import SqliteStore
from robo_tui.domain.orders import AccountSnapshot
from robo_tui.reports.account import build_account_report, period_bounds
from robo_tui.reports.render import render_html
from tests.integration.test_storage_faults_cli import robo

DAY = datetime(2026, 3, 2, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path / "data" / "robo-tui.sqlite3")
    await s.open()
    try:
        yield s
    finally:
        await s.close()


def _trade(symbol: str, pnl: float, at: datetime, voters: list[str]) -> dict[str, object]:
    return {"ts": at, "trade": {"symbol": symbol, "pnl": pnl, "fees": 1.0, "size": 1.0},
            "voters": voters}


async def _session(store: SqliteStore) -> None:
    """A day: equity 10,000 -> 10,150 with a dip, three closed trades, four scored ideas."""
    await store.audit("engine.start", {"mode": "paper", "broker": "paper", "feed": "sim"}, "engine")
    curve = [10_000, 10_100, 9_900, 10_050, 10_150]
    for hour, equity in enumerate(curve):
        await store.save_positions(AccountSnapshot(DAY + timedelta(hours=hour), equity, {}, {}))
    await store.save_positions(AccountSnapshot(DAY - timedelta(hours=1), 9_000.0, {}, {}))
    for at, symbol, pnl, voters in [
            (1, "AAPL", 120.0, ["sma_cross", "analyst:rules"]),
            (2, "AAPL", -40.0, ["sma_cross"]),
            (3, "BTC-USD", 70.0, ["breakout", "analyst:openai"])]:
        await store.record_trade_outcome(_trade(symbol, pnl, DAY + timedelta(hours=at), voters))
    for i, (confidence, score, later) in enumerate([(0.9, 0.8, 110.0), (0.85, 0.8, 105.0),
                                                    (0.5, 0.4, 95.0), (0.3, -0.3, 101.0)]):
        ts = DAY + timedelta(minutes=i)
        await store.record_ai_decision({
            "id": f"I-{i}", "ts": ts, "provider": "rules", "model": "rules", "symbol": "AAPL",
            "parsed": {"symbol": "AAPL", "ts": ts.isoformat(), "score": score,
                       "confidence": confidence, "horizon": "intraday"}})
        await store.record_market_snapshot(ts, {"AAPL": 100.0}, False)
        await store.record_market_snapshot(ts + timedelta(hours=4), {"AAPL": later}, False)
        await store.record_market_snapshot(ts + timedelta(hours=5), {"AAPL": later}, False)


async def test_daily_report_when_a_day_was_traded_then_it_reads_the_journal(
        store: SqliteStore) -> None:
    await _session(store)

    report = await build_account_report(store, "daily", DAY, target=300.0)

    assert report.account == "PAPER on paper"
    assert report.start_equity == 9_000.0  # the last equity before the day opened
    assert report.end_equity == 10_150.0
    assert report.max_drawdown == pytest.approx(9_900 / 10_100 - 1)
    assert (report.trades, report.wins, report.pnl_closed, report.fees) == (3, 2, 150.0, 3.0)
    by_strategy = {b.key: (b.trades, b.wins, b.pnl) for b in report.by_strategy}
    assert by_strategy == {"sma_cross": (2, 1, 80.0), "breakout": (1, 1, 70.0)}
    assert {b.key: b.pnl for b in report.by_analyst} == {"rules": 120.0, "openai": 70.0,
                                                         "(none)": -40.0}
    assert {b.key: b.trades for b in report.by_symbol} == {"AAPL": 2, "BTC-USD": 1}
    assert report.goal is not None and report.goal.progress == pytest.approx(1150 / 300)


async def test_calibration_when_confident_ideas_won_then_the_high_bin_shows_it(
        store: SqliteStore) -> None:
    await _session(store)

    report = await build_account_report(store, "daily", DAY)

    bins = {f"{b.low:.1f}": (b.ideas, b.hits) for b in report.calibration}
    assert bins["0.8"] == (2, 2)  # 0.9 and 0.85: both right
    assert bins["0.4"] == (1, 0)  # 0.5 long, price fell
    assert bins["0.2"] == (1, 0)  # 0.3 short, price rose
    assert report.ideas_scored == 4


async def test_weekly_report_when_the_window_is_seven_days_then_bounds_cover_them() -> None:
    start, end = period_bounds("weekly", DAY + timedelta(hours=13))
    assert (start, end) == (DAY - timedelta(days=6), DAY + timedelta(days=1))


async def test_report_when_nothing_was_recorded_then_it_says_so(store: SqliteStore) -> None:
    report = await build_account_report(store, "daily", DAY)

    assert (report.trades, report.pnl, report.sharpe) == (0, 0.0, 0.0)
    assert report.account == "no session recorded"
    assert "No equity recorded" in render_html(report)


def test_report_cli_when_piped_then_it_prints_the_card_and_writes_private_html(
        tmp_path: Path) -> None:
    import asyncio

    data = tmp_path / "data"

    async def seed() -> None:
        s = SqliteStore(data / "robo-tui.sqlite3")
        await s.open()
        try:
            await _session(s)
        finally:
            await s.close()

    asyncio.run(seed())
    html_path = tmp_path / "out" / "card.html"
    run = robo(data, "report", "daily", "--day", "2026-03-02", "--html", str(html_path))
    assert run.returncode == 0, run.stderr
    assert "Daily report card" in run.stdout and "sma_cross" in run.stdout
    assert "\x1b[" not in run.stdout
    assert max(len(line) for line in run.stdout.splitlines()) <= 100
    assert html_path.stat().st_mode & 0o777 == 0o600
    assert "<svg" in html_path.read_text()

    as_json = robo(data, "report", "weekly", "--day", "2026-03-02", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["trades"] == 3


async def test_daily_report_when_it_is_the_accounts_first_day_then_it_starts_at_the_day_start_equity(
        store: SqliteStore) -> None:
    await store.set_control("day_start", f"{DAY.date().isoformat()}|100000.0", "engine")
    await store.save_positions(AccountSnapshot(DAY + timedelta(hours=1), 99_992.21, {}, {}))

    report = await build_account_report(store, "daily", DAY)

    assert (report.start_equity, report.end_equity) == (100_000.0, 99_992.21)
    assert report.pnl == pytest.approx(-7.79)
