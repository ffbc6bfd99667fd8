"""A scripted fake of the OpenAI Responses API, enough to drive the real Codex CLI (0.171) offline.

Codex posts every model request to ``POST {base_url}/responses`` with ``stream: true`` and reads the
answer as server-sent events. Each main-turn request pops the next scripted :class:`Turn`::

    with FakeOpenAI() as fake:
        fake.script(call("exec_command", {"cmd": "echo hi"}), text("done"))
        ...  # point Codex at fake.base_url
        assert "hi" in fake.function_outputs()[...]

Requests that are not main turns never consume the script: the auto-review ("guardian") model call
gets :attr:`FakeOpenAI.guardian` as its verdict, and requests without tools (compaction) get "ok".
Stdlib only; the server runs on 127.0.0.1 on a free port in a background thread.
"""

from __future__ import annotations

import gzip
import itertools
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

__all__ = [
    "FakeOpenAI",
    "RecordedRequest",
    "Turn",
    "add_file_patch",
    "call",
    "patch",
    "text",
    "turn",
]

RequestKind = Literal["turn", "guardian", "other"]
_ids = itertools.count(1)


def _new_id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):06d}"


@dataclass(frozen=True)
class Turn:
    """One scripted model response: output items, streamed in order."""

    items: tuple[dict[str, Any], ...]
    total_tokens: int = 100  # reported usage; raise it (dataclasses.replace) to force compaction


def call(
    name: str,
    arguments: Mapping[str, Any],
    *,
    call_id: str | None = None,
    namespace: str | None = None,
) -> Turn:
    """A function tool call, e.g. ``call("exec_command", {"cmd": "ls"})``."""
    item: dict[str, Any] = {
        "type": "function_call",
        "id": _new_id("fc"),
        "call_id": call_id or _new_id("call"),
        "name": name,
        "arguments": json.dumps(dict(arguments)),
    }
    if namespace is not None:
        item["namespace"] = namespace
    return Turn((item,))


def patch(patch_text: str, *, call_id: str | None = None) -> Turn:
    """An ``apply_patch`` call: Codex 0.171 exposes it as a freeform (custom) tool."""
    item = {
        "type": "custom_tool_call",
        "id": _new_id("ctc"),
        "call_id": call_id or _new_id("call"),
        "name": "apply_patch",
        "input": patch_text,
    }
    return Turn((item,))


def add_file_patch(path: str, content: str) -> str:
    """Patch text that creates ``path`` (absolute, or relative to Codex's cwd) with ``content``."""
    body = "".join(f"+{line}\n" for line in content.splitlines())
    return f"*** Begin Patch\n*** Add File: {path}\n{body}*** End Patch\n"


def text(message: str) -> Turn:
    """An assistant message; with no tool call in the response, Codex ends the turn."""
    item = {
        "type": "message",
        "id": _new_id("msg"),
        "role": "assistant",
        "content": [{"type": "output_text", "text": message, "annotations": []}],
    }
    return Turn((item,))


def turn(*turns: Turn) -> Turn:
    """Several items in one response, e.g. two tool calls the model makes at once."""
    return Turn(tuple(item for part in turns for item in part.items))


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake saw it; ``kind`` says whether it consumed a scripted turn."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    kind: RequestKind


@dataclass
class _State:
    turns: list[Turn] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    unscripted: int = 0


