"""safe_text: external text shows literally and can never restyle, move or hide anything."""

from __future__ import annotations

import sys
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from robo_tui.ui.widgets.safe import safe_str, safe_text

from .conftest import plain

_DANGEROUS = ("Cc", "Cf", "Zl", "Zp", "Cs")


def test_safe_text_when_markup_then_brackets_stay_literal() -> None:
    text = safe_text("[bold red]AAPL[/bold red] [link=https://evil.example]x[/link]")
    assert text.plain == "[bold red]AAPL[/bold red] [link=https://evil.example]x[/link]"
    assert not text.spans
    assert plain(text) == text.plain


def test_safe_text_when_ansi_escape_then_escape_is_visible_and_never_emitted() -> None:
    text = safe_text("\x1b[31mRED\x1b[0m \x9b2J \x1b]8;;http://x\x07link")
    assert text.plain == "␛[31mRED␛[0m <U+009B>2J ␛]8;;http://x␇link"
    assert "\x1b" not in plain(text) and "\x9b" not in plain(text)


def test_safe_text_when_bidi_override_or_zero_width_then_code_points_shown() -> None:
    text = safe_text("safe\u202egnp.exe \u2066x\u2069 Ap\u200bple\ufeff \U000e0041")
    assert text.plain == ("safe<U+202E>gnp.exe <U+2066>x<U+2069> Ap<U+200B>ple<U+FEFF> "
                          "<U+E0041>")


def test_safe_text_when_carriage_return_backspace_or_newline_then_one_visible_line() -> None:
    assert safe_str("paid\rFAILED\x08\x08 ok\nnext") == "paid␍FAILED␈␈ ok␊next"
    assert safe_str("tab\there") == "tab here"


def test_safe_text_when_keep_newlines_then_lines_kept_and_others_escaped() -> None:
    text = safe_text("line one\nline\x1b two\r", keep_newlines=True)
    assert text.plain == "line one\nline␛ two␍"


def test_safe_text_when_text_is_clean_then_unchanged_without_copies() -> None:
    clean = "Apple beats estimates — 中文 ✓ émoji 🚀"
    assert safe_str(clean) is clean
    assert safe_text(clean).plain == clean


def test_safe_text_when_replaced_then_escapes_are_styled_to_stand_out() -> None:
    text = safe_text("a\x1bb")
    assert [(s.start, s.end) for s in text.spans] == [(1, 2)]


def test_unsafe_set_covers_every_control_format_and_separator_code_point() -> None:
    missed = [
        f"U+{c:04X}" for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) in _DANGEROUS
        and chr(c) not in "\n\t"
        and safe_str(chr(c)) == chr(c)
    ]
    assert missed == []


@given(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=60))
def test_safe_str_when_any_text_then_no_dangerous_code_point_survives(s: str) -> None:
    out = safe_str(s)
    assert not [ch for ch in out if unicodedata.category(ch) in _DANGEROUS]
    kept = safe_str(s, keep_newlines=True)
    assert not [ch for ch in kept if unicodedata.category(ch) in _DANGEROUS and ch != "\n"]
