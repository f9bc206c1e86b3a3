"""News understanding: symbol mapping, deduplication, classification and scoring.

Everything here is pure and synchronous (no I/O): the intelligence pipeline calls it on each new
item, so it is written for a few microseconds per headline. Cleaning the untrusted text itself
(normalising, stripping invisible characters, ids) is hygiene and lives in `robo_tui.domain.text`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from robo_tui.domain.frozen import frozen
from robo_tui.domain.market import Instrument
from robo_tui.domain.news import EventType
from robo_tui.domain.text import canonical_url, is_invisible, sanitize

# --------------------------------------------------------------------------------------------
# symbol master

# A word is letters/digits, optionally joined by . - & (BRK.B, BTC-USD, Amazon.com, AT&T).
# U+FFFD stands in for an invisible character in the mapping text, so a token that had one
# inside or beside it is not ASCII and never matches.
_TOKEN = re.compile(r"(?:[^\W_]|\ufffd)+(?:[.\-&](?:[^\W_]|\ufffd)+)*")
_EXCHANGE_PREFIX = re.compile(r"(?:NYSE|NASDAQ|Nasdaq|NYSEARCA|AMEX|CBOE|TSX|LSE)\s*:\s*$")

# Tickers that are also everyday upper-case words; these need a cashtag or an exchange prefix.
_AMBIGUOUS_TICKERS = frozenset({
    "A", "I", "ALL", "ARE", "AI", "BIG", "CAN", "CAR", "CAT", "DD", "EAT", "FAST", "FUN", "GO",
    "HAS", "IT", "KEY", "LOW", "MAN", "NEW", "NOW", "ON", "ONE", "OPEN", "OUT", "PLAY", "REAL",
    "RUN", "SEE", "SO", "TWO", "UP", "USA", "WELL", "YOU"
})


def _mapping_text(raw: str) -> str:
    """NFKC text for mapping: invisible characters become U+FFFD and taint adjacent tokens."""
    text = unicodedata.normalize("NFKC", raw)
    if text.isascii():
        return "".join(max(ch, " ") for ch in text)
    out = []
    for ch in text:
        if ch.isspace():
            out.append(" ")
        elif is_invisible(ch) or unicodedata.category(ch) in ("Mn", "Me"):
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


@frozen
class _Token:
    text: str
    start: int
    cashtag: bool


class SymbolMaster:
    """Maps tickers, cashtags, company and coin names and aliases in news text to universe symbols.

    Matching is exact ASCII after NFKC: a Cyrillic 'А' in 'АAPL', or a zero-width character
    inside or beside a ticker, means no match. Bare tickers match upper-case only; names match
    when capitalised as a proper noun ('Apple', 'APPLE', not 'apple'), coin names in any case
    ('bitcoin'). Crypto pairs map from their base ('BTC' → BTC-USD).
    """

    def __init__(self, instruments: Iterable[Instrument]) -> None:
        self.symbols: tuple[str, ...] = ()
        self._tickers: dict[str, str] = {}  # exact upper-case ticker → symbol
        self._phrases: dict[tuple[str, ...], str] = {}  # upper-cased name tokens → symbol
        self._exact_phrases: dict[tuple[str, ...], str] = {}  # case-sensitive (iPhone, AWS)
        self._any_case: set[tuple[str, ...]] = set()  # coin names: 'bitcoin' is common
        self._max_phrase = 1
        symbols: list[str] = []
        for inst in instruments:
            symbols.append(inst.symbol)
            self._tickers[inst.symbol] = inst.symbol
            base = inst.symbol.split("-")[0]
            if inst.asset_class.value == "crypto" and base != inst.symbol:
                self._tickers.setdefault(base, inst.symbol)
            for name in (inst.name, *inst.aliases):
                key = self._add_name(name, inst.symbol)
                if key is not None and inst.asset_class.value == "crypto":
                    self._any_case.add(key)
        self.symbols = tuple(symbols)

    def _add_name(self, name: str, symbol: str) -> tuple[str, ...] | None:
        """Index a name or alias; returns its upper-cased phrase key (None for ticker-likes)."""
        name = sanitize(name)
        if not name or not name.isascii():
            return None
        tokens = tuple(m.group(0) for m in _TOKEN.finditer(name))
        if not tokens:
            return None
        if len(tokens) == 1 and tokens[0].isupper() and len(tokens[0]) <= 6:
            self._tickers.setdefault(tokens[0], symbol)  # ticker-like alias: BTC, XBT, AWS
            return None
        key = tuple(t.upper() for t in tokens)
        self._max_phrase = max(self._max_phrase, len(tokens))
        self._exact_phrases.setdefault(tokens, symbol)  # as written: iPhone, JPMorgan
        self._phrases.setdefault(key, symbol)  # APPLE, Nvidia
        return key

    def _known(self, token: str) -> bool:
        return token in self._tickers or (token,) in self._exact_phrases or (
            (token.upper(),) in self._phrases)

    def _tokens(self, raw: str) -> list[_Token | None]:
        """ASCII tokens in order; None marks a token that must not be matched (and breaks phrases)."""
        text = _mapping_text(raw)
        out: list[_Token | None] = []
        for m in _TOKEN.finditer(text):
            tok = m.group(0)
            if not tok.isascii():
                out.append(None)
                continue
            start = m.start()
            cashtag = start > 0 and text[start - 1] == "$"
            if start > 0 and text[start - 1] == "\ufffd":
                out.append(None)
                continue
            end = m.end()
            if end < len(text) and text[end] == "\ufffd":
                out.append(None)
                continue
            if "-" in tok and not self._known(tok):
                # a hyphenated compound (Apple-Google, ETH-BTC): look at its parts
                offset = start
                for part in tok.split("-"):
                    out.append(_Token(part, offset, cashtag and offset == start))
                    offset += len(part) + 1
                continue
            out.append(_Token(tok, start, cashtag))
        return out

    def map(self, *texts: str) -> tuple[str, ...]:
        """Universe symbols mentioned in `texts`, in order of first mention, without repeats."""
        found: list[str] = []
        for raw in texts:
            if raw:
                self._map_one(raw, found)
        return tuple(found)

    def _map_one(self, raw: str, found: list[str]) -> None:
        toks = self._tokens(raw)
        text = None
        i = 0
        while i < len(toks):
            tok = toks[i]
            if tok is None:
                i += 1
                continue
            # longest name first (Exxon Mobil before Exxon)
            matched = 0
            for n in range(min(self._max_phrase, len(toks) - i), 0, -1):
                window = toks[i:i + n]
                if any(t is None for t in window):
                    continue
                words = tuple(t.text for t in window if t is not None)
                sym = self._exact_phrases.get(words)
                if sym is None:
                    key = tuple(w.upper() for w in words)
                    if _proper_noun(words) or key in self._any_case:
                        sym = self._phrases.get(key)
                if sym is not None:
                    if sym not in found:
                        found.append(sym)
                    matched = n
                    break
            if matched:
                i += matched
                continue
            sym = self._tickers.get(tok.text)
            if sym is not None:
                if tok.text in _AMBIGUOUS_TICKERS and not tok.cashtag:
                    if text is None:
                        text = _mapping_text(raw)
                    if not _EXCHANGE_PREFIX.search(text[: tok.start]):
                        sym = None
                if sym is not None and sym not in found:
                    found.append(sym)
            i += 1


def _proper_noun(words: tuple[str, ...]) -> bool:
    """Capitalised like a name: 'Exxon Mobil', 'EXXON MOBIL'; not 'apple' or 'Apple pie'."""
    return all(w[0].isupper() for w in words)


# --------------------------------------------------------------------------------------------
# deduplication

_STOPWORDS = frozenset({
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "for", "at", "by", "with", "from",
    "as", "is", "are", "was", "were", "be", "been", "its", "it", "this", "that", "after",
    "over", "amid", "into", "than", "says", "said", "report", "reports", "reported", "update",
    "updated", "new", "live", "breaking", "exclusive", "source", "sources", "say", "people",
    "familiar", "matter"
})
_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(bn|b|billion|mn|m|million|k|thousand|%|percent|pct)\b")
_UNITS = {"bn": "billion", "b": "billion", "mn": "million", "m": "million", "k": "thousand",
          "%": "percent", "pct": "percent"}


def title_tokens(title: str) -> frozenset[str]:
    """Normalised content words of a headline, for near-duplicate detection."""
    text = _AMOUNT.sub(lambda m: f"{m.group(1)} {_UNITS.get(m.group(2), m.group(2))}",
                       sanitize(title).lower())  # "$16B" and "$16 billion" read alike
    words = _WORD.findall(text)
    return frozenset(_stem(w) for w in words if w not in _STOPWORDS)


def _stem(word: str) -> str:
    """A crude suffix strip so 'beats'/'beat' and 'shares'/'share' compare equal."""
    word = word.removesuffix("'s")
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "ches", "shes", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def title_similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Overlap of two token sets: Jaccard, or near-full containment when one extends the other."""
    if not a or not b:
        return 0.0
    inter = len(a & b)
    if inter == 0:
        return 0.0
    jaccard = inter / len(a | b)
    small = min(len(a), len(b))
    # a headline that another one extends ("..., sources say") is the same story
    containment = inter / small if small >= 4 else 0.0
    return max(jaccard, containment if containment >= 0.85 else 0.0)


