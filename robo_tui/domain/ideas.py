"""The one schema every analyst answers in, and the validator every answer must pass.

A model's output is untrusted: it may be prose around JSON, a code fence, truncated JSON, NaN, a
fake or look-alike ticker, or an attempt to smuggle a size or a mode change (`"qty": 1e9`,
`"mode": "live"`). `validate_idea` turns it into a `TradeIdea` only when every check passes, and
otherwise returns the reasons, so the caller can repair once, then abstain and record why.
The schema has no size, quantity, mode or limit field, and unknown keys are errors.

It lives in the domain (validation, no I/O) because both sides use it: each analyst adapter
repairs against it, and the intelligence stage checks every answer with it again.
"""

from __future__ import annotations

import copy
import json
import math
import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from robo_tui.domain.analysis import AnalysisRequest
from robo_tui.domain.news import EventType, TradeIdea
from robo_tui.domain.signals import Direction
from robo_tui.domain.text import clean_text

MAX_RATIONALE_CHARS = 2000
"""Longest rationale a model may write."""
MAX_NEWS_IDS = 20
"""Most news ids one idea may cite."""
MAX_RAW_CHARS = 64_000
"""Longer raw output is rejected without parsing (a runaway or hostile model)."""

HORIZONS: tuple[str, ...] = ("intraday", "days", "weeks")
DIRECTIONS: tuple[str, ...] = tuple(d.value for d in Direction)
EVENT_TYPES: tuple[str, ...] = tuple(e.value for e in EventType)

