"""The Crypto Trading API's answers, validated at the edge (pydantic).

Numbers arrive as decimal strings and are read as `Decimal`; unknown fields are ignored (the
venue may add some), a missing required one fails validation, which the client reports as a
malformed answer rather than trading on a guess.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from robo_tui.adapters.brokers.robinhood_crypto.pairs import PairRules

T = TypeVar("T")


class _Edge(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Page(_Edge, Generic[T]):
    """One page of a list endpoint; `next` is the URL of the following page (None on the last)."""

    next: str | None = None
    previous: str | None = None
    results: list[T] = Field(default_factory=list)


class TradingAccount(_Edge):
    """The crypto trading account: its number, status and buying power in USD."""

    account_number: str
    status: str
    buying_power: Decimal
    buying_power_currency: str = "USD"


class TradingPair(_Edge):
    """A pair's increments, size limits and tradable status."""

    symbol: str
    asset_code: str
    quote_code: str
    quote_increment: Decimal
    asset_increment: Decimal
    max_order_size: Decimal
    min_order_size: Decimal
    status: str

    def rules(self) -> PairRules:
        """The pure rounding rules of this pair."""
        return PairRules(self.symbol, self.asset_code, self.quote_code, self.asset_increment,
                         self.quote_increment, self.min_order_size, self.max_order_size,
                         self.status == "tradable")


class Holding(_Edge):
    """Units of one asset held, and how many are free (not reserved by open sell orders)."""

    asset_code: str
    total_quantity: Decimal
    quantity_available_for_trading: Decimal


class BestBidAsk(_Edge):
    """The best bid/ask of a pair, spreads included."""

    symbol: str
    price: Decimal
    bid_inclusive_of_sell_spread: Decimal
    ask_inclusive_of_buy_spread: Decimal
    timestamp: datetime | None = None


class Execution(_Edge):
    """One execution of an order (the API gives executions no id: their index is their identity)."""

    effective_price: Decimal
    quantity: Decimal
    timestamp: datetime | None = None


class OrderConfig(_Edge):
    """The quantity and prices an order was placed with (one of the `*_order_config` objects)."""

    asset_quantity: Decimal | None = None
    quote_amount: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: str | None = None


OrderState = Literal["open", "canceled", "partially_filled", "filled", "failed"]


class VenueOrder(_Edge):
    """An order as the venue reports it, with our `client_order_id`."""

    id: str
    client_order_id: str
    symbol: str
    side: Literal["buy", "sell"]
    type: OrderType
    state: OrderState
    average_price: Decimal | None = None
    filled_asset_quantity: Decimal = Decimal(0)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    executions: list[Execution] = Field(default_factory=list)
    stop_loss_order_config: OrderConfig | None = None
    stop_limit_order_config: OrderConfig | None = None
    market_order_config: OrderConfig | None = None
    limit_order_config: OrderConfig | None = None

    def stop_config(self) -> OrderConfig | None:
        """The stop order's configuration (None for a market or limit order)."""
        return self.stop_loss_order_config or self.stop_limit_order_config

    def config(self) -> OrderConfig | None:
        """Whichever configuration the order was placed with (quantity and prices)."""
        return (self.stop_config() or self.limit_order_config or self.market_order_config)


OrderType = Literal["market", "limit", "stop_loss", "stop_limit"]


class OrderRequest(_Edge):
    """An order to place: our client order id, side, pair, type and the one matching config
    (quantities and prices as decimal strings, already rounded to the pair)."""

    client_order_id: str
    side: Literal["buy", "sell"]
    symbol: str
    type: OrderType
    config: OrderConfig

    @classmethod
    def make(cls, client_order_id: str, side: Literal["buy", "sell"], symbol: str,
             type_: OrderType, quantity: Decimal, *, limit_price: Decimal | None = None,
             stop_price: Decimal | None = None) -> OrderRequest:
        """A request for `quantity` units; market orders take no time in force, the rest `gtc`."""
        config = OrderConfig(asset_quantity=quantity, limit_price=limit_price,
                             stop_price=stop_price,
                             time_in_force=None if type_ == "market" else "gtc")
        return cls(client_order_id=client_order_id, side=side, symbol=symbol, type=type_,
                   config=config)

    def body(self) -> dict[str, object]:
        """The JSON body the API takes: the config under `<type>_order_config`."""
        config = {k: str(v) for k, v in self.config.model_dump(exclude_none=True).items()}
        return {"client_order_id": self.client_order_id, "side": self.side,
                "symbol": self.symbol, "type": self.type, f"{self.type}_order_config": config}


class ErrorDetail(_Edge):
    """One entry of an error answer."""

    detail: str = ""
    attr: str | None = None


class ErrorBody(_Edge):
    """The venue's error envelope: `{"type": ..., "errors": [{"detail": ..., "attr": ...}]}`."""

    type: str = ""
    errors: list[ErrorDetail] = Field(default_factory=list)

    def text(self) -> str:
        """The details in one line."""
        parts = [f"{e.attr}: {e.detail}" if e.attr else e.detail for e in self.errors if e.detail]
        return "; ".join(parts) or self.type or "no reason given"
