"""Spans, metrics and content for one OpenAI call (chat, Responses, embeddings).

Everything here runs inside the wrapper installed on the openai resource
methods. Reading the request and the response is guarded: a surprise in a
response shape is logged at debug level and the caller's result is returned
unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from otel_agentkit import semconv
from otel_agentkit.instrumentation._base import log_internal_error
from otel_agentkit.instrumentation._genai import (
    RAW_RESPONSE_HEADER,
    Call,
    LLMStreamRecorder,
    base_url_of,
    get_field,
    given,
    indexed_finish_reasons,
    maybe_json,
    request_content,
    response_id_and_model,
    server_of,
    stop_sequences,
    token_counts,
    tool_call_attributes,
)

__all__ = [
    "CLIENT_PROVIDER_ATTR",
    "RAW_RESPONSE_HEADER",
    "Call",
    "ChatStreamRecorder",
    "ResponsesStreamRecorder",
    "base_url_of",
    "chat_content",
    "chat_request_attributes",
    "embeddings_request_attributes",
    "finish_chat",
    "finish_embeddings",
    "finish_responses",
    "provider_for",
    "responses_content",
    "responses_request_attributes",
    "server_of",
]

# Short local names for the shared readers (used throughout this module).
_get = get_field
_maybe_json = maybe_json
_tool_call_attrs = tool_call_attributes
_given = given


#: Attribute a user may set on a client (through ``set_provider_name``) to name its provider.
CLIENT_PROVIDER_ATTR = "_agentkit_provider_name"

#: Host suffix -> gen_ai.provider.name, for OpenAI-compatible endpoints we can recognise.
_PROVIDER_BY_HOST: tuple[tuple[str, str], ...] = (
    (".openai.azure.com", semconv.PROVIDER_AZURE_OPENAI),
    (".cognitiveservices.azure.com", semconv.PROVIDER_AZURE_OPENAI),
    (".services.ai.azure.com", semconv.PROVIDER_AZURE_OPENAI),
    ("api.groq.com", semconv.PROVIDER_GROQ),
    ("api.mistral.ai", semconv.PROVIDER_MISTRAL_AI),
    ("api.deepseek.com", semconv.PROVIDER_DEEPSEEK),
    ("api.x.ai", semconv.PROVIDER_X_AI),
    ("api.perplexity.ai", semconv.PROVIDER_PERPLEXITY),
    ("generativelanguage.googleapis.com", semconv.PROVIDER_GCP_GEMINI),
)
_OLLAMA_DEFAULT_PORT = 11434


def provider_for(
    client_type: type[Any], host: str | None, port: int | None, override: str | None
) -> str:
    """gen_ai.provider.name: the override, else the client class or base_url, else openai.

    (A per-client name set with ``set_provider_name`` is applied by the caller.)
    """
    if override:
        return override
    if client_type.__name__ in ("AzureOpenAI", "AsyncAzureOpenAI"):
        return semconv.PROVIDER_AZURE_OPENAI
    if host:
        for suffix, provider in _PROVIDER_BY_HOST:
            if host == suffix.lstrip(".") or host.endswith(suffix):
                return provider
    if port == _OLLAMA_DEFAULT_PORT:
        return semconv.PROVIDER_OLLAMA
    return semconv.PROVIDER_OPENAI


# ---------------------------------------------------------------------------
# Request attributes
# ---------------------------------------------------------------------------


def _output_type(response_format: Any) -> str | None:
    if not _given(response_format):
        return None
    if isinstance(response_format, type):  # .parse(response_format=PydanticModel)
        return semconv.OUTPUT_TYPE_JSON
    kind = _get(response_format, "type")
    if kind in ("json_object", "json_schema"):
        return semconv.OUTPUT_TYPE_JSON
    if kind == "text":
        return semconv.OUTPUT_TYPE_TEXT
    return None


#: Numeric chat request arguments copied as they are (a number, else left out).
_CHAT_NUMBERS = {
    "temperature": semconv.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": semconv.GEN_AI_REQUEST_TOP_P,
    "seed": semconv.GEN_AI_REQUEST_SEED,
    "frequency_penalty": semconv.GEN_AI_REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": semconv.GEN_AI_REQUEST_PRESENCE_PENALTY,
}
#: Every chat request argument that gives an attribute; a call passing none of them
#: (model and messages only, the common case) costs one set intersection.
_CHAT_ATTRIBUTE_KEYS = frozenset(
    {
        *_CHAT_NUMBERS,
        "max_completion_tokens",
        "max_tokens",
        "stop",
        "n",
        "stream",
        "response_format",
    }
)


def chat_request_attributes(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """gen_ai.request.* for chat.completions.create/parse."""
    attrs: dict[str, Any] = {}
    if _CHAT_ATTRIBUTE_KEYS.isdisjoint(kwargs):
        return attrs
    max_tokens = kwargs.get("max_completion_tokens")
    if not _given(max_tokens):
        max_tokens = kwargs.get("max_tokens")
    if _given(max_tokens):
        attrs[semconv.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
    for key, attr in _CHAT_NUMBERS.items():
        value = kwargs.get(key)
        if isinstance(value, int | float):  # None, NOT_GIVEN and omit are not numbers
            attrs[attr] = value
    stop: Any = kwargs.get("stop")
    if _given(stop):
        attrs[semconv.GEN_AI_REQUEST_STOP_SEQUENCES] = stop_sequences(stop)
    n = kwargs.get("n")
    if _given(n) and n != 1:
        attrs[semconv.GEN_AI_REQUEST_CHOICE_COUNT] = n
    if kwargs.get("stream") is True:
        attrs[semconv.GEN_AI_REQUEST_STREAM] = True
    output_type = _output_type(kwargs.get("response_format"))
    if output_type:
        attrs[semconv.GEN_AI_OUTPUT_TYPE] = output_type
    return attrs


def responses_request_attributes(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """gen_ai.request.* for responses.create."""
    attrs: dict[str, Any] = {}
    max_tokens = kwargs.get("max_output_tokens")
    if _given(max_tokens):
        attrs[semconv.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
    for key, attr in (
        ("temperature", semconv.GEN_AI_REQUEST_TEMPERATURE),
        ("top_p", semconv.GEN_AI_REQUEST_TOP_P),
    ):
        value = kwargs.get(key)
        if _given(value) and isinstance(value, int | float):
            attrs[attr] = value
    if kwargs.get("stream") is True:
        attrs[semconv.GEN_AI_REQUEST_STREAM] = True
    text = kwargs.get("text")
    if _given(text):
        output_type = _output_type(_get(text, "format"))
        if output_type:
            attrs[semconv.GEN_AI_OUTPUT_TYPE] = output_type
    return attrs


def embeddings_request_attributes(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """gen_ai.request.* for embeddings.create."""
    attrs: dict[str, Any] = {}
    encoding = kwargs.get("encoding_format")
    if _given(encoding):
        attrs[semconv.GEN_AI_REQUEST_ENCODING_FORMATS] = [str(encoding)]
    dimensions = kwargs.get("dimensions")
    if _given(dimensions):
        attrs[semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = dimensions
    return attrs


# ---------------------------------------------------------------------------
# Content (only built when capture is on), in the conventions' parts format
# ---------------------------------------------------------------------------


def _content_parts(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    if isinstance(content, Iterable):
        for part in content:
            kind = _get(part, "type")
            text = _get(part, "text")
            if text is not None:
                parts.append({"type": "text", "content": text})
            elif kind in ("image_url", "input_image"):
                image = _get(part, "image_url")
                uri = (
                    _get(image, "url")
                    if image is not None and not isinstance(image, str)
                    else image
                )
                parts.append({"type": "uri", "modality": "image", "uri": uri})
            else:
                parts.append({"type": str(kind or "unknown")})
    return parts


def _tool_call_part(call: Any, capture: bool) -> dict[str, Any]:
    function = _get(call, "function")
    part: dict[str, Any] = {
        "type": "tool_call",
        "id": _get(call, "call_id") or _get(call, "id"),
        "name": _get(function, "name") if function is not None else _get(call, "name"),
    }
    if capture:
        args = _get(function, "arguments") if function is not None else _get(call, "arguments")
        part["arguments"] = _maybe_json(args)
    return part


def chat_input_messages(messages: Any) -> list[dict[str, Any]]:
    """Chat request messages as conventions' input messages."""
    out: list[dict[str, Any]] = []
    if not _given(messages):
        return out
    for message in messages:
        if type(message) is dict:
            # The common case, a plain dict with text content: what the general path
            # below builds for it, without its field readers.
            content = message.get("content")
            role = message.get("role") or "user"
            if type(content) is str and role != "tool" and not message.get("tool_calls"):
                out.append({"role": role, "parts": [{"type": "text", "content": content}]})
                continue
        role = _get(message, "role") or "user"
        if role == "tool":
            out.append(
                {
                    "role": "tool",
                    "parts": [
                        {
                            "type": "tool_call_response",
                            "id": _get(message, "tool_call_id"),
                            "response": _get(message, "content"),
                        }
                    ],
                }
            )
            continue
        parts = _content_parts(_get(message, "content"))
        for call in _get(message, "tool_calls") or ():
            parts.append(_tool_call_part(call, True))
        out.append({"role": role, "parts": parts})
    return out


