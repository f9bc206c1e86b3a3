"""The model selector: analyst providers and models available now, the active one, and telemetry.

Renders the analyst catalogue of the engine's view (`ConsoleView.catalogue`):

    {"active": {"provider": "rules", "model": "lexicon-v1"},
     "providers": [{"name": "rules", "available": True, "models": ["lexicon-v1"],
                    "telemetry": {"calls": 3, "latency_ms_p50": 1.2, ...}, "reason": "..."}]}

Every key may be missing (a catalogue with only `rules`, or no intelligence at all). One row per
(provider, model); a provider without models gets one row with model None. The app switches with
`selected_choice()` → `engine.select_analyst(provider, model)`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from rich.console import JustifyMethod
from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from robo_tui.engine.view import ConsoleView
from robo_tui.ui.widgets.safe import safe_str, safe_text

__all__ = ["ModelSelector", "catalogue_rows"]

_SEP = "\x1f"
_COLUMNS: tuple[tuple[str, str], ...] = (
    ("active", " "), ("provider", "Provider"), ("model", "Model"), ("status", "Status"),
    ("p50", "p50 ms"), ("p99", "p99 ms"), ("calls", "Calls"), ("fail", "Fail"),
    ("note", "Note"),
)
COLUMN_KEYS = tuple(c[0] for c in _COLUMNS)

NOTE_CHARS = 120
"""The longest note shown in the table (the whole reason is in the row's detail)."""

Row = tuple[str, str | None, bool, bool, Mapping[str, Any], str]
"""(provider, model, available, active, telemetry, note)"""


def _num(value: Any) -> float:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return math.nan
    return result


def _model_names(models: Any) -> list[str]:
    names: list[str] = []
    if not isinstance(models, (list, tuple)):
        return names
    for m in models:
        if isinstance(m, str):
            names.append(m)
        elif isinstance(m, Mapping) and m.get("name"):
            names.append(str(m["name"]))
    return names


def catalogue_rows(catalogue: Mapping[str, Any]) -> list[Row]:
    """The catalogue flattened to selector rows (tolerates every missing key)."""
    active = catalogue.get("active") if isinstance(catalogue.get("active"), Mapping) else {}
    assert isinstance(active, Mapping)
    active_provider = str(active.get("provider", "") or "")
    active_model = str(active.get("model", "") or "")
    rows: list[Row] = []
    seen_active = False
    providers = catalogue.get("providers") or []
    for entry in providers if isinstance(providers, (list, tuple)) else []:
        if not isinstance(entry, Mapping) or not entry.get("name"):
            continue
        name = str(entry["name"])
        available = bool(entry.get("available", False))
        telemetry = entry.get("telemetry") if isinstance(entry.get("telemetry"), Mapping) else {}
        assert isinstance(telemetry, Mapping)
        note = str(entry.get("reason", "") or telemetry.get("last_error", "") or "")
        models = _model_names(entry.get("models"))
        if name == active_provider and active_model and active_model not in models:
            models.append(active_model)
        if not models:
            is_active = name == active_provider
            seen_active |= is_active
            rows.append((name, None, available, is_active, telemetry, note))
        for model in models:
            is_active = name == active_provider and (model == active_model or not active_model)
            if is_active:
                active_model = model  # only one row is active
                seen_active = True
            rows.append((name, model, available, is_active, telemetry, note))
    if active_provider and active_provider != "none" and not seen_active:
        rows.insert(0, (active_provider, active_model or None, True, True, {}, ""))
    return rows


class ModelSelector(DataTable[Text]):
    """Providers × models with availability, the active choice (●) and latency/failure telemetry."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "models--active", "models--available", "models--unavailable", "models--dim",
        "models--bad",
    }
    DEFAULT_CSS = """
    ModelSelector { height: auto; max-height: 12; min-height: 3; }
    ModelSelector > .models--active { color: $success; text-style: bold; }
    ModelSelector > .models--available { color: $success; }
    ModelSelector > .models--unavailable { color: $foreground-muted; }
    ModelSelector > .models--dim { color: $foreground-muted; }
    ModelSelector > .models--bad { color: $error; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        self._shown: dict[str, tuple[tuple[str, str], ...] | None] = {}
        self._catalogue: Mapping[str, Any] | None = None
        super().__init__(name=name, id=id, classes=classes, cursor_type="row")
        self._choices: dict[str, tuple[str, str | None]] = {}

    def on_mount(self) -> None:
        for key, label in _COLUMNS:
            justify: JustifyMethod = "right" if key in ("p50", "p99", "calls", "fail") else "left"
            self.add_column(Text(label, justify=justify), key=key)
        self.border_title = "Analyst models"

    # ------------------------------------------------------------------ API

    def selected_choice(self) -> tuple[str, str | None] | None:
        """(provider, model) under the cursor; model None for a provider without models."""
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except CellDoesNotExist:
            return None
        return self._choices.get(str(row_key.value))

    def active_choice(self) -> tuple[str, str | None] | None:
        """The (provider, model) the engine uses now, as last read."""
        for provider, model, _, active, _, _ in catalogue_rows(self._catalogue or {}):
            if active:
                return provider, model
        return None

    def update_from(self, view: ConsoleView) -> None:
        """Show the view's analyst catalogue; rows change in place when telemetry moves."""
        if not self.columns:
            return
        catalogue = view.catalogue
        if catalogue is None:  # reading it failed: the selector shows the problem instead
            catalogue = {"active": {}, "providers": [], "error": view.catalogue_error}
        if catalogue == self._catalogue:
            return
        self._catalogue = catalogue
        rows = catalogue_rows(catalogue)
        wanted: dict[str, tuple[Text, ...]] = {}
        choices: dict[str, tuple[str, str | None]] = {}
        for provider, model, available, active, telemetry, note in rows:
            key = f"{provider}{_SEP}{model or ''}"
            if key in wanted:
                continue
            choices[key] = (provider, model)
            wanted[key] = self._cells(provider, model, available, active, telemetry, note)
        self._choices = choices
        for key in list(self._shown):
            if key not in wanted:
                self.remove_row(key)
                del self._shown[key]
        for key, cells in wanted.items():
            signature = tuple((c.plain, str(c.style)) for c in cells)
            if key not in self._shown:
                self.add_row(*cells, key=key)
            elif self._shown[key] != signature:
                old = self._shown[key] or ((None, None),) * len(cells)
                for column, cell, sig, was in zip(COLUMN_KEYS, cells, signature, old, strict=True):
                    if sig != was:
                        self.update_cell(key, column, cell, update_width=True)
            self._shown[key] = signature
        if not wanted:
            self.border_subtitle = "no analyst configured"
        else:
            chosen = next(((p, m) for p, m, _, a, _, _ in rows if a), None)
            self.border_subtitle = (safe_str(f"active: {chosen[0]}/{chosen[1] or '-'}")
                                    if chosen else "")

    def notify_style_update(self) -> None:
        """The theme changed: re-colour at the next update."""
        super().notify_style_update()
        if self._shown:
            for key in self._shown:
                self._shown[key] = None
            self._catalogue = None

    # ------------------------------------------------------------------ internals

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"models--{name}", partial=True)

    def _cells(self, provider: str, model: str | None, available: bool, active: bool,
               telemetry: Mapping[str, Any], note: str) -> tuple[Text, ...]:
        dim = self._style("dim")
        base = self._style("active") if active else (Style() if available else dim)
        calls = int(_num(telemetry.get("calls", 0)) or 0) if telemetry else 0
        failures = sum(int(_num(telemetry.get(k, 0)) or 0) for k in
                       ("errors", "timeouts", "rejected")) if telemetry else 0

        def ms(key: str) -> Text:
            value = _num(telemetry.get(key)) if telemetry else math.nan
            shown = f"{value:,.0f}" if math.isfinite(value) and calls else "—"
            return Text(shown, justify="right")

        status = (Text("available", self._style("available")) if available
                  else Text("unavailable", self._style("unavailable")))
        note_text = safe_text(note, self._style("bad") if note else "")
        note_text.truncate(NOTE_CHARS, overflow="ellipsis")
        return (
            Text("●" if active else " ", self._style("active")),
            safe_text(provider, base),
            safe_text(model if model is not None else "—", base),
            status,
            ms("latency_ms_p50"),
            ms("latency_ms_p99"),
            Text(str(calls), justify="right"),
            Text(str(failures), self._style("bad") if failures else dim, justify="right"),
            note_text,
        )