@dataclass(slots=True)
class Story:
    """A cluster of items that tell the same story; the first one stands for it."""

    item_id: str
    tokens: frozenset[str]
    published: datetime
    sources: set[str] = field(default_factory=set)


class Deduplicator:
    """Remembers recent stories and recognises repeats by id, canonical link or similar title.

    An inverted index over title words keeps the check proportional to the few stories that
    share a word with the new one, not to everything seen.
    """

    def __init__(self, *, similarity: float = 0.6, window_hours: float = 48.0,
                 capacity: int = 20_000) -> None:
        self.similarity = similarity
        self.window_seconds = window_hours * 3600.0
        self.capacity = capacity
        self._stories: dict[str, Story] = {}
        self._by_key: dict[str, str] = {}  # item id / canonical url → story id
        self._index: dict[str, set[str]] = {}
        self._order: deque[str] = deque()

    def __len__(self) -> int:
        return len(self._stories)

    def find(self, item_id: str, link: str, tokens: frozenset[str], published: datetime) -> Story | None:
        """The known story this item repeats, if any."""
        for key in (item_id, canonical_url(link)):
            sid = self._by_key.get(key) if key else None
            if sid is not None and sid in self._stories:
                return self._stories[sid]
        candidates: dict[str, int] = {}
        for tok in tokens:
            for sid in self._index.get(tok, ()):
                candidates[sid] = candidates.get(sid, 0) + 1
        best: Story | None = None
        best_sim = self.similarity
        for sid, shared in candidates.items():
            story = self._stories[sid]
            if shared * 2 < min(len(tokens), len(story.tokens)):
                continue  # cannot reach the threshold
            if abs((published - story.published).total_seconds()) > self.window_seconds:
                continue
            sim = title_similarity(tokens, story.tokens)
            if sim >= best_sim:
                best, best_sim = story, sim
        return best

    def add(self, item_id: str, link: str, tokens: frozenset[str], published: datetime,
            source: str) -> Story:
        """Remember a new story."""
        story = Story(item_id, tokens, published, {source})
        self._stories[item_id] = story
        self._by_key[item_id] = item_id
        url = canonical_url(link)
        if url:
            self._by_key[url] = item_id
        for tok in tokens:
            self._index.setdefault(tok, set()).add(item_id)
        self._order.append(item_id)
        while len(self._order) > self.capacity:
            self._forget(self._order.popleft())
        return story

    def alias(self, item_id: str, link: str, story: Story) -> None:
        """Remember that another item (id, link) repeats `story`."""
        self._by_key[item_id] = story.item_id
        url = canonical_url(link)
        if url:
            self._by_key.setdefault(url, story.item_id)

    def _forget(self, sid: str) -> None:
        story = self._stories.pop(sid, None)
        if story is None:
            return
        for tok in story.tokens:
            ids = self._index.get(tok)
            if ids is not None:
                ids.discard(sid)
                if not ids:
                    del self._index[tok]
        for key in [k for k, v in self._by_key.items() if v == sid]:
            del self._by_key[key]


