"""Spans, metrics and content for one Ollama call (chat, generate, embed, embeddings).

Runs inside the wrappers installed on ``ollama.Client`` / ``ollama.AsyncClient``.
Requests may be dicts or ``ollama`` pydantic models (``Options``, ``Message``,
``Tool``) and the ollama client accepts most arguments positionally, so every
reader here goes through :func:`get_field` on the bound arguments. A surprise in
a response shape is logged at debug level; the caller's result is untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from otel_agentkit import semconv
from otel_agentkit.instrumentation._base import log_internal_error
from otel_agentkit.instrumentation._genai import (
    Call,
    LLMStreamRecorder,
    get_field,
    maybe_json,
    request_content,
    stop_sequences,
    token_counts,
)

#: ``options`` key -> attribute, for numbers copied as they are.
_OPTION_NUMBERS = {
    "temperature": semconv.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": semconv.GEN_AI_REQUEST_TOP_P,
    "top_k": semconv.GEN_AI_REQUEST_TOP_K,
    "seed": semconv.GEN_AI_REQUEST_SEED,
    "num_predict": semconv.GEN_AI_REQUEST_MAX_TOKENS,
    "frequency_penalty": semconv.GEN_AI_REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": semconv.GEN_AI_REQUEST_PRESENCE_PENALTY,
}

#: Response field (nanoseconds) -> span attribute (seconds).
_SERVER_DURATIONS = (
    ("total_duration", semconv.AGENTKIT_OLLAMA_TOTAL_DURATION),
    ("load_duration", semconv.AGENTKIT_OLLAMA_LOAD_DURATION),
    ("prompt_eval_duration", semconv.AGENTKIT_OLLAMA_PROMPT_EVAL_DURATION),
    ("eval_duration", semconv.AGENTKIT_OLLAMA_EVAL_DURATION),
)


# ---------------------------------------------------------------------------
# Request attributes
# ---------------------------------------------------------------------------


def _options_attributes(options: Any, attrs: dict[str, Any]) -> None:
    if options is None:
        return
    for key, attr in _OPTION_NUMBERS.items():
        value = get_field(options, key)
        # bool is an int: a stray True is not a temperature
        if isinstance(value, int | float) and not isinstance(value, bool):
            attrs[attr] = value
    stop = get_field(options, "stop")
    if stop:
        attrs[semconv.GEN_AI_REQUEST_STOP_SEQUENCES] = stop_sequences(stop)


def _output_type(fmt: Any) -> str | None:
    if fmt == "json" or isinstance(fmt, Mapping):  # "json" or a JSON schema
        return semconv.OUTPUT_TYPE_JSON
    return None


def generation_request_attributes(params: Mapping[str, Any]) -> dict[str, Any]:
    """gen_ai.request.* for chat and generate (sampling options, stream, format)."""
    attrs: dict[str, Any] = {}
    _options_attributes(params.get("options"), attrs)
    if params.get("stream") is True:
        attrs[semconv.GEN_AI_REQUEST_STREAM] = True
    output_type = _output_type(params.get("format"))
    if output_type:
        attrs[semconv.GEN_AI_OUTPUT_TYPE] = output_type
    return attrs


def embeddings_request_attributes(params: Mapping[str, Any]) -> dict[str, Any]:
    """gen_ai.request.* for embed and embeddings."""
    attrs: dict[str, Any] = {}
    dimensions = params.get("dimensions")
    if isinstance(dimensions, int) and not isinstance(dimensions, bool):
        attrs[semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = dimensions
    return attrs


# ---------------------------------------------------------------------------
# Content (only built when capture is on), in the conventions' parts format
# ---------------------------------------------------------------------------


def _tool_call_part(tool_call: Any) -> dict[str, Any]:
    """A tool call as a ``tool_call`` part, arguments included: only built with capture on."""
    function = get_field(tool_call, "function")
    part: dict[str, Any] = {
        "type": "tool_call",
        "name": get_field(function, "name") if function is not None else None,
    }
    call_id = get_field(tool_call, "id")  # not sent by Ollama today
    if call_id:
        part["id"] = call_id
    if function is not None:
        part["arguments"] = maybe_json(get_field(function, "arguments"))
    return part


def _message_parts(message: Any) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    thinking = get_field(message, "thinking")
    if thinking:
        parts.append({"type": "reasoning", "content": thinking})
    content = get_field(message, "content")
    if content:
        parts.append({"type": "text", "content": content})
    for _ in get_field(message, "images") or ():
        parts.append({"type": "blob", "modality": "image"})  # never the image bytes
    for tool_call in get_field(message, "tool_calls") or ():
        parts.append(_tool_call_part(tool_call))
    return parts


def input_messages(messages: Any) -> list[dict[str, Any]]:
    """Chat request ``messages`` as the conventions' input messages."""
    out: list[dict[str, Any]] = []
    for message in messages or ():
        role = get_field(message, "role") or "user"
        if role == "tool":
            part: dict[str, Any] = {
                "type": "tool_call_response",
                "response": get_field(message, "content"),
            }
            name = get_field(message, "tool_name")
            if name:
                part["name"] = name
            out.append({"role": "tool", "parts": [part]})
            continue
        out.append({"role": role, "parts": _message_parts(message)})
    return out


