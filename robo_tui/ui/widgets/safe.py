"""Showing text that came from outside (headlines, LLM rationale, broker messages) safely.

External text is never parsed as markup and never passed to the terminal raw. Every character that
could restyle, move the cursor, hide text or reorder it on screen is replaced by a visible escape:

- C0/C1 control characters (ESC, BEL, CSI, backspace, carriage return, ...) become their Unicode
  "control picture" (ESC shows as ``␛``) or ``<U+009B>`` for C1 controls, so an ANSI escape
  sequence shows literally as ``␛[31m``;
- zero-width, invisible and format characters (ZWSP, ZWJ, BOM, soft hyphen, tag characters, ...)
  and bidirectional overrides/isolates (U+202A..U+202E, U+2066..U+2069) become ``<U+202E>``;
- line and paragraph separators, lone surrogates become ``<U+2028>`` etc.

The result is a `rich.text.Text` built with the plain constructor, so ``[bold]`` stays literal.
"""

from __future__ import annotations

import re

from rich.style import Style
from rich.text import Text

__all__ = ["UNSAFE_CHARS", "safe_str", "safe_text"]

# Every Cc, Cf, Zl, Zp and Cs code point (checked against unicodedata in the tests), plus the
# invisible fillers and joiners that are letters or marks but render as nothing.
_OTHER_UNSAFE = (
    "\x7f-\x9f"  # DEL, C1 (Cc)
    "\xad"  # soft hyphen
    "\u034f"  # combining grapheme joiner (invisible)
    "\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
    "\u115f\u1160"  # Hangul choseong/jungseong fillers (invisible)
    "\u17b4\u17b5"  # Khmer invisible vowels
    "\u180b-\u180f"  # Mongolian free variation selectors and vowel separator
    "\u200b-\u200f"  # ZWSP, ZWNJ, ZWJ, LRM, RLM
    "\u2028-\u202e"  # line/paragraph separators, bidi embeddings and overrides
    "\u2060-\u206f"  # word joiner, invisible operators, bidi isolates, deprecated format
    "\u3164"  # Hangul filler
    "\ud800-\udfff"  # lone surrogates (cannot be encoded)
    "\ufeff"  # BOM / zero-width no-break space
    "\uffa0"  # halfwidth Hangul filler
    "\ufff9-\ufffb"  # interlinear annotation
    "\U000110bd\U000110cd"
    "\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a"
    "\U000e0000-\U000e007f"  # tag characters ("ASCII smuggling")
)
UNSAFE_CHARS = "\x00-\x1f" + _OTHER_UNSAFE
"""A regex character class of everything `safe_text` escapes."""
_UNSAFE = re.compile(f"[{UNSAFE_CHARS}]")
_UNSAFE_KEEP_NL = re.compile(f"[\\x00-\\x09\\x0b-\\x1f{_OTHER_UNSAFE}]")

_ESCAPE_STYLE = Style(reverse=True, dim=True)


def _visible(char: str) -> str:
    code = ord(char)
    if char == "\t":
        return " "
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ .. ␟ (ESC is ␛, LF is ␊)
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def safe_str(s: object, *, keep_newlines: bool = False) -> str:
    """`s` as a string with every unsafe character replaced by a visible escape.

    With `keep_newlines` a line feed stays a line break (for multi-line detail views); otherwise
    it shows as ``␊`` so one entry stays on one line.
    """
    text = s if isinstance(s, str) else str(s)
    pattern = _UNSAFE_KEEP_NL if keep_newlines else _UNSAFE
    if pattern.search(text) is None:
        return text
    return pattern.sub(lambda m: _visible(m.group()), text)


def safe_text(s: object, style: str | Style = "", *, keep_newlines: bool = False) -> Text:
    """External text as a `Text` that shows literally: no markup, no escapes, no spoofing.

    Replaced characters are shown dimmed in reverse video so a reader sees something was there.
    """
    text = s if isinstance(s, str) else str(s)
    pattern = _UNSAFE_KEEP_NL if keep_newlines else _UNSAFE
    if pattern.search(text) is None:
        return Text(text, style=style, no_wrap=not keep_newlines, end="")
    out = Text(style=style, no_wrap=not keep_newlines, end="")
    last = 0
    for match in pattern.finditer(text):
        if match.start() > last:
            out.append(text[last:match.start()])
        visible = _visible(match.group())
        out.append(visible, style=None if visible == " " else _ESCAPE_STYLE)
        last = match.end()
    if last < len(text):
        out.append(text[last:])
    return out
