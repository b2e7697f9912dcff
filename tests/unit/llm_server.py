"""A scripted local LLM HTTP server for adapter tests (real SDK, real socket, no mocks).

Speaks just enough of two wire formats:

* OpenAI: ``POST /v1/chat/completions`` and ``GET /v1/models``
* Anthropic: ``POST /v1/messages``

A `Reply` with `events` answers as a Server-Sent Events stream (`text/event-stream`), one event
every `event_delay` seconds; `openai_stream` and `anthropic_stream` build the two providers'
event sequences, and `sent_at` records when each event went out. `cut_after=N` promises the
whole body (a content-length) but sends only its first N events and closes: a connection that
breaks mid-stream.

Each request pops the next scripted `Reply` from one FIFO queue, whatever its path, and is
recorded (method, path, headers, parsed JSON body) so tests can assert what the SDK sent. An
empty queue answers 418 with a clear message, so an unexpected extra request fails loudly
(418 is a non-retryable 4xx for both SDKs and for our error mapping).

Usage::

    with LLMServer() as server:
        server.enqueue(Reply(429), Reply(body=openai_chat("hi")))
        client = openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0)

`stop()` cancels any in-progress ``delay`` and joins the handler threads, so no thread or
socket outlives the test (pytest runs with ``filterwarnings = error``).
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One scripted response. A dict/list body is sent as JSON; str/bytes are sent verbatim."""

    status: int = 200
    body: Any = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    events: tuple[str, ...] | None = None
    event_delay: float = 0.0
    cut_after: int | None = None


@dataclass(frozen=True)
class Recorded:
    """One request the server received. `json` is None when the body is empty or not JSON."""

    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    json: Any


def openai_chat(
    text: str | None,
    *,
    prompt_tokens: int = 11,
    completion_tokens: int = 7,
    model: str = "gpt-test",
    finish_reason: str = "stop",
) -> dict[str, Any]:
    """A `/v1/chat/completions` response body."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def openai_models(*ids: str) -> dict[str, Any]:
    """A `/v1/models` response body."""
    return {
        "object": "list",
        "data": [{"id": i, "object": "model", "created": 0, "owned_by": "test"} for i in ids],
    }


def openai_error(message: str, *, type_: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": None}}


def anthropic_message(
    text: str,
    *,
    input_tokens: int = 13,
    output_tokens: int = 5,
    model: str = "claude-test",
    stop_reason: str = "end_turn",
) -> dict[str, Any]:
    """A `/v1/messages` response body."""
    return {
        "id": "msg_test",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def anthropic_error(message: str, *, type_: str = "invalid_request_error") -> dict[str, Any]:
    return {"type": "error", "error": {"type": type_, "message": message}}


def sse(data: Any, *, event: str | None = None) -> str:
    """One Server-Sent Event; a non-str `data` is sent as JSON."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data if isinstance(data, str) else json.dumps(data)}\n\n"


def openai_stream(
    texts: list[str],
    *,
    finish_reason: str | None = "stop",
    usage: tuple[int, int, int] | None = (11, 7, 0),
    model: str = "gpt-test",
    done: bool = True,
) -> tuple[str, ...]:
    """A streamed `/v1/chat/completions` answer: a role chunk, one chunk per text, the finish
    chunk, then (with `usage` = prompt, completion, cached tokens) the usage chunk with no
    choices that `stream_options.include_usage` asks for, and `[DONE]`."""

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
        return sse({"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1_700_000_000,
                    "model": model, "choices": choices, **extra})

    def choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}

    out = [chunk([choice({"role": "assistant", "content": ""})])]
    out += [chunk([choice({"content": text})]) for text in texts]
    if finish_reason is not None:
        out.append(chunk([choice({}, finish_reason)]))
    if usage is not None:
        prompt, completion, cached = usage
        out.append(chunk([], usage={"prompt_tokens": prompt, "completion_tokens": completion,
                                    "total_tokens": prompt + completion,
                                    "prompt_tokens_details": {"cached_tokens": cached}}))
    if done:
        out.append(sse("[DONE]"))
    return tuple(out)