class IdeaPayload(BaseModel):
    """What a model may say about one symbol. No size, quantity, mode or limit exists here."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str = Field(min_length=1, max_length=20, strict=True)
    """The ticker exactly as given in the request."""
    direction: Literal["long", "flat", "short"]
    """What the model would want held."""
    score: float = Field(ge=-1.0, le=1.0, strict=True, allow_inf_nan=False)
    """Signed strength of the view in [-1, 1]: positive bullish, negative bearish."""
    confidence: float = Field(ge=0.0, le=1.0, strict=True, allow_inf_nan=False)
    """How sure the model is, in [0, 1]."""
    horizon: Literal["intraday", "days", "weeks"]
    """How long the view is expected to matter."""
    event_type: EventType
    """The kind of event the view rests on."""
    news_ids: list[str] = Field(max_length=MAX_NEWS_IDS)
    """Ids of the news items (from the request) the view rests on."""
    rationale: str = Field(max_length=MAX_RATIONALE_CHARS, strict=True)
    """A short explanation for the human trader."""


def _idea_schema() -> dict[str, Any]:
    """The strict JSON schema of `IdeaPayload`, usable by every provider's structured output.

    Only keywords that OpenAI strict mode, Anthropic tool schemas and Ollama's `format` all accept
    are used; lengths the providers cannot enforce are stated in descriptions and enforced by
    `validate_idea`.
    """
    return {
        "type": "object",
        "title": "TradeIdea",
        "description": (
            "One trade idea about one symbol. It never carries a size, quantity, order type, "
            "mode or limit: the engine sizes and the risk gate decides."
        ),
        "properties": {
            "symbol": {
                "type": "string",
                "description": "The ticker exactly as given in the request (ASCII).",
            },
            "direction": {
                "type": "string",
                "enum": list(DIRECTIONS),
                "description": "What you would want held: long, flat or short.",
            },
            "score": {
                "type": "number",
                "minimum": -1,
                "maximum": 1,
                "description": "Signed strength in [-1, 1]; positive bullish, negative bearish.",
            },
            "confidence": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": "How sure you are, in [0, 1].",
            },
            "horizon": {
                "type": "string",
                "enum": list(HORIZONS),
                "description": "How long the view should matter.",
            },
            "event_type": {
                "type": "string",
                "enum": list(EVENT_TYPES),
                "description": "The kind of event the view rests on.",
            },
            "news_ids": {
                "type": "array",
                "items": {"type": "string"},
                "description": (
                    f"Ids of the news items from the request that support the view "
                    f"(at most {MAX_NEWS_IDS})."
                ),
            },
            "rationale": {
                "type": "string",
                "description": (
                    f"Why, for a human trader, in at most {MAX_RATIONALE_CHARS} characters."
                ),
            },
        },
        "required": [
            "symbol",
            "direction",
            "score",
            "confidence",
            "horizon",
            "event_type",
            "news_ids",
            "rationale",
        ],
        "additionalProperties": False,
    }


IDEA_JSON_SCHEMA: dict[str, Any] = _idea_schema()
"""Strict JSON schema of an idea: every field required, no additional properties."""


def idea_json_schema(symbols: Sequence[str] | None = None) -> dict[str, Any]:
    """A copy of `IDEA_JSON_SCHEMA`, with `symbol` restricted to `symbols` when given.

    Providers pass the requested symbol so constrained decoding cannot even spell another one.
    """
    schema = copy.deepcopy(IDEA_JSON_SCHEMA)
    if symbols:
        schema["properties"]["symbol"]["enum"] = list(symbols)
    return schema


# ---------------------------------------------------------------------------------------------
# parsing


class _DuplicateKey(ValueError):
    pass


class _NonFinite(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise _NonFinite(name)


def _check_finite(value: float) -> float:
    if not math.isfinite(value):
        raise _NonFinite(repr(value))
    return value


_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicates,
    parse_constant=_reject_constant,
    parse_float=lambda s: _check_finite(float(s)),
)
_FENCE = re.compile(r"```[a-zA-Z0-9_-]*[ \t]*\n?(.*?)```", re.DOTALL)


_MAX_SCAN = 200
"""Most `{` positions tried when looking for a second JSON object."""


def _holds_object(text: str) -> bool:
    """Whether some `{` in `text` starts a decodable JSON object."""
    pos = text.find("{")
    tries = 0
    while pos >= 0 and tries < _MAX_SCAN:
        tries += 1
        try:
            obj, _ = _DECODER.raw_decode(text, pos)
        except (ValueError, RecursionError):
            pos = text.find("{", pos + 1)
            continue
        if isinstance(obj, dict):
            return True
        pos = text.find("{", pos + 1)
    return False


def parse_json_object(raw: str) -> tuple[dict[str, Any] | None, list[str]]:
    """Find the one JSON object in a model's text output.

    Tolerates a ```json fence and prose around the object; rejects NaN/Infinity, duplicate keys,
    truncated JSON, non-object JSON and output that holds more than one object (in several
    fences, or in prose beside the fence), since two answers are no answer.
    """
    if len(raw) > MAX_RAW_CHARS:
        return None, [f"output is too long ({len(raw)} characters, at most {MAX_RAW_CHARS})"]
    text = raw.strip()
    if not text:
        return None, ["output is empty"]
    outside = ""
    fences = list(_FENCE.finditer(text))
    if fences:
        if sum(1 for f in fences if _holds_object(f.group(1))) > 1:
            return None, ["output holds more than one JSON object; answer with exactly one"]
        chosen = next((f for f in fences if "{" in f.group(1)), fences[0])
        outside = text[: chosen.start()] + "\n" + text[chosen.end():]
        text = chosen.group(1).strip()
    elif text.startswith("```"):
        # an opening fence that never closes: the output was cut off after it
        text = text.split("\n", 1)[1] if "\n" in text else ""
    start = text.find("{")
    if start < 0:
        return None, ["output holds no JSON object"]
    try:
        obj, end = _DECODER.raw_decode(text, start)
    except _DuplicateKey as exc:
        return None, [f"output repeats the key {exc.args[0]!r}"]
    except _NonFinite as exc:
        return None, [f"output holds a non-finite number ({exc.args[0]}); numbers must be finite"]
    except json.JSONDecodeError as exc:
        return None, [f"output is not valid JSON ({exc.msg} at character {exc.pos}); truncated?"]
    except RecursionError:
        return None, ["output is nested too deeply"]
    except ValueError as exc:  # e.g. an integer literal with thousands of digits
        return None, [f"output is not valid JSON ({exc})"]
    if not isinstance(obj, dict):
        return None, ["output JSON is not an object"]
    if _holds_object(text[end:]) or _holds_object(outside):
        return None, ["output holds more than one JSON object; answer with exactly one"]
    return obj, []


def _walk_finite(value: Any, path: str, errors: list[str]) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        errors.append(f"{path or 'value'}: non-finite number {value!r}; numbers must be finite")
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _walk_finite(v, f"{path}.{k}" if path else str(k), errors)
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _walk_finite(v, f"{path}[{i}]", errors)


_FORBIDDEN_HINT = " (an idea never carries a size, quantity, mode, order or limit)"


def _pydantic_errors(exc: ValidationError) -> list[str]:
    out: list[str] = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "idea"
        if err["type"] == "extra_forbidden":
            out.append(f"{loc}: unknown field, not allowed{_FORBIDDEN_HINT}")
        elif err["type"] == "missing":
            out.append(f"{loc}: required field is missing")
        else:
            out.append(f"{loc}: {err['msg']}")
    return out


# ---------------------------------------------------------------------------------------------
# semantic checks


