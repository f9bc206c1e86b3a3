"""Local fake LLM servers on 127.0.0.1 that speak the real wire formats.

Each server is a standard-library `ThreadingHTTPServer` on port 0 in a daemon thread. A test
scripts its answers per route (a list consumed in order, the last one repeating, or a function of
the request) and reads back every request the SDK sent (`requests`), so tests can assert on the
exact body on the wire. A scripted `Reply` may sleep (to provoke timeouts) or fail with a status.

- `OllamaServer`: `/api/tags`, `/api/show`, `/api/chat` (non-streaming).
- `OpenAIServer`: `/v1/chat/completions`.
- `AnthropicServer`: `/v1/messages`.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Recorded:
    """One request a server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def json(self) -> dict[str, Any]:
        """The body as a JSON object."""
        assert isinstance(self.body, dict), f"body is not a JSON object: {self.body!r}"
        return self.body


@dataclass
class Reply:
    """A scripted HTTP answer."""

    body: Any
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


Script = Callable[[Recorded], Reply]


class FakeServer:
    """A threaded HTTP server with scripted routes and a record of what it received."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._routes: dict[tuple[str, str], list[Reply] | Script] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.in_flight = 0
        self.max_in_flight = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # headers and body go out in separate writes: without this, Nagle's algorithm
                # and delayed ACKs add ~40 ms to every local call
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                path = self.path.split("?", 1)[0]
                rec = Recorded(method, path, {k.lower(): v for k, v in self.headers.items()}, body)
                reply = server._dispatch(rec)
                with server._lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if reply.delay:
                        server._stopping.wait(reply.delay)
                    payload = (
                        reply.body.encode()
                        if isinstance(reply.body, str)
                        else json.dumps(reply.body).encode()
                    )
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # -- scripting -----------------------------------------------------------------------------

    def route(self, method: str, path: str, *replies: Reply | Script) -> None:
        """Script a route: replies in order (the last repeats), or one function of the request."""
        if len(replies) == 1 and callable(replies[0]) and not isinstance(replies[0], Reply):
            self._routes[(method, path)] = replies[0]
        else:
            self._routes[(method, path)] = [r for r in replies if isinstance(r, Reply)]

    def _dispatch(self, rec: Recorded) -> Reply:
        with self._lock:
            self.requests.append(rec)
            script = self._routes.get((rec.method, rec.path))
            if script is None:
                return Reply({"error": f"no route {rec.method} {rec.path}"}, status=404)
            if callable(script):
                return script(rec)
            if not script:
                return Reply({"error": "nothing scripted"}, status=500)
            return script.pop(0) if len(script) > 1 else script[0]

    def calls(self, path: str) -> list[Recorded]:
        """The requests received on `path`, oldest first."""
        return [r for r in self.requests if r.path == path]

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port>"""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()


# ---------------------------------------------------------------------------------------------
# Ollama


def ollama_model(
    name: str,
    *,
    size_gb: float,
    parameter_size: str,
    quantization: str = "Q4_K_M",
    family: str = "llama",
) -> dict[str, Any]:
    """One `/api/tags` entry, as Ollama lists it."""
    return {
        "name": name,
        "model": name,
        "modified_at": "2026-01-02T10:00:00.000000000Z",
        "size": int(size_gb * 1e9),
        "digest": f"sha256:{abs(hash(name)):064x}"[:71],
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": family,
            "families": [family],
            "parameter_size": parameter_size,
            "quantization_level": quantization,
        },
    }