def tool_definitions(tools: Any) -> list[dict[str, Any]]:
    """Request ``tools`` as conventions' tool definitions."""
    out: list[dict[str, Any]] = []
    if not _given(tools):
        return out
    for tool in tools:
        function = _get(tool, "function")
        source = function if function is not None else tool
        definition = {"type": _get(tool, "type") or "function", "name": _get(source, "name")}
        for key in ("description", "parameters"):
            value = _get(source, key)
            if value is not None:
                definition[key] = value
        out.append(definition)
    return out


def responses_input_messages(value: Any) -> list[dict[str, Any]]:
    """Responses API ``input`` (a string or a list of items) as input messages."""
    if not _given(value):
        return []
    if isinstance(value, str):
        return [{"role": "user", "parts": [{"type": "text", "content": value}]}]
    out: list[dict[str, Any]] = []
    for item in value:
        kind = _get(item, "type")
        if kind == "function_call_output":
            out.append(
                {
                    "role": "tool",
                    "parts": [
                        {
                            "type": "tool_call_response",
                            "id": _get(item, "call_id"),
                            "response": _get(item, "output"),
                        }
                    ],
                }
            )
        elif kind == "function_call":
            out.append({"role": "assistant", "parts": [_tool_call_part(item, True)]})
        else:
            role = _get(item, "role") or "user"
            out.append({"role": role, "parts": _content_parts(_get(item, "content"))})
    return out


