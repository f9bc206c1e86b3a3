"""The one-line status bar: mode, risk state, equity, day P&L, clock, market, connections and
the symbols whose data is stale ("stale: BTC-USD 3m": no new entries in them).

LIVE and HALTED are drawn as solid error-coloured blocks so nobody mistakes them. The bar fits any
width from 20 columns: details give way first (source names, seconds, the market session, the
halt reason), then words become letters; mode and risk state are never dropped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from robo_tui.domain.frozen import frozen
from robo_tui.domain.market import AssetClass, Instrument
from robo_tui.domain.risk import Mode, TradingState
from robo_tui.domain.sessions import MarketSessions
from robo_tui.engine.freshness import age_label
from robo_tui.engine.view import ConsoleView
from robo_tui.ui.widgets.format import fmt_compact, fmt_money, fmt_pct, fmt_time
from robo_tui.ui.widgets.safe import safe_str

__all__ = ["StatusBar", "market_session"]

_SESSIONS = MarketSessions()  # the US exchange calendar (XNYS): holidays and half days

MODE_LABELS: dict[Mode, tuple[str, str]] = {
    Mode.PAPER: ("PAPER", "PAPER"),
    Mode.SEMI_AUTO: ("SEMI-AUTO", "SEMI"),
    Mode.AUTO: ("AUTO", "AUTO"),
    Mode.LIVE: ("LIVE", "LIVE"),
    Mode.SHADOW: ("SHADOW (never sent)", "SHADOW"),
}
STATE_LABELS: dict[TradingState, tuple[str, str]] = {
    TradingState.ACTIVE: ("ACTIVE", "ACT"),
    TradingState.REDUCING: ("REDUCING", "REDUCE"),
    TradingState.HALTED: ("HALTED", "HALTED"),
}


# The order in which the bar gives way when it does not fit: (part, variant index). Details go
# first (names, seconds, the market), then words become letters, and last of all the P&L shrinks
# to a percentage and the equity goes. Mode and risk state are never dropped.
_DEGRADE: tuple[tuple[str, int], ...] = (
    ("sources", 1), ("market", 1), ("clock", 1), ("equity", 1), ("pnl", 1), ("market", 2),
    ("sources", 2), ("state", 1), ("clock", 2), ("sim", 1), ("mode", 1), ("sources", 3),
    ("clock", 3), ("equity", 2), ("pnl", 2), ("paused", 1), ("state", 2), ("pnl", 3),
    ("equity", 3),
)
_DEGRADE = (("stale", 1), *_DEGRADE[:6], ("stale", 2), *_DEGRADE[6:])
"""The stale symbols shrink to the first (+ how many more), then to a count; never dropped."""


def market_session(now: datetime, instruments: Sequence[Instrument]) -> tuple[str, str]:
    """(long, short) market status at `now`: the US equity session from the exchange calendar
    ("US open", "US half day", "US pre-market", "US after-hours", "US closed", holidays known)
    and "crypto 24/7" when the universe holds crypto."""
    has_stock = any(i.asset_class is AssetClass.STOCK for i in instruments)
    has_crypto = any(i.asset_class is AssetClass.CRYPTO for i in instruments)
    if not has_stock:
        return ("crypto 24/7", "24/7") if has_crypto else ("", "")
    status = _SESSIONS.status(now)
    label = status.label
    long = label + (" · crypto 24/7" if has_crypto else "")
    return long, label.split("-")[0].split(" (")[0]


@frozen
class _Source:
    label: str
    name: str
    healthy: bool
    known: bool = True


@frozen
class _StatusData:
    mode: Mode
    state: TradingState
    reason: str
    equity: float
    day_pnl: float
    day_pnl_pct: float
    clock: str
    market: tuple[str, str]
    sources: tuple[_Source, ...]
    simulated: bool
    paused: bool
    stale: tuple[tuple[str, str], ...] = ()
    """Stale symbols and how old their last data is ("3m"), in symbol order."""


@dataclass(slots=True)
class _Part:
    """One piece of the bar: its variants from longest to shortest ("" = dropped)."""

    name: str
    variants: list[Text]
    index: int = 0

    @property
    def text(self) -> Text:
        return self.variants[self.index]


def _analyst_source(catalogue: Mapping[str, Any], health: Mapping[str, tuple[bool, str]]) -> _Source:
    active = catalogue.get("active") or {}
    provider = str(active.get("provider", "") or "")
    model = str(active.get("model", "") or "")
    if not provider or provider == "none":
        return _Source("AI", "off", True, known=False)
    available = True
    for entry in catalogue.get("providers") or ():
        if isinstance(entry, Mapping) and entry.get("name") == provider:
            available = bool(entry.get("available", True))
    healthy = available and health.get("model", (True, ""))[0]
    return _Source("AI", f"{provider}/{model}" if model else provider, healthy)


class StatusBar(Widget):
    """One line with everything a trader checks at a glance; call `update_from` to refresh."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "status-bar--mode", "status-bar--live", "status-bar--active", "status-bar--reducing",
        "status-bar--halted", "status-bar--sim", "status-bar--paused", "status-bar--profit",
        "status-bar--loss", "status-bar--ok", "status-bar--bad", "status-bar--dim",
    }

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        width: 1fr;
        background: $panel;
        color: $foreground;
    }
    StatusBar > .status-bar--mode { color: $primary; text-style: bold; }
    StatusBar > .status-bar--live { color: $error; text-style: bold reverse; }
    StatusBar > .status-bar--active { color: $success; text-style: bold; }
    StatusBar > .status-bar--reducing { color: $warning; text-style: bold reverse; }
    StatusBar > .status-bar--halted { color: $error; text-style: bold reverse; }
    StatusBar > .status-bar--sim { color: $accent; text-style: bold; }
    StatusBar > .status-bar--paused { color: $warning; text-style: bold reverse; }
    StatusBar > .status-bar--profit { color: $success; }
    StatusBar > .status-bar--loss { color: $error; }
    StatusBar > .status-bar--ok { color: $success; }
    StatusBar > .status-bar--bad { color: $error; text-style: bold; }
    StatusBar > .status-bar--dim { color: $foreground-muted; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._data: _StatusData | None = None

    # ------------------------------------------------------------------ data

    def update_from(self, view: ConsoleView) -> None:
        """Show `view`; repaints only when something shown changed (the clock: each second)."""
        start = view.day_start_equity
        pnl = view.day_pnl
        now = view.now
        health = view.health
        sources = (
            # a symbol with stale data or disagreeing marks (`data:<symbol>`) marks the feed ✗
            _Source("feed", view.feed_name, health.get("data", (True, ""))[0]
                    and all(ok for k, (ok, _) in health.items() if k.startswith("data:"))),
            _Source("broker", view.broker_name, health.get("broker", (True, ""))[0]),
            _analyst_source(view.catalogue or {}, health),
        )
        data = _StatusData(
            mode=view.mode, state=view.state, reason=view.state_reason,
            equity=view.equity, day_pnl=pnl,
            day_pnl_pct=pnl / start if start and math.isfinite(start) else math.nan,
            clock=fmt_time(now), market=market_session(now, view.instruments),
            sources=sources, simulated=view.simulated, paused=view.paused,
            stale=tuple((symbol, age_label((now - seen).total_seconds()))
                        for symbol, seen in view.stale_since.items()),
        )
        if data != self._data:
            self._data = data
            self.refresh()

    # ------------------------------------------------------------------ rendering

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"status-bar--{name}", partial=True)

    def _parts(self, d: _StatusData) -> list[_Part]:
        mode_style = self._style("live" if d.mode.live_limits else "mode")
        long, short = MODE_LABELS.get(d.mode, (str(d.mode).upper(), str(d.mode).upper()))
        parts = [_Part("mode", [Text(f" {long} ", mode_style), Text(f" {short} ", mode_style)])]

        state_style = self._style(d.state.value.lower())
        long, short = STATE_LABELS[d.state]
        first = Text(f" {long} ", state_style)
        if d.state is not TradingState.ACTIVE and d.reason:
            reason = safe_str(d.reason)
            clipped = reason if len(reason) <= 40 else reason[:39] + "…"
            first = Text(f" {long}: {clipped} ", state_style)
        parts.append(_Part("state", [first, Text(f" {long} ", state_style),
                                     Text(f" {short} ", state_style)]))

        if d.paused:
            paused = self._style("paused")
            parts.append(_Part("paused", [Text(" PAUSED ", paused), Text(" ‖ ", paused)]))
        if d.simulated:
            sim = self._style("sim")
            parts.append(_Part("sim", [Text("SIMULATED", sim), Text("SIM", sim)]))

        pnl_style = self._style("profit" if d.day_pnl >= 0 else "loss")
        pnl, pct = fmt_money(d.day_pnl, signed=True), fmt_pct(d.day_pnl_pct, signed=True)
        parts.append(_Part("pnl", [
            Text.assemble("Day ", (f"{pnl} ({pct})", pnl_style)),
            Text(f"{pnl} ({pct})", pnl_style),
            Text(f"{fmt_compact(d.day_pnl, signed=True)} {pct}", pnl_style),
            Text(pct, pnl_style),
        ]))
        parts.append(_Part("equity", [
            Text(f"Equity {fmt_money(d.equity)}"), Text(f"Eq {fmt_money(d.equity)}"),
            Text(fmt_compact(d.equity)), Text(""),
        ]))
        parts.append(_Part("clock", [Text(f"{d.clock} UTC"), Text(d.clock), Text(d.clock[:5]),
                                Text("")]))
        parts.append(_Part("sources", self._source_variants(d.sources)))
        if d.stale:
            bad = self._style("bad")
            (oldest, age), more = d.stale[0], len(d.stale) - 1
            parts.append(_Part("stale", [
                Text("stale: " + ", ".join(f"{safe_str(sym)} {a}" for sym, a in d.stale), bad),
                Text(f"stale: {safe_str(oldest)} {age}" + (f" +{more}" if more else ""), bad),
                Text(f"stale {len(d.stale)}", bad),
            ]))
        if d.market[0]:
            dim = self._style("dim")
            parts.append(_Part("market", [Text(d.market[0], dim), Text(d.market[1], dim), Text("")]))
        return parts

    def _source_variants(self, sources: Sequence[_Source]) -> list[Text]:
        ok, bad, dim = self._style("ok"), self._style("bad"), self._style("dim")

        def dot(s: _Source) -> tuple[str, Style]:
            if not s.known:
                return "○", dim
            return ("●", ok) if s.healthy else ("✗", bad)

        full = Text()
        named = Text()
        letters = Text()
        for i, s in enumerate(sources):
            mark, style = dot(s)
            if i:
                full.append(" ")
                named.append(" ")
            name = safe_str(s.name)
            full.append(f"{s.label} {name}", dim if not s.known else Style())
            full.append(mark, style)
            named.append(name[:12], dim if not s.known else Style())
            named.append(mark, style)
            letters.append(s.label[0].upper())
            letters.append(mark, style)
        return [full, named, letters, Text("")]

    @staticmethod
    def _width(parts: Sequence[_Part]) -> int:
        shown = [p.text.cell_len for p in parts if p.text.cell_len]
        return sum(shown) + max(0, len(shown) - 1)

    def fit(self, width: int) -> Text:
        """The bar laid out for `width` columns, giving way in the order of `_DEGRADE`."""
        if self._data is None:
            return Text(" robo-tui ", self._style("dim"))
        parts = self._parts(self._data)
        by_name = {p.name: p for p in parts}
        for name, index in _DEGRADE:
            if self._width(parts) <= width:
                break
            part = by_name.get(name)
            if part is not None:
                part.index = max(part.index, min(index, len(part.variants) - 1))
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        first = True
        for p in parts:
            if not p.text.cell_len:
                continue
            if not first:
                line.append(" ")
            line.append_text(p.text)
            first = False
        line.truncate(max(0, width), overflow="ellipsis")
        return line

    def render(self) -> Text:
        """The bar at the widget's current width."""
        return self.fit(self.size.width or 80)
