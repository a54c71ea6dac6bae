"""How Ollama's API reads: chat, generate, embed and embeddings, streamed and not.

The mapping for the shared LLM skeleton (:mod:`otel_agentkit.instrumentation._llm`).
Requests may be dicts or ``ollama`` pydantic models (``Options``, ``Message``,
``Tool``) and the skeleton binds positional arguments by name, so every reader
here goes through :func:`get_field`. A reader fills a
:class:`~otel_agentkit.instrumentation._genai.Response`; a surprise in a
response shape leaves that part out.
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
    maybe_json,
    request_content,
    stop_sequences,
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
    copy_numbers(options, _OPTION_NUMBERS, attrs)
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


def chat_content(params: Mapping[str, Any]) -> dict[str, Any]:
    """Request-side content of a chat call."""
    return request_content(
        input_messages(params.get("messages")),
        tool_definitions=[_tool_definition(t) for t in params.get("tools") or ()],
    )


def generate_content(params: Mapping[str, Any]) -> dict[str, Any]:
    """Request-side content of a generate call."""
    prompt = params.get("prompt")
    system = params.get("system")
    return request_content(
        [{"role": "user", "parts": [{"type": "text", "content": prompt}] if prompt else []}],
        [{"type": "text", "content": system}] if system else None,
    )


# ---------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------


def _read_final(result: Any, response: Response) -> None:
    """Model, finish reason, usage and server timings of a final (``done``) response."""
    model = get_field(result, "model")
    if model:
        response.model = model
    reason = get_field(result, "done_reason")
    if reason:
        response.finish_reasons = [reason]
    # A final response carries its own usage fields.
    response.read_tokens(result, "prompt_eval_count", "eval_count")
    _server_durations(result, response)


def _server_durations(result: Any, response: Response) -> None:
    """The server-side timings Ollama reports (nanoseconds), in seconds."""
    durations = {}
    for field, attr in _SERVER_DURATIONS:
        value = get_field(result, field)
        if isinstance(value, int):
            durations[attr] = value / 1e9
    if durations:
        response.attributes = durations


def _tool_calls(tool_calls: Any, response: Response) -> None:
    # Ollama's tool calls carry no ids: names only (never the arguments).
    response.tool_calls = [(None, _tool_name(tc)) for tc in tool_calls]


def _tool_name(tool_call: Any) -> str:
    function = get_field(tool_call, "function")
    return str(get_field(function, "name") or "") if function is not None else ""


def _finish_reason(response: Response) -> str | None:
    return response.finish_reasons[0] if response.finish_reasons else None


def read_chat(result: Any, params: Mapping[str, Any], response: Response) -> None:
    """A ``ChatResponse``: tool-call names; its message, with capture on."""
    _read_final(result, response)
    message = get_field(result, "message")
    _tool_calls((get_field(message, "tool_calls") if message is not None else None) or (), response)
    if response.capture and message is not None:
        response.output_messages = [
            {
                "role": get_field(message, "role") or "assistant",
                "parts": _message_parts(message),
                "finish_reason": _finish_reason(response) or "",
            }
        ]


def read_generate(result: Any, params: Mapping[str, Any], response: Response) -> None:
    """A ``GenerateResponse``: the generated text (and thinking), with capture on."""
    _read_final(result, response)
    if response.capture:
        response.output_messages = [
            _generated_message(
                get_field(result, "thinking"),
                get_field(result, "response"),
                _finish_reason(response),
            )
        ]


def _generated_message(thinking: Any, text: Any, reason: str | None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if thinking:
        parts.append({"type": "reasoning", "content": thinking})
    if text:
        parts.append({"type": "text", "content": text})
    return {"role": "assistant", "parts": parts, "finish_reason": reason or ""}


def read_embeddings(result: Any, params: Mapping[str, Any], response: Response) -> None:
    """An ``EmbedResponse`` or (legacy) ``EmbeddingsResponse``."""
    response.model = get_field(result, "model") or None
    _server_durations(result, response)
    vectors = get_field(result, "embeddings")
    vector = vectors[0] if vectors else get_field(result, "embedding")
    dimensions = params.get("dimensions")
    if vector and not (isinstance(dimensions, int) and not isinstance(dimensions, bool)):
        response.attributes = {
            **(response.attributes or {}),
            semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT: len(vector),
        }
    count = get_field(result, "prompt_eval_count")
    if isinstance(count, int):
        response.input_tokens = count


# ---------------------------------------------------------------------------
# Streams
# ---------------------------------------------------------------------------


class GenerationStreamRecorder(LLMStreamRecorder):
    """Accumulates a streamed generate response (:class:`ChatStreamRecorder`: chat).

    Per chunk: the model (first chunk), tool-call names, and the text only when
    content capture is on; the last chunk (``done``) carries the finish reason,
    token counts and server timings. Memory does not grow with the stream when
    capture is off.
    """

    __slots__ = ("final", "response_model", "texts", "thinking", "tool_calls")

    #: Chunks carry a ``message`` (chat) rather than a ``response`` text (generate).
    chat = False

    def __init__(self, call: Call) -> None:
        super().__init__(call)
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
        capture = self.capture
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

    def read(self, response: Response) -> None:
        if self.final is not None:
            _read_final(self.final, response)
        if response.model is None:  # closed before the last chunk
            response.model = self.response_model
        _tool_calls(self.tool_calls, response)
        if self.capture:
            message = _generated_message(
                "".join(self.thinking), "".join(self.texts), _finish_reason(response)
            )
            message["parts"].extend(_tool_call_part(tc) for tc in self.tool_calls)
            response.output_messages = [message]


class ChatStreamRecorder(GenerationStreamRecorder):
    """Accumulates a streamed chat response (see :class:`GenerationStreamRecorder`)."""

    __slots__ = ()
    chat = True
