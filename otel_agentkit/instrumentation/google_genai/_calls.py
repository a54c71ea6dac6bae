"""How the google-genai SDK reads: generate_content (streamed or not) and embed_content.

The mapping for the shared LLM skeleton. Requests mix pydantic types and
dicts (``config``, ``contents``) and responses are pydantic models, so every
reader goes through :func:`get_field`. Token counts follow the conventions:
``prompt_token_count`` already includes the cached tokens; the output count
is ``candidates_token_count`` plus ``thoughts_token_count`` (Gemini counts
thinking apart; it is also ``gen_ai.usage.reasoning.output_tokens``). Finish
reasons are the API's, lowercased (``stop``, ``max_tokens``, ``safety``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otel_agentkit import semconv
from otel_agentkit.instrumentation._genai import (
    Call,
    LLMStreamRecorder,
    Response,
    copy_numbers,
    get_field,
    request_content,
    stop_sequences,
)

#: ``config`` field -> attribute, for numbers copied as they are.
_CONFIG_NUMBERS = {
    "temperature": semconv.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": semconv.GEN_AI_REQUEST_TOP_P,
    "top_k": semconv.GEN_AI_REQUEST_TOP_K,
    "max_output_tokens": semconv.GEN_AI_REQUEST_MAX_TOKENS,
    "presence_penalty": semconv.GEN_AI_REQUEST_PRESENCE_PENALTY,
    "frequency_penalty": semconv.GEN_AI_REQUEST_FREQUENCY_PENALTY,
    "seed": semconv.GEN_AI_REQUEST_SEED,
}
_ROLES = {"model": "assistant"}


def request_attributes(params: Mapping[str, Any]) -> dict[str, Any]:
    """gen_ai.request.* from ``config`` (a ``GenerateContentConfig`` or a dict)."""
    attrs: dict[str, Any] = {}
    config = params.get("config")
    if config is None:
        return attrs
    copy_numbers(config, _CONFIG_NUMBERS, attrs)
    count = get_field(config, "candidate_count")
    if isinstance(count, int) and count != 1:
        attrs[semconv.GEN_AI_REQUEST_CHOICE_COUNT] = count
    stop = get_field(config, "stop_sequences")
    if stop:
        attrs[semconv.GEN_AI_REQUEST_STOP_SEQUENCES] = stop_sequences(stop)
    mime = get_field(config, "response_mime_type")
    if mime == "application/json" or get_field(config, "response_schema") is not None:
        attrs[semconv.GEN_AI_OUTPUT_TYPE] = semconv.OUTPUT_TYPE_JSON
    elif mime == "text/plain":
        attrs[semconv.GEN_AI_OUTPUT_TYPE] = semconv.OUTPUT_TYPE_TEXT
    return attrs


def embed_request_attributes(params: Mapping[str, Any]) -> dict[str, Any]:
    """gen_ai.request.* of ``embed_content``."""
    config = params.get("config")
    dimensions = get_field(config, "output_dimensionality") if config is not None else None
    if isinstance(dimensions, int):
        return {semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT: dimensions}
    return {}


# ---------------------------------------------------------------------------
# Content (only built when capture is on), in the conventions' parts format
# ---------------------------------------------------------------------------


def _media(data: Any, uri: Any = None) -> dict[str, Any]:
    """An inline blob (its type only, never its bytes) or a file URI."""
    mime = get_field(data, "mime_type") or ""
    part = {"type": "uri", "uri": uri} if uri else {"type": "blob"}
    return {**part, "modality": mime.partition("/")[0] or "unknown", "mime_type": mime or None}


def part(value: Any) -> dict[str, Any]:
    """A ``Part`` (or a string, or a part dict) in the conventions' parts format."""
    if isinstance(value, str):
        return {"type": "text", "content": value}
    text = get_field(value, "text")
    if text is not None:
        return {"type": "reasoning" if get_field(value, "thought") else "text", "content": text}
    call = get_field(value, "function_call")
    if call is not None:
        return {
            "type": "tool_call",
            "id": get_field(call, "id"),
            "name": get_field(call, "name"),
            "arguments": get_field(call, "args"),
        }
    result = get_field(value, "function_response")
    if result is not None:
        return {
            "type": "tool_call_response",
            "id": get_field(result, "id"),
            "response": get_field(result, "response"),
        }
    if get_field(value, "inline_data") is not None:
        return _media(get_field(value, "inline_data"))
    file = get_field(value, "file_data")
    if file is not None:
        return _media(file, get_field(file, "file_uri"))
    return {"type": "unknown"}