# --------------------------------------------------------------------------------------------
# classification


@frozen
class _Rule:
    event_type: EventType
    pattern: re.Pattern[str]
    weight: float


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.IGNORECASE)


_RULES: tuple[_Rule, ...] = (
    _Rule(EventType.SECURITY, _rx(r"exploit(?:ed|s)?", r"hack(?:ed|ers?|s)?", r"breach(?:ed|es)?",
                                 r"drained", r"stolen", r"theft", r"ransomware", r"vulnerabilit(?:y|ies)",
                                 r"attackers?", r"compromised", r"phishing", r"cyberattack",
                                 r"rug ?pull", r"bridge attack", r"private keys?"), 3.0),
    _Rule(EventType.LISTING, _rx(r"delist(?:s|ed|ing)?", r"listing", r"to list", r"lists",
                                r"will list", r"adds? trading", r"trading pair", r"IPO",
                                r"initial public offering", r"direct listing", r"goes public",
                                r"(?:spot )?ETFs? (?:launch|debut)"), 2.5),
    _Rule(EventType.MERGER, _rx(r"acquir(?:e|es|ed|ing)", r"acquisition", r"merg(?:e|er|es|ing)",
                               r"takeover", r"buyout", r"to buy", r"agrees to buy", r"deal to buy",
                               r"bid for", r"tender offer", r"spin[- ]?off", r"divest(?:s|iture)?",
                               r"stake in", r"all-(?:cash|stock) deal"), 2.5),
    _Rule(EventType.GUIDANCE, _rx(r"guidance", r"outlook", r"forecasts?",
                                 r"(?:raises|lifts|cuts|lowers|trims|reaffirms|withdraws) "
                                 r"(?:its |annual |full-year )?(?:forecast|outlook|guidance|target)",
                                 r"sees (?:fy|q[1-4]|full-year|annual)", r"profit warning",
                                 r"warns on"), 1.5),
    _Rule(EventType.EARNINGS, _rx(r"earnings", r"quarterly (?:results|profit|revenue|loss)",
                                 r"Q[1-4]", r"(?:first|second|third|fourth)[- ]quarter", r"EPS",
                                 r"(?:beats?|miss(?:es)?|tops?)(?: Q[1-4]| quarterly| profit| revenue"
                                 r"| sales| earnings)? (?:estimates|expectations|forecasts|consensus|views)",
                                 r"per share", r"net income", r"results", r"revenue",
                                 r"(?:quarterly|annual) (?:profit|loss)", r"profit (?:rises|falls|jumps|drops)"),
          2.0),
    _Rule(EventType.MACRO, _rx(r"Fed", r"FOMC", r"Federal Reserve", r"Powell", r"rate (?:hike|cut|decision)s?",
                              r"interest rates?", r"CPI", r"consumer prices?", r"inflation", r"PCE",
                              r"jobs report", r"payrolls", r"nonfarm", r"unemployment(?: rate)?",
                              r"jobless claims", r"GDP", r"recession", r"Treasury yields?",
                              r"ECB", r"central bank", r"PPI", r"retail sales", r"basis points"), 2.0),
    _Rule(EventType.REGULATORY, _rx(r"SEC", r"DOJ", r"FTC", r"CFTC", r"antitrust", r"lawsuits?",
                                   r"su(?:es|ed|ing)", r"probe", r"investigation", r"fined?",
                                   r"penalty", r"settle(?:s|d|ment)?", r"regulators?", r"regulatory",
                                   r"court", r"judge", r"ruling", r"subpoena", r"charges?",
                                   r"ban(?:s|ned)?", r"sanctions?", r"approv(?:al|es|ed)",
                                   r"license", r"compliance", r"class action", r"EU Commission",
                                   r"European Commission"), 1.5),
    _Rule(EventType.ANALYST_RATING, _rx(r"(?<!network )(?<!protocol )upgrade[sd]?",
                                       r"downgrade[sd]?", r"price target",
                                       r"initiates? coverage", r"overweight", r"underweight",
                                       r"outperform", r"underperform", r"(?:buy|sell|hold|neutral) rating",
                                       r"reiterates?", r"raises (?:its )?target", r"cuts (?:its )?target",
                                       r"PT to"), 2.5),
    _Rule(EventType.PRODUCT, _rx(r"launch(?:es|ed)?", r"unveil(?:s|ed)?", r"introduc(?:es|ed)",
                                r"releases?", r"rolls out", r"product", r"new (?:chip|model|device|phone|service)",
                                r"chips?", r"recall(?:s|ed)?", r"partnership", r"partners with",
                                r"contract", r"network upgrade", r"hard fork",
                                r"shipments?", r"deliveries", r"outage"), 1.0),
)
_PRIORITY = {rule.event_type: i for i, rule in enumerate(_RULES)}


