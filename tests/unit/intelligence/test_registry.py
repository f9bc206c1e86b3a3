"""The analyst registry builds by name and imports only what it is asked for."""

from __future__ import annotations

import subprocess
import sys

import pytest

from robo_tui.adapters.llm import PROVIDERS, build_analyst
from robo_tui.config import Settings


def test_build_analyst_when_name_is_unknown_then_value_error_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="rules, ollama, openai, anthropic, auto"):
        build_analyst("claude-opus-99", Settings())


def test_providers_when_listed_then_rules_comes_first() -> None:
    assert PROVIDERS[0] == "rules" and set(PROVIDERS) == {"rules", "ollama", "openai",
                                                           "anthropic", "auto"}


def test_build_analyst_when_rules_then_no_llm_sdk_is_imported() -> None:
    code = (
        "import sys\n"
        "from robo_tui.config import Settings\n"
        "from robo_tui.adapters.llm import build_analyst\n"
        "build_analyst('rules', Settings())\n"
        "print(sorted(m for m in ('openai', 'anthropic', 'ollama') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
