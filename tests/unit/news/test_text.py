"""Sanitising and symbol mapping: literal text, no invisible characters, exact ASCII tickers."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robo_tui.config import Settings
from robo_tui.domain.market import AssetClass, Instrument
from robo_tui.domain.text import html_to_text, sanitize
from robo_tui.engine.news import SymbolMaster

MASTER = SymbolMaster([i.to_instrument() for i in Settings().universe.instruments])


def test_sanitize_when_text_has_zero_width_and_bidi_characters_then_they_are_removed() -> None:
    text = "Apple\u200b beats\u202e estimates\u2066 \ufeffnow\u00ad"
    assert sanitize(text) == "Apple beats estimates now"


def test_sanitize_when_text_has_markup_then_it_stays_literal() -> None:
    text = "[bold red]AAPL[/bold red] <b>soars</b> [link=https://x]y[/link] {{x}} $AAPL"
    assert sanitize(text) == text


def test_sanitize_when_text_has_controls_and_ansi_escapes_then_they_go_and_spaces_collapse() -> None:
    assert sanitize("a\x00b\x1b[31mred\x1b[0m\n\n\tc  d\x7f") == "ab[31mred[0m c d"


def test_sanitize_when_text_is_fullwidth_then_nfkc_folds_it() -> None:
    assert sanitize("\uff21\uff21\uff30\uff2c") == "AAPL"


def test_sanitize_when_text_is_long_then_it_is_capped_with_an_ellipsis() -> None:
    out = sanitize("word " * 200, max_chars=50)
    assert len(out) <= 50 and out.endswith("…")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_sanitize_when_any_text_then_no_invisible_or_control_characters_survive(text: str) -> None:
    out = sanitize(text, max_chars=10_000)
    assert all(unicodedata.category(c) not in ("Cc", "Cf", "Co", "Cs", "Cn") for c in out)
    assert sanitize(out, max_chars=10_000) == out


def test_html_to_text_when_summary_is_html_then_only_visible_text_remains() -> None:
    html = "<p>Apple &amp; Microsoft</p><script>alert(1)</script><br/>rally &#8212; 5%"
    assert sanitize(html_to_text(html)) == "Apple & Microsoft rally — 5%"


@pytest.mark.parametrize(
    ("text", "symbols"),
    [
        ("AAPL rallies", ("AAPL",)),
        ("Shares of $NVDA jump", ("NVDA",)),
        ("Apple and Microsoft lead gains", ("AAPL", "MSFT")),
        ("APPLE SHARES SOAR", ("AAPL",)),
        ("Exxon Mobil to buy rival", ("XOM",)),
        ("ExxonMobil cuts outlook", ("XOM",)),
        ("JPMorgan Chase profit rises", ("JPM",)),
        ("New iPhone sells out", ("AAPL",)),
        ("Amazon.com shares fall", ("AMZN",)),
        ("AWS outage hits customers", ("AMZN",)),
        ("BTC tops $100k", ("BTC-USD",)),
        ("XBT futures expire", ("BTC-USD",)),
        ("BTC/USD breaks out", ("BTC-USD",)),
        ("spot bitcoin ETFs see inflows", ("BTC-USD",)),
        ("Ether and ETH-BTC ratio", ("ETH-USD", "BTC-USD")),
        ("Apple-Microsoft rivalry", ("AAPL", "MSFT")),
        ("\uff2e\uff36\uff24\uff21 record", ("NVDA",)),  # fullwidth folds under NFKC
        ("\U0001d400\U0001d400\U0001d40f\U0001d40b record", ("AAPL",)),  # mathematical bold
    ],
)
def test_map_when_text_names_universe_symbols_then_they_are_found(
    text: str, symbols: tuple[str, ...]
) -> None:
    assert MASTER.map(text) == symbols


@pytest.mark.parametrize(
    "text",
    [
        "\u0410APL to be acquired",  # Cyrillic A
        "A\u0410PL to be acquired",
        "\u039dVDA soars",  # Greek capital Nu
        "\u041cicrosoft hacked",  # Cyrillic M
        "NV\u200bDA soars 40%",  # zero-width space inside
        "\u200bAAPL soars",  # zero-width space before
        "AAPL\u200d soars",  # zero-width joiner after
        "\u202eLPAA\u202c crashes",  # right-to-left override
        "AAPL\u0336 struck through",  # combining overlay
        "apple pie prices rise",  # a common noun, not the company
        "TSLA and GME to the moon",  # not in the universe
        "$TSLAQ squeeze",
        "the eth of it",  # lower-case ticker-like alias
    ],
)
def test_map_when_ticker_is_disguised_or_absent_then_nothing_maps(text: str) -> None:
    assert MASTER.map(text) == ()


def test_map_when_a_ticker_is_an_everyday_word_then_it_needs_a_cashtag_or_exchange() -> None:
    master = SymbolMaster([Instrument("ON", AssetClass.STOCK, "Tech", "onsemi"),
                           Instrument("IT", AssetClass.STOCK, "Tech", "Gartner")])
    assert master.map("STOCKS TO WATCH ON MONDAY: IT SECTOR") == ()
    assert master.map("$ON jumps") == ("ON",)
    assert master.map("Gartner (NYSE: IT) beats") == ("IT",)


def test_map_when_texts_repeat_a_symbol_then_it_is_listed_once_in_first_mention_order() -> None:
    assert MASTER.map("Microsoft and Apple", "AAPL and MSFT and Nvidia") == ("MSFT", "AAPL", "NVDA")
