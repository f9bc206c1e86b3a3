"""The session's equity as a sparkline (Textual's `Sparkline`), with the figures in its border."""

from __future__ import annotations

import math
from collections.abc import Sequence

from textual.app import RenderResult
from textual.renderables.sparkline import Sparkline as SparklineRenderable
from textual.widgets import Sparkline

from robo_tui.engine.view import ConsoleView
from robo_tui.ui.widgets.format import fmt_money, fmt_pct

__all__ = ["MIN_SPAN_FRACTION", "EquitySparkline", "scaled"]

MIN_SPAN_FRACTION = 0.001
"""The smallest range drawn top to bottom, as a fraction of equity (0.1 %: $100 on $100k):
a smaller wiggle is drawn flat, with its size in the border, instead of filling the pane."""


def scaled(values: Sequence[float]) -> list[float]:
    """`values` as the sparkline should draw them: unchanged when their range is at least the
    minimum span, else flat (the sparkline always stretches min..max to the full height)."""
    if len(values) < 2:
        return []
    low, high = min(values), max(values)
    reference = max(abs(v) for v in values)
    if high - low >= MIN_SPAN_FRACTION * reference:
        return list(values)
    return [1.0] * len(values)


def _mean(values: Sequence[float]) -> float:
    """A bucket's average (the default, max, would hide drawdowns inside a bucket)."""
    return sum(values) / len(values) if values else 0.0


class EquitySparkline(Sparkline):
    """Equity after each cycle of this session; the title shows last and change, the bottom
    border the range the bars span and its low (a range under `MIN_SPAN_FRACTION` of equity is
    drawn flat, not stretched, and says so)."""

    DEFAULT_CSS = """
    EquitySparkline { height: 3; min-height: 1; width: 1fr; }
    EquitySparkline > .sparkline--max-color { color: $success; }
    EquitySparkline > .sparkline--min-color { color: $error 70%; }
    EquitySparkline.-down > .sparkline--max-color { color: $warning; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__([], summary_function=_mean, name=name, id=id, classes=classes)
        self._seen: tuple[int, float, float] | None = None
        self._flat = False  # the range is under the minimum span: drawn flat

    def render(self) -> RenderResult:
        """The bars; flat when the range is under the minimum span (`data` keeps the values)."""
        if not self._flat or not self.data:
            return super().render()
        _, base = self.background_colors
        low = base + self.get_component_styles("sparkline--min-color").color
        high = base + self.get_component_styles("sparkline--max-color").color
        return SparklineRenderable(scaled(self.data), width=self.size.width,
                                   height=self.size.height, min_color=low.rich_color,
                                   max_color=high.rich_color,
                                   summary_function=self.summary_function)

    def update_from(self, view: ConsoleView) -> None:
        """Take new points from the view's equity history (nothing happens when there are none);
        the title shows the view's equity now."""
        history = view.equity_history
        last = history[-1] if history else None
        key = (len(history), last[1] if last else math.nan, view.equity)
        if key == self._seen:
            return
        self._seen = key
        values = [e for _, e in history if math.isfinite(e)]
        # one point would draw a solid block (Textual's rendering of a single value): wait for two
        self.data = values if len(values) >= 2 else []
        self._flat = len(values) >= 2 and scaled(values) != values
        if not values:
            self.border_title = "Equity"
            self.border_subtitle = ""
            return
        # the title shows equity now, the figure the status bar shows from the same view (the
        # history's last point is the last cycle's)
        first = values[0]
        now = view.equity if math.isfinite(view.equity) else values[-1]
        change = (now - first) / first if first else math.nan
        self.set_class(now < first, "-down")
        low, high = min(values), max(values)
        flat = self._flat
        self.border_title = f"Equity {fmt_money(now)} ({fmt_pct(change, signed=True)})"
        # the range the bars span comes first: a narrow pane cuts the end of the line
        self.border_subtitle = (f"range {fmt_money(high - low)}{' flat' if flat else ''} · "
                                f"lo {fmt_money(low)}")  # hi = lo + range
