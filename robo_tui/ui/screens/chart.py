"""The chart view: one symbol's candles and volume, with the trades, the working stop and target
and the analyst's ideas marked on them (textual-plotext).

It draws a `ChartData` the main screen asked the engine side for (`engine.view.build_chart`); it
never reads the engine. Keys: `+`/`-` zoom in and out, `←`/`→` pan, `0` shows every bar, `esc`
closes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static
from textual_plotext import PlotextPlot

from robo_tui.engine.view import ChartData, ChartMark, MarkKind, bar_index
from robo_tui.ui.widgets.format import fmt_price

__all__ = ["MARKERS", "MIN_BARS", "ChartScreen", "Window", "visible_marks"]

MIN_BARS = 10
"""The fewest bars a zoom shows."""
DEFAULT_BARS = 120
"""Bars shown when the view opens (the most recent)."""

MARKERS: dict[MarkKind, tuple[str, str]] = {
    "entry": ("▲", "green"), "exit": ("▼", "red"), "idea_long": ("◆", "cyan"),
    "idea_short": ("◆", "magenta"), "idea_flat": ("◇", "yellow"),
}
"""How each kind of mark is drawn (marker, plotext colour)."""
_LEGEND: dict[MarkKind, str] = {
    "entry": "entry", "exit": "exit", "idea_long": "idea long", "idea_short": "idea short",
    "idea_flat": "idea flat",
}


class Window:
    """Which bars are shown: the last `size` ending `offset` bars before the newest."""

    def __init__(self, total: int, size: int = DEFAULT_BARS) -> None:
        self.total = total
        self.size = max(1, min(total, size)) if total else 0
        self.offset = 0

    @property
    def bounds(self) -> tuple[int, int]:
        """(first, end) bar indices shown."""
        end = self.total - self.offset
        return max(0, end - self.size), end

    def zoom(self, factor: float) -> None:
        """Show `factor` times as many bars (at least `MIN_BARS`, at most all of them)."""
        self.size = max(min(MIN_BARS, self.total), min(self.total, round(self.size * factor)))
        self.offset = min(self.offset, self.total - self.size)

    def pan(self, bars: int) -> None:
        """Move `bars` toward the newest (negative: back in time)."""
        self.offset = max(0, min(self.total - self.size, self.offset - bars))

    def reset(self) -> None:
        """Every bar."""
        self.size, self.offset = self.total, 0


def visible_marks(data: ChartData, first: int, end: int) -> list[tuple[int, ChartMark]]:
    """The marks that fall on bars `first`..`end` (exclusive), with their bar index (a mark
    after the last bar sits on it: the bar still forming)."""
    shown = []
    for mark in data.marks:
        if not data.ts or mark.ts < data.ts[0]:
            continue  # before the first bar the engine holds: off the chart
        i = bar_index(data.ts, mark.ts)
        if first <= i < end:
            shown.append((i, mark))
    return shown


class ChartScreen(ModalScreen[None]):
    """Candles, volume, trades, stop, target and ideas of one symbol, with zoom and pan."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,c", "close", "Close", key_display="esc"),
        Binding("plus,equals_sign", "zoom(0.5)", "Zoom in", key_display="+"),
        Binding("minus", "zoom(2.0)", "Zoom out", key_display="-"),
        Binding("left", "pan(-0.25)", "Back", key_display="←"),
        Binding("right", "pan(0.25)", "Forward", key_display="→"),
        Binding("0", "reset", "All bars"),
    ]
    DEFAULT_CSS = """
    ChartScreen #chart-price { height: 3fr; }
    ChartScreen #chart-volume { height: 1fr; min-height: 5; }
    ChartScreen #chart-legend { height: auto; max-height: 4; }
    """

    def __init__(self, data: ChartData) -> None:
        super().__init__(classes="dialog")
        self.data = data
        self.window = Window(len(data.ts))

    def compose(self) -> ComposeResult:
        yield Footer()
        with Vertical(classes="dialog-box -full", id="chart"):
            yield Label(Text(self._title()), classes="dialog-title", id="chart-title")
            yield PlotextPlot(id="chart-price")
            yield PlotextPlot(id="chart-volume")
            yield Static(id="chart-legend", classes="dialog-hint")

    def on_mount(self) -> None:
        self.draw()

    # ------------------------------------------------------------------ actions

    def action_close(self) -> None:
        """Back to the main screen."""
        self.dismiss(None)

    def action_zoom(self, factor: float) -> None:
        """Show more (factor > 1) or fewer bars."""
        self.window.zoom(factor)
        self.draw()

    def action_pan(self, fraction: float) -> None:
        """Move by a fraction of the bars shown (negative: back in time)."""
        self.window.pan(round(self.window.size * fraction) or (1 if fraction > 0 else -1))
        self.draw()

    def action_reset(self) -> None:
        """Every bar the engine holds."""
        self.window.reset()
        self.draw()

    # ------------------------------------------------------------------ drawing

    def _title(self) -> str:
        d = self.data
        parts = [f"{d.symbol}  last {fmt_price(d.last, d.symbol)}"]
        if d.stop is not None:
            parts.append(f"stop {fmt_price(d.stop, d.symbol)}")
        if d.target is not None:
            parts.append(f"target {fmt_price(d.target, d.symbol)}")
        return "  ·  ".join(parts)

    def draw(self) -> None:
        """Draw the bars of the window, the marks on them, the stop and target, and volume."""
        price = self.query_one("#chart-price", PlotextPlot)
        volume = self.query_one("#chart-volume", PlotextPlot)
        legend = self.query_one("#chart-legend", Static)
        d = self.data
        plt, vplt = price.plt, volume.plt
        plt.clear_figure()
        vplt.clear_figure()
        if not d.ts:
            plt.title(f"{d.symbol}: no bars yet")
            legend.update(Text("The engine holds no bars for this symbol yet."))
            price.refresh()
            volume.refresh()
            return
        first, end = self.window.bounds
        xs = list(range(first, end))
        # plotext's stubs type x as date strings; bar numbers work and keep the marks aligned
        plt.candlestick(cast("list[str]", xs), {"Open": list(d.open[first:end]), "Close": list(d.close[first:end]),
                             "High": list(d.high[first:end]), "Low": list(d.low[first:end])})
        counts: dict[MarkKind, int] = {}
        marks = visible_marks(d, first, end)
        for kind, (marker, color) in MARKERS.items():
            points = [(i, m.price) for i, m in marks if m.kind == kind]
            if points:
                counts[kind] = len(points)
                plt.scatter([p[0] for p in points], [p[1] for p in points], marker=marker,
                            color=color, label=_LEGEND[kind])
        if d.stop is not None:
            plt.hline(d.stop, "red")
        if d.target is not None:
            plt.hline(d.target, "green")
        ticks = _ticks(xs, d.ts)
        plt.xticks([t[0] for t in ticks], [t[1] for t in ticks])
        low = min(d.low[first:end])
        high = max(d.high[first:end])
        plt.title(f"{d.symbol} · {end - first} of {len(d.ts)} bars · "
                  f"range {fmt_price(low, d.symbol)}–{fmt_price(high, d.symbol)}")
        vplt.bar(xs, list(d.volume[first:end]), color="blue", marker="sd")
        vplt.xticks([t[0] for t in ticks], [t[1] for t in ticks])
        vplt.title("volume")
        legend.update(self._legend(marks, counts))
        price.refresh()
        volume.refresh()

    def _legend(self, marks: list[tuple[int, ChartMark]], counts: dict[MarkKind, int]) -> Text:
        out = Text()
        for kind, n in counts.items():
            marker, _ = MARKERS[kind]
            out.append(f"{marker} {_LEGEND[kind]} ×{n}   ")
        if self.data.stop is not None:
            out.append("── stop (red)   ")
        if self.data.target is not None:
            out.append("── target (green)   ")
        if not counts:
            out.append("no trades or ideas on these bars   ")
        recent = [m for _, m in marks][-3:]
        if recent:
            out.append("\n" + " · ".join(f"{m.ts:%m-%d %H:%M} {m.label}" for m in recent))
        return out


def _ticks(xs: list[int], times: Sequence[datetime], count: int = 5) -> list[tuple[int, str]]:
    """A few x positions labelled with their bar's time (dates when the bars span days)."""
    if not xs:
        return []
    span_days = (times[xs[-1]] - times[xs[0]]).days
    fmt = "%m-%d" if span_days >= 2 else "%H:%M"
    step = max(1, len(xs) // count)
    return [(x, times[x].strftime(fmt)) for x in xs[::step]]