def text_input_messages(value: Any) -> list[dict[str, Any]]:
    """A prompt or embeddings ``input`` as input messages: one user text message per string.

    Token-id inputs (lists of ints) are not text and are left out.
    """
    if isinstance(value, str):
        return [{"role": "user", "parts": [{"type": "text", "content": value}]}]
    if not _given(value) or not isinstance(value, Iterable):
        return []
    return [
        {"role": "user", "parts": [{"type": "text", "content": item}]}
        for item in value
        if isinstance(item, str)
    ]


def embeddings_content(call: Call, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Request-side content of an embeddings call: the input text(s), never the vectors."""
    if not call.capture_enabled:
        return {}
    return {semconv.GEN_AI_INPUT_MESSAGES: text_input_messages(kwargs.get("input"))}


# ---------------------------------------------------------------------------
# Responses -> attributes
# ---------------------------------------------------------------------------


_CHAT_DETAILS = (
    ("prompt_tokens_details", "cached_tokens", semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS),
    ("completion_tokens_details", "reasoning_tokens", semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS),
)
_RESPONSES_DETAILS = (
    ("input_tokens_details", "cached_tokens", semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS),
    ("output_tokens_details", "reasoning_tokens", semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS),
)


def _usage_details(
    usage: Any, attrs: dict[str, Any], fields: tuple[tuple[str, str, str], ...] = _CHAT_DETAILS
) -> None:
    """Cache-read and reasoning token counts, when the usage block has them."""
    for details_name, item, attr in fields:
        details = _get(usage, details_name)
        value = _get(details, item) if details is not None else None
        if isinstance(value, int):
            attrs[attr] = value


def chat_content(call: Call, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Request-side content for a chat call (empty when capture is off)."""
    if not call.capture_enabled:
        return {}
    return request_content(
        chat_input_messages(kwargs.get("messages")),
        tool_definitions=tool_definitions(kwargs.get("tools")),
    )


def finish_chat(response: Any, call: Call, kwargs: Mapping[str, Any]) -> None:
    """End a chat span from a ChatCompletion (or ParsedChatCompletion)."""
    attrs: dict[str, Any] = {}
    # chat_content is empty with capture off: not calling it then keeps the hot path short.
    content = chat_content(call, kwargs) if call.capture_enabled else {}
    input_tokens = output_tokens = None
    try:
        response_id_and_model(attrs, _get(response, "id"), _get(response, "model"))
        choices = _get(response, "choices") or []
        finish_reasons = [c.finish_reason or "" for c in choices]
        if finish_reasons:
            attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS] = finish_reasons
        calls: list[tuple[str | None, str | None]] = []
        outputs = []
        for choice in choices:
            message = choice.message
            tool_calls = _get(message, "tool_calls") or []
            for tc in tool_calls:
                function = _get(tc, "function")
                calls.append((_get(tc, "id"), _get(function, "name")))
            if call.capture_enabled:
                parts = _content_parts(_get(message, "content"))
                parts.extend(_tool_call_part(tc, True) for tc in tool_calls)
                outputs.append(
                    {
                        "role": _get(message, "role") or "assistant",
                        "parts": parts,
                        "finish_reason": choice.finish_reason or "",
                    }
                )
        _tool_call_attrs(calls, attrs)
        if call.capture_enabled:
            content[semconv.GEN_AI_OUTPUT_MESSAGES] = outputs
        usage = _get(response, "usage")
        input_tokens, output_tokens = token_counts(
            usage, "prompt_tokens", "completion_tokens", attrs
        )
        if usage is not None:
            _usage_details(usage, attrs)
    except Exception:
        log_internal_error("reading a chat completion")
    call.succeed(attrs, input_tokens, output_tokens, content)


