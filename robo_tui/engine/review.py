"""The learning layer: score past ideas against what prices did next, and remember the lesson.

`run_daily_review` reads every recorded idea of the last week whose horizon has passed, compares
its direction with the price move over that horizon (prices from the bars given, else from the
`market_snapshots` table), and writes a `daily_reviews` row: hit rates per provider, model and
event type, what worked and what failed, and a short summary. `performance_summary` returns that
summary, which the intelligence stage puts into later prompts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from robo_tui.domain.frozen import frozen
from robo_tui.domain.market import BarArrays
from robo_tui.domain.time import datetime_to_ns
from robo_tui.ports import Store

LOOKBACK = timedelta(days=7)
"""Ideas made within this window before the review are scored."""
HORIZON_SECONDS: dict[str, float] = {"intraday": 4 * 3600.0, "days": 3 * 86400.0,
                                     "weeks": 14 * 86400.0}
"""How long after the idea its outcome is read, per horizon (unknown horizons: one day)."""
MAX_SUMMARY_CHARS = 600


@frozen
class ScoredIdea:
    """One matured idea and what the price did over its horizon."""

    id: str
    symbol: str
    provider: str
    model: str
    event_type: str
    direction: str
    score: float
    entry: float
    exit: float
    signed_return: float  # the move in the idea's favour (negative: against it)
    confidence: float = 0.0  # the analyst's stated confidence (|score| when it gave none)

    @property
    def hit(self) -> bool:
        """Whether the price moved the way the idea said."""
        return self.signed_return > 0


def ts_text(ts: datetime) -> str:
    """Fixed-width UTC ISO text, the store's timestamp format (text order is time order)."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).isoformat(timespec="microseconds")


def parse_ts(text: str) -> datetime:
    """A stored timestamp back as an aware datetime (naive text is UTC)."""
    ts = datetime.fromisoformat(text)
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _json(text: Any) -> dict[str, Any]:
    if isinstance(text, dict):
        return text
    if not text:
        return {}
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


class _Prices:
    """Price lookups from bars when given, else from the store's market snapshots."""

    def __init__(self, store: Store, bars: Mapping[str, BarArrays] | None) -> None:
        self._store = store
        self._bars = bars or {}

    async def entry_and_exit(self, symbol: str, start: datetime, end: datetime) -> tuple[float, float] | None:
        bars = self._bars.get(symbol)
        if bars is not None and len(bars):
            lo, hi = datetime_to_ns(start), datetime_to_ns(end)
            i = int(np.searchsorted(bars.ts, lo, side="left"))
            j = int(np.searchsorted(bars.ts, hi, side="right")) - 1
            if i < len(bars) and j > i and int(bars.ts[-1]) >= hi:
                return float(bars.close[i]), float(bars.close[j])
            return None
        rows = await self._store.query(
            "SELECT ts, price FROM market_snapshots WHERE symbol = ? AND ts >= ? "
            "ORDER BY ts LIMIT 1", (symbol, ts_text(start)))
        after = await self._store.query(
            "SELECT ts, price FROM market_snapshots WHERE symbol = ? AND ts <= ? "
            "ORDER BY ts DESC LIMIT 1", (symbol, ts_text(end)))
        later = await self._store.query(
            "SELECT 1 FROM market_snapshots WHERE symbol = ? AND ts >= ? LIMIT 1",
            (symbol, ts_text(end)))
        if not rows or not after or not later or rows[0]["ts"] >= after[0]["ts"]:
            return None
        return float(rows[0]["price"]), float(after[0]["price"])


def _rate(ideas: list[ScoredIdea]) -> dict[str, Any]:
    hits = sum(1 for i in ideas if i.hit)
    return {
        "n": len(ideas),
        "hits": hits,
        "hit_rate": round(hits / len(ideas), 4) if ideas else 0.0,
        "avg_return": round(sum(i.signed_return for i in ideas) / len(ideas), 6) if ideas else 0.0,
    }


def _group(ideas: list[ScoredIdea], key: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[ScoredIdea]] = {}
    for idea in ideas:
        k = f"{idea.provider}/{idea.model}" if key == "model" else str(getattr(idea, key))
        groups.setdefault(k, []).append(idea)
    return {k: _rate(v) for k, v in sorted(groups.items())}


def _brief(idea: ScoredIdea) -> dict[str, Any]:
    return {"id": idea.id, "symbol": idea.symbol, "direction": idea.direction,
            "event_type": idea.event_type, "provider": idea.provider, "model": idea.model,
            "entry": idea.entry, "exit": idea.exit, "return": round(idea.signed_return, 6)}


@frozen
class ScoredIdeas:
    """The ideas of a window that matured and could be priced, and how many could not."""

    ideas: int
    scored: tuple[ScoredIdea, ...]
    pending: int  # horizon not over yet
    unpriced: int  # no price at the start or the end of its horizon, or a malformed record


