"""Commands: requests to the engine, named as verbs. Every order goes through `SubmitOrder`."""

from __future__ import annotations

from typing import Literal

from robo_tui.domain.frozen import frozen
from robo_tui.domain.orders import OrderIntent

OrderSource = Literal["strategy", "analyst", "ui", "cli", "backtest", "engine", "protection",
                      "telegram"]


@frozen
class SubmitOrder:
    """Ask the engine to place an order; always passes the risk gate."""

    intent: OrderIntent
    source: OrderSource