def anthropic_stream(
    texts: list[str],
    *,
    stop_reason: str = "end_turn",
    input_tokens: int = 13,
    output_tokens: int = 5,
    cache_read: int = 0,
    model: str = "claude-test",
) -> tuple[str, ...]:
    """A streamed `/v1/messages` answer: message_start (input usage), a text block of one
    delta per text with a ping among them, message_delta (stop reason, output usage) and
    message_stop."""
    start = {"type": "message_start", "message": {
        "id": "msg_test", "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1, "cache_read_input_tokens": cache_read,
                  "cache_creation_input_tokens": 0}}}
    out = [sse(start, event="message_start"),
           sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
               event="content_block_start"),
           sse({"type": "ping"}, event="ping")]
    out += [sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
                event="content_block_delta") for text in texts]
    out += [sse({"type": "content_block_stop", "index": 0}, event="content_block_stop"),
            sse({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                 "usage": {"output_tokens": output_tokens}}, event="message_delta"),
            sse({"type": "message_stop"}, event="message_stop")]
    return tuple(out)


class _Server(http.server.ThreadingHTTPServer):
    # Join handler threads on close so nothing outlives the test.
    daemon_threads = False
    block_on_close = True

    def __init__(self, owner: LLMServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.owner = owner


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: no idle keep-alive to join
    timeout = 10  # a stuck client read cannot hang stop()

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        pass  # keep test output clean

    def _serve(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        owner._record(
            Recorded(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                raw=raw,
                json=parsed,
            )
        )
        reply = owner._next_reply()
        if reply.delay and owner._stopping.wait(reply.delay):
            return  # server is stopping: drop the connection without answering
        if reply.events is not None:
            self._stream(reply)
            return
        if isinstance(reply.body, bytes):
            payload = reply.body
        elif isinstance(reply.body, str):
            payload = reply.body.encode()
        elif reply.body is None:
            payload = b""
        else:
            payload = json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            self.send_header("content-type", reply.content_type)
            self.send_header("content-length", str(len(payload)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its timeout fired first)


    def _stream(self, reply: Reply) -> None:
        owner = self.server.owner
        events = [event.encode() for event in reply.events or ()]
        try:
            self.send_response(reply.status)
            self.send_header("content-type", "text/event-stream")
            if reply.cut_after is not None:
                self.send_header("content-length", str(sum(map(len, events))))  # promised, then cut
                events = events[:reply.cut_after]
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            for i, event in enumerate(events):
                if i and reply.event_delay and owner._stopping.wait(reply.event_delay):
                    return
                self.wfile.write(event)
                self.wfile.flush()
                owner._sent(time.monotonic())
        except (BrokenPipeError, ConnectionResetError):
            pass


class LLMServer:
    """A scripted OpenAI/Anthropic-compatible server on 127.0.0.1 with an ephemeral port."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._replies: deque[Reply] = deque()
        self._requests: list[Recorded] = []
        self._sent_at: list[float] = []
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -------------------------------------------------------------------------------

    def start(self) -> LLMServer:
        self._httpd = _Server(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Cancel pending delays, stop serving, join every thread and close the socket."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # addresses -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_base_url(self) -> str:
        """What `AsyncOpenAI(base_url=...)` expects: the SDK appends `/chat/completions`."""
        return f"{self.base_url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """What `AsyncAnthropic(base_url=...)` expects: the SDK appends `/v1/messages`."""
        return self.base_url

    # script and record -----------------------------------------------------------------------

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    @property
    def pending(self) -> int:
        """Scripted replies not yet served."""
        with self._lock:
            return len(self._replies)

    @property
    def sent_at(self) -> list[float]:
        """`time.monotonic()` when each streamed event was written, in order."""
        with self._lock:
            return list(self._sent_at)

    def _sent(self, at: float) -> None:
        with self._lock:
            self._sent_at.append(at)

    def _record(self, request: Recorded) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_reply(self) -> Reply:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
        return Reply(418, {"error": {"message": "llm_server: no scripted reply left"}})