async def score_ideas(store: Store, start: datetime, now: datetime,
                      prices: Mapping[str, BarArrays] | None = None) -> ScoredIdeas:
    """Score every idea recorded in [start, now] whose horizon has passed by `now` against the
    price move over that horizon (bars when given, else the stored market snapshots)."""
    rows = await store.query(
        "SELECT id, ts, provider, model, symbol, parsed, extra FROM ai_decisions "
        "WHERE parsed IS NOT NULL AND ts >= ? AND ts <= ? ORDER BY ts",
        (ts_text(start), ts_text(now)),
    )
    lookup = _Prices(store, prices)
    scored: list[ScoredIdea] = []
    pending = unpriced = 0
    for row in rows:
        idea = _json(row.get("parsed"))
        extra = _json(row.get("extra"))
        symbol = str(idea.get("symbol") or row.get("symbol") or "")
        try:
            ts = parse_ts(str(idea.get("ts") or row["ts"]))
            score = float(idea.get("score", 0.0))
            confidence = float(idea.get("confidence", math.nan))
        except (TypeError, ValueError):
            unpriced += 1
            continue
        if not symbol or not math.isfinite(score) or score == 0:
            unpriced += 1
            continue
        end = ts + timedelta(seconds=HORIZON_SECONDS.get(str(idea.get("horizon")), 86400.0))
        if end > now:
            pending += 1
            continue
        found = await lookup.entry_and_exit(symbol, ts, end)
        if found is None:
            unpriced += 1
            continue
        entry, exit_ = found
        snap_price = _json(extra.get("snapshot")).get("price")
        if isinstance(snap_price, int | float) and math.isfinite(snap_price) and snap_price > 0:
            entry = float(snap_price)  # the price the analyst actually saw
        if entry <= 0 or exit_ <= 0:
            unpriced += 1
            continue
        move = exit_ / entry - 1.0
        scored.append(ScoredIdea(
            id=str(row["id"]), symbol=symbol, provider=str(row.get("provider", "")),
            model=str(row.get("model", "")), event_type=str(idea.get("event_type", "other")),
            direction=str(idea.get("direction", "")), score=score, entry=entry, exit=exit_,
            signed_return=move if score > 0 else -move,
            confidence=confidence if math.isfinite(confidence) else abs(score),
        ))
    return ScoredIdeas(len(rows), tuple(scored), pending, unpriced)


async def run_daily_review(store: Store, now: datetime,
                           prices: Mapping[str, BarArrays] | None = None) -> dict[str, Any]:
    """Score the last week's matured ideas, store the review in `daily_reviews`, return it."""
    found = await score_ideas(store, now - LOOKBACK, now, prices)
    scored = list(found.scored)
    ranked = sorted(scored, key=lambda i: i.signed_return, reverse=True)
    review: dict[str, Any] = {
        "day": now.astimezone(UTC).date().isoformat(),
        "ts": now,
        "window_days": LOOKBACK.days,
        "ideas": found.ideas,
        "scored": len(scored),
        "pending": found.pending,
        "unpriced": found.unpriced,
        **{k: v for k, v in _rate(scored).items() if k != "n"},
        "by_provider": _group(scored, "provider"),
        "by_model": _group(scored, "model"),
        "by_event_type": _group(scored, "event_type"),
        "by_symbol": _group(scored, "symbol"),
        "worked": [_brief(i) for i in ranked[:3] if i.hit],
        "failed": [_brief(i) for i in reversed(ranked[-3:]) if not i.hit],
    }
    review["summary"] = summarize(review)
    await store.record_daily_review(review)
    return review


def summarize(review: Mapping[str, Any]) -> str:
    """A few plain sentences about a review, short enough to put into every prompt."""
    scored = int(review.get("scored", 0))
    days = int(review.get("window_days", LOOKBACK.days))
    if scored == 0:
        return (f"No past ideas from the last {days} days have matured yet "
                f"({int(review.get('pending', 0))} pending): no track record to learn from.")
    parts = [(f"Past ideas, last {days} days: {scored} scored, {int(review.get('hits', 0))} right "
              f"({float(review.get('hit_rate', 0.0)):.0%}), mean move in the idea's favour "
              f"{float(review.get('avg_return', 0.0)):+.2%}.")]
    by_event = review.get("by_event_type", {})
    if by_event:
        parts.append("By event: " + ", ".join(
            f"{k} {v['hits']}/{v['n']}" for k, v in sorted(by_event.items(), key=lambda kv: -kv[1]["n"])
        ) + ".")
    by_model = review.get("by_model", {})
    if len(by_model) > 1:
        parts.append("By model: " + ", ".join(f"{k} {v['hit_rate']:.0%}" for k, v in by_model.items()) + ".")
    for label, key in (("Worked", "worked"), ("Failed", "failed")):
        items = review.get(key) or []
        if items:
            parts.append(f"{label}: " + "; ".join(
                f"{i['symbol']} {i['direction']} on {i['event_type']} {i['return']:+.2%}" for i in items[:2]
            ) + ".")
    text = " ".join(parts)
    return text if len(text) <= MAX_SUMMARY_CHARS else text[: MAX_SUMMARY_CHARS - 1] + "…"


async def performance_summary(store: Store) -> str:
    """The latest review's summary ("" when no review has run yet)."""
    rows = await store.query(
        "SELECT payload FROM daily_reviews ORDER BY day DESC, id DESC LIMIT 1")
    if not rows:
        return ""
    payload = _json(rows[0].get("payload"))
    summary = payload.get("summary")
    return str(summary) if summary else summarize(payload)
