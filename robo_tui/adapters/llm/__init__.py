"""Analysts behind the `Analyst` port, built by name: rules, ollama, openai, anthropic, auto.

`build_analyst` imports only the adapter it is asked for, inside the call, so the offline default
(`rules`) never loads an LLM SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from robo_tui.config import Settings
    from robo_tui.ports import Analyst, FallbackListener, Store

PROVIDERS: tuple[str, ...] = ("rules", "ollama", "openai", "anthropic", "auto")
"""Every analyst name `build_analyst` knows, the offline default first."""

_ADAPTERS: dict[str, tuple[str, str, bool]] = {
    # name: (module, class, whether it is a fallback chain that reports its moves)
    "rules": ("robo_tui.adapters.llm.rules", "RulesAnalyst", False),
    "ollama": ("robo_tui.adapters.llm.ollama", "OllamaAnalyst", False),
    "openai": ("robo_tui.adapters.llm.openai", "OpenAIAnalyst", False),
    "anthropic": ("robo_tui.adapters.llm.anthropic", "AnthropicAnalyst", False),
    "auto": ("robo_tui.adapters.llm.auto", "AutoAnalyst", True),
}


class AnalystUnavailableError(RuntimeError):
    """The named analyst cannot be built here (its module or SDK is missing)."""


def build_analyst(name: str, settings: Settings, *, model: str | None = None,
                  store: Store | None = None,
                  on_fallback: FallbackListener | None = None) -> Analyst:
    """The analyst called `name`, for `model` (None: the provider's configured default or policy).

    A fallback chain (`auto`) reports each move to `on_fallback`; other analysts never move.
    Raises `ValueError` for an unknown name and `AnalystUnavailableError` when the adapter (or
    the SDK it needs) cannot be imported.
    """
    try:
        module_name, class_name, chain = _ADAPTERS[name]
    except KeyError:
        raise ValueError(
            f"unknown analyst {name!r}; choose one of {', '.join(PROVIDERS)}"
        ) from None
    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, class_name)
    except (ImportError, AttributeError) as exc:
        raise AnalystUnavailableError(f"analyst {name!r} is unavailable: {exc}") from exc
    if chain:
        return cast("Analyst", cls(settings, model=model, store=store, on_fallback=on_fallback))
    return cast("Analyst", cls(settings, model=model, store=store))


__all__ = ["PROVIDERS", "AnalystUnavailableError", "build_analyst"]
