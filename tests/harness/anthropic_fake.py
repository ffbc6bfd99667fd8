"""A scripted fake of the Anthropic Messages API for driving the real Claude Code offline.

The test scripts the model's turns; every *main* request (one that carries ``tools``) consumes
the next turn (a :class:`Turn`, or a function of the request body returning one, for turns that
depend on what Claude sent, such as a path from its system prompt). Side requests (title
generation, quota probes, ...) get a short text and leave the script alone. Once the script is
exhausted the model answers with a final text.

    with AnthropicFake() as fake:
        fake.script(tool_use("Bash", {"command": "touch x", "description": "t"}), text("done"))
        ...  # run claude with ANTHROPIC_BASE_URL=fake.base_url
        assert fake.tool_results()[0].is_error is False
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "AnthropicFake",
    "HttpCall",
    "ToolResult",
    "Turn",
    "text",
    "tool_use",
    "turn",
]

DEFAULT_FINAL_TEXT = "All done."
SIDE_TEXT = "Fake side answer"

_ids = itertools.count(1)


def _new_id(prefix: str) -> str:
    return f"{prefix}_fake{next(_ids):06d}"


@dataclass(frozen=True)
class Turn:
    """One scripted assistant message: its content blocks and stop reason."""

    blocks: tuple[dict[str, Any], ...]
    stop_reason: str


def text(value: str) -> Turn:
    """A turn answering with plain text (``end_turn``)."""
    return Turn(({"type": "text", "text": value},), "end_turn")


def tool_use(name: str, input: dict[str, Any], *, id: str | None = None) -> Turn:
    """A turn calling one tool (``stop_reason: tool_use``)."""
    block = {"type": "tool_use", "id": id or _new_id("toolu"), "name": name, "input": input}
    return Turn((block,), "tool_use")


def bash(command: str) -> Turn:
    """A turn calling Bash with ``command``."""
    return tool_use("Bash", {"command": command, "description": "Run it"})


def turn(*parts: Turn) -> Turn:
    """Merge several turns into one message, e.g. text + two parallel tool calls."""
    blocks = tuple(b for p in parts for b in p.blocks)
    uses_tools = any(b["type"] == "tool_use" for b in blocks)
    return Turn(blocks, "tool_use" if uses_tools else "end_turn")


@dataclass(frozen=True)
class ToolResult:
    """A ``tool_result`` block as the model received it."""

    tool_use_id: str
    content: str
    is_error: bool


@dataclass(frozen=True)
class HttpCall:
    """Any HTTP request the fake received (for diagnostics)."""

    method: str
    path: str
    headers: dict[str, str] = field(repr=False)


class AnthropicFake:
    """Threaded fake Messages API on ``127.0.0.1`` (random port); a context manager."""

    def __init__(self, *, final_text: str = DEFAULT_FINAL_TEXT) -> None:
        self.final_text = final_text
        self._lock = threading.Lock()
        self._script: list[Turn | Callable[[dict[str, Any]], Turn]] = []
        self._requests: list[dict[str, Any]] = []
        self._side_requests: list[dict[str, Any]] = []
        self._calls: list[HttpCall] = []
        self._server = _Server(("127.0.0.1", 0), _make_handler(self))
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AnthropicFake:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="anthropic-fake", daemon=True
            )
            self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> AnthropicFake:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- scripting and inspection -----------------------------------------------------------

    def script(self, *turns: Turn | Callable[[dict[str, Any]], Turn]) -> None:
        """Append turns; each main request consumes one. A callable gets the request body."""
        with self._lock:
            self._script.extend(turns)

    @property
    def remaining(self) -> int:
        """Scripted turns not consumed yet."""
        with self._lock:
            return len(self._script)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Bodies of the main requests (those with ``tools``), in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def side_requests(self) -> list[dict[str, Any]]:
        """Bodies of requests without ``tools`` (titles, quota probes, ...)."""
        with self._lock:
            return list(self._side_requests)

    @property
    def calls(self) -> list[HttpCall]:
        """Every HTTP request received, including probes and unknown endpoints."""
        with self._lock:
            return list(self._calls)

    def tool_results(self) -> list[ToolResult]:
        """Distinct ``tool_result`` blocks sent to the model, in first-seen order."""
        seen: dict[str, ToolResult] = {}
        for body in self.requests:
            for message in body.get("messages", []):
                if message.get("role") != "user" or not isinstance(message.get("content"), list):
                    continue
                for block in message["content"]:
                    if block.get("type") == "tool_result" and block["tool_use_id"] not in seen:
                        seen[block["tool_use_id"]] = ToolResult(
                            tool_use_id=block["tool_use_id"],
                            content=_flatten(block.get("content")),
                            is_error=bool(block.get("is_error", False)),
                        )
        return list(seen.values())

    def user_texts(self, request_index: int = -1) -> list[str]:
        """Plain user text blocks of one main request (default: the last one)."""
        out: list[str] = []
        for message in self.requests[request_index].get("messages", []):
            if message.get("role") != "user":
                continue
            content = message.get("content")
            if isinstance(content, str):
                out.append(content)
            elif isinstance(content, list):
                out.extend(b["text"] for b in content if b.get("type") == "text")
        return out

    # -- request handling (called from server threads) -----------------------------------

    def _record_call(self, call: HttpCall) -> None:
        with self._lock:
            self._calls.append(call)

    def _next_turn(self, body: dict[str, Any]) -> Turn:
        with self._lock:
            if not body.get("tools"):
                self._side_requests.append(body)
                return text(SIDE_TEXT)
            self._requests.append(body)
            next_ = self._script.pop(0) if self._script else text(self.final_text)
        return next_ if isinstance(next_, Turn) else next_(body)  # outside the lock


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when Claude drops an idle keep-alive connection; report anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _flatten(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(b.get("text", "") for b in content if isinstance(b, dict))


def _message(turn_: Turn, model: str) -> dict[str, Any]:
    return {
        "id": _new_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [dict(b) for b in turn_.blocks],
        "stop_reason": turn_.stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }


def _sse(turn_: Turn, model: str) -> bytes:
    start = _message(Turn((), turn_.stop_reason), model)
    start["stop_reason"] = None
    start["usage"] = {"input_tokens": 10, "output_tokens": 1}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start})
    ]
    for index, block in enumerate(turn_.blocks):
        if block["type"] == "tool_use":
            head = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        else:
            head = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        events += [
            (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": head},
            ),
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": index}),
        ]
    events += [
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": turn_.stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": 5},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return "".join(f"event: {e}\ndata: {json.dumps(d)}\n\n" for e, d in events).encode()


def _make_handler(fake: AnthropicFake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "anthropic-fake"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _send(self, status: int, payload: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("request-id", _new_id("req"))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def _json(self, status: int, obj: Any) -> None:
            self._send(status, json.dumps(obj).encode(), "application/json")

        def _dispatch(self) -> None:
            fake._record_call(HttpCall(self.command, self.path, dict(self.headers.items())))
            raw = self._read_body() if self.command in ("POST", "PUT", "PATCH") else b""
            path = self.path.split("?", 1)[0].rstrip("/")
            if self.command == "POST" and path == "/v1/messages":
                body = json.loads(raw or b"{}")
                turn_ = fake._next_turn(body)
                model = str(body.get("model", "claude-fake"))
                if body.get("stream"):
                    self._send(200, _sse(turn_, model), "text/event-stream")
                else:
                    self._json(200, _message(turn_, model))
            elif self.command == "POST" and path == "/v1/messages/count_tokens":
                self._json(200, {"input_tokens": max(1, len(raw) // 4)})
            elif self.command in ("GET", "HEAD") and path in ("", "/", "/v1"):
                self._json(200, {"ok": True})
            else:
                self._json(
                    404,
                    {"type": "error", "error": {"type": "not_found_error", "message": self.path}},
                )

        do_GET = do_POST = do_HEAD = do_PUT = do_PATCH = do_DELETE = _dispatch

    return Handler
