"""Prices in the panes carry their symbol's tick precision."""

from __future__ import annotations

from robo_tui.ui.widgets.format import fmt_price


def test_fmt_price_when_symbol_given_then_stock_fx_and_crypto_each_in_their_precision():
    assert fmt_price(172.6421, "AAPL") == "172.64"
    assert fmt_price(1.083421, "EURUSD") == "1.08342"
    assert fmt_price(151.2345, "USDJPY") == "151.234"
    assert fmt_price(62243.041, "BTC-USD") == "62,243.04"
    assert fmt_price(0.000012345, "SHIB-USD") == "0.000012345"
    assert fmt_price(0.186174, "DOGE-USD") == "0.18617"


def test_fmt_price_when_missing_then_dash_and_without_symbol_then_cents():
    assert fmt_price(None, "EURUSD") == "—"
    assert fmt_price(float("nan")) == "—"
    assert fmt_price(1234.5) == "1,234.50"
