"""Analysts behind the `Analyst` port, built by name: rules, ollama, openai, anthropic, auto.

The names and where each builder lives are the `ANALYSTS` registry (`robo_tui.registries.analysts`);
the builders below import their adapter inside the call, so the offline default (`rules`) never
loads an LLM SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from robo_tui.registries.analysts import ANALYSTS
from robo_tui.registries.base import ExtensionUnavailableError

if TYPE_CHECKING:
    from robo_tui.config import Settings
    from robo_tui.ports import Analyst, FallbackListener, Store


# The LLM adapters declare `name` as a class variable; the port's `name` is an attribute, so
# they are handed over with a cast (as before the registry).


class AnalystUnavailableError(RuntimeError):
    """The named analyst cannot be built here (its module or SDK is missing)."""


PROVIDERS: tuple[str, ...] = ANALYSTS.names()
"""The built-in analysts, the offline default first (`ANALYSTS.names()` includes later ones)."""


def build_analyst(name: str, settings: Settings, *, model: str | None = None,
                  store: Store | None = None,
                  on_fallback: FallbackListener | None = None) -> Analyst:
    """The analyst called `name`, for `model` (None: the provider's configured default or policy).

    A fallback chain (`auto`) reports each move to `on_fallback`; other analysts never move.
    Raises `ValueError` for an unknown name and `AnalystUnavailableError` when the adapter (or
    the SDK it needs) cannot be imported.
    """
    try:
        builder = ANALYSTS.load(name)
    except ExtensionUnavailableError as exc:
        raise AnalystUnavailableError(str(exc)) from exc
    try:
        return builder(settings, model=model, store=store, on_fallback=on_fallback)
    except ImportError as exc:
        raise AnalystUnavailableError(f"analyst {name!r} is unavailable: {exc}") from exc


def build_rules(settings: Settings, *, model: str | None, store: Store | None,
                on_fallback: FallbackListener | None) -> Analyst:
    """The offline rules analyst (it never falls back)."""
    from robo_tui.adapters.llm.rules import RulesAnalyst

    return RulesAnalyst(settings, model=model, store=store)


def build_ollama(settings: Settings, *, model: str | None, store: Store | None,
                 on_fallback: FallbackListener | None) -> Analyst:
    """A local Ollama model."""
    from robo_tui.adapters.llm.ollama import OllamaAnalyst

    return cast("Analyst", OllamaAnalyst(settings, model=model, store=store))


def build_openai(settings: Settings, *, model: str | None, store: Store | None,
                 on_fallback: FallbackListener | None) -> Analyst:
    """OpenAI or an OpenAI-compatible API."""
    from robo_tui.adapters.llm.openai import OpenAIAnalyst

    return cast("Analyst", OpenAIAnalyst(settings, model=model, store=store))


def build_anthropic(settings: Settings, *, model: str | None, store: Store | None,
                    on_fallback: FallbackListener | None) -> Analyst:
    """Anthropic's Claude."""
    from robo_tui.adapters.llm.anthropic import AnthropicAnalyst

    return cast("Analyst", AnthropicAnalyst(settings, model=model, store=store))


def build_auto(settings: Settings, *, model: str | None, store: Store | None,
               on_fallback: FallbackListener | None) -> Analyst:
    """The fallback chain over `analysts.auto_order`, reporting each move to `on_fallback`."""
    from robo_tui.adapters.llm.auto import AutoAnalyst

    return cast("Analyst", AutoAnalyst(settings, model=model, store=store, on_fallback=on_fallback))


__all__ = ["PROVIDERS", "AnalystUnavailableError", "build_analyst"]
