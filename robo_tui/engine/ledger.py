"""The engine's own trade ledger: positions rebuilt from fills, and closed round trips.

The broker is the source of truth for cash and positions; the ledger turns the fill log into
round-trip trades (entry, exit, P&L after fees) for outcomes, attribution and backtest reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from robo_tui.domain.frozen import frozen
from robo_tui.domain.orders import Fill


@frozen
class ClosedTrade:
    """One round trip (or the closed part of one): signed entry size, prices, P&L after fees."""

    symbol: str
    size: float  # signed: positive was long
    entry_time: datetime
    exit_time: datetime
    entry_price: float
    exit_price: float
    pnl: float
    fees: float
    exit_reason: str

    @property
    def return_pct(self) -> float:
        """P&L as a fraction of the entry value."""
        basis = abs(self.size * self.entry_price)
        return self.pnl / basis if basis else 0.0


@dataclass(slots=True)
class _Lot:
    size: float
    price: float
    time: datetime
    fee_per_unit: float


class Ledger:
    """Positions as FIFO lots per symbol; applying a fill returns the trades it closed."""

    def __init__(self) -> None:
        self._lots: dict[str, list[_Lot]] = {}

    def position(self, symbol: str) -> float:
        """Signed units held."""
        return sum(lot.size for lot in self._lots.get(symbol, ()))

    def apply(self, fill: Fill) -> list[ClosedTrade]:
        """Book `fill`; the closed trades it produced (FIFO against opposite lots)."""
        lots = self._lots.setdefault(fill.symbol, [])
        signed = fill.quantity * fill.side.sign
        fee_per_unit = fill.fee / fill.quantity if fill.quantity else 0.0
        closed: list[ClosedTrade] = []
        while signed and lots and (lots[0].size > 0) != (signed > 0):
            lot = lots[0]
            take = min(abs(lot.size), abs(signed))
            lot_sign = 1.0 if lot.size > 0 else -1.0
            fees = take * (lot.fee_per_unit + fee_per_unit)
            pnl = lot_sign * take * (fill.price - lot.price) - fees
            closed.append(
                ClosedTrade(
                    fill.symbol, lot_sign * take, lot.time, fill.ts, lot.price, fill.price,
                    pnl, fees, fill.reason or "order",
                )
            )
            lot.size -= lot_sign * take
            signed += lot_sign * take
            if abs(lot.size) < 1e-12:
                lots.pop(0)
            if abs(signed) < 1e-12:
                signed = 0.0
        if signed:
            lots.append(_Lot(signed, fill.price, fill.ts, fee_per_unit))
        return closed