class FakeOpenAI:
    """The fake server. Use as a context manager; every public method is thread-safe."""

    def __init__(self, *, guardian: Literal["allow", "deny"] = "deny") -> None:
        self.guardian = guardian
        self._state = _State()
        self._cond = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What to put in a model provider's ``base_url``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    # -- scripting --------------------------------------------------------------------------

    def script(self, *turns: Turn) -> None:
        """Queue model responses, one per main-turn request."""
        with self._cond:
            self._state.turns.extend(turns)

    @property
    def remaining(self) -> int:
        """Scripted turns not yet consumed."""
        with self._cond:
            return len(self._state.turns)

    @property
    def unscripted(self) -> int:
        """Main-turn requests that arrived after the script ran out (answered with a stub text)."""
        with self._cond:
            return self._state.unscripted

    # -- what Codex sent --------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, in arrival order."""
        with self._cond:
            return list(self._state.requests)

    def bodies(self, kind: RequestKind | None = "turn") -> list[dict[str, Any]]:
        """Request bodies of one kind (main turns by default; ``None`` for all)."""
        return [r.body for r in self.requests if kind is None or r.kind == kind]

    def function_outputs(self) -> dict[str, str]:
        """``call_id`` → the tool result text Codex sent back to the model for that call."""
        outputs: dict[str, str] = {}
        for body in self.bodies():
            for item in body.get("input", []):
                if item.get("type") in ("function_call_output", "custom_tool_call_output"):
                    outputs[item["call_id"]] = _output_text(item.get("output"))
        return outputs

    def wait_for_requests(self, count: int, *, kind: RequestKind | None = "turn",
                          timeout: float = 30) -> None:
        """Block until at least ``count`` requests of ``kind`` arrived; TimeoutError otherwise."""
        def enough() -> bool:
            return sum(kind is None or r.kind == kind for r in self._state.requests) >= count

        with self._cond:
            if not self._cond.wait_for(enough, timeout=timeout):
                raise TimeoutError(f"fake OpenAI: fewer than {count} {kind} requests in {timeout}s")

    # -- serving ----------------------------------------------------------------------------

    def _answer(self, recorded: RecordedRequest) -> Turn:
        with self._cond:
            self._state.requests.append(recorded)
            self._cond.notify_all()
            if recorded.kind == "guardian":
                return text(json.dumps(self._verdict()))
            if recorded.kind == "other":
                return text("ok")
            if self._state.turns:
                return self._state.turns.pop(0)
            self._state.unscripted += 1
            return text("fake OpenAI: the script has run out")

    def _verdict(self) -> dict[str, str]:
        allow = self.guardian == "allow"
        return {
            "outcome": self.guardian,
            "risk_level": "low" if allow else "high",
            "rationale": "scripted fake guardian verdict",
        }


def _classify(headers: Mapping[str, str], body: Mapping[str, Any]) -> RequestKind:
    metadata = body.get("client_metadata") or {}
    if "guardian" in (headers.get("x-openai-subagent"), metadata.get("x-openai-subagent")):
        return "guardian"
    schema = ((body.get("text") or {}).get("format") or {}).get("schema") or {}
    if {"outcome", "risk_level"} <= set(schema.get("properties") or {}):
        return "guardian"
    return "turn" if body.get("tools") else "other"


def _output_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return "".join(part.get("text", "") for part in output if isinstance(part, dict))
    return json.dumps(output)


def _sse(scripted: Turn, model: str) -> bytes:
    response_id = _new_id("resp")
    base = {"id": response_id, "object": "response", "model": model}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": {**base, "status": "in_progress", "output": []}},
        {"type": "response.in_progress", "response": {**base, "status": "in_progress"}},
    ]
    for index, item in enumerate(scripted.items):
        events.append({"type": "response.output_item.added", "output_index": index,
                       "item": {**item, "status": "in_progress"}})
        if item["type"] == "message":
            events.append({"type": "response.output_text.delta", "item_id": item["id"],
                           "output_index": index, "content_index": 0,
                           "delta": item["content"][0]["text"]})
        events.append({"type": "response.output_item.done", "output_index": index,
                       "item": {**item, "status": "completed"}})
    tokens = scripted.total_tokens
    usage = {
        "input_tokens": tokens // 2,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": tokens - tokens // 2,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": tokens,
    }
    events.append({"type": "response.completed", "response": {
        **base, "status": "completed", "output": list(scripted.items), "usage": usage}})
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()


def _handler_for(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Encoding") == "gzip":
                raw = gzip.decompress(raw)
            body = json.loads(raw or b"{}")
            headers = {k.lower(): v for k, v in self.headers.items()}
            kind = _classify(headers, body) if self.path.endswith("/responses") else "other"
            recorded = RecordedRequest("POST", self.path, headers, body, kind)
            payload = _sse(fake._answer(recorded), str(body.get("model", "gpt-5.5")))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload)
            self.close_connection = True

        def do_GET(self) -> None:  # noqa: N802
            # Codex may probe a websocket upgrade or /models; refusing makes it fall back to POST.
            self.send_error(404)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler
