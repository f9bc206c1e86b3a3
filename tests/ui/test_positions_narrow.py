"""At 80x24 three crypto positions with long quantities still show P&L and % of equity: the side
moves into the quantity's sign before % of equity is dropped."""

from __future__ import annotations

from robo_tui.ui.widgets.positions import COLUMN_KEYS, fit_columns

CRYPTO_ROWS = [
    ("BTC-USD", "LONG", "0.158622", "62,411.00", "62,436.00", "-0.20", "9.9%", "61,745.34",
     "63,607.64"),
    ("ETH-USD", "SHORT", "2.618133", "3,779.80", "3,782.23", "-6.35", "9.9%", "3,829.48",
     "3,682.90"),
    ("SOL-USD", "SHORT", "99.905217", "99.05", "99.25", "-19.96", "9.9%", "104.19", "88.91"),
]


def test_fit_columns_when_crypto_quantities_are_long_then_side_goes_into_the_sign_and_pct_stays():
    assert all(len(row) == len(COLUMN_KEYS) for row in CRYPTO_ROWS)
    keys = [k for k, _ in fit_columns(CRYPTO_ROWS, 47)]
    assert keys == ["symbol", "qty", "last", "upnl", "pct"]


def test_fit_columns_when_side_fits_then_kept_with_pct():
    keys = [k for k, _ in fit_columns(CRYPTO_ROWS, 54)]
    assert keys == ["symbol", "side", "qty", "last", "upnl", "pct"]


def test_fit_columns_when_even_signed_does_not_fit_then_pct_goes_last():
    keys = [k for k, _ in fit_columns(CRYPTO_ROWS, 42)]
    assert keys == ["symbol", "side", "qty", "last", "upnl"]
