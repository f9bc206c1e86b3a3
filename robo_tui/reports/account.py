"""The account's report card for a day or a week, computed from the journal.

Everything comes from what the engine recorded: the equity curve from `account_snapshots`, the
closed round trips (with the voters that opened them) from `trade_outcomes`, the analysts' ideas
scored against what prices did from `ai_decisions` (the daily review's scoring). Nothing is
recomputed from prices the engine did not see.

Sharpe and Sortino are read off the equity curve resampled to hourly closes (the last equity of
each hour), annualised with 8,760 hours a year: the curve of an account that trades crypto around
the clock and stocks in sessions alike. They are 0 when the window holds fewer than three hours.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from robo_tui.domain.frozen import frozen
from robo_tui.engine.review import ScoredIdea, parse_ts, score_ideas, ts_text
from robo_tui.ports import Store
from robo_tui.reports.shadow import DEFAULT_HORIZON_HOURS, ShadowSection, build_shadow_section

Period = Literal["daily", "weekly"]

HOURS_PER_YEAR = 8760.0
CALIBRATION_BINS: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0000001)
"""Confidence buckets for the calibration table: [0, 0.2), [0.2, 0.4), ... [0.8, 1]."""


@frozen
class Breakdown:
    """Closed trades credited to one strategy, analyst or symbol."""

    key: str
    trades: int
    wins: int
    pnl: float

    @property
    def hit_rate(self) -> float:
        """Winning trades as a fraction of all (0 with no trades)."""
        return self.wins / self.trades if self.trades else 0.0


@frozen
class CalibrationBin:
    """Ideas whose stated confidence fell in [low, high), and how many were right."""

    low: float
    high: float
    ideas: int
    hits: int

    @property
    def hit_rate(self) -> float:
        """Right ideas as a fraction of the bin's (0 when empty)."""
        return self.hits / self.ideas if self.ideas else 0.0


@frozen
class Goal:
    """The trader's own P&L target for the period and how far along the account is."""

    target: float
    achieved: float

    @property
    def progress(self) -> float:
        """Achieved as a fraction of the target (may be negative or above 1)."""
        return self.achieved / self.target if self.target else 0.0


@frozen
class AccountReport:
    """One period's report card of the account."""

    period: Period
    start: datetime
    end: datetime
    account: str  # "PAPER on paper", "LIVE on robinhood_crypto", ...
    equity: tuple[tuple[datetime, float], ...]
    start_equity: float
    end_equity: float
    max_drawdown: float  # a fraction, <= 0
    sharpe: float
    sortino: float
    trades: int
    wins: int
    pnl_closed: float
    fees: float
    by_strategy: tuple[Breakdown, ...]
    by_analyst: tuple[Breakdown, ...]
    by_symbol: tuple[Breakdown, ...]
    calibration: tuple[CalibrationBin, ...]
    ideas_scored: int
    ideas_pending: int
    goal: Goal | None
    shadow: ShadowSection | None = None
    """Shadow mode's would-be orders scored against prices (None when there were none)."""

    @property
    def pnl(self) -> float:
        """The change in equity over the period (closed and open P&L, after fees)."""
        return self.end_equity - self.start_equity

    @property
    def return_pct(self) -> float:
        """The period's P&L as a fraction of the starting equity."""
        return self.pnl / self.start_equity if self.start_equity else 0.0

    @property
    def hit_rate(self) -> float:
        """Winning closed trades as a fraction of all."""
        return self.wins / self.trades if self.trades else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (`--json`)."""
        def rows(items: Iterable[Breakdown]) -> list[dict[str, Any]]:
            return [{"key": b.key, "trades": b.trades, "wins": b.wins,
                     "hit_rate": round(b.hit_rate, 4), "pnl": round(b.pnl, 2)} for b in items]
        return {
            "period": self.period, "start": self.start.isoformat(), "end": self.end.isoformat(),
            "account": self.account, "start_equity": round(self.start_equity, 2),
            "end_equity": round(self.end_equity, 2), "pnl": round(self.pnl, 2),
            "return_pct": round(self.return_pct * 100, 4),
            "max_drawdown_pct": round(self.max_drawdown * 100, 4),
            "sharpe": round(self.sharpe, 4), "sortino": round(self.sortino, 4),
            "trades": self.trades, "wins": self.wins, "hit_rate": round(self.hit_rate, 4),
            "pnl_closed": round(self.pnl_closed, 2), "fees": round(self.fees, 2),
            "by_strategy": rows(self.by_strategy), "by_analyst": rows(self.by_analyst),
            "by_symbol": rows(self.by_symbol),
            "calibration": [{"confidence": f"{b.low:.1f}-{min(b.high, 1.0):.1f}", "ideas": b.ideas,
                             "hits": b.hits, "hit_rate": round(b.hit_rate, 4)}
                            for b in self.calibration],
            "ideas_scored": self.ideas_scored, "ideas_pending": self.ideas_pending,
            "goal": None if self.goal is None else {
                "target": self.goal.target, "achieved": round(self.goal.achieved, 2),
                "progress": round(self.goal.progress, 4)},
            "equity": [[ts.isoformat(), round(v, 2)] for ts, v in self.equity],
            "shadow": None if self.shadow is None else self.shadow.to_dict(),
        }


def period_bounds(period: Period, day: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the UTC day holding `day`, or of the 7 days ending with it."""
    end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
    return (end - timedelta(days=1 if period == "daily" else 7)), end


