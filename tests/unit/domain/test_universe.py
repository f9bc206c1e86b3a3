"""Universe discovery's filters: quote currency, volume, price, spread, the most traded first."""

from __future__ import annotations

import math

from robo_tui.domain.universe import Candidate, UniverseRules, select


def market(symbol: str, last: float, volume: float, spread_bps: float = 2.0) -> Candidate:
    base, quote = symbol.split("-")
    half = last * spread_bps / 20_000.0
    return Candidate(symbol, base, quote, last, last - half, last + half, volume)


def test_select_when_markets_vary_then_filters_apply_and_the_most_traded_come_first() -> None:
    rules = UniverseRules(quote="USD", min_volume=1e6, min_price=0.01, max_spread_bps=20,
                          max_symbols=2)
    chosen = select([
        market("ETH-USD", 3_000, 4e8), market("BTC-USD", 50_000, 9e8),
        market("SOL-USD", 150, 2e8), market("BTC-EUR", 46_000, 5e8),
        market("SHIB-USD", 0.00001, 5e7), market("THIN-USD", 2.0, 1e5),
        market("WIDE-USD", 5.0, 5e6, spread_bps=80),
    ], rules)

    assert chosen.symbols == ["BTC-USD", "ETH-USD"]
    assert chosen.dropped == {
        "SOL-USD": "beyond the 2 most traded",
        "BTC-EUR": "quoted in EUR, not USD",
        "SHIB-USD": "price 1e-05 below 0.01",
        "THIN-USD": "24 h volume 100,000 USD below 1,000,000",
        "WIDE-USD": "spread 80.0 bps wider than 20 bps",
    }


def test_select_when_no_two_sided_quote_or_unknown_volume_then_left_out_with_the_reason() -> None:
    one_sided = Candidate("X-USD", "X", "USD", 10.0, 0.0, 10.1, 5e6)
    unknown = Candidate("Y-USD", "Y", "USD", 10.0, 9.99, 10.01, math.nan)
    chosen = select([one_sided, unknown], UniverseRules())
    assert chosen.symbols == []
    assert chosen.dropped == {"X-USD": "no two-sided quote wider than 50 bps",
                              "Y-USD": "24 h volume unknown USD below 1,000,000"}


def test_select_when_the_venue_reports_no_volume_then_volume_skipped_and_tightest_spread_first() -> None:
    rules = UniverseRules(quote="USD", min_volume=1e9, max_spread_bps=50, max_symbols=2,
                          use_volume=False)
    chosen = select([
        market("ETH-USD", 3_000, math.nan, spread_bps=10), market("BTC-USD", 50_000, math.nan),
        market("LTC-USD", 100, math.nan, spread_bps=30), market("WIDE-USD", 5, math.nan, 80),
    ], rules)

    assert chosen.symbols == ["BTC-USD", "ETH-USD"]
    assert chosen.dropped["LTC-USD"] == "beyond the 2 tightest spreads"
    assert "wider than 50 bps" in chosen.dropped["WIDE-USD"]
