"""The child process of the kill-between-fill-and-protection tests (test_live_kill*.py): a live
engine on whichever live broker the parent configures in the ordinary `ROBO_TUI_BROKER__*`
environment, as in production (Robinhood crypto against the fake Crypto Trading API, IB against
the fake TWS, Robinhood stocks against the fake Robinhood; the parent runs the fake on
127.0.0.1). `ROBO_KILL_SYMBOL` and `ROBO_KILL_QTY` say what it buys (BTC-USD 0.01 unless set);
`ROBO_KILL_RH_PORT` points robin_stocks' own session at the fake Robinhood on that port (the
library has no base URL setting).

Protocol on stdout/stdin, one line each:
- the child prints `price <BTC-USD price>` once started, and waits for a line on stdin (the
  parent sets the fake's price meanwhile);
- it prints `writes-before <n>` (write transactions so far), buys the symbol with a stop 5 %
  below and a target 5 % above, books what settled, prints `writes-after <n>` and `sent <id>`,
  stops the engine and exits 0.

`ROBO_CRASH_AT_WRITE` (the store's kill switch) kills it at a write boundary instead; the parent
sets it to a large number for its reference run, so the store counts the writes.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from robo_tui.config import load_settings
from robo_tui.domain.orders import OrderIntent, Side
from robo_tui.domain.risk import Mode
from robo_tui.engine.clock import SimClock
from robo_tui.wiring import build_engine, with_overrides
from tests.conftest import FIXED_START
from tests.unit.engine.test_protection import MovableFeed

DATA_DIR_ENV = "ROBO_KILL_DATA_DIR"
"""The data dir the child's engine journals into (the parent restarts on the same one)."""
SYMBOL_ENV = "ROBO_KILL_SYMBOL"
"""The symbol the child buys (BTC-USD unless set)."""
QTY_ENV = "ROBO_KILL_QTY"
"""The quantity the child buys (0.01 unless set)."""
RH_PORT_ENV = "ROBO_KILL_RH_PORT"
"""The fake Robinhood's port, for robin_stocks' session (unset: no redirect)."""


def _writes(engine: object) -> int:
    # the store's count of write transactions (kept only while the kill switch is set)
    return int(getattr(engine.store, "_writes", -1))  # type: ignore[attr-defined]


async def main() -> int:
    """Start, wait for the parent's go, enter one protected position, stop."""
    symbol = os.environ.get(SYMBOL_ENV, "BTC-USD")
    qty = float(os.environ.get(QTY_ENV, "0.01"))
    clock = SimClock(FIXED_START)
    environ = {k: v for k, v in os.environ.items() if k.startswith("ROBO_TUI_")}
    settings = with_overrides(load_settings(None, environ=environ), mode=Mode.LIVE)
    engine = build_engine(settings, data_dir=Path(os.environ[DATA_DIR_ENV]), clock=clock,
                          intelligence=False)
    instruments = [i.to_instrument() for i in settings.universe.instruments]
    feed = MovableFeed(instruments, seed=settings.feeds.seed,
                       bar_seconds=settings.feeds.bar_seconds, clock=clock)
    feed.factor = {}
    engine.feed = feed
    await engine.start()
    try:
        price = engine.prices[symbol]
        print(f"price {price!r}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        print(f"writes-before {_writes(engine)}", flush=True)
        result = await engine.manual_order(OrderIntent(
            symbol, Side.BUY, qty, stop_loss=price * 0.95, take_profit=price * 1.05,
            confidence=0.9))
        await engine.settle(clock.now())
        print(f"writes-after {_writes(engine)}", flush=True)
        sent = result.order.client_order_id if result.order is not None else ""
        print(f"sent {sent}", flush=True)
    finally:
        await engine.stop()
    return 0


def run() -> int:
    """Run `main`, with robin_stocks pointed at the fake Robinhood when the parent says so."""
    port = os.environ.get(RH_PORT_ENV)
    if not port:
        return asyncio.run(main())
    from .fake_robinhood import FakeRobinhood, redirect_robin_stocks

    server = FakeRobinhood()  # not started: only its port is used by the redirect
    server.port = int(port)
    with redirect_robin_stocks(server):
        return asyncio.run(main())


if __name__ == "__main__":
    sys.exit(run())