def classify(title: str, summary: str = "") -> EventType:
    """The event type of a headline: weighted keyword rules, headline counting twice the summary.

    Ties go to the rule listed first (security before listing before M&A ...), which is the
    more specific reading.
    """
    scores: dict[EventType, float] = {}
    for rule in _RULES:
        s = 2.0 * len(rule.pattern.findall(title))
        if summary:
            s += len(rule.pattern.findall(summary))
        if s:
            scores[rule.event_type] = scores.get(rule.event_type, 0.0) + s * rule.weight
    if not scores:
        return EventType.OTHER
    return max(scores, key=lambda t: (scores[t], -_PRIORITY[t]))


# --------------------------------------------------------------------------------------------
# sentiment

# Single words (after lower-casing) and their polarity for the asset the news is about.
_LEXICON: dict[str, float] = {
    # results
    "beat": 1.5, "beats": 1.5, "tops": 1.3, "topped": 1.3, "surpasses": 1.4, "exceeds": 1.3,
    "miss": -1.5, "misses": -1.5, "missed": -1.5, "shortfall": -1.3, "disappoints": -1.5,
    "disappointing": -1.4, "record": 0.8, "strong": 0.8, "robust": 0.8, "weak": -0.9,
    "weaker": -0.9, "stronger": 0.8, "profit": 0.4, "loss": -0.6, "losses": -0.7,
    "growth": 0.6, "decline": -0.8, "declines": -0.8, "slump": -1.2, "slumps": -1.2,
    # price action
    "surge": 1.2, "surges": 1.2, "soar": 1.3, "soars": 1.3, "jump": 1.0, "jumps": 1.0,
    "rally": 1.0, "rallies": 1.0, "gain": 0.7, "gains": 0.7, "rise": 0.6, "rises": 0.6,
    "climbs": 0.7, "rebound": 0.7, "rebounds": 0.7, "plunge": -1.4, "plunges": -1.4,
    "plummets": -1.5, "tumble": -1.2, "tumbles": -1.2, "sink": -1.0, "sinks": -1.0,
    "fall": -0.7, "falls": -0.7, "drop": -0.8, "drops": -0.8, "slide": -0.8, "slides": -0.8,
    "crash": -1.6, "crashes": -1.6, "selloff": -1.1, "sell-off": -1.1,
    # guidance and ratings
    "raises": 0.8, "raised": 0.8, "lifts": 0.8, "boosts": 0.8, "cuts": -0.8, "lowers": -0.9,
    "trims": -0.6, "slashes": -1.3, "withdraws": -1.0, "reaffirms": 0.3, "upgrade": 1.2,
    "upgrades": 1.2, "upgraded": 1.2, "downgrade": -1.2, "downgrades": -1.2, "downgraded": -1.2,
    "outperform": 0.9, "overweight": 0.8, "underperform": -0.9, "underweight": -0.8,
    "bullish": 1.0, "bearish": -1.0, "optimistic": 0.7, "pessimistic": -0.7, "warns": -1.1,
    "warning": -1.0, "upbeat": 0.9, "downbeat": -0.9, "tepid": -0.6, "solid": 0.5,
    # corporate
    "approval": 1.0, "approved": 1.0, "approves": 1.0, "wins": 0.8, "win": 0.6, "awarded": 0.7,
    "partnership": 0.5, "launches": 0.4, "unveils": 0.4, "breakthrough": 1.0, "buyback": 0.8,
    "dividend": 0.4, "acquire": 0.3, "premium": 0.5, "layoffs": -0.5, "recall": -1.0,
    "recalls": -1.0, "delay": -0.8, "delays": -0.8, "delayed": -0.8, "halts": -1.0,
    "suspends": -1.0, "bankruptcy": -2.0, "default": -1.5, "fraud": -1.8, "scandal": -1.4,
    "resigns": -0.7, "outage": -0.9, "shortage": -0.6, "strike": -0.6,
    # legal / regulatory
    "lawsuit": -1.0, "sues": -1.0, "sued": -1.0, "probe": -0.9, "investigation": -0.9,
    "fine": -0.8, "fined": -1.0, "penalty": -0.9, "antitrust": -0.7, "charges": -1.0,
    "charged": -1.0, "ban": -1.0, "banned": -1.1, "bans": -1.0, "subpoena": -0.9,
    "rejects": -1.0, "rejected": -1.0, "denied": -0.9, "blocks": -1.0, "blocked": -1.0,
    "settles": 0.2, "cleared": 0.8, "dismissed": 0.8,
    # crypto
    "exploit": -1.8, "exploited": -1.8, "hack": -1.8, "hacked": -1.8, "breach": -1.4,
    "drained": -1.8, "drains": -1.8, "drain": -1.5, "hacker": -1.2, "hackers": -1.2,
    "stolen": -1.6, "theft": -1.5, "delisting": -1.5, "delists": -1.5,
    "delisted": -1.5, "listing": 1.0, "lists": 0.9, "inflows": 0.8, "outflows": -0.8,
    "adoption": 0.7, "halving": 0.4, "depeg": -1.5, "insolvent": -1.8,
    # macro (for risk assets)
    "hawkish": -0.9, "dovish": 0.9, "hotter": -0.8, "cooler": 0.6, "cools": 0.7, "eases": 0.5,
    "easing": 0.5, "recession": -1.0, "stagflation": -1.1, "hike": -0.8, "hikes": -0.8,
    "tightening": -0.6, "stimulus": 0.7, "resilient": 0.6, "slowdown": -0.8,
}

