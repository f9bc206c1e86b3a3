"""Anthropic analyst: Messages API tool use with a strict input schema.

The model is forced (`tool_choice`) to call one tool whose `input_schema` is the idea schema with
`strict: true`, so its answer arrives as a structured tool input. The schema is passed through the
SDK's own `transform_schema`, which moves constraints the API does not enforce (number ranges)
into descriptions; `validate_idea` enforces them. `stop_reason` "refusal" is an abstention with
its reason; "max_tokens" (or a full context window) is a cut-off answer. The repair turn answers
the rejected tool call with an error `tool_result`, as the API expects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, cast

from robo_tui.adapters.llm.base import (
    Completion,
    HostedAnalyst,
    Repair,
    dump_json,
)
from robo_tui.adapters.llm.prompts import Prompt
from robo_tui.domain.ideas import idea_json_schema

if TYPE_CHECKING:
    import anthropic

DEFAULT_BASE_URL = "https://api.anthropic.com"
TOOL_NAME = "propose_trade_idea"


def idea_tool(symbol: str | None) -> dict[str, Any]:
    """The one tool the model must call: its input is the trade idea."""
    from anthropic import transform_schema

    return {
        "name": TOOL_NAME,
        "description": (
            "Propose one trade idea for the requested symbol. The idea never carries a size, "
            "quantity, order type, mode or limit: the engine sizes and a risk gate decides."
        ),
        "input_schema": transform_schema(idea_json_schema([symbol] if symbol else None)),
        "strict": True,
    }


class AnthropicAnalyst(HostedAnalyst):
    """Claude models through the official SDK's async client, answering by forced tool use."""

    name: ClassVar[str] = "anthropic"

    label: ClassVar[str] = "Anthropic"
    key_setting: ClassVar[str] = "anthropic_api_key"
    model_setting: ClassVar[str] = "anthropic_model"
    base_url_setting: ClassVar[str] = "anthropic_base_url"
    default_base_url: ClassVar[str] = DEFAULT_BASE_URL
    sdk_module: ClassVar[str] = "anthropic"
    _client: anthropic.AsyncAnthropic | None

    def _make_client(self, api_key: str) -> anthropic.AsyncAnthropic:
        import anthropic  # lazy: the paper default never loads it

        return anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=self.base_url,
            timeout=self.timeout + 5.0,
            max_retries=self.config.transport_retries,
            http_client=anthropic.DefaultAsyncHttpxClient(event_hooks=self._origin_guard()),
        )

    @staticmethod
    def _messages(prompt: Prompt, repair: Repair | None) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = [{"role": "user", "content": prompt.user}]
        if repair is None:
            return messages
        previous = repair.previous
        tool_use_id = previous.handle if isinstance(previous.handle, str) else None
        if tool_use_id is not None:
            messages.append(
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "tool_use",
                            "id": tool_use_id,
                            "name": TOOL_NAME,
                            "input": dict(previous.data or {}),
                        }
                    ],
                }
            )
            messages.append(
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": tool_use_id,
                            "is_error": True,
                            "content": repair.message,
                        }
                    ],
                }
            )
        else:
            messages.append({"role": "assistant", "content": previous.text or "(no answer)"})
            messages.append({"role": "user", "content": repair.message})
        return messages

    async def _complete(self, prompt: Prompt, model: str, repair: Repair | None) -> Completion:
        client = self._require_client()
        response = await client.messages.create(
            model=model,
            max_tokens=self.config.max_output_tokens,
            system=prompt.system,
            messages=cast(Any, self._messages(prompt, repair)),
            tools=[cast(Any, idea_tool(prompt.symbol))],
            tool_choice={"type": "tool", "name": TOOL_NAME},
        )
        answered = str(response.model or model)
        text_parts: list[str] = []
        tool_input: Mapping[str, Any] | None = None
        tool_use_id: str | None = None
        for block in response.content:
            if block.type == "tool_use" and block.name == TOOL_NAME and tool_input is None:
                raw_input = block.input
                tool_input = raw_input if isinstance(raw_input, Mapping) else None
                tool_use_id = block.id
                if tool_input is None:
                    text_parts.append(str(raw_input))
            elif block.type == "text":
                text_parts.append(block.text)
        prose = "\n".join(text_parts).strip()
        if response.stop_reason == "refusal":
            return Completion(text=prose, model=answered, refusal=prose or "stop_reason refusal")
        if response.stop_reason in ("max_tokens", "model_context_window_exceeded"):
            return Completion(
                text=dump_json(tool_input) if tool_input is not None else prose,
                model=answered,
                incomplete=f"the token limit was reached (stop_reason {response.stop_reason})",
            )
        if tool_input is not None:
            audit = dump_json(tool_input) if not prose else f"{prose}\n{dump_json(tool_input)}"
            return Completion(
                text=dump_json(tool_input),
                data=tool_input,
                model=answered,
                handle=tool_use_id,
                audit=audit,
            )
        return Completion(text=prose, model=answered)
