"""Fixtures for the LLM analyst tests: local fake servers for each provider's API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .data import DEFAULT_MODELS
from .servers import AnthropicServer, OllamaServer, OpenAIServer


@pytest.fixture
def ollama_server() -> Iterator[OllamaServer]:
    server = OllamaServer([dict(m) for m in DEFAULT_MODELS])
    server.start()
    yield server
    server.stop()


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    server = OpenAIServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def anthropic_server() -> Iterator[AnthropicServer]:
    server = AnthropicServer()
    server.start()
    yield server
    server.stop()