# Phrases read before single words; they consume their tokens.
_PHRASES: dict[tuple[str, ...], float] = {
    ("beats", "estimates"): 1.8, ("beat", "estimates"): 1.8, ("tops", "estimates"): 1.6,
    ("misses", "estimates"): -1.8, ("miss", "estimates"): -1.8, ("falls", "short"): -1.5,
    ("raises", "guidance"): 1.6, ("raises", "outlook"): 1.6, ("raises", "forecast"): 1.5,
    ("lifts", "guidance"): 1.6, ("lifts", "outlook"): 1.6, ("boosts", "outlook"): 1.5,
    ("cuts", "guidance"): -1.6, ("cuts", "outlook"): -1.6, ("cuts", "forecast"): -1.5,
    ("lowers", "guidance"): -1.6, ("lowers", "outlook"): -1.6, ("lowers", "forecast"): -1.5,
    ("slashes", "guidance"): -1.9, ("slashes", "forecast"): -1.8, ("withdraws", "guidance"): -1.5,
    ("price", "target", "raised"): 1.1, ("raises", "price", "target"): 1.1,
    ("cuts", "price", "target"): -1.1, ("lowers", "price", "target"): -1.1,
    ("cuts", "rates"): 0.9, ("cuts", "rate"): 0.9, ("rate", "cut"): 0.9, ("rate", "cuts"): 0.9,
    ("raises", "rates"): -0.9, ("rate", "hike"): -0.9, ("rate", "hikes"): -0.9,
    ("holds", "rates"): 0.0, ("hotter", "than", "expected"): -1.0,
    ("cooler", "than", "expected"): 0.8, ("better", "than", "expected"): 1.2,
    ("worse", "than", "expected"): -1.2, ("stronger", "than", "expected"): 0.9,
    ("weaker", "than", "expected"): -0.9, ("all", "time", "high"): 1.0,
    ("record", "high"): 1.0, ("record", "low"): -1.0, ("job", "cuts"): -0.6,
    ("cuts", "jobs"): -0.6, ("cost", "cuts"): 0.3, ("share", "buyback"): 0.9,
    ("security", "incident"): -1.3, ("funds", "stolen"): -1.7, ("class", "action"): -1.0,
    ("in", "talks", "to", "acquire"): 0.5, ("to", "be", "acquired"): 1.4,
    ("takeover", "bid"): 1.2, ("buy", "rating"): 0.9, ("sell", "rating"): -0.9,
    ("strong", "buy"): 1.1, ("spot", "etf", "approval"): 1.3, ("to", "list"): 0.9,
    ("not", "guilty"): 0.6, ("network", "upgrade"): 0.4, ("protocol", "upgrade"): 0.4,
    ("fall", "event"): 0.0, ("claims", "fall"): 0.8, ("claims", "drop"): 0.8,
    ("claims", "rise"): -0.8, ("claims", "jump"): -0.9, ("unemployment", "rate", "falls"): 0.9,
    ("unemployment", "rate", "rises"): -0.9, ("yields", "jump"): -0.9, ("yields", "rise"): -0.7,
    ("yields", "surge"): -1.0, ("yields", "fall"): 0.7, ("yields", "drop"): 0.7,
    ("adds", "jobs"): 0.6, ("sheds", "jobs"): -0.8
}
_MAX_PHRASE = max(len(p) for p in _PHRASES)
_NEGATORS = frozenset({
    "not", "no", "never", "without", "fails", "fail", "failed", "neither", "nor", "denies",
    "deny", "unlikely", "won't", "isn't", "aren't", "wasn't", "doesn't", "didn't", "don't",
    "cannot", "can't"
})
_INTENSIFIERS = {"sharply": 1.4, "massive": 1.4, "huge": 1.3, "significantly": 1.3,
                 "slightly": 0.6, "modestly": 0.7, "sharp": 1.3, "steep": 1.3, "major": 1.2}
