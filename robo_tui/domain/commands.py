"""Commands: requests to the engine, named as verbs. Every order goes through `SubmitOrder`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from robo_tui.domain.orders import OrderIntent

OrderSource = Literal["strategy", "analyst", "ui", "cli", "backtest", "engine"]


@dataclass(frozen=True, slots=True)
class SubmitOrder:
    """Ask the engine to place an order; always passes the risk gate."""

    intent: OrderIntent
    source: OrderSource