def finish_embeddings(response: Any, call: Call, kwargs: Mapping[str, Any]) -> None:
    """End an embeddings span from a CreateEmbeddingResponse."""
    attrs: dict[str, Any] = {}
    input_tokens = None
    try:
        if _get(response, "model"):
            attrs[semconv.GEN_AI_RESPONSE_MODEL] = response.model
        data = _get(response, "data") or []
        if data and semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT not in call.metric_attrs:
            vector = _get(data[0], "embedding")
            if isinstance(vector, list):  # base64 encoding gives a str: no count then
                attrs[semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = len(vector)
        usage = _get(response, "usage")
        input_tokens = _get(usage, "prompt_tokens") if usage is not None else None
        if isinstance(input_tokens, int):
            attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] = input_tokens
    except Exception:
        log_internal_error("reading an embeddings response")
    call.succeed(attrs, input_tokens, None, embeddings_content(call, kwargs))


_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


def _responses_finish_reason(response: Any, has_tool_calls: bool) -> str | None:
    status = _get(response, "status")
    if status == "completed":
        return "tool_calls" if has_tool_calls else "stop"
    if status == "incomplete":
        details = _get(response, "incomplete_details")
        reason = _get(details, "reason") if details is not None else None
        return _INCOMPLETE_REASONS.get(str(reason), str(reason or "incomplete"))
    if status in ("failed", "cancelled"):
        return str(status)
    return None


