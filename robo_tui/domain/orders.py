"""Orders, acknowledgements, fills and positions."""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from enum import StrEnum

from robo_tui.domain.frozen import frozen


class Side(StrEnum):
    """Buy or sell."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        """The other side."""
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    """How an order prices itself."""

    MARKET = "market"
    LIMIT = "limit"


class OrderStatus(StrEnum):
    """An order's lifecycle. UNKNOWN means the broker's answer is unclear until reconciled."""

    INTENT = "intent"  # recorded in the store, broker not yet called
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    UNKNOWN = "unknown"

    @property
    def is_open(self) -> bool:
        """Whether the order can still fill (UNKNOWN counts: it might have)."""
        return self in (
            OrderStatus.INTENT,
            OrderStatus.SUBMITTED,
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.UNKNOWN,
        )


@frozen
class OrderIntent:
    """What someone wants traded, before the risk gate; quantity is in units (shares/coins).

    `reduce_only` marks an order that may only shrink an existing position (exits, flattening);
    such orders are the only new orders allowed while the gate is REDUCING.
    """

    symbol: str
    side: Side
    quantity: float
    order_type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    reduce_only: bool = False
    confidence: float = 1.0
    reason: str = ""
    proposal_id: str | None = None
    equity_fraction: float | None = None
    """A relative size in (0, 1]: a venue that sizes orders at the fill buys this fraction of
    its buying power there (after closing an opposite position the order reverses), in the
    instrument's units; `quantity` is then the estimate at the reference price. The risk gate
    judges such an order by the larger of the two notionals."""


@frozen
class Order:
    """An order the gate allowed, with the client order id recorded before the broker is called."""

    client_order_id: str
    intent: OrderIntent
    created_at: datetime
    source: str

    @property
    def symbol(self) -> str:
        return self.intent.symbol

    @property
    def side(self) -> Side:
        return self.intent.side

    @property
    def quantity(self) -> float:
        return self.intent.quantity


@frozen
class BrokerAck:
    """The broker's answer to a submit or cancel."""

    client_order_id: str
    status: OrderStatus
    broker_order_id: str | None = None
    message: str = ""


@frozen
class Fill:
    """An execution: `quantity` is positive, `side` says the direction; `fee` is in cash."""

    fill_id: str
    client_order_id: str
    symbol: str
    side: Side
    quantity: float
    price: float
    fee: float
    ts: datetime
    liquidity: str = "taker"
    reason: str = ""  # "order", "stop_loss", "take_profit"
    order_done: bool = False
    """The venue reports its order complete with this execution (nothing left to fill), as a
    venue that sizes an order at the fill must: the order's own quantity was an estimate."""


@frozen
class Position:
    """A held position; `quantity` is signed (negative is short)."""

    symbol: str
    quantity: float
    avg_price: float
    stop_loss: float | None = None
    take_profit: float | None = None
    opened_at: datetime | None = None
    realized_pnl: float = 0.0

    @property
    def is_long(self) -> bool:
        return self.quantity > 0

    def market_value(self, price: float) -> float:
        """Signed value at `price`."""
        return self.quantity * price

    def unrealized_pnl(self, price: float) -> float:
        """Profit or loss at `price` against the average price."""
        return (price - self.avg_price) * self.quantity


@frozen
class AccountSnapshot:
    """Cash, positions and prices at one moment: what sizing and the risk gate judge against."""

    ts: datetime
    cash: float
    positions: dict[str, Position] = field(default_factory=dict)
    prices: dict[str, float] = field(default_factory=dict)
    equity: float = field(init=False, repr=False, compare=False)
    """Cash plus the marked value of every position (computed once: the snapshot is frozen)."""
    gross_exposure: float = field(init=False, repr=False, compare=False)
    """Sum of absolute position values."""

    def __post_init__(self) -> None:
        net = gross = 0.0
        for symbol, p in self.positions.items():
            value = p.quantity * self.prices.get(symbol, p.avg_price)
            net += value
            gross += abs(value)
        object.__setattr__(self, "equity", self.cash + net)
        object.__setattr__(self, "gross_exposure", gross)

    def position_qty(self, symbol: str) -> float:
        """Signed quantity held in `symbol` (0 when none)."""
        p = self.positions.get(symbol)
        return p.quantity if p else 0.0


@frozen
class VenueCapabilities:
    """What a broker can hold for one asset class. Whatever the venue cannot hold (a stop, a
    bracket) the engine must hold itself; a fractional quantity or a short it cannot take is
    refused before it is sent."""

    stops: bool
    """Venue-held stop orders (a stop-loss rests at the venue, not in this process)."""
    brackets: bool
    """Brackets / OCO: a stop and a target that cancel each other at the venue."""
    fractional: bool
    """Fractional quantities."""
    shorting: bool
    """Short selling."""
