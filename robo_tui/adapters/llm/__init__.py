"""Analysts behind the `Analyst` port, built by name: rules, ollama, openai, anthropic, auto.

`build_analyst` imports only the adapter it is asked for, inside the call, so the offline default
(`rules`) never loads an LLM SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from robo_tui.config import Settings
    from robo_tui.ports import Analyst, Store

PROVIDERS: tuple[str, ...] = ("rules", "ollama", "openai", "anthropic", "auto")
"""Every analyst name `build_analyst` knows, the offline default first."""

_ADAPTERS: dict[str, tuple[str, str]] = {
    "rules": ("robo_tui.adapters.llm.rules", "RulesAnalyst"),
    "ollama": ("robo_tui.adapters.llm.ollama", "OllamaAnalyst"),
    "openai": ("robo_tui.adapters.llm.openai", "OpenAIAnalyst"),
    "anthropic": ("robo_tui.adapters.llm.anthropic", "AnthropicAnalyst"),
    "auto": ("robo_tui.adapters.llm.auto", "AutoAnalyst"),
}


class AnalystUnavailableError(RuntimeError):
    """The named analyst cannot be built here (its module or SDK is missing)."""


def build_analyst(name: str, settings: Settings, *, model: str | None = None,
                  store: Store | None = None) -> Analyst:
    """The analyst called `name`, for `model` (None: the provider's configured default or policy).

    Raises `ValueError` for an unknown name and `AnalystUnavailableError` when the adapter (or
    the SDK it needs) cannot be imported.
    """
    try:
        module_name, class_name = _ADAPTERS[name]
    except KeyError:
        raise ValueError(
            f"unknown analyst {name!r}; choose one of {', '.join(PROVIDERS)}"
        ) from None
    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, class_name)
    except (ImportError, AttributeError) as exc:
        raise AnalystUnavailableError(f"analyst {name!r} is unavailable: {exc}") from exc
    return cast("Analyst", cls(settings, model=model, store=store))


__all__ = ["PROVIDERS", "AnalystUnavailableError", "build_analyst"]
