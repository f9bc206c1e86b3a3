"""What the engine learns from a closed trade: the risk gate's cool-down, the sizer's streak, the
ensemble's voter scores, and the trade outcome in the store.

The proposals room notes which votes opened a position (`entered`); the order path books every
fill here (`book`) and records each round trip the ledger closes (`closed`) against those votes.
"""

from __future__ import annotations

from collections.abc import Callable

from robo_tui.domain.orders import Fill
from robo_tui.domain.signals import Signal
from robo_tui.engine.ensemble import Ensemble
from robo_tui.engine.ledger import ClosedTrade, Ledger
from robo_tui.engine.risk import RiskGate
from robo_tui.engine.sizing import Sizer
from robo_tui.ports import Store


class TradeOutcomes:
    """The ledger of round trips and the votes each open position was entered on."""

    def __init__(self, *, ledger: Ledger, risk: RiskGate, sizer: Sizer, ensemble: Ensemble,
                 store: Store) -> None:
        self.ledger = ledger
        self.book: Callable[[Fill], list[ClosedTrade]] = ledger.apply
        """Apply a fill to the ledger; the round trips it closes (each to be `closed`). The
        ledger's own method, bound here: the order path calls it once per fill."""
        self._entry_votes: dict[str, tuple[Signal, ...]] = {}
        self._risk = risk
        self._sizer = sizer
        self._ensemble = ensemble
        self._store = store

    def entered(self, symbol: str, votes: tuple[Signal, ...]) -> None:
        """An order for `symbol` was sent on `votes` (a closed trade is credited to them)."""
        self._entry_votes[symbol] = votes

    async def closed(self, trade: ClosedTrade) -> None:
        """Record a closed round trip: cool-down, streak, voter scores, the store."""
        self._risk.record_exit(trade.symbol, trade.exit_time, trade.pnl)
        self._sizer.record_trade(trade.pnl)
        votes = self._entry_votes.get(trade.symbol, ())
        self._ensemble.record_outcome(trade.symbol, votes, trade.pnl, trade.pnl > 0)
        if self.ledger.position(trade.symbol) == 0:
            self._entry_votes.pop(trade.symbol, None)
        await self._store.record_trade_outcome({
            "trade": trade, "return_pct": trade.return_pct, "voters": [v.voter for v in votes],
        })
