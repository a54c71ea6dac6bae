"""The standing adversarial suite: hostile responses through the real clients, every instrumentor.

Hypothesis mutates valid responses of each provider (OpenAI chat, chat
stream, embeddings; Anthropic messages and message streams; Ollama chat and
chat streams; sync and async clients): values replaced by nulls, wrong types,
lone surrogates, megabyte strings, planted credentials; keys deleted; bodies
cut short; error statuses. Each body goes through the real client over its own
transport (``MockTransport`` of httpx / httpx2; nothing else is mocked), once
with the instrumentation stepping aside (``suppress_instrumentation``: the
wrapper calls straight through) and once instrumented, and the suite asserts:

* the caller gets the same result (or the same exception) both times, and an
  exception the caller gets was not raised in otel-agentkit's code;
* every span started ended exactly once;
* ``/metrics`` still renders and the spans still encode as an OTLP batch;
* no planted credential appears in any span, event or metric.

Examples are bounded (and derandomized) to keep the suite's time small.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import json
import logging
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry, generate_latest

from otel_agentkit.instrumentation.anthropic import AnthropicInstrumentor
from otel_agentkit.instrumentation.ollama import OllamaInstrumentor
from otel_agentkit.instrumentation.openai import OpenAIInstrumentor
from otel_agentkit.telemetry._setup import build_views

PLANTED = "sk-proj-PLANTEDplantedPLANTED0123"
PLANTED_PARTS = ("PLANTEDplanted", "hunter2hunter2")

HOSTILE_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            "gpt-4o\ud800",
            "\udfff",
            "m" * 50_000,
            f"Bearer {PLANTED}",
            "http://admin:hunter2hunter2@internal/v1",
            "",
            "\x00",
        ]
    ),
    st.lists(st.integers(max_value=5), max_size=3),
    st.dictionaries(st.sampled_from(["index", "type", "id"]), st.integers(), max_size=2),
)


# -- valid responses to mutate ----------------------------------------------------------


def _openai_chat() -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": "hi",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "f", "arguments": '{"a": 1}'},
                        }
                    ],
                },
            }
        ],
        "usage": {
            "prompt_tokens": 3,
            "completion_tokens": 2,
            "total_tokens": 5,
            "prompt_tokens_details": {"cached_tokens": 1},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }


def _openai_chunks() -> list[dict[str, Any]]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    return [
        chunk({"role": "assistant", "content": "he"}),
        chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f"}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]}),
        chunk({"content": "llo"}, "stop"),
        {
            **chunk({}),
            "choices": [],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        },
    ]


def _openai_embeddings() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 2, "total_tokens": 2},
    }


def _anthropic_message() -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [
            {"type": "text", "text": "hi"},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 3,
            "output_tokens": 2,
            "cache_read_input_tokens": 1,
            "cache_creation_input_tokens": 0,
        },
    }


def _anthropic_events() -> list[dict[str, Any]]:
    start = _anthropic_message()
    start["content"] = []
    return [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 2},
        },
        {"type": "message_stop"},
    ]


def _ollama_chat() -> dict[str, Any]:
    return {
        "model": "llama3",
        "created_at": "2024-01-01T00:00:00Z",
        "message": {
            "role": "assistant",
            "content": "hi",
            "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}],
        },
        "done": True,
        "done_reason": "stop",
        "total_duration": 10,
        "load_duration": 1,
        "prompt_eval_count": 3,
        "prompt_eval_duration": 2,
        "eval_count": 2,
        "eval_duration": 3,
    }


def _ollama_lines() -> list[dict[str, Any]]:
    first = _ollama_chat()
    first.update(done=False, message={"role": "assistant", "content": "h"})
    for key in ("done_reason", "total_duration", "prompt_eval_count", "eval_count"):
        first.pop(key)
    return [first, _ollama_chat()]


# -- mutation ----------------------------------------------------------------------------


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


@dataclass(frozen=True)
class Mutation:
    path: tuple[Any, ...]
    delete: bool
    value: Any

    def apply(self, document: Any) -> None:
        parent = document
        for step in self.path[:-1]:
            try:
                parent = parent[step]
            except (KeyError, IndexError, TypeError):
                return  # an earlier mutation replaced this branch
        last = self.path[-1]
        try:
            if self.delete:
                del parent[last]
            else:
                parent[last] = copy.deepcopy(self.value)
        except (KeyError, IndexError, TypeError):
            return


def _mutations(template: Any) -> st.SearchStrategy[list[Mutation]]:
    paths = sorted(set(_paths(template)), key=repr)
    one = st.builds(Mutation, st.sampled_from(paths), st.booleans(), HOSTILE_VALUES)
    return st.lists(one, min_size=1, max_size=3)


@dataclass(frozen=True)
class Body:
    """What the fake transport answers: a status, and body bytes (maybe cut short)."""

    status: int
    content: bytes
    content_type: str


STATUSES = st.sampled_from([200, 200, 200, 200, 400, 401, 429, 500])


def _error_body(status: int) -> bytes:
    detail = f"denied for {PLANTED} at http://admin:hunter2hunter2@internal/v1 \ud800"
    return json.dumps({"error": {"message": detail, "type": "x"}, "type": "error"}).encode()


def _cut(content: bytes, cut: int | None) -> bytes:
    return content if cut is None else content[: cut % (len(content) + 1)]


def _json_body(template: Callable[[], Any]) -> st.SearchStrategy[Body]:
    @st.composite
    def body(draw: Any) -> Body:
        status = draw(STATUSES)
        if status != 200:
            return Body(status, _error_body(status), "application/json")
        document = template()
        for mutation in draw(_mutations(document)):
            mutation.apply(document)
        content = json.dumps(document).encode()
        return Body(200, _cut(content, draw(st.none() | st.integers(0, 10**6))), "application/json")

    return body()


def _stream_body(
    template: Callable[[], list[dict[str, Any]]], framing: str
) -> st.SearchStrategy[Body]:
    @st.composite
    def body(draw: Any) -> Body:
        status = draw(STATUSES)
        if status != 200:
            return Body(status, _error_body(status), "application/json")
        events = template()
        for mutation in draw(_mutations(events)):
            mutation.apply(events)
        if framing == "ndjson":
            content = b"".join(json.dumps(e).encode() + b"\n" for e in events)
            kind = "application/x-ndjson"
        else:
            parts = []
            for event in events:
                name = event.get("type") if framing == "named" and isinstance(event, dict) else None
                head = f"event: {name}\n" if isinstance(name, str) else ""
                parts.append(f"{head}data: {json.dumps(event)}\n\n".encode())
            if framing == "sse":
                parts.append(b"data: [DONE]\n\n")
            content = b"".join(parts)
            kind = "text/event-stream"
        if draw(st.booleans()):
            content += draw(st.sampled_from([b"data: {not json\n\n", b"\xff\xfe garbage\n", b""]))
        return Body(200, _cut(content, draw(st.none() | st.integers(0, 10**6))), kind)

    return body()


# -- the clients ------------------------------------------------------------------------


def _handler(http: Any, body: Body) -> Callable[[Any], Any]:
    def handle(request: Any) -> Any:
        return http.Response(
            body.status, headers={"content-type": body.content_type}, content=body.content
        )

    return handle


def _anthropic_http() -> Any:
    import anthropic._base_client as base

    return getattr(base, "httpx2", None) or base.httpx


def _openai(body: Body, is_async: bool) -> Any:
    import openai

    kwargs: dict[str, Any] = {"api_key": PLANTED, "base_url": "https://api.openai.com/v1"}
    if is_async:
        return openai.AsyncOpenAI(
            **kwargs,
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(_handler(httpx, body))),
            max_retries=0,
        )
    return openai.OpenAI(
        **kwargs,
        http_client=httpx.Client(transport=httpx.MockTransport(_handler(httpx, body))),
        max_retries=0,
    )


def _anthropic(body: Body, is_async: bool) -> Any:
    import anthropic

    http = _anthropic_http()
    transport = http.MockTransport(_handler(http, body))
    if is_async:
        return anthropic.AsyncAnthropic(
            api_key=PLANTED, http_client=http.AsyncClient(transport=transport), max_retries=0
        )
    return anthropic.Anthropic(
        api_key=PLANTED, http_client=http.Client(transport=transport), max_retries=0
    )


def _ollama(body: Body, is_async: bool) -> Any:
    import ollama

    transport = httpx.MockTransport(_handler(httpx, body))
    kind = ollama.AsyncClient if is_async else ollama.Client
    return kind(host="http://127.0.0.1:11434", transport=transport)


@dataclass(frozen=True)
class Path:
    """One instrumented API: its client, its call, and the bodies to send it."""

    name: str
    client: Callable[[Body, bool], Any]
    call: Callable[[Any], Any]
    bodies: st.SearchStrategy[Body]


MESSAGES = [{"role": "user", "content": "hi"}]

PATHS = [
    Path(
        "openai chat",
        _openai,
        lambda c: c.chat.completions.create(model="gpt-4o", messages=MESSAGES),
        _json_body(_openai_chat),
    ),
    Path(
        "openai chat stream",
        _openai,
        lambda c: c.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True),
        _stream_body(_openai_chunks, "sse"),
    ),
    Path(
        "openai embeddings",
        _openai,
        lambda c: c.embeddings.create(model="text-embedding-3-small", input="hi"),
        _json_body(_openai_embeddings),
    ),
    Path(
        "anthropic messages",
        _anthropic,
        lambda c: c.messages.create(model="claude-x", max_tokens=5, messages=MESSAGES),
        _json_body(_anthropic_message),
    ),
    Path(
        "anthropic messages stream",
        _anthropic,
        lambda c: c.messages.create(model="claude-x", max_tokens=5, messages=MESSAGES, stream=True),
        _stream_body(_anthropic_events, "named"),
    ),
    Path(
        "ollama chat",
        _ollama,
        lambda c: c.chat(model="llama3", messages=MESSAGES),
        _json_body(_ollama_chat),
    ),
    Path(
        "ollama chat stream",
        _ollama,
        lambda c: c.chat(model="llama3", messages=MESSAGES, stream=True),
        _stream_body(_ollama_lines, "ndjson"),
    ),
]


# -- outcome of one call ---------------------------------------------------------------


def _describe(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return repr(dump())
    return repr(value)


def _failure(exc: BaseException) -> tuple[str, str]:
    frames = traceback.extract_tb(exc.__traceback__)
    assert not frames or "otel_agentkit" not in frames[-1].filename, (
        f"{type(exc).__name__} raised in our code: {frames[-1]}"
    )
    return (type(exc).__name__, str(exc))


def _outcome_sync(path: Path, body: Body) -> Any:
    try:
        result = path.call(path.client(body, False))
        if (
            hasattr(result, "__iter__")
            and not isinstance(result, (dict, list, str))
            and not hasattr(result, "model_dump")
        ):
            items = []
            try:
                for item in result:
                    items.append(_describe(item))
            except Exception as exc:
                return ("stream", items, _failure(exc))
            return ("stream", items, None)
        return ("ok", _describe(result))
    except Exception as exc:
        return ("raised", _failure(exc))


async def _outcome_async(path: Path, body: Body) -> Any:
    try:
        result = await path.call(path.client(body, True))
        if hasattr(result, "__aiter__"):
            items = []
            try:
                async for item in result:
                    items.append(_describe(item))
            except Exception as exc:
                return ("stream", items, _failure(exc))
            return ("stream", items, None)
        return ("ok", _describe(result))
    except Exception as exc:
        return ("raised", _failure(exc))


def _outcome(path: Path, body: Body, is_async: bool) -> Any:
    if is_async:
        return asyncio.run(_outcome_async(path, body))
    return _outcome_sync(path, body)


# -- telemetry ------------------------------------------------------------------------


class _Ends(SpanProcessor):
    """Counts starts and ends per span."""

    def __init__(self) -> None:
        self.started: dict[int, int] = {}
        self.ended: dict[int, int] = {}

    def on_start(self, span: Span, parent_context: Any = None) -> None:
        key = span.context.span_id
        self.started[key] = self.started.get(key, 0) + 1

    def on_end(self, span: ReadableSpan) -> None:
        key = span.context.span_id
        self.ended[key] = self.ended.get(key, 0) + 1

    def clear(self) -> None:
        self.started.clear()
        self.ended.clear()


class _Warnings(logging.Handler):
    """The SDK's warnings (``end()`` on an ended span, an invalid attribute)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class Harness:
    def __init__(self) -> None:
        self.ends = _Ends()
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(self.ends)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.registry = CollectorRegistry()
        self.meter_provider = MeterProvider(
            metric_readers=[PrometheusMetricReader(registry=self.registry)], views=build_views()
        )
        self.warnings = _Warnings()

    def check(self, planted: bool) -> None:
        gc.collect()  # a dropped stream ends its span when collected
        spans = self.spans.get_finished_spans()
        assert self.ends.started, "no span was started"
        assert self.ends.ended == dict.fromkeys(self.ends.started, 1), "a span did not end once"
        assert not [m for m in self.warnings.messages if "ended span" in m]
        encode_spans(spans).SerializeToString()  # the batch still encodes for OTLP
        exposition = generate_latest(self.registry).decode()  # /metrics still renders
        assert len(exposition) < 1_000_000
        if planted:
            exported = exposition + "".join(
                json.dumps(
                    [
                        s.name,
                        s.status.description,
                        dict(s.attributes or {}),
                        [dict(e.attributes or {}) for e in s.events],
                    ],
                    default=str,
                )
                for s in spans
            )
            for part in PLANTED_PARTS:
                assert part not in exported
        self.ends.clear()
        self.spans.clear()
        self.warnings.messages.clear()


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    found = Harness()
    instrumentors = [OpenAIInstrumentor(), AnthropicInstrumentor(), OllamaInstrumentor()]
    for instrumentor in instrumentors:
        instrumentor.instrument(
            tracer_provider=found.tracer_provider,
            meter_provider=found.meter_provider,
            capture_content=False,
        )
    sdk_logger = logging.getLogger("opentelemetry")
    sdk_logger.addHandler(found.warnings)
    yield found
    sdk_logger.removeHandler(found.warnings)
    for instrumentor in instrumentors:
        instrumentor.uninstrument()
    found.meter_provider.shutdown()


@pytest.fixture(autouse=True)
def _no_anthropic_sdk_tracing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_OPEN_TELEMETRY", "false")


SETTINGS = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic, dumping what a server sent
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_hostile_responses_change_nothing_for_the_app_and_poison_no_telemetry(
    harness: Harness, path: Path, is_async: bool
) -> None:
    @SETTINGS
    @given(body=path.bodies)
    def run(body: Body) -> None:
        with suppress_instrumentation():
            expected = _outcome(path, body, is_async)
        assert not harness.ends.started
        got = _outcome(path, body, is_async)
        assert got == expected
        harness.check(planted=True)

    run()