async def build_account_report(store: Store, period: Period, day: datetime, *,
                               target: float = 0.0,
                               shadow_horizon_hours: float = DEFAULT_HORIZON_HOURS
                               ) -> AccountReport:
    """The report card of `period` ending with the UTC day of `day` (a day or 7 days); shadow
    mode's would-be orders are priced `shadow_horizon_hours` after each."""
    start, end = period_bounds(period, day)
    lo, hi = ts_text(start), ts_text(end)
    snapshots = await store.query(
        "SELECT ts, equity FROM account_snapshots WHERE ts >= ? AND ts < ? ORDER BY ts, id",
        (lo, hi))
    before = await store.query(
        "SELECT ts, equity FROM account_snapshots WHERE ts < ? ORDER BY ts DESC, id DESC LIMIT 1",
        (lo,))
    equity = tuple((parse_ts(r["ts"]), float(r["equity"])) for r in before + snapshots
                   if _finite(r["equity"]))
    outcomes = await store.query(
        "SELECT payload FROM trade_outcomes WHERE ts >= ? AND ts < ? ORDER BY ts, id", (lo, hi))
    trades = [t for t in (_trade(r["payload"]) for r in outcomes) if t is not None]
    scored = await score_ideas(store, start, min(end, datetime.now(UTC)))
    started = await store.query(
        "SELECT payload FROM audit_log WHERE kind = 'engine.start' "
        "ORDER BY ts < ? DESC, ts DESC, id DESC LIMIT 1", (hi,))  # the last start in the period
    start_equity = equity[0][1] if equity else 0.0
    if not before:  # the account's first day: it began at the day's recorded start equity
        start_equity = await _day_start(store, start) or start_equity
    end_equity = equity[-1][1] if equity else 0.0
    hourly = _hourly([v for _, v in equity], [ts for ts, _ in equity])
    wins = sum(1 for t in trades if t["pnl"] > 0)
    shadow = await build_shadow_section(store, start, end, horizon_hours=shadow_horizon_hours)
    return AccountReport(
        period=period, start=start, end=end, account=_account(started),
        equity=equity, start_equity=start_equity, end_equity=end_equity,
        max_drawdown=_max_drawdown([v for _, v in equity]),
        sharpe=_sharpe(hourly, downside=False), sortino=_sharpe(hourly, downside=True),
        trades=len(trades), wins=wins, pnl_closed=sum(t["pnl"] for t in trades),
        fees=sum(t["fees"] for t in trades),
        by_strategy=_breakdown(trades, lambda t: [v for v in t["voters"]
                                                  if not v.startswith("analyst:")]),
        by_analyst=_breakdown(trades, lambda t: [v.removeprefix("analyst:") for v in t["voters"]
                                                 if v.startswith("analyst:")]),
        by_symbol=_breakdown(trades, lambda t: [t["symbol"]]),
        calibration=calibrate(scored.scored), ideas_scored=len(scored.scored),
        ideas_pending=scored.pending,
        goal=Goal(target, end_equity - start_equity) if target else None,
        shadow=shadow if shadow.orders or shadow.unpriced else None,
    )