_SENT_TOKEN = re.compile(r"[a-z0-9]+(?:['\-][a-z0-9]+)*")


def sentiment(text: str) -> float:
    """Polarity in [-1, 1] of finance text for the asset it is about.

    Phrases first ('cuts guidance' is bad, 'cuts rates' good), then single words; a negator in
    the three words before flips and damps a term; intensifiers scale the next term. The sum is
    squashed VADER-style: s / sqrt(s² + 4).
    """
    tokens = _SENT_TOKEN.findall(text.lower().replace("’", "'"))
    total = 0.0
    i = 0
    n = len(tokens)
    while i < n:
        value = 0.0
        width = 1
        for w in range(min(_MAX_PHRASE, n - i), 1, -1):
            phrase = _PHRASES.get(tuple(tokens[i:i + w]))
            if phrase is not None:
                value, width = phrase, w
                break
        else:
            value = _LEXICON.get(tokens[i], 0.0)
        if value:
            window = tokens[max(0, i - 3):i]
            if any(t in _NEGATORS or t.endswith("n't") for t in window):
                value *= -0.6
            if i and tokens[i - 1] in _INTENSIFIERS:  # "sharply lower"
                value *= _INTENSIFIERS[tokens[i - 1]]
            elif i + width < n and tokens[i + width] in _INTENSIFIERS:  # "plunge sharply"
                value *= _INTENSIFIERS[tokens[i + width]]
            total += value
        i += width
    return total / math.sqrt(total * total + 4.0)


