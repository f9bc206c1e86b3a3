"""Hygiene for untrusted text: headlines, feed summaries, model output, broker messages.

Pure functions (no I/O) that adapters use when they read text from outside and the engine uses
before it stores, maps or shows it: Unicode normalisation, removal of invisible and control
characters, length caps, HTML fragments to text, and stable ids for news items. Text is otherwise
kept literal (a `[bold]` in a headline stays those seven characters; rendering it safely is the
UI's job).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# --------------------------------------------------------------------------------------------
# news text

MAX_TITLE_CHARS = 300
"""Longest cleaned headline."""
MAX_SUMMARY_CHARS = 1200
"""Longest cleaned summary."""

# Characters that render as nothing (or reorder what is shown) but are not in category Cf.
_EXTRA_INVISIBLE = frozenset(
    "\u034f"  # combining grapheme joiner
    "\u115f\u1160\u3164\uffa0"  # hangul fillers
    "\u17b4\u17b5"  # khmer inherent vowels
    "\u180b\u180c\u180d\u180f"  # mongolian free variation selectors
    "\u2800"  # braille blank
)
_WHITESPACE_RUN = re.compile(r"[\s\u0085]+")


def is_invisible(ch: str) -> bool:
    """Control, format (zero-width, bidi overrides, BOM, tags), private, surrogate, unassigned."""
    if ch in _EXTRA_INVISIBLE:
        return True
    cat = unicodedata.category(ch)
    if cat in ("Cf", "Cc", "Co", "Cs", "Cn"):
        return not ch.isspace()
    # variation selectors are non-spacing marks that only change glyph choice
    o = ord(ch)
    return 0xFE00 <= o <= 0xFE0F or 0xE0100 <= o <= 0xE01EF


MIN_SECRET_CHARS = 4
"""Shorter configured values are not treated as secrets to scrub (they would mangle text)."""
SECRET_MASK = "***"


def scrub(text: str, secrets: Sequence[str]) -> str:
    """`text` with every configured secret in it replaced by ***: a server that echoes a key
    back (in a headline, an error, a model's rationale) must not get it stored, shown, logged
    or put in a prompt. Longest first, so a secret containing another is masked whole."""
    if not secrets or not text:
        return text
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= MIN_SECRET_CHARS and secret in text:
            text = text.replace(secret, SECRET_MASK)
    return text


def secrets_in(settings: object) -> tuple[str, ...]:
    """Every non-empty `SecretStr` value in a pydantic settings tree (keys, passwords): what
    `scrub` must mask wherever text from outside is stored, shown, logged or prompted."""
    from pydantic import BaseModel, SecretStr

    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, SecretStr):
            if len(raw := value.get_secret_value()) >= MIN_SECRET_CHARS:
                found.append(raw)
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    walk(settings)
    return tuple(found)


def sanitize(text: str, max_chars: int = MAX_TITLE_CHARS) -> str:
    """Make untrusted news text safe to store, show and put in a prompt.

    NFKC-normalises (fullwidth and mathematical letters become plain ones), drops control,
    zero-width, bidi-override and other invisible characters, collapses whitespace and caps
    the length. Nothing else changes: markup-like text such as `[bold]` stays literal.
    """
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text = "".join(ch for ch in text if not is_invisible(ch))
        # removing a joiner can bring a base letter and a combining mark together
        text = unicodedata.normalize("NFKC", text)
    else:
        text = "".join(ch for ch in text if ch >= " " and ch != "\x7f" or ch in "\t\n\r")
    text = _WHITESPACE_RUN.sub(" ", text).strip()
    if len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    return text


class _TextExtractor(HTMLParser):
    """Collects the text content of an HTML fragment (RSS summaries are HTML)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("br", "p", "div", "li"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """The visible text of an HTML fragment, entities decoded; plain text passes unchanged."""
    if "<" not in fragment and "&" not in fragment:
        return fragment
    parser = _TextExtractor()
    parser.feed(fragment)
    parser.close()
    return "".join(parser.parts)


# --------------------------------------------------------------------------------------------
# stable ids

_TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "msclkid", "yclid", "mc_cid", "mc_eid", "ref", "ref_src",
    "ref_url", "cmpid", "ocid", "guccounter", "guce_referrer", "guce_referrer_sig", "soc_src",
    "soc_trk", "smid", "sr_share", "taid", "ito", "cid", "icid", "mbid", "ns_campaign",
    "ns_mchannel", "ns_source", "ns_linkname", "ns_fee", "src", "rss", "feedtype"
})


def canonical_url(url: str) -> str:
    """The URL without tracking parameters, fragment, default port, `www.` or trailing slash.

    Remaining query parameters are sorted, so two links to the same article compare equal.
    """
    url = url.strip()
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.scheme or not parts.netloc:
        return url
    host = (parts.hostname or "").lower()
    host = host.removeprefix("www.")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port and not ((parts.scheme == "http" and port == 80) or (parts.scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(("utm_", "at_", "mkt_")) and k.lower() not in _TRACKING_PARAMS
    )
    path = parts.path.rstrip("/") or "/"
    scheme = "https" if parts.scheme in ("http", "https") else parts.scheme.lower()
    return urlunsplit((scheme, host, path, urlencode(query), ""))


def news_id(source: str, link: str, guid: str = "", title: str = "") -> str:
    """A stable id for a news item: its canonical link, else the source's guid, else its title."""
    if link:
        key = "url:" + canonical_url(link)
    elif guid:
        key = f"guid:{source}:{guid}"
    else:
        key = f"title:{source}:{title}"
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:20]


# --------------------------------------------------------------------------------------------
# text from models and brokers

# Unicode categories removed from any external text: controls (Cc), format characters such as
# zero-width spaces and bidi overrides (Cf), private use (Co), surrogates (Cs), unassigned (Cn),
# and line/paragraph separators (Zl, Zp).
_STRIP_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
_KEEP_CONTROLS = frozenset({"\n", "\t"})
_SPACES = re.compile(r"[ \t]+")


def clean_text(text: str, *, keep_newlines: bool = True, max_chars: int | None = None) -> str:
    """NFKC-normalise `text` and strip control and invisible characters.

    Newlines and tabs survive when `keep_newlines` (tabs become spaces); everything else in the
    control/format/private-use categories is removed, so ANSI escapes, zero-width joiners and
    bidi overrides never reach a prompt, a log or the screen.
    """
    text = unicodedata.normalize("NFKC", text)
    out: list[str] = []
    for ch in text:
        if ch in _KEEP_CONTROLS:
            out.append("\n" if ch == "\n" and keep_newlines else " ")
        elif unicodedata.category(ch) in _STRIP_CATEGORIES:
            continue
        else:
            out.append(ch)
    cleaned = _SPACES.sub(" ", "".join(out)).strip()
    if max_chars is not None and len(cleaned) > max_chars:
        cleaned = cleaned[: max_chars - 1].rstrip() + "…"
    return cleaned