async def _day_start(store: Store, start: datetime) -> float | None:
    """The day-start equity the engine recorded for the UTC day of `start` (None: another day
    or none recorded)."""
    rows = await store.query("SELECT value FROM control_state WHERE key = 'day_start'")
    if not rows:
        return None
    day, _, value = str(rows[0]["value"]).partition("|")
    try:
        equity = float(value)
    except ValueError:
        return None
    return equity if day == start.date().isoformat() and math.isfinite(equity) else None


def calibrate(ideas: Sequence[ScoredIdea]) -> tuple[CalibrationBin, ...]:
    """Ideas bucketed by stated confidence with each bucket's hit rate: a calibrated analyst's
    0.8 ideas are right more often than its 0.5 ones."""
    bins = []
    for low, high in itertools.pairwise(CALIBRATION_BINS):
        inside = [i for i in ideas if low <= i.confidence < high]
        bins.append(CalibrationBin(low, high, len(inside), sum(1 for i in inside if i.hit)))
    return tuple(bins)


def _breakdown(trades: Sequence[Mapping[str, Any]], keys: Any) -> tuple[Breakdown, ...]:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for trade in trades:
        for key in keys(trade) or ["(none)"]:
            groups.setdefault(str(key), []).append(trade)
    out = [Breakdown(k, len(v), sum(1 for t in v if t["pnl"] > 0), sum(t["pnl"] for t in v))
           for k, v in groups.items()]
    return tuple(sorted(out, key=lambda b: (-b.pnl, b.key)))


def _trade(payload: str) -> dict[str, Any] | None:
    """A closed trade's symbol, P&L, fees and voters from its outcome record."""
    try:
        data = json.loads(payload)
    except (TypeError, ValueError):
        return None
    trade = data.get("trade") if isinstance(data, dict) else None
    if not isinstance(trade, dict) or not _finite(trade.get("pnl")):
        return None
    voters = data.get("voters") or []
    return {"symbol": str(trade.get("symbol", "")), "pnl": float(trade["pnl"]),
            "fees": float(trade["fees"]) if _finite(trade.get("fees")) else 0.0,
            "voters": [str(v) for v in voters if isinstance(v, str)]}


def _account(started: list[dict[str, Any]]) -> str:
    if not started:
        return "no session recorded"
    try:
        data = json.loads(started[0]["payload"])
    except (TypeError, ValueError):
        return "unknown"
    return f"{str(data.get('mode', '?')).upper()} on {data.get('broker', '?')}"


def _hourly(values: Sequence[float], stamps: Sequence[datetime]) -> list[float]:
    """The last equity of each hour, in order."""
    closes: dict[datetime, float] = {}
    for ts, value in zip(stamps, values, strict=True):
        closes[ts.replace(minute=0, second=0, microsecond=0)] = value
    return [closes[k] for k in sorted(closes)]


def _sharpe(closes: Sequence[float], *, downside: bool) -> float:
    """Annualised Sharpe (or Sortino, over downside deviation) of hourly close-to-close returns."""
    returns = [b / a - 1.0 for a, b in itertools.pairwise(closes) if a > 0]
    if len(returns) < 2:
        return 0.0
    mean = sum(returns) / len(returns)
    if downside:
        spread = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    else:
        spread = math.sqrt(sum((r - mean) ** 2 for r in returns) / (len(returns) - 1))
    return mean / spread * math.sqrt(HOURS_PER_YEAR) if spread > 0 else 0.0


def _max_drawdown(values: Sequence[float]) -> float:
    peak, worst = -math.inf, 0.0
    for value in values:
        peak = max(peak, value)
        if peak > 0:
            worst = min(worst, value / peak - 1.0)
    return worst


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