# --------------------------------------------------------------------------------------------
# impact and freshness

_TYPE_BASE: dict[EventType, float] = {
    EventType.MERGER: 0.70,
    EventType.SECURITY: 0.70,
    EventType.EARNINGS: 0.65,
    EventType.GUIDANCE: 0.60,
    EventType.MACRO: 0.55,
    EventType.LISTING: 0.55,
    EventType.REGULATORY: 0.50,
    EventType.ANALYST_RATING: 0.40,
    EventType.PRODUCT: 0.30,
    EventType.OTHER: 0.20,
}
_MAGNITUDE = _rx(r"record", r"historic", r"biggest", r"largest", r"massive", r"plunges?",
                 r"plummets?", r"soars?", r"surges?", r"crash(?:es)?", r"collapses?",
                 r"skyrockets?", r"halts?", r"bankruptcy", r"emergency", r"unexpected(?:ly)?",
                 r"surprise", r"shock", r"all-time", r"billions?", r"sweeping", r"landmark",
                 r"slashes", r"doubles", r"triples", r"worst", r"best")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|percent|per cent)", re.IGNORECASE)
_MONEY = re.compile(r"\$\s?(\d+(?:\.\d+)?)\s*(billion|bn|b|million|mn|m)\b", re.IGNORECASE)