def _tool_definition(tool: Any) -> dict[str, Any]:
    if callable(tool) and not isinstance(tool, Mapping) and get_field(tool, "function") is None:
        # A plain Python function (ollama turns it into a schema from its docstring).
        doc = (getattr(tool, "__doc__", None) or "").strip()
        definition = {"type": "function", "name": getattr(tool, "__name__", None)}
        if doc:
            definition["description"] = doc.splitlines()[0]
        return definition
    function = get_field(tool, "function")
    source = function if function is not None else tool
    definition = {"type": get_field(tool, "type") or "function", "name": get_field(source, "name")}
    for key in ("description", "parameters"):
        value = get_field(source, key)
        if value is not None:
            definition[key] = value
    return definition


def chat_content(call: Call, params: Mapping[str, Any]) -> dict[str, Any]:
    """Request-side content of a chat call (empty when capture is off)."""
    if not call.capture_enabled:
        return {}
    return request_content(
        input_messages(params.get("messages")),
        tool_definitions=[_tool_definition(t) for t in params.get("tools") or ()],
    )


def generate_content(call: Call, params: Mapping[str, Any]) -> dict[str, Any]:
    """Request-side content of a generate call (empty when capture is off)."""
    if not call.capture_enabled:
        return {}
    prompt = params.get("prompt")
    system = params.get("system")
    return request_content(
        [{"role": "user", "parts": [{"type": "text", "content": prompt}] if prompt else []}],
        [{"type": "text", "content": system}] if system else None,
    )


def guarded_content(
    reader: Callable[[Call, Mapping[str, Any]], dict[str, Any]],
    call: Call,
    params: Mapping[str, Any],
) -> dict[str, Any]:
    """``reader(call, params)``, or no content if it fails (the span still gets the rest)."""
    try:
        return reader(call, params)
    except Exception:
        log_internal_error("reading ollama request content")
        return {}


# ---------------------------------------------------------------------------
# Responses -> attributes
# ---------------------------------------------------------------------------


def _final_attributes(
    response: Any, attrs: dict[str, Any]
) -> tuple[int | None, int | None, str | None]:
    """Model, finish reason, usage and server timings of a final (``done``) response."""
    model = get_field(response, "model")
    if model:
        attrs[semconv.GEN_AI_RESPONSE_MODEL] = model
    reason = get_field(response, "done_reason")
    if reason:
        attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS] = [reason]
    # A final response carries its own usage fields.
    input_tokens, output_tokens = token_counts(response, "prompt_eval_count", "eval_count", attrs)
    _server_durations(response, attrs)
    return input_tokens, output_tokens, reason


def _server_durations(response: Any, attrs: dict[str, Any]) -> None:
    """The server-side timings Ollama reports (nanoseconds), in seconds."""
    for field, attr in _SERVER_DURATIONS:
        value = get_field(response, field)
        if isinstance(value, int):
            attrs[attr] = value / 1e9


def _tool_call_names(names: list[str], attrs: dict[str, Any]) -> None:
    # Ollama's tool calls carry no ids: names only (never the arguments).
    if names:
        attrs[semconv.AGENTKIT_RESPONSE_TOOL_CALL_NAMES] = names


def _tool_name(tool_call: Any) -> str:
    function = get_field(tool_call, "function")
    return str(get_field(function, "name") or "") if function is not None else ""


def _chat_output(
    response: Any, call: Call, attrs: dict[str, Any], reason: str | None
) -> dict[str, Any] | None:
    """Tool-call names of a ``ChatResponse``; its message, with capture on."""
    message = get_field(response, "message")
    tool_calls = (get_field(message, "tool_calls") if message is not None else None) or ()
    _tool_call_names([_tool_name(tc) for tc in tool_calls], attrs)
    if call.capture_enabled and message is not None:
        return {
            "role": get_field(message, "role") or "assistant",
            "parts": _message_parts(message),
            "finish_reason": reason or "",
        }
    return None


def _generate_output(
    response: Any, call: Call, attrs: dict[str, Any], reason: str | None
) -> dict[str, Any] | None:
    """The generated text (and thinking) of a ``GenerateResponse``, with capture on."""
    if not call.capture_enabled:
        return None
    return _generated_message(
        get_field(response, "thinking"), get_field(response, "response"), reason
    )


_Output = Callable[[Any, Call, dict[str, Any], str | None], dict[str, Any] | None]


