"""The console guide cannot drift from the key table."""

from __future__ import annotations

from pathlib import Path

from robo_tui.ui.commands import ACTIONS, KEY_NAMES

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "console.md"


def test_console_guide_when_read_then_every_key_and_palette_action_is_documented() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    for action in ACTIONS:
        if not action.keys:  # palette only: documented by name
            assert action.title in text, action.title
            continue
        for key in action.keys.split(","):
            if key == "equals_sign":  # "=" is the unshifted "+" on most keyboards
                continue
            assert f"`{KEY_NAMES.get(key, key)}`" in text, f"{key} ({action.title})"


def test_console_guide_when_read_then_every_pane_is_described() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    for pane in ("Status bar", "Positions", "Risk meters", "Event feed", "Proposals", "Equity",
                 "Strategies", "Analyst models"):
        assert f"**{pane}" in text, pane
