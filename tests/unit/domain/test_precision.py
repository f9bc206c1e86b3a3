"""Decimals that tell prices apart: per-symbol tick precision and two close values."""

from __future__ import annotations

import pytest

from robo_tui.domain.precision import (
    distinct_decimals,
    fmt_pair,
    is_crypto_symbol,
    is_fx_pair,
    price_decimals,
)


def test_fmt_pair_when_values_round_alike_at_cents_then_more_decimals_until_they_differ():
    assert fmt_pair(172.6421, 172.6383) == ("172.642", "172.638")
    assert fmt_pair(172.64001, 172.64004) == ("172.64001", "172.64004")


def test_fmt_pair_when_values_differ_at_cents_then_cents():
    assert fmt_pair(172.64, 172.61) == ("172.64", "172.61")


def test_distinct_decimals_when_equal_or_float_noise_then_base():
    assert distinct_decimals(172.64, 172.64) == 2
    assert distinct_decimals(0.1 + 0.2, 0.3, 2) == 2
    assert distinct_decimals(float("nan"), 1.0, 4) == 4


@pytest.mark.parametrize(("symbol", "price", "decimals"), [
    ("AAPL", 172.64, 2),
    ("PENNY", 0.4321, 4),
    ("EURUSD", 1.08342, 5),
    ("EUR/USD", 1.08342, 5),
    ("USD.JPY", 151.234, 3),
    ("BTC-USD", 62243.04, 2),
    ("ETH/USDT", 3101.5, 2),
    ("DOGE-USD", 0.18617, 5),
    ("SHIB-USD", 0.000012345, 9),
])
def test_price_decimals_when_symbol_kinds_then_their_tick_precision(symbol, price, decimals):
    assert price_decimals(symbol, price) == decimals


def test_symbol_kinds_when_crypto_looks_like_a_pair_then_told_apart():
    assert is_crypto_symbol("BTC-USD") and not is_fx_pair("BTC-USD")
    assert is_fx_pair("GBPUSD") and not is_crypto_symbol("GBPUSD")
    assert not is_crypto_symbol("AAPL") and not is_fx_pair("AAPL")
