"""Console themes: palettes in `themes/*.toml` loaded into `textual.theme.Theme`.

The repository's `themes/` folder holds one file per palette (dark, light, high-contrast); users
may add their own files there or point `load_themes` at another folder. The three robo themes
are also built in (same values, checked by a test), so an installed wheel without the folder
still has them. A broken theme file is skipped with a logged warning, never fatal.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from textual.color import Color, ColorParseError
from textual.theme import Theme

__all__ = [
    "BUILTIN_PALETTES", "DEFAULT_THEME", "THEME_NAMES", "ThemeError", "ThemeFile",
    "default_theme_folder", "load_theme_file", "load_themes", "next_theme",
]

log = logging.getLogger(__name__)

THEME_NAMES: tuple[str, ...] = ("robo-dark", "robo-light", "robo-high-contrast")
"""The themes robo-tui ships, in the order the theme key cycles through them."""
DEFAULT_THEME = THEME_NAMES[0]

BUILTIN_PALETTES: dict[str, dict[str, Any]] = {
    "robo-dark": {
        "name": "robo-dark", "dark": True,
        "primary": "#3d8bfd", "secondary": "#a48cf0", "accent": "#f0a030",
        "foreground": "#d8dee9", "background": "#0f1419", "surface": "#161b22",
        "panel": "#1f2630", "success": "#3fb950", "warning": "#d29922", "error": "#f85149",
        "variables": {"profit": "#3fb950", "loss": "#f85149",
                      "footer-key-foreground": "#f0a030"},
    },
    "robo-light": {
        "name": "robo-light", "dark": False,
        "primary": "#0969da", "secondary": "#6e40c9", "accent": "#bc4c00",
        "foreground": "#1f2328", "background": "#f6f8fa", "surface": "#ffffff",
        "panel": "#e6eaef", "success": "#1a7f37", "warning": "#9a6700", "error": "#cf222e",
        "variables": {"profit": "#1a7f37", "loss": "#cf222e",
                      "footer-key-foreground": "#0969da"},
    },
    "robo-high-contrast": {
        "name": "robo-high-contrast", "dark": True,
        "primary": "#00b7ff", "secondary": "#ff66ff", "accent": "#ffff00",
        "foreground": "#ffffff", "background": "#000000", "surface": "#000000",
        "panel": "#1c1c1c", "success": "#00ff66", "warning": "#ffcc00", "error": "#ff4040",
        "luminosity_spread": 0.25, "text_alpha": 1.0,
        "variables": {"profit": "#00ff66", "loss": "#ff4040",
                      "footer-key-foreground": "#ffff00",
                      "block-cursor-background": "#ffff00",
                      "block-cursor-foreground": "#000000",
                      "block-cursor-text-style": "bold", "border": "#ffffff"},
    },
}
"""The shipped palettes, identical to the files in `themes/` (used when a file is missing)."""

_COLOR_FIELDS = ("primary", "secondary", "accent", "foreground", "background", "surface", "panel",
                 "success", "warning", "error", "boost")


class ThemeError(Exception):
    """A theme file cannot be read or is invalid (the message names the file and the field)."""


class ThemeFile(BaseModel):
    """The schema of a theme file: Textual's palette fields plus extra CSS variables."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    dark: bool = True
    primary: str
    secondary: str | None = None
    accent: str | None = None
    foreground: str | None = None
    background: str | None = None
    surface: str | None = None
    panel: str | None = None
    success: str | None = None
    warning: str | None = None
    error: str | None = None
    boost: str | None = None
    luminosity_spread: float = Field(0.15, ge=0, le=1)
    text_alpha: float = Field(0.95, ge=0, le=1)
    variables: dict[str, str] = Field(default_factory=dict)

    @field_validator(*_COLOR_FIELDS)
    @classmethod
    def _colour(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                Color.parse(value)
            except ColorParseError as exc:
                raise ValueError(f"not a colour: {value!r}") from exc
        return value

    def to_theme(self) -> Theme:
        """The Textual theme."""
        return Theme(
            name=self.name, primary=self.primary, secondary=self.secondary, accent=self.accent,
            foreground=self.foreground, background=self.background, surface=self.surface,
            panel=self.panel, success=self.success, warning=self.warning, error=self.error,
            boost=self.boost, dark=self.dark, luminosity_spread=self.luminosity_spread,
            text_alpha=self.text_alpha, variables=dict(self.variables),
        )


def default_theme_folder() -> Path:
    """`themes/` at the repository root (next to the `robo_tui` package)."""
    return Path(__file__).resolve().parents[2] / "themes"


def _from_mapping(data: Mapping[str, Any], source: str) -> Theme:
    try:
        return ThemeFile.model_validate(data).to_theme()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}" for err in exc.errors()
        )
        raise ThemeError(f"{source}: {problems}") from None


def load_theme_file(path: Path) -> Theme:
    """One theme file as a Textual theme; `ThemeError` says what is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ThemeError(f"{path}: {exc}") from None
    return _from_mapping(data, str(path))


def load_themes(folder: Path | None = None) -> list[Theme]:
    """The robo themes (from files in `folder`, default the repository's `themes/`, else built
    in) followed by any other valid theme files found there. Broken files are logged and skipped."""
    folder = folder if folder is not None else default_theme_folder()
    found: dict[str, Theme] = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            try:
                theme = load_theme_file(path)
            except ThemeError as exc:
                log.warning("theme skipped: %s", exc)
                continue
            found.setdefault(theme.name, theme)
    for name in THEME_NAMES:
        if name not in found:
            found[name] = _from_mapping(BUILTIN_PALETTES[name], f"built-in {name}")
    ordered = [found.pop(name) for name in THEME_NAMES]
    return ordered + sorted(found.values(), key=lambda t: t.name)


def next_theme(name: str, names: tuple[str, ...] | list[str] = THEME_NAMES) -> str:
    """The theme after `name` in `names`, wrapping around (the first one for an unknown name)."""
    names = tuple(names) or THEME_NAMES
    try:
        return names[(names.index(name) + 1) % len(names)]
    except ValueError:
        return names[0]
