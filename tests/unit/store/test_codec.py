"""Domain values survive the trip to JSON text and back as equal, typed values."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_tui.adapters.store.codec import CodecError, dumps, from_jsonable, loads, ts_text
from robo_tui.domain.orders import Fill, Order, OrderIntent, OrderType, Side
from robo_tui.domain.serialize import to_jsonable
from robo_tui.domain.signals import Direction, EnsembleDecision, Proposal

from .conftest import (
    T0,
    make_account,
    make_fill,
    make_news,
    make_order,
    make_proposal,
    make_verdict,
)


@pytest.mark.parametrize(
    "value",
    [
        make_order(),
        make_order().intent,
        make_fill(),
        make_proposal(),
        make_verdict(allowed=False),
        make_verdict(allowed=True),
        make_account(),
        make_news(),
        EnsembleDecision("AAPL", T0, 0.4, 0.6, None, make_proposal().votes),
        EnsembleDecision("AAPL", T0, -0.4, 0.6, Direction.SHORT, ()),
    ],
    ids=lambda v: type(v).__name__,
)
def test_loads_when_given_dumps_of_a_domain_value_then_returns_an_equal_value(value: Any) -> None:
    back = loads(type(value), dumps(value))
    assert back == value
    assert type(back) is type(value)


def test_loads_when_decoding_then_nested_values_have_their_domain_types() -> None:
    back = loads(Proposal, dumps(make_proposal()))
    assert isinstance(back.side, Side)
    assert isinstance(back.votes, tuple) and back.votes[1].source == "analyst"
    assert isinstance(back.ts, datetime) and back.ts.tzinfo is not None
    account = loads(type(make_account()), dumps(make_account()))
    assert account.positions["BTC-USD"].quantity == -0.015
    assert account.positions["AAPL"].opened_at == T0


def test_loads_when_datetime_has_a_non_utc_offset_then_keeps_it_exactly() -> None:
    tz = timezone(timedelta(hours=-5))
    fill = dataclasses.replace(make_fill(), ts=datetime(2026, 3, 2, 9, 30, 0, 123456, tz))
    back = loads(Fill, dumps(fill))
    assert back.ts.utcoffset() == timedelta(hours=-5)
    assert back == fill


def test_from_jsonable_when_an_optional_field_is_missing_then_uses_its_default() -> None:
    data = to_jsonable(make_order())
    del data["intent"]["equity_fraction"]
    del data["intent"]["reduce_only"]
    order = from_jsonable(Order, data)
    assert order.intent.equity_fraction is None
    assert order.intent.reduce_only is False


def test_from_jsonable_when_a_required_field_is_missing_then_names_it() -> None:
    data = to_jsonable(make_fill())
    del data["price"]
    with pytest.raises(CodecError, match="missing field 'price'"):
        from_jsonable(Fill, data)


def test_from_jsonable_when_a_value_has_the_wrong_type_then_names_the_path() -> None:
    data = to_jsonable(make_order())
    data["intent"]["side"] = "hold"
    with pytest.raises(CodecError, match=r"Order\.intent\.side"):
        from_jsonable(Order, data)
    data = to_jsonable(make_order())
    data["intent"]["quantity"] = "12"
    with pytest.raises(CodecError, match=r"intent\.quantity: expected a number"):
        from_jsonable(Order, data)


def test_from_jsonable_when_keys_are_unknown_then_ignores_them() -> None:
    data = to_jsonable(make_fill())
    data["venue"] = "XNAS"
    assert from_jsonable(Fill, data) == make_fill()


def test_dumps_when_floats_are_not_finite_then_writes_strict_json() -> None:
    intent = OrderIntent("AAPL", Side.SELL, math.inf, OrderType.LIMIT, limit_price=math.nan)
    text = dumps(intent)
    parsed = json.loads(text)  # strict JSON: no NaN/Infinity tokens
    assert parsed["quantity"] is None and parsed["limit_price"] is None
    back = loads(OrderIntent, text)
    assert math.isnan(back.quantity)  # required float: NaN stands for "was not finite"
    assert back.limit_price is None  # optional float: null stays None


def test_dumps_when_payload_holds_numpy_values_then_writes_plain_numbers() -> None:
    text = dumps({"n": np.int64(3), "x": np.float64(1.5), "a": np.array([1, 2])})
    assert json.loads(text) == {"n": 3, "x": 1.5, "a": [1, 2]}


def test_ts_text_when_times_differ_then_text_order_is_time_order() -> None:
    a = datetime(2026, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=-5)))  # 14:30 UTC
    b = datetime(2026, 3, 2, 14, 30, 0, 1, tzinfo=UTC)
    c = datetime(2026, 3, 2, 15, 0)  # naive: taken as UTC
    assert ts_text(a) < ts_text(b) < ts_text(c)
    assert ts_text(a) == "2026-03-02T14:30:00.000000+00:00"


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
aware = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-4))]),
)


@settings(derandomize=True, max_examples=200)
@given(
    coid=st.text(min_size=1, max_size=40),
    symbol=st.text(min_size=1, max_size=12),
    side=st.sampled_from(Side),
    otype=st.sampled_from(OrderType),
    qty=finite,
    limit=st.none() | finite,
    reason=st.text(max_size=200),
    created=aware,
    reduce_only=st.booleans(),
)
def test_loads_when_orders_are_arbitrary_then_round_trip_is_exact(
    coid: str, symbol: str, side: Side, otype: OrderType, qty: float, limit: float | None,
    reason: str, created: datetime, reduce_only: bool,
) -> None:
    order = Order(
        coid,
        OrderIntent(symbol, side, qty, otype, limit, reduce_only=reduce_only, reason=reason),
        created,
        "ui",
    )
    assert loads(Order, dumps(order)) == order
