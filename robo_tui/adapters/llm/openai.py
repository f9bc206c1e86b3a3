"""OpenAI analyst: Chat Completions with a strict JSON-schema structured output.

The official async client is built from the configured key (a `SecretStr`, read once here) and
base URL. The answer must match `IDEA_JSON_SCHEMA` (`strict: true`); a refusal
(`message.refusal`, or `finish_reason` "content_filter") and a cut-off answer (`finish_reason`
"length") are abstentions with their reason. Reasoning models (gpt-5, o-series) get no
temperature, which they do not accept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from robo_tui.adapters.llm.base import (
    Completion,
    HostedAnalyst,
    ProviderError,
    Repair,
    messages_for,
)
from robo_tui.adapters.llm.prompts import Prompt
from robo_tui.domain.ideas import idea_json_schema

if TYPE_CHECKING:
    import openai

DEFAULT_BASE_URL = "https://api.openai.com/v1"
SCHEMA_NAME = "trade_idea"
_REASONING_PREFIXES = ("gpt-5", "o1", "o3", "o4")


def accepts_temperature(model: str) -> bool:
    """Whether a model takes a temperature (reasoning models only run at their default)."""
    base = model.rsplit("/", 1)[-1].lower()
    return not base.startswith(_REASONING_PREFIXES)


def response_format(symbol: str | None) -> dict[str, Any]:
    """The `response_format` sent: the idea schema as a strict JSON schema."""
    return {
        "type": "json_schema",
        "json_schema": {
            "name": SCHEMA_NAME,
            "description": "One trade idea for the requested symbol; never a size or a mode.",
            "strict": True,
            "schema": idea_json_schema([symbol] if symbol else None),
        },
    }


class OpenAIAnalyst(HostedAnalyst):
    """OpenAI models (default gpt-5) through the official SDK's async client."""

    name: ClassVar[str] = "openai"

    label: ClassVar[str] = "OpenAI"
    key_setting: ClassVar[str] = "openai_api_key"
    model_setting: ClassVar[str] = "openai_model"
    base_url_setting: ClassVar[str] = "openai_base_url"
    default_base_url: ClassVar[str] = DEFAULT_BASE_URL
    sdk_module: ClassVar[str] = "openai"
    _client: openai.AsyncOpenAI | None

    def _make_client(self, api_key: str) -> openai.AsyncOpenAI:
        import openai  # lazy: the paper default never loads it

        return openai.AsyncOpenAI(
            api_key=api_key,
            base_url=self.base_url,
            timeout=self.timeout + 5.0,
            max_retries=self.config.transport_retries,
            http_client=openai.DefaultAsyncHttpxClient(event_hooks=self._origin_guard()),
        )

    async def _complete(self, prompt: Prompt, model: str, repair: Repair | None) -> Completion:
        client = self._require_client()
        import openai

        response = await client.chat.completions.create(
            model=model,
            messages=cast(Any, messages_for(prompt, repair)),
            response_format=cast(Any, response_format(prompt.symbol)),
            max_completion_tokens=self.config.max_output_tokens,
            temperature=0 if accepts_temperature(model) else openai.omit,
        )
        if not response.choices:
            raise ProviderError("OpenAI answered with no choices")
        choice = response.choices[0]
        message = choice.message
        answered = str(response.model or model)
        if message.refusal:
            return Completion(text=message.refusal, model=answered, refusal=message.refusal)
        if choice.finish_reason == "content_filter":
            return Completion(
                text=message.content or "", model=answered, refusal="blocked by the content filter"
            )
        if choice.finish_reason == "length":
            return Completion(
                text=message.content or "",
                model=answered,
                incomplete="the token limit was reached (finish_reason length)",
            )
        return Completion(text=message.content or "", model=answered)
