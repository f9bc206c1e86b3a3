"""Run by test_compiled_build.py in a child process: one replay of each kind, printed as JSON.

The child imports robo_tui from whatever PYTHONPATH names (the compiled build or the source tree)
and reports which engine modules it got compiled, so the parent can compare the two builds.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from datetime import UTC, datetime

import numpy as np
from backtesting.test import GOOG

from robo_tui.adapters.feeds.sim import SimulatedMarket
from robo_tui.backtest.runner import BacktestSpec, run_backtest
from robo_tui.config import Settings
from robo_tui.domain.market import BarArrays
from robo_tui.engine.backtest import BacktestResult
from robo_tui.engine.clock import SimClock


def summary(result: BacktestResult) -> dict[str, object]:
    trades = [(t.entry_bar, t.exit_bar, t.trade.size, t.trade.entry_price, t.trade.exit_price,
               t.trade.pnl) for t in result.trades]
    return {
        "counts": [result.proposals, result.orders, result.denied, result.events, len(result.fills)],
        "final_equity": repr(float(result.equity[-1])),
        "equity_sha256": hashlib.sha256(result.equity.tobytes()).hexdigest(),
        "trades": [[repr(x) for x in t] for t in trades],
    }


def main() -> None:
    settings = Settings()
    symbols = settings.universe.instruments[:3]
    clock = SimClock(datetime(2026, 1, 5, 14, 30, tzinfo=UTC))
    feed = SimulatedMarket([s.to_instrument() for s in symbols], seed=7, bar_seconds=60, clock=clock)

    async def history() -> dict[str, BarArrays]:
        return {s.symbol: await feed.history(s.symbol, 8_000) for s in symbols}

    sim = asyncio.run(history())
    ts = GOOG.index.tz_localize("UTC").as_unit("ns").asi8.astype(np.int64)
    goog = {"GOOG": BarArrays("GOOG", ts, *(GOOG[c].to_numpy(dtype=np.float64)
                                            for c in ("Open", "High", "Low", "Close", "Volume")))}
    default, _ = asyncio.run(run_backtest(settings, sim, BacktestSpec(
        cash=100_000.0, commission=0.0005, slippage_bps=1.0, compat=False)))
    compat, _ = asyncio.run(run_backtest(settings, goog, BacktestSpec(
        cash=10_000, commission=0.002, compat=True,
        strategies={"sma_cross": {"fast": "10", "slow": "20"}})))
    compiled = sorted(name for name, module in list(sys.modules.items())
                      if name.startswith("robo_tui") and getattr(module, "__file__", None)
                      and not str(module.__file__).endswith(".py"))
    print(json.dumps({"compiled": compiled, "default": summary(default),
                      "compat": summary(compat)}))


if __name__ == "__main__":
    main()