def _finish_generation(
    response: Any,
    call: Call,
    params: Mapping[str, Any],
    reader: Callable[[Call, Mapping[str, Any]], dict[str, Any]],
    output: _Output,
    what: str,
) -> None:
    """End a chat or generate span from its final response (``output`` reads the rest)."""
    attrs: dict[str, Any] = {}
    content = guarded_content(reader, call, params)
    input_tokens = output_tokens = None
    try:
        input_tokens, output_tokens, reason = _final_attributes(response, attrs)
        message = output(response, call, attrs, reason)
        if message is not None:
            content[semconv.GEN_AI_OUTPUT_MESSAGES] = [message]
    except Exception:
        log_internal_error(f"reading an ollama {what} response")
    call.succeed(attrs, input_tokens, output_tokens, content)


def finish_chat(response: Any, call: Call, params: Mapping[str, Any]) -> None:
    """End a chat span from a ``ChatResponse``."""
    _finish_generation(response, call, params, chat_content, _chat_output, "chat")


def finish_generate(response: Any, call: Call, params: Mapping[str, Any]) -> None:
    """End a text_completion span from a ``GenerateResponse``."""
    _finish_generation(response, call, params, generate_content, _generate_output, "generate")


def _generated_message(thinking: Any, text: Any, reason: str | None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if thinking:
        parts.append({"type": "reasoning", "content": thinking})
    if text:
        parts.append({"type": "text", "content": text})
    return {"role": "assistant", "parts": parts, "finish_reason": reason or ""}


def finish_embeddings(response: Any, call: Call, params: Mapping[str, Any]) -> None:
    """End an embeddings span from an ``EmbedResponse`` or (legacy) ``EmbeddingsResponse``."""
    attrs: dict[str, Any] = {}
    input_tokens = None
    try:
        model = get_field(response, "model")
        if model:
            attrs[semconv.GEN_AI_RESPONSE_MODEL] = model
        vectors = get_field(response, "embeddings")
        vector = vectors[0] if vectors else get_field(response, "embedding")
        if vector and semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT not in call.metric_attrs:
            attrs[semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = len(vector)
        count = get_field(response, "prompt_eval_count")
        if isinstance(count, int):
            input_tokens = attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] = count
        _server_durations(response, attrs)
    except Exception:
        log_internal_error("reading an ollama embeddings response")
    call.succeed(attrs, input_tokens, None, None)


# ---------------------------------------------------------------------------
# Streams
# ---------------------------------------------------------------------------


class GenerationStreamRecorder(LLMStreamRecorder):
    """Accumulates a streamed chat or generate response.

    Per chunk: the model (first chunk), tool-call names, and the text only when
    content capture is on; the last chunk (``done``) carries the finish reason,
    token counts and server timings. Memory does not grow with the stream when
    capture is off.
    """

    __slots__ = ("chat", "final", "response_model", "texts", "thinking", "tool_calls")

    def __init__(self, call: Call, params: Mapping[str, Any], chat: bool) -> None:
        super().__init__(call, params)
        self.chat = chat
        self.response_model: str | None = None
        self.final: Any = None
        self.texts: list[str] = []
        self.thinking: list[str] = []
        self.tool_calls: list[Any] = []

    def process(self, chunk: Any) -> None:
        if self.response_model is None:
            self.response_model = getattr(chunk, "model", None)
        if getattr(chunk, "done", False):
            self.final = chunk
        capture = self.call.capture_enabled
        if self.chat:
            message = getattr(chunk, "message", None)
            if message is None:
                return
            tool_calls = getattr(message, "tool_calls", None)
            if tool_calls:
                self.tool_calls.extend(tool_calls)
            if not capture:
                return
            # Older ollama versions have no ``thinking`` field: read what this one has.
            text, thinking = message.content, getattr(message, "thinking", None)
        else:
            if not capture:
                return
            text, thinking = chunk.response, getattr(chunk, "thinking", None)
        if text:
            self.texts.append(text)
        if thinking:
            self.thinking.append(thinking)

    def record_timing(self, ended_at: float) -> None:
        model = getattr(self.final, "model", None) or self.response_model
        self.call.record_stream_timing(self, ended_at, model)

    def succeeded(self, ended_at: float) -> None:
        call = self.call
        attrs: dict[str, Any] = {}
        reader = chat_content if self.chat else generate_content
        content = guarded_content(reader, call, self.kwargs)
        input_tokens = output_tokens = None
        try:
            reason = None
            if self.final is not None:
                input_tokens, output_tokens, reason = _final_attributes(self.final, attrs)
            elif self.response_model:  # closed before the last chunk
                attrs[semconv.GEN_AI_RESPONSE_MODEL] = self.response_model
            _tool_call_names([_tool_name(tc) for tc in self.tool_calls], attrs)
            if call.capture_enabled:
                message = _generated_message("".join(self.thinking), "".join(self.texts), reason)
                message["parts"].extend(_tool_call_part(tc) for tc in self.tool_calls)
                content[semconv.GEN_AI_OUTPUT_MESSAGES] = [message]
        except Exception:
            log_internal_error("reading an ollama stream")
        call.succeed(attrs, input_tokens, output_tokens, content, ended_at)


#: How one operation reads its request and ends its span.
Finish = Callable[[Any, Call, Mapping[str, Any]], None]
