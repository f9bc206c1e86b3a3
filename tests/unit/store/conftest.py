"""Fixtures for the store tests: an open store in a fresh data dir, and sample domain values."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from robo_tui.adapters.store import SqliteStore
from robo_tui.domain.news import NewsItem
from robo_tui.domain.orders import (
    AccountSnapshot,
    Fill,
    Order,
    OrderIntent,
    OrderType,
    Position,
    Side,
)
from robo_tui.domain.risk import RiskReason, RiskVerdict, TradingState
from robo_tui.domain.signals import Proposal, Signal

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "robo-tui.sqlite3"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(db_path, now=lambda: T0)
    await s.open()
    try:
        yield s
    finally:
        await s.close()


def make_order(coid: str = "o-1", minutes: int = 0, **intent: object) -> Order:
    fields: dict[str, object] = {
        "symbol": "AAPL",
        "side": Side.BUY,
        "quantity": 12.5,
        "order_type": OrderType.LIMIT,
        "limit_price": 187.25,
        "stop_loss": 181.0,
        "take_profit": 199.5,
        "confidence": 0.72,
        "reason": "sma crossover [bullish] — «quoted»",
        "proposal_id": "p-1",
    }
    fields.update(intent)
    return Order(coid, OrderIntent(**fields), T0 + timedelta(minutes=minutes), "strategy")  # type: ignore[arg-type]


def make_fill(fill_id: str = "f-1", coid: str = "o-1", minutes: int = 1) -> Fill:
    return Fill(
        fill_id, coid, "AAPL", Side.BUY, 12.5, 187.3, 0.65, T0 + timedelta(minutes=minutes),
        liquidity="maker", reason="order",
    )


def make_verdict(allowed: bool = True) -> RiskVerdict:
    reasons = () if allowed else (
        RiskReason("max_position", "position would be 14% of equity (limit 10%)"),
        RiskReason("cooldown", "AAPL is cooling down after a loss"),
    )
    return RiskVerdict(allowed, TradingState.ACTIVE, reasons, ("max_position", "cooldown"))


def make_proposal(pid: str = "p-1", minutes: int = 0) -> Proposal:
    ts = T0 + timedelta(minutes=minutes)
    return Proposal(
        id=pid,
        ts=ts,
        symbol="AAPL",
        side=Side.BUY,
        quantity=12.0,
        price=187.2,
        stop_loss=181.0,
        take_profit=None,
        confidence=0.66,
        rationale="two of three voters long; earnings beat",
        votes=(
            Signal("sma_cross", "AAPL", 0.8, 0.7, "fast above slow", ts),
            Signal("ollama", "AAPL", 0.4, 0.6, "beat and raise", ts, source="analyst"),
        ),
        idea_ids=("d-1", "d-2"),
        expires_at=ts + timedelta(minutes=15),
    )


def make_account() -> AccountSnapshot:
    return AccountSnapshot(
        ts=T0,
        cash=81234.5,
        positions={
            "AAPL": Position("AAPL", 12.5, 187.3, 181.0, 199.5, T0, 0.0),
            "BTC-USD": Position("BTC-USD", -0.015, 64000.0, None, None, None, -12.25),
        },
        prices={"AAPL": 188.0, "BTC-USD": 63500.0},
    )


def make_news(nid: str = "n-1") -> NewsItem:
    return NewsItem(
        nid, "sample", "Apple [beats] estimates", "EPS 1.53 vs 1.50", "https://example.test/a",
        T0, T0 + timedelta(seconds=5), ("AAPL",), sample=True,
    )