def ollama_chat_reply(
    content: str, *, model: str = "llama3.1:8b", done_reason: str = "stop", thinking: str = ""
) -> dict[str, Any]:
    """A non-streaming `/api/chat` answer."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if thinking:
        message["thinking"] = thinking
    return {
        "model": model,
        "created_at": "2026-01-05T14:30:01.000000Z",
        "message": message,
        "done": True,
        "done_reason": done_reason,
        "total_duration": 1_200_000_000,
        "load_duration": 10_000_000,
        "prompt_eval_count": 900,
        "prompt_eval_duration": 300_000_000,
        "eval_count": 80,
        "eval_duration": 800_000_000,
    }


class OllamaServer(FakeServer):
    """Speaks Ollama's `/api/tags`, `/api/show` and `/api/chat`."""

    def __init__(self, models: list[dict[str, Any]]) -> None:
        super().__init__()
        self.models = models
        self.route("GET", "/api/tags", lambda rec: Reply({"models": self.models}))
        self.route("POST", "/api/show", self._show)

    def _show(self, rec: Recorded) -> Reply:
        name = (rec.body or {}).get("model") or (rec.body or {}).get("name")
        for m in self.models:
            if m["name"] == name:
                d = m["details"]
                count = _parse_params(d["parameter_size"])
                return Reply(
                    {
                        "modelfile": f"FROM {name}",
                        "parameters": "stop \"<|eot_id|>\"",
                        "template": "{{ .Prompt }}",
                        "details": d,
                        "model_info": {
                            "general.architecture": d["family"],
                            "general.parameter_count": count,
                            f"{d['family']}.context_length": 131072,
                        },
                        "capabilities": ["completion", "tools"],
                        "modified_at": m["modified_at"],
                    }
                )
        return Reply({"error": f"model '{name}' not found"}, status=404)

    def chat(self, *replies: Reply | Script) -> None:
        """Script `/api/chat`."""
        self.route("POST", "/api/chat", *replies)


def _parse_params(text: str) -> int:
    scale = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
    return round(float(text[:-1]) * scale[text[-1].upper()])


# ---------------------------------------------------------------------------------------------
# OpenAI


def openai_completion(
    content: str | None,
    *,
    model: str = "gpt-5-2025-08-07",
    finish_reason: str = "stop",
    refusal: str | None = None,
) -> dict[str, Any]:
    """A `chat.completion` object."""
    return {
        "id": "chatcmpl-test-1",
        "object": "chat.completion",
        "created": 1_767_623_400,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": content,
                    "refusal": refusal,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {"prompt_tokens": 900, "completion_tokens": 80, "total_tokens": 980},
        "service_tier": "default",
        "system_fingerprint": "fp_test",
    }


def openai_error(message: str, *, code: str = "server_error", kind: str = "server_error") -> dict[str, Any]:
    """An OpenAI error body."""
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class OpenAIServer(FakeServer):
    """Speaks OpenAI's `/v1/chat/completions`."""

    PATH = "/v1/chat/completions"

    def completions(self, *replies: Reply | Script) -> None:
        """Script `/v1/chat/completions`."""
        self.route("POST", self.PATH, *replies)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"


# ---------------------------------------------------------------------------------------------
# Anthropic


def anthropic_message(
    content: list[dict[str, Any]],
    *,
    stop_reason: str = "tool_use",
    model: str = "claude-sonnet-4-5-20250929",
) -> dict[str, Any]:
    """A `message` object."""
    return {
        "id": "msg_test_1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 900, "output_tokens": 80},
    }


def anthropic_tool_use(data: Any, *, tool_id: str = "toolu_01", name: str = "propose_trade_idea") -> dict[str, Any]:
    """A `tool_use` content block."""
    return {"type": "tool_use", "id": tool_id, "name": name, "input": data}


def anthropic_error(message: str, *, kind: str = "api_error") -> dict[str, Any]:
    """An Anthropic error body."""
    return {"type": "error", "error": {"type": kind, "message": message}}


class AnthropicServer(FakeServer):
    """Speaks Anthropic's `/v1/messages`."""

    PATH = "/v1/messages"

    def messages(self, *replies: Reply | Script) -> None:
        """Script `/v1/messages`."""
        self.route("POST", self.PATH, *replies)


def running(server: FakeServer) -> Iterator[FakeServer]:
    """Start a server for a fixture and stop it afterwards."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


def wait_until(predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
    """Poll `predicate` until true or the timeout passes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
