"""How Anthropic's Messages API reads: request attributes, content, responses, streams.

The mapping for the shared LLM skeleton (:mod:`otel_agentkit.instrumentation._llm`):
a reader fills a :class:`~otel_agentkit.instrumentation._genai.Response`; a
surprise in a response shape leaves that part out (the skeleton logs it at
debug level).

Token counts follow the conventions: Anthropic reports ``input_tokens``
without the cached part, so ``gen_ai.usage.input_tokens`` is
``input_tokens + cache_read_input_tokens + cache_creation_input_tokens`` (the
two cache counts are also set on their own attributes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from otel_agentkit import semconv
from otel_agentkit.instrumentation._base import log_internal_error
from otel_agentkit.instrumentation._genai import (
    Call,
    LLMStreamRecorder,
    Response,
    get_field,
    given,
    index_order,
    maybe_json,
    request_content,
    stop_sequences,
)

__all__ = [
    "MessageStreamRecorder",
    "message_content",
    "read_message",
    "request_attributes",
]

#: Numeric request arguments copied as they are. anthropic 2.x dropped
#: temperature/top_p/top_k from the method signatures: they then travel in
#: ``extra_body``, which is read too.
_NUMBERS = {
    "max_tokens": semconv.GEN_AI_REQUEST_MAX_TOKENS,
    "temperature": semconv.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": semconv.GEN_AI_REQUEST_TOP_P,
    "top_k": semconv.GEN_AI_REQUEST_TOP_K,
}

#: Response token field <- the usage block's name for it (cached tokens counted apart).
_USAGE = {
    "input_tokens": ("input_tokens",),
    "output_tokens": ("output_tokens",),
    "cache_read_tokens": ("cache_read_input_tokens",),
    "cache_creation_tokens": ("cache_creation_input_tokens",),
}

#: Content block types that are tool calls the model asked for (client and server tools).
_TOOL_USE_TYPES = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})


def _by_index(item: tuple[Any, Any]) -> tuple[int, int, str]:
    """Sort key of a content block by its index (a server's odd index sorts last)."""
    return index_order(item[0])


def _argument(kwargs: Mapping[str, Any], extra: Any, name: str) -> Any:
    value = kwargs.get(name)
    if given(value):
        return value
    if isinstance(extra, Mapping):
        return extra.get(name)
    return None


def request_attributes(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """gen_ai.request.* for messages.create / stream / parse."""
    attrs: dict[str, Any] = {}
    extra = kwargs.get("extra_body")
    for key, attr in _NUMBERS.items():
        value = _argument(kwargs, extra, key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            attrs[attr] = value
    stop = _argument(kwargs, extra, "stop_sequences")
    if given(stop) and stop:
        attrs[semconv.GEN_AI_REQUEST_STOP_SEQUENCES] = stop_sequences(stop)
    if kwargs.get("stream") is True:
        attrs[semconv.GEN_AI_REQUEST_STREAM] = True
    output_format = kwargs.get("output_format")
    if not given(output_format):
        config = kwargs.get("output_config")
        output_format = get_field(config, "format") if given(config) and config else None
    if given(output_format) and output_format:
        attrs[semconv.GEN_AI_OUTPUT_TYPE] = semconv.OUTPUT_TYPE_JSON
    return attrs


# ---------------------------------------------------------------------------
# Content (only built when capture is on), in the conventions' parts format
# ---------------------------------------------------------------------------


def _media_part(block: Any, modality: str) -> dict[str, Any]:
    """An image/document block: its URL, or its media type (never the base64 bytes)."""
    source = get_field(block, "source")
    kind = get_field(source, "type") if source is not None else None
    if kind == "url":
        return {"type": "uri", "modality": modality, "uri": get_field(source, "url")}
    part: dict[str, Any] = {"type": "blob", "modality": modality}
    media_type = get_field(source, "media_type") if source is not None else None
    if media_type:
        part["mime_type"] = media_type
    return part


def _tool_result_text(content: Any) -> Any:
    if isinstance(content, str) or not isinstance(content, Iterable):
        return content
    texts = [get_field(b, "text") for b in content if get_field(b, "type") == "text"]
    return "".join(t for t in texts if isinstance(t, str))


def _block_part(block: Any) -> dict[str, Any]:
    kind = get_field(block, "type")
    if kind == "text":
        return {"type": "text", "content": get_field(block, "text")}
    if kind in _TOOL_USE_TYPES:
        return {
            "type": "tool_call",
            "id": get_field(block, "id"),
            "name": get_field(block, "name"),
            "arguments": get_field(block, "input"),
        }
    if kind in ("tool_result", "mcp_tool_result") or (
        isinstance(kind, str) and kind.endswith("_tool_result")
    ):
        return {
            "type": "tool_call_response",
            "id": get_field(block, "tool_use_id"),
            "response": _tool_result_text(get_field(block, "content")),
        }
    if kind == "thinking":
        return {"type": "reasoning", "content": get_field(block, "thinking")}
    if kind == "redacted_thinking":
        return {"type": "reasoning"}
    if kind == "image":
        return _media_part(block, "image")
    if kind == "document":
        return _media_part(block, "document")
    return {"type": str(kind or "unknown")}


def _parts(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    return [_block_part(block) for block in content]


def input_messages(messages: Any) -> list[dict[str, Any]]:
    """Request ``messages`` as the conventions' input messages.

    A user message that carries only ``tool_result`` blocks is a ``tool`` message.
    """
    out: list[dict[str, Any]] = []
    if not given(messages):
        return out
    for message in messages:
        parts = _parts(get_field(message, "content"))
        role = get_field(message, "role") or "user"
        if parts and all(p["type"] == "tool_call_response" for p in parts):
            role = "tool"
        out.append({"role": role, "parts": parts})
    return out


def system_instructions(system: Any) -> list[dict[str, Any]]:
    """The ``system`` parameter (a string or text blocks) as instruction parts."""
    if not given(system) or not system:
        return []
    return _parts(system)


def tool_definitions(tools: Any) -> list[dict[str, Any]]:
    """Request ``tools`` as the conventions' tool definitions."""
    out: list[dict[str, Any]] = []
    if not given(tools):
        return out
    for tool in tools:
        kind = get_field(tool, "type")
        definition: dict[str, Any] = {
            "type": "function" if kind in (None, "custom") else str(kind),
            "name": get_field(tool, "name"),
        }
        description = get_field(tool, "description")
        if description is not None:
            definition["description"] = description
        schema = get_field(tool, "input_schema")
        if schema is not None:
            definition["parameters"] = schema
        out.append(definition)
    return out


def message_content(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Request-side content."""
    return request_content(
        input_messages(kwargs.get("messages")),
        system_instructions(kwargs.get("system")),
        tool_definitions(kwargs.get("tools")),
    )


# ---------------------------------------------------------------------------
# Responses -> attributes
# ---------------------------------------------------------------------------


def _usage(usage: Any, response: Response) -> None:
    """Token counts from a ``usage`` block; the input count includes the cached tokens."""
    response.read_usage(usage, _USAGE, cached_apart=True)


def read_message(result: Any, params: Mapping[str, Any], response: Response) -> None:
    """A ``Message`` (or ``BetaMessage`` / ``ParsedMessage``)."""
    response.id = get_field(result, "id")
    response.model = get_field(result, "model")
    stop_reason = get_field(result, "stop_reason")
    if stop_reason:
        response.finish_reasons = [str(stop_reason)]
    blocks = get_field(result, "content") or ()
    response.tool_calls = [
        (get_field(b, "id"), get_field(b, "name"))
        for b in blocks
        if get_field(b, "type") in _TOOL_USE_TYPES
    ]
    if response.capture:
        response.output_messages = [
            {
                "role": get_field(result, "role") or "assistant",
                "parts": _parts(blocks),
                "finish_reason": str(stop_reason or ""),
            }
        ]
    _usage(get_field(result, "usage"), response)


# ---------------------------------------------------------------------------
# Streams
# ---------------------------------------------------------------------------


class _Block:
    """One streamed content block: its kind, tool-call id/name, and (with capture) its text."""

    __slots__ = ("id", "kind", "name", "pieces")

    def __init__(self, kind: str | None, block_id: str | None, name: str | None) -> None:
        self.kind = kind
        self.id = block_id
        self.name = name
        self.pieces: list[str] = []


class _UsageSum:
    """The usage of a stream: ``message_start`` counts, updated by ``message_delta``."""

    __slots__ = (
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "input_tokens",
        "output_tokens",
    )

    def __init__(self) -> None:
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.cache_read_input_tokens: int | None = None
        self.cache_creation_input_tokens: int | None = None

    def update(self, usage: Any) -> None:
        for name in self.__slots__:
            value = getattr(usage, name, None)
            if isinstance(value, int):
                setattr(self, name, value)


class MessageStreamRecorder(LLMStreamRecorder):
    """Accumulates a Messages event stream: id, model, stop reason, usage, tool calls.

    A "chunk" for the streaming metrics is an output delta
    (``content_block_delta``: text, thinking or tool-input JSON), so the time to
    the first chunk is the time to the first generated token; bookkeeping
    events (``message_start``, ``ping``, block start/stop) do not count.
    Without content capture only block kinds and tool-call ids/names are kept.
    """

    __slots__ = ("blocks", "response_id", "response_model", "stop_reason", "usage")

    def __init__(self, call: Call) -> None:
        super().__init__(call)
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.stop_reason: str | None = None
        self.usage = _UsageSum()
        self.blocks: dict[int, _Block] = {}

    def on_chunk(self, chunk: Any) -> None:
        """Count output deltas only (see the class docstring); never raises."""
        try:
            kind = getattr(chunk, "type", None)
            if kind == "content_block_delta":
                self.count_output()
                if self.capture:
                    self._delta(chunk)
            else:
                self.process(chunk)
        except Exception:
            log_internal_error("anthropic stream event")

    def _delta(self, event: Any) -> None:
        block = self.blocks.get(event.index)
        delta = event.delta
        if block is None:
            return
        kind = getattr(delta, "type", None)
        if kind == "text_delta":
            block.pieces.append(delta.text)
        elif kind == "input_json_delta":
            block.pieces.append(delta.partial_json)
        elif kind == "thinking_delta":
            block.pieces.append(delta.thinking)

    def process(self, chunk: Any) -> None:
        kind = getattr(chunk, "type", None)
        if kind == "message_start":
            message = chunk.message
            self.response_id = getattr(message, "id", None)
            self.response_model = getattr(message, "model", None)
            usage = getattr(message, "usage", None)
            if usage is not None:
                self.usage.update(usage)
        elif kind == "content_block_start":
            block = chunk.content_block
            block_kind = getattr(block, "type", None)
            tool = block_kind in _TOOL_USE_TYPES
            self.blocks[chunk.index] = entry = _Block(
                block_kind,
                getattr(block, "id", None) if tool else None,
                getattr(block, "name", None) if tool else None,
            )
            if self.capture and block_kind == "text" and getattr(block, "text", ""):
                entry.pieces.append(block.text)
        elif kind == "message_delta":
            reason = getattr(chunk.delta, "stop_reason", None)
            if reason:
                self.stop_reason = str(reason)
            usage = getattr(chunk, "usage", None)
            if usage is not None:
                self.usage.update(usage)

    def _output_parts(self) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        for _, block in sorted(self.blocks.items(), key=_by_index):
            text = "".join(block.pieces)
            if block.kind in _TOOL_USE_TYPES:
                parts.append(
                    {
                        "type": "tool_call",
                        "id": block.id,
                        "name": block.name,
                        "arguments": maybe_json(text) if text else {},
                    }
                )
            elif block.kind == "text":
                parts.append({"type": "text", "content": text})
            elif block.kind == "thinking":
                parts.append({"type": "reasoning", "content": text})
            else:
                parts.append({"type": str(block.kind or "unknown")})
        return parts

    def read(self, response: Response) -> None:
        response.id = self.response_id
        response.model = self.response_model
        if self.stop_reason:
            response.finish_reasons = [self.stop_reason]
        response.tool_calls = [
            (b.id, b.name)
            for _, b in sorted(self.blocks.items(), key=_by_index)
            if b.kind in _TOOL_USE_TYPES
        ]
        if self.stop_reason is not None:
            # Usage is final only once message_delta arrived; a stream cut short
            # reports no token counts rather than message_start's partial ones.
            _usage(self.usage, response)
        if self.capture:
            response.output_messages = [
                {
                    "role": "assistant",
                    "parts": self._output_parts(),
                    "finish_reason": self.stop_reason or "",
                }
            ]
