"""The analyst registry, by the name `analysts.provider` and `--analyst` use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from robo_tui.registries.base import Extension, Registry

if TYPE_CHECKING:
    from robo_tui.config import Settings
    from robo_tui.ports import Analyst, FallbackListener, Store


class AnalystBuilder(Protocol):
    """Builds an analyst for `model` (None: the provider's default or policy), recording to `store`.

    A fallback chain reports each move to `on_fallback`; other analysts ignore it.
    """

    def __call__(self, settings: Settings, *, model: str | None, store: Store | None,
                 on_fallback: FallbackListener | None) -> Analyst: ...


ANALYSTS: Registry[AnalystBuilder] = Registry("analyst", (
    Extension("rules", "robo_tui.adapters.llm:build_rules",
              "Offline, deterministic rules over the news; the default.", "analysts"),
    Extension("ollama", "robo_tui.adapters.llm:build_ollama",
              "A local model served by Ollama.", "analysts"),
    Extension("openai", "robo_tui.adapters.llm:build_openai",
              "OpenAI (or an OpenAI-compatible API); needs a key.", "analysts"),
    Extension("anthropic", "robo_tui.adapters.llm:build_anthropic",
              "Anthropic's Claude; needs a key.", "analysts"),
    Extension("auto", "robo_tui.adapters.llm:build_auto",
              "A fallback chain over `analysts.auto_order`, rules as the offline floor.", "analysts"),
))
"""Every analyst `analysts.provider` may name, the offline default first."""

CHAIN = "auto"
"""The analyst that is a chain of the others (so it may not appear in `auto_order`)."""