def responses_content(call: Call, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Request-side content for a Responses API call (empty when capture is off)."""
    if not call.capture_enabled:
        return {}
    instructions = kwargs.get("instructions")
    system = (
        [{"type": "text", "content": instructions}]
        if _given(instructions) and instructions
        else None
    )
    return request_content(
        responses_input_messages(kwargs.get("input")),
        system,
        tool_definitions(kwargs.get("tools")),
    )


def responses_attributes(
    response: Any, call: Call, content: dict[str, Any]
) -> tuple[dict[str, Any], int | None, int | None]:
    """Attributes (and output content) of a Responses API ``Response`` object."""
    attrs: dict[str, Any] = {}
    response_id_and_model(attrs, _get(response, "id"), _get(response, "model"))
    calls: list[tuple[str | None, str | None]] = []
    parts: list[dict[str, Any]] = []
    for item in _get(response, "output") or []:
        kind = _get(item, "type")
        if kind == "function_call":
            calls.append((_get(item, "call_id"), _get(item, "name")))
            if call.capture_enabled:
                parts.append(_tool_call_part(item, True))
        elif kind == "message" and call.capture_enabled:
            parts.extend(_content_parts(_get(item, "content")))
    _tool_call_attrs(calls, attrs)
    reason = _responses_finish_reason(response, bool(calls))
    if reason:
        attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS] = [reason]
    if call.capture_enabled:
        content[semconv.GEN_AI_OUTPUT_MESSAGES] = [
            {"role": "assistant", "parts": parts, "finish_reason": reason or ""}
        ]
    usage = _get(response, "usage")
    input_tokens, output_tokens = token_counts(usage, "input_tokens", "output_tokens", attrs)
    if usage is not None:
        _usage_details(usage, attrs, _RESPONSES_DETAILS)
    return attrs, input_tokens, output_tokens


def finish_responses(response: Any, call: Call, kwargs: Mapping[str, Any]) -> None:
    """End a Responses API span from a ``Response``."""
    content = responses_content(call, kwargs)
    attrs: dict[str, Any] = {}
    input_tokens = output_tokens = None
    try:
        attrs, input_tokens, output_tokens = responses_attributes(response, call, content)
    except Exception:
        log_internal_error("reading a Responses API response")
    call.succeed(attrs, input_tokens, output_tokens, content)


# ---------------------------------------------------------------------------
# Streams
# ---------------------------------------------------------------------------


class _ToolCallAcc:
    __slots__ = ("arguments", "id", "name")

    def __init__(self) -> None:
        self.id: str | None = None
        self.name: str | None = None
        self.arguments: list[str] = []


class ChatStreamRecorder(LLMStreamRecorder):
    """Accumulates a chat.completions stream: ids, model, finish reasons, usage, tool calls."""

    __slots__ = (
        "capture",
        "finish_reasons",
        "response_id",
        "response_model",
        "texts",
        "tool_calls",
        "usage",
    )

    def __init__(self, call: Call, kwargs: Mapping[str, Any]) -> None:
        super().__init__(call, kwargs)
        self.capture = call.capture_enabled
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.finish_reasons: dict[int, str] = {}
        self.tool_calls: dict[tuple[int, int], _ToolCallAcc] = {}
        self.texts: dict[int, list[str]] = {}
        self.usage: Any = None

    def process(self, chunk: Any) -> None:
        # The per-chunk hot path: plain attribute reads (a ChatCompletionChunk has
        # every one of these fields; anything else raises, is logged at debug by the
        # proxy, and the chunk still reaches the caller), nothing built unless needed.
        if self.response_id is None:
            self.response_id = chunk.id
            self.response_model = chunk.model
        usage = chunk.usage
        if usage is not None:
            self.usage = usage
        for choice in chunk.choices:
            reason = choice.finish_reason
            if reason:
                self.finish_reasons[choice.index] = reason
            delta = choice.delta
            if delta is None:
                continue
            tool_calls = delta.tool_calls
            if tool_calls:
                self._tool_call_deltas(choice.index, tool_calls)
            if self.capture and delta.content:
                self.texts.setdefault(choice.index, []).append(delta.content)

    def _tool_call_deltas(self, index: int, tool_calls: Any) -> None:
        capture = self.capture
        for tc in tool_calls:
            acc = self.tool_calls.get((index, tc.index))
            if acc is None:
                acc = self.tool_calls[(index, tc.index)] = _ToolCallAcc()
            if tc.id:
                acc.id = tc.id
            function = tc.function
            if function is not None:
                if function.name:
                    acc.name = function.name
                if capture and function.arguments:
                    acc.arguments.append(function.arguments)

    def succeeded(self, ended_at: float) -> None:
        call = self.call
        attrs: dict[str, Any] = {}
        response_id_and_model(attrs, self.response_id, self.response_model)
        indexed_finish_reasons(self.finish_reasons, attrs)
        calls = [(acc.id, acc.name) for _, acc in sorted(self.tool_calls.items())]
        _tool_call_attrs(calls, attrs)
        usage = self.usage
        input_tokens, output_tokens = token_counts(
            usage, "prompt_tokens", "completion_tokens", attrs
        )
        if usage is not None:
            _usage_details(usage, attrs)
        content = chat_content(call, self.kwargs)
        if call.capture_enabled:
            indexes = sorted(
                set(self.texts) | set(self.finish_reasons) | {i for i, _ in self.tool_calls}
            )
            outputs = []
            for i in indexes:
                parts: list[dict[str, Any]] = []
                if i in self.texts:
                    parts.append({"type": "text", "content": "".join(self.texts[i])})
                for (ci, _), acc in sorted(self.tool_calls.items()):
                    if ci == i:
                        parts.append(
                            {
                                "type": "tool_call",
                                "id": acc.id,
                                "name": acc.name,
                                "arguments": _maybe_json("".join(acc.arguments)),
                            }
                        )
                outputs.append(
                    {
                        "role": "assistant",
                        "parts": parts,
                        "finish_reason": self.finish_reasons.get(i, ""),
                    }
                )
            content[semconv.GEN_AI_OUTPUT_MESSAGES] = outputs
        call.succeed(attrs, input_tokens, output_tokens, content, ended_at)


_FINAL_RESPONSE_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


class ResponsesStreamRecorder(LLMStreamRecorder):
    """Accumulates a Responses API event stream: the final ``Response`` carries it all."""

    __slots__ = ("final", "response_id", "response_model", "stream_error")

    def __init__(self, call: Call, kwargs: Mapping[str, Any]) -> None:
        super().__init__(call, kwargs)
        self.final: Any = None
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.stream_error: str | None = None

    def process(self, chunk: Any) -> None:
        kind = getattr(chunk, "type", None)
        if kind in _FINAL_RESPONSE_EVENTS:
            self.final = chunk.response
        elif kind == "response.created":
            response = chunk.response
            self.response_id = getattr(response, "id", None)
            self.response_model = getattr(response, "model", None)
        elif kind == "error":
            self.stream_error = str(getattr(chunk, "code", None) or "error")

    def record_timing(self, ended_at: float) -> None:
        final_model = getattr(self.final, "model", None) if self.final is not None else None
        self.call.record_stream_timing(self, ended_at, final_model or self.response_model)

    def succeeded(self, ended_at: float) -> None:
        call = self.call
        content = responses_content(call, self.kwargs)
        attrs: dict[str, Any] = {}
        input_tokens = output_tokens = None
        try:
            if self.final is not None:
                attrs, input_tokens, output_tokens = responses_attributes(self.final, call, content)
            else:
                response_id_and_model(attrs, self.response_id, self.response_model)
            if self.stream_error:
                attrs[semconv.ERROR_TYPE] = self.stream_error
                call.metric_attrs[semconv.ERROR_TYPE] = self.stream_error
        except Exception:
            log_internal_error("reading a Responses API stream")
        call.succeed(attrs, input_tokens, output_tokens, content, ended_at)