def magnitude(text: str) -> float:
    """How big the story sounds, in [0, 0.35]: strong words, large percentages, large sums."""
    score = 0.06 * min(3, len(_MAGNITUDE.findall(text)))
    pcts = [float(m.group(1)) for m in _PERCENT.finditer(text)]
    if pcts:
        top = max(pcts)
        score += 0.15 if top >= 20 else 0.10 if top >= 10 else 0.05 if top >= 5 else 0.0
    for m in _MONEY.finditer(text):
        amount = float(m.group(1)) * (1000.0 if m.group(2).lower().startswith("b") else 1.0)
        score += 0.12 if amount >= 1000 else 0.06 if amount >= 100 else 0.0
        break
    return min(0.35, score)


def freshness(published: datetime, now: datetime, half_life_hours: float) -> float:
    """1.0 for news published now, halving every `half_life_hours`; never above 1."""
    age = max(0.0, (now - published).total_seconds())
    return float(0.5 ** (age / (half_life_hours * 3600.0)))


def impact(event_type: EventType, text: str, *, sentiment_score: float, credibility: float,
           fresh: float, sources: int) -> float:
    """Impact in [0, 1]: event type, magnitude words, |sentiment|, credibility, corroboration, recency.

    The base (type + magnitude + 0.15·|sentiment|) is scaled by the source's credibility
    (0.6..1) and by recency (0.4..1), so an old story from a weak source scores low whatever it
    says; each further source that reports the story adds up to 0.1 in all.
    """
    base = _TYPE_BASE[event_type] + magnitude(text) + 0.15 * abs(sentiment_score)
    cred = 0.6 + 0.4 * min(1.0, max(0.0, credibility))
    recency = 0.4 + 0.6 * min(1.0, max(0.0, fresh))
    corroboration = 0.1 * (1.0 - 0.5 ** max(0, sources - 1))
    return round(min(1.0, max(0.0, base * cred * recency + corroboration)), 4)


