"""Risk meters: one bar per limit of the risk gate, turning warning/danger colours near the limit.

Drawn by hand (one line per meter: label, bar, value / limit) rather than with seven ProgressBar
widgets, so it stays one cheap widget that degrades to any size: narrower drops the bar, shorter
shows the meters closest to their limits first.
"""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from robo_tui.engine.meters import Meter
from robo_tui.engine.view import ConsoleView

__all__ = ["Meter", "RiskMeters"]

_EIGHTHS = " ▏▎▍▌▋▊▉"
_SHORT_LABELS = {
    "day_loss": "Day loss", "gross_exposure": "Gross", "largest_position": "Position",
    "largest_sector": "Sector", "open_positions": "Positions", "drawdown": "Drawdown",
    "circuit_breaker": "Breaker",
}
"""Labels for narrow panes (no symbol or sector name)."""
_SEVERITY = {"ok": 0, "warning": 1, "danger": 2}
PIN_DAY_LOSS_FROM = 3
"""From this many lines the Day-loss meter is always among those shown."""


def _short(m: Meter) -> str:
    if m.unit == "count":
        return f"{m.value:.0f}/{m.limit:.0f}"
    return f"{m.value:.1f}/{m.limit:.1f}%"


def bar(fraction: float, width: int) -> tuple[str, str]:
    """(filled, empty) parts of a bar `width` cells wide at `fraction` (eighth-cell resolution)."""
    if width <= 0:
        return "", ""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    filled = "█" * full + (_EIGHTHS[part] if part and full < width else "")
    return filled, "░" * (width - len(filled))


class RiskMeters(Widget):
    """Day loss, gross exposure, largest position and sector, positions, drawdown, breaker."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "risk-meters--ok", "risk-meters--warning", "risk-meters--danger", "risk-meters--track",
        "risk-meters--label",
    }
    DEFAULT_CSS = """
    RiskMeters { height: auto; min-height: 1; width: 1fr; padding: 0 1; }
    RiskMeters > .risk-meters--ok { color: $success; }
    RiskMeters > .risk-meters--warning { color: $warning; text-style: bold; }
    RiskMeters > .risk-meters--danger { color: $error; text-style: bold; }
    RiskMeters > .risk-meters--track { color: $foreground 25%; }
    RiskMeters > .risk-meters--label { color: $foreground; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._meters: list[Meter] = []

    @property
    def meters(self) -> list[Meter]:
        """The meters last read from the engine."""
        return list(self._meters)

    def update_from(self, view: ConsoleView) -> None:
        """Show the view's meters; repaint only when one changed."""
        meters = list(view.meters)
        if meters != self._meters:
            resize = len(meters) != len(self._meters)
            self._meters = meters
            worst = max((m.level for m in meters), key=_SEVERITY.__getitem__, default="ok")
            self.set_class(worst == "warning", "-warning")
            self.set_class(worst == "danger", "-danger")
            self.refresh(layout=resize)

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        """One line per meter."""
        return max(1, len(self._meters))

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"risk-meters--{name}", partial=True)

    def _visible(self, height: int) -> list[Meter]:
        if height <= 0 or len(self._meters) <= height:
            return self._meters
        # from three lines on the day loss always shows (the number a trader watches all day),
        # then the meters closest to their limits
        pin = height >= PIN_DAY_LOSS_FROM
        ranked = sorted(range(len(self._meters)),
                        key=lambda i: (pin and self._meters[i].key != "day_loss",
                                       -_SEVERITY[self._meters[i].level], -self._meters[i].fraction))
        keep = sorted(ranked[:height])
        return [self._meters[i] for i in keep]

    def line(self, m: Meter, width: int, layout: tuple[int, int] | None = None) -> Text:
        """One meter laid out in `width` cells. `layout` is (label width, value width), shared by
        every line so the bars line up; the bar gives way first, then the label."""
        level = self._style(m.level)
        out = Text(no_wrap=True, overflow="ellipsis", end="")
        wide = width >= 56
        label = m.label if wide else _SHORT_LABELS.get(m.key, m.label)
        text = m.text if wide else _short(m)
        if width < 28:
            label = label[: max(1, width - len(text) - 1)]
            out.append(f"{label} ", self._style("label"))
            out.append(text, level)
            out.truncate(width)
            return out
        label_w, text_w = layout if layout is not None else (len(label), len(text))
        label_w = max(6, min(label_w, width - text_w - 2 - 8))
        bar_w = width - label_w - text_w - 2
        out.append(f"{label[:label_w]:<{label_w}} ", self._style("label"))
        if bar_w >= 3:
            filled, empty = bar(m.fraction, bar_w)
            out.append(filled, level)
            out.append(empty, self._style("track"))
            out.append(" ")
        out.append(f"{text:>{text_w}}", level)
        out.truncate(width)
        return out

    def column_widths(self, width: int) -> tuple[int, int]:
        """(label width, value width) for `width`: the widest of all meters."""
        wide = width >= 56
        labels = [m.label if wide else _SHORT_LABELS.get(m.key, m.label) for m in self._meters]
        texts = [m.text if wide else _short(m) for m in self._meters]
        return max(map(len, labels), default=0), max(map(len, texts), default=0)

    def render(self) -> Text:
        """Every meter that fits, one per line."""
        width = self.content_region.width or self.size.width or 40
        if not self._meters:
            return Text("risk meters: waiting for the engine", self._style("track"))
        layout = self.column_widths(width)
        lines = [self.line(m, width, layout) for m in self._visible(self.content_region.height)]
        return Text("\n", end="").join(lines)