def normalize_symbol(symbol: str) -> tuple[str, str | None]:
    """NFKC-normalise a ticker; return it and an error when it is not plain printable ASCII.

    Full-width letters fold to ASCII under NFKC and pass; Cyrillic or Greek look-alikes and
    zero-width characters do not fold and are rejected.
    """
    norm = unicodedata.normalize("NFKC", symbol)
    if not norm.isascii() or not norm.isprintable():
        bad = sorted({f"U+{ord(c):04X}" for c in norm if not (c.isascii() and c.isprintable())})
        return norm, (
            f"symbol '{norm.encode('ascii', 'backslashreplace').decode()}' holds non-ASCII or "
            f"invisible characters ({', '.join(bad)}); look-alike tickers are rejected"
        )
    return norm, None


def _mentions(text: str, symbol: str) -> bool:
    plain = clean_text(text, keep_newlines=False).upper()
    candidates = {symbol, symbol.split("-")[0]} if "-" in symbol else {symbol}
    return any(
        re.search(rf"(?<![A-Z0-9]){re.escape(c)}(?![A-Z0-9])", plain) for c in candidates if c
    )


def _check_semantics(
    payload: IdeaPayload, request: AnalysisRequest, known_news_ids: Collection[str] | None
) -> tuple[str, list[str]]:
    errors: list[str] = []
    symbol, err = normalize_symbol(payload.symbol)
    if err is not None:
        errors.append(err)
    elif symbol not in request.universe:
        errors.append(f"symbol {symbol!r} is not in the universe")
    elif symbol != request.symbol:
        errors.append(f"symbol {symbol!r} is not the requested symbol {request.symbol!r}")

    if payload.direction == "short" and not request.allow_short:
        errors.append("direction short is not allowed for this request (no shorting)")
    if payload.direction == "long" and payload.score < 0:
        errors.append(f"direction long contradicts a negative score ({payload.score})")
    if payload.direction == "short" and payload.score > 0:
        errors.append(f"direction short contradicts a positive score ({payload.score})")

    events = {e.item.id: e for e in request.events}
    allowed = set(events) | set(known_news_ids or ())
    unknown = [i for i in payload.news_ids if i not in allowed]
    if unknown:
        shown = ", ".join(repr(clean_text(i, max_chars=40)) for i in unknown[:5])
        errors.append(f"news_ids cites ids that are not in the request: {shown}")
    if len(set(payload.news_ids)) != len(payload.news_ids):
        errors.append("news_ids lists the same id twice")

    # Provenance: with news in the request, the idea must rest on a cited item that concerns its
    # symbol. Only a request without news may rest on the market snapshot alone.
    on_snapshot = request.snapshot is not None and request.snapshot.symbol == symbol
    if not errors and (request.events or not on_snapshot):
        cited = [events[i] for i in payload.news_ids if i in events]
        if not cited:
            errors.append(
                "news_ids must cite at least one news item from the request"
                + ("" if request.snapshot is not None else " (there is no market snapshot)")
            )
        elif not any(
            symbol in e.symbols
            or symbol in e.item.symbols
            or _mentions(e.item.title, symbol)
            or _mentions(e.item.summary, symbol)
            for e in cited
        ):
            errors.append(f"symbol {symbol!r} is not mentioned in the cited news")
    return symbol, errors


def validate_idea(
    raw: str | Mapping[str, Any],
    request: AnalysisRequest,
    *,
    provider: str,
    model: str,
    idea_id: str,
    now: datetime,
    latency_ms: float = 0.0,
    known_news_ids: Collection[str] | None = None,
) -> tuple[TradeIdea | None, list[str]]:
    """Turn a model's raw answer into a `TradeIdea`, or return why it cannot be one.

    `raw` is the model's text (JSON, possibly fenced or after prose) or an already-decoded object
    (an Anthropic tool input). Every error is a readable sentence fit to send back to the model in
    a repair prompt and to store in the audit record. `known_news_ids` adds ids the caller vouches
    for beyond the request's own events.
    """
    obj: Mapping[str, Any] | None
    if isinstance(raw, str):
        obj, errors = parse_json_object(raw)
        if obj is None:
            return None, errors
    elif isinstance(raw, Mapping):
        obj = raw
    else:
        return None, [f"output is a {type(raw).__name__}, not a JSON object"]

    errors = []
    _walk_finite(obj, "", errors)
    if errors:
        return None, errors
    try:
        payload = IdeaPayload.model_validate(dict(obj))
    except ValidationError as exc:
        return None, _pydantic_errors(exc)

    symbol, errors = _check_semantics(payload, request, known_news_ids)
    if errors:
        return None, errors
    idea = TradeIdea(
        id=idea_id,
        ts=now,
        provider=provider,
        model=model,
        symbol=symbol,
        direction=Direction(payload.direction),
        score=float(payload.score),
        confidence=float(payload.confidence),
        horizon=payload.horizon,
        event_type=EventType(payload.event_type),
        news_ids=tuple(payload.news_ids),
        rationale=clean_text(payload.rationale, max_chars=MAX_RATIONALE_CHARS),
        latency_ms=latency_ms,
    )
    return idea, []