def _parts(value: Any) -> list[dict[str, Any]]:
    """Parts of a ``Content``, a part, a string or a list of those."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [p for item in value for p in _parts(item)]
    inner = None if isinstance(value, str) else get_field(value, "parts")
    return [part(p) for p in inner] if inner is not None else [part(value)]


def input_messages(contents: Any) -> list[dict[str, Any]]:
    """``contents`` as input messages: a message per ``Content``, loose parts one user message."""
    items = contents if isinstance(contents, list | tuple) else [contents]
    out: list[dict[str, Any]] = []
    loose: list[dict[str, Any]] = []
    for item in items:
        parts = None if isinstance(item, str) else get_field(item, "parts")
        if parts is None:
            loose.append(part(item))
            continue
        if loose:
            out.append({"role": "user", "parts": loose})
            loose = []
        role = get_field(item, "role") or "user"
        out.append({"role": _ROLES.get(role, role), "parts": [part(p) for p in parts]})
    if loose:
        out.append({"role": "user", "parts": loose})
    return out


def _tool_definitions(tools: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for tool in tools or ():
        if callable(tool):  # a Python function, for automatic function calling
            out.append({"type": "function", "name": getattr(tool, "__name__", None)})
            continue
        declarations = get_field(tool, "function_declarations")
        for declaration in declarations or ():
            out.append(
                {
                    "type": "function",
                    "name": get_field(declaration, "name"),
                    "description": get_field(declaration, "description"),
                    "parameters": get_field(declaration, "parameters"),
                }
            )
        if not declarations:  # a built-in tool: google_search, code_execution...
            fields = tool.items() if isinstance(tool, Mapping) else vars(tool).items()
            out.append({"type": next((k for k, v in fields if v is not None), "unknown")})
    return out


def generate_content(params: Mapping[str, Any]) -> dict[str, Any]:
    """Request-side content of a generate_content call."""
    config = params.get("config")
    system = get_field(config, "system_instruction") if config is not None else None
    tools = get_field(config, "tools") if config is not None else None
    return request_content(
        input_messages(params.get("contents")), _parts(system), _tool_definitions(tools)
    )


def embed_content(params: Mapping[str, Any]) -> dict[str, Any]:
    """Request-side content of an embed_content call: what was embedded, never the vectors."""
    return {semconv.GEN_AI_INPUT_MESSAGES: input_messages(params.get("contents"))}


# ---------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------


def _reason(value: Any) -> str | None:
    """A ``FinishReason`` (an enum, or its string) as the lowercased API name."""
    value = getattr(value, "value", value)
    return str(value).lower() if value else None


def _usage(usage: Any, response: Response) -> None:
    if usage is None:
        return
    prompt = get_field(usage, "prompt_token_count")
    output = get_field(usage, "candidates_token_count")
    thoughts = get_field(usage, "thoughts_token_count")
    cached = get_field(usage, "cached_content_token_count")
    if isinstance(prompt, int):
        response.input_tokens = prompt
    if isinstance(cached, int):
        response.cache_read_tokens = cached
    if isinstance(thoughts, int):
        response.reasoning_tokens = thoughts
    if isinstance(output, int) or isinstance(thoughts, int):
        response.output_tokens = (output or 0) + (thoughts or 0)


def read_response(result: Any, params: Mapping[str, Any], response: Response) -> None:
    """A ``GenerateContentResponse``: id, model version, finish reasons, calls, usage."""
    response.id = get_field(result, "response_id")
    response.model = get_field(result, "model_version")
    reasons: dict[int, str] = {}
    outputs = []
    for index, candidate in enumerate(get_field(result, "candidates") or ()):
        reason = _reason(get_field(candidate, "finish_reason"))
        if reason:
            reasons[index] = reason
        content = get_field(candidate, "content")
        parts = (get_field(content, "parts") if content is not None else None) or ()
        for value in parts:
            call = get_field(value, "function_call")
            if call is not None:
                response.tool_calls.append((get_field(call, "id"), get_field(call, "name")))
        if response.capture:
            outputs.append(
                {
                    "role": "assistant",
                    "parts": [part(p) for p in parts],
                    "finish_reason": reason or "",
                }
            )
    response.set_indexed_finish_reasons(reasons)
    if response.capture:
        response.output_messages = outputs
    _usage(get_field(result, "usage_metadata"), response)


def read_embeddings(result: Any, params: Mapping[str, Any], response: Response) -> None:
    """An ``EmbedContentResponse``: the vectors' length; the tokens, where counted."""
    embeddings = get_field(result, "embeddings") or ()
    values = get_field(embeddings[0], "values") if embeddings else None
    if values:
        response.attributes = {semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT: len(values)}
    usage = get_field(result, "usage_metadata")  # google-genai 3.x
    counts = [get_field(get_field(e, "statistics"), "token_count") for e in embeddings]  # Vertex
    if usage is not None and isinstance(get_field(usage, "prompt_token_count"), int):
        response.input_tokens = get_field(usage, "prompt_token_count")
    elif counts and all(isinstance(c, int | float) for c in counts):
        response.input_tokens = int(sum(counts))


