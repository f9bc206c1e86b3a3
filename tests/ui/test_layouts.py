"""Every terminal size shows what a trader needs with positions held (stocks and crypto): per
position symbol, side, qty, last, unrealised P&L and % of equity; the Day-loss meter always; from
140 columns the strategies' per-symbol votes and the models' notes in full."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from robo_tui.domain.risk import Mode

from .helpers import make_app, make_engine, screen_text, seed_book, started

SIZES = [(80, 24), (100, 30), (120, 40), (160, 50)]


async def _screen(data_dir: Path, size: tuple[int, int]) -> str:
    await seed_book(data_dir)
    app = make_app(make_engine(data_dir, mode=Mode.SEMI_AUTO), cycles=0)
    async with app.run_test(size=size) as pilot:
        await started(pilot)
        await asyncio.wait_for(app.models_ready.wait(), 20)
        await pilot.pause(0.5)
        return screen_text(app)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_trade_view_when_stocks_and_crypto_held_then_pnl_and_pct_of_equity_show_at_every_size(
        tmp_path: Path, size: tuple[int, int]) -> None:
    text = _rows_of(await _screen(tmp_path, size))
    for symbol in ("AAPL", "BTC-USD", "XOM"):
        row = text[symbol]
        assert "LONG" in row
        # unrealised P&L (signed, cents) and % of equity are on the row, not cut
        assert any(cell.startswith("+") and "." in cell for cell in row.split()), row
        assert any(cell.endswith("%") for cell in row.split()), row
    assert "Day loss" in "\n".join(text.values())


def _rows_of(screen: str) -> dict[str, str]:
    """Each position's row of the Positions pane (the first line starting with its symbol) and
    every line of the screen under the key of its first word."""
    rows: dict[str, str] = {}
    for line in screen.splitlines():
        inner = line.strip("│ ╭╮╰╯")
        first = inner.split(" ", 1)[0] if inner else ""
        rows.setdefault(first, inner.split("│")[0])
    rows["Day loss"] = screen if "Day loss" in screen else ""
    return rows


async def test_wide_terminal_when_160_columns_then_votes_for_every_symbol_and_model_notes_show(
        tmp_path: Path) -> None:
    screen = await _screen(tmp_path, (160, 50))
    header = next(line for line in screen.splitlines() if "Strategy" in line and "Wt" in line)
    for symbol in ("AAPL", "XOM", "BTC-USD", "ETH-USD"):
        assert symbol in header
    notes = [line for line in screen.splitlines() if "unavailable" in line]
    assert notes and all("…" not in line for line in notes)