# ---------------------------------------------------------------------------
# Streams
# ---------------------------------------------------------------------------


class StreamRecorder(LLMStreamRecorder):
    """Accumulates a generate_content stream: each chunk is a ``GenerateContentResponse``.

    Kept per chunk: the first id and model version, the last usage with
    counts, finish reasons and function calls by candidate, and the parts
    only when content capture is on.
    """

    __slots__ = ("calls", "model", "parts", "reasons", "response_id", "usage")

    def __init__(self, call: Call) -> None:
        super().__init__(call)
        self.response_id: str | None = None
        self.model: str | None = None
        self.usage: Any = None
        self.reasons: dict[int, str] = {}
        self.calls: list[tuple[str | None, str | None]] = []
        self.parts: dict[int, list[Any]] = {}

    def process(self, chunk: Any) -> None:
        if self.response_id is None:  # (google-genai < 1.2 has no response_id)
            self.response_id = getattr(chunk, "response_id", None)
            self.model = getattr(chunk, "model_version", None)
        usage = chunk.usage_metadata
        if usage is not None and usage.total_token_count is not None:
            self.usage = usage
        for candidate in chunk.candidates or ():
            index = candidate.index or 0
            if candidate.finish_reason:
                self.reasons[index] = _reason(candidate.finish_reason) or ""
            content = candidate.content
            for value in (content.parts if content is not None else None) or ():
                if value.function_call is not None:
                    self.calls.append((value.function_call.id, value.function_call.name))
                if self.capture:
                    self.parts.setdefault(index, []).append(value)

    def read(self, response: Response) -> None:
        response.id, response.model = self.response_id, self.model
        response.set_indexed_finish_reasons(self.reasons)
        response.tool_calls = self.calls
        _usage(self.usage, response)
        if self.capture:
            response.output_messages = [
                {
                    "role": "assistant",
                    "parts": _joined(self.parts.get(i, ())),
                    "finish_reason": self.reasons.get(i, ""),
                }
                for i in sorted(set(self.parts) | set(self.reasons))
            ]


def _joined(values: Any) -> list[dict[str, Any]]:
    """Streamed parts, consecutive text (or thought) pieces joined into one part."""
    out: list[dict[str, Any]] = []
    for value in values:
        piece = part(value)
        last = out[-1] if out else None
        if last is not None and last["type"] == piece["type"] in ("text", "reasoning"):
            last["content"] += piece["content"]
        else:
            out.append(piece)
    return out
