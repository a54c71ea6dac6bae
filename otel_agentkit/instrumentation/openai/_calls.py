"""How OpenAI's APIs read: chat completions, the Responses API, embeddings.

Request attributes, request-side content and response readers for the shared
LLM skeleton (:mod:`otel_agentkit.instrumentation._llm`), plus the provider
name of an OpenAI-compatible endpoint. A reader fills a
:class:`~otel_agentkit.instrumentation._genai.Response`; a surprise in a
response shape leaves that part out (the skeleton logs it at debug level).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from otel_agentkit import semconv
from otel_agentkit.instrumentation._genai import (
    Call,
    LLMStreamRecorder,
    Response,
    get_field,
    given,
    index_order,
    is_mapping,
    maybe_json,
    request_content,
    stop_sequences,
)

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


def provider_for(client_type: type[Any], host: str | None, port: int | None) -> str:
    """gen_ai.provider.name from the client class or base_url, else openai."""
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
    if not given(response_format):
        return None
    if isinstance(response_format, type):  # .parse(response_format=PydanticModel)
        return semconv.OUTPUT_TYPE_JSON
    kind = get_field(response_format, "type")
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
    if not given(max_tokens):
        max_tokens = kwargs.get("max_tokens")
    if given(max_tokens):
        attrs[semconv.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
    for key, attr in _CHAT_NUMBERS.items():
        value = kwargs.get(key)
        if isinstance(value, int | float):  # None, NOT_GIVEN and omit are not numbers
            attrs[attr] = value
    stop: Any = kwargs.get("stop")
    if given(stop):
        attrs[semconv.GEN_AI_REQUEST_STOP_SEQUENCES] = stop_sequences(stop)
    n = kwargs.get("n")
    if given(n) and n != 1:
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
    if given(max_tokens):
        attrs[semconv.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
    for key, attr in (
        ("temperature", semconv.GEN_AI_REQUEST_TEMPERATURE),
        ("top_p", semconv.GEN_AI_REQUEST_TOP_P),
    ):
        value = kwargs.get(key)
        if given(value) and isinstance(value, int | float):
            attrs[attr] = value
    if kwargs.get("stream") is True:
        attrs[semconv.GEN_AI_REQUEST_STREAM] = True
    text = kwargs.get("text")
    if given(text):
        output_type = _output_type(get_field(text, "format"))
        if output_type:
            attrs[semconv.GEN_AI_OUTPUT_TYPE] = output_type
    return attrs


def embeddings_request_attributes(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """gen_ai.request.* for embeddings.create."""
    attrs: dict[str, Any] = {}
    encoding = kwargs.get("encoding_format")
    if given(encoding):
        attrs[semconv.GEN_AI_REQUEST_ENCODING_FORMATS] = [str(encoding)]
    dimensions = kwargs.get("dimensions")
    if given(dimensions):
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
            kind = get_field(part, "type")
            text = get_field(part, "text")
            if text is not None:
                parts.append({"type": "text", "content": text})
            elif kind in ("image_url", "input_image"):
                image = get_field(part, "image_url")
                uri = (
                    get_field(image, "url")
                    if image is not None and not isinstance(image, str)
                    else image
                )
                parts.append({"type": "uri", "modality": "image", "uri": uri})
            else:
                parts.append({"type": str(kind or "unknown")})
    return parts


def _tool_call_part(call: Any, capture: bool) -> dict[str, Any]:
    function = get_field(call, "function")
    part: dict[str, Any] = {
        "type": "tool_call",
        "id": get_field(call, "call_id") or get_field(call, "id"),
        "name": get_field(function, "name") if function is not None else get_field(call, "name"),
    }
    if capture:
        args = (
            get_field(function, "arguments")
            if function is not None
            else get_field(call, "arguments")
        )
        part["arguments"] = maybe_json(args)
    return part


def chat_input_messages(messages: Any) -> list[dict[str, Any]]:
    """Chat request messages as conventions' input messages."""
    out: list[dict[str, Any]] = []
    if not given(messages):
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
        role = get_field(message, "role") or "user"
        if role == "tool":
            out.append(
                {
                    "role": "tool",
                    "parts": [
                        {
                            "type": "tool_call_response",
                            "id": get_field(message, "tool_call_id"),
                            "response": get_field(message, "content"),
                        }
                    ],
                }
            )
            continue
        parts = _content_parts(get_field(message, "content"))
        for call in get_field(message, "tool_calls") or ():
            parts.append(_tool_call_part(call, True))
        out.append({"role": role, "parts": parts})
    return out


def tool_definitions(tools: Any) -> list[dict[str, Any]]:
    """Request ``tools`` as conventions' tool definitions."""
    out: list[dict[str, Any]] = []
    if not given(tools):
        return out
    for tool in tools:
        function = get_field(tool, "function")
        source = function if function is not None else tool
        definition = {
            "type": get_field(tool, "type") or "function",
            "name": get_field(source, "name"),
        }
        for key in ("description", "parameters"):
            value = get_field(source, key)
            if value is not None:
                definition[key] = value
        out.append(definition)
    return out


def responses_input_messages(value: Any) -> list[dict[str, Any]]:
    """Responses API ``input`` (a string or a list of items) as input messages."""
    if not given(value):
        return []
    if isinstance(value, str):
        return [{"role": "user", "parts": [{"type": "text", "content": value}]}]
    out: list[dict[str, Any]] = []
    for item in value:
        kind = get_field(item, "type")
        if kind == "function_call_output":
            out.append(
                {
                    "role": "tool",
                    "parts": [
                        {
                            "type": "tool_call_response",
                            "id": get_field(item, "call_id"),
                            "response": get_field(item, "output"),
                        }
                    ],
                }
            )
        elif kind == "function_call":
            out.append({"role": "assistant", "parts": [_tool_call_part(item, True)]})
        else:
            role = get_field(item, "role") or "user"
            out.append({"role": role, "parts": _content_parts(get_field(item, "content"))})
    return out


def text_input_messages(value: Any) -> list[dict[str, Any]]:
    """A prompt or embeddings ``input`` as input messages: one user text message per string.

    Token-id inputs (lists of ints) are not text and are left out.
    """
    if isinstance(value, str):
        return [{"role": "user", "parts": [{"type": "text", "content": value}]}]
    if not given(value) or not isinstance(value, Iterable):
        return []
    return [
        {"role": "user", "parts": [{"type": "text", "content": item}]}
        for item in value
        if isinstance(item, str)
    ]


def embeddings_content(params: Mapping[str, Any]) -> dict[str, Any]:
    """Request-side content of an embeddings call: the input text(s), never the vectors."""
    return {semconv.GEN_AI_INPUT_MESSAGES: text_input_messages(params.get("input"))}


# ---------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------


def _usage_details(usage: Any, response: Response, input_details: str, output_details: str) -> None:
    """Cache-read and reasoning token counts, when the usage block has them."""
    details = get_field(usage, input_details)
    cached = get_field(details, "cached_tokens") if details is not None else None
    if isinstance(cached, int):
        response.cache_read_tokens = cached
    details = get_field(usage, output_details)
    reasoning = get_field(details, "reasoning_tokens") if details is not None else None
    if isinstance(reasoning, int):
        response.reasoning_tokens = reasoning


def chat_content(params: Mapping[str, Any]) -> dict[str, Any]:
    """Request-side content of a chat call."""
    return request_content(
        chat_input_messages(params.get("messages")),
        tool_definitions=tool_definitions(params.get("tools")),
    )


def read_chat(result: Any, params: Mapping[str, Any], response: Response) -> None:
    """A ChatCompletion (or ParsedChatCompletion)."""
    mapping = is_mapping(result)
    if mapping:
        response.id = result.get("id")
        response.model = result.get("model")
        choices = result.get("choices") or []
    else:  # a model (the common case): what get_field reads, without a call per field
        response.id = getattr(result, "id", None)
        response.model = getattr(result, "model", None)
        choices = getattr(result, "choices", None) or []
    if choices:
        response.finish_reasons = [c.finish_reason or "" for c in choices]
    capture = response.capture
    outputs = []
    for choice in choices:
        message = choice.message
        message_mapping = is_mapping(message)
        tool_calls = (
            message.get("tool_calls") if message_mapping else getattr(message, "tool_calls", None)
        ) or []
        for tc in tool_calls:
            function = get_field(tc, "function")
            response.tool_calls.append((get_field(tc, "id"), get_field(function, "name")))
        if capture:
            content = (
                message.get("content") if message_mapping else getattr(message, "content", None)
            )
            # A text answer (the common case): what _content_parts gives, without the call.
            if type(content) is str:
                parts = [{"type": "text", "content": content}]
            else:
                parts = _content_parts(content)
            if tool_calls:
                parts.extend(_tool_call_part(tc, True) for tc in tool_calls)
            role = message.get("role") if message_mapping else getattr(message, "role", None)
            outputs.append(
                {
                    "role": role or "assistant",
                    "parts": parts,
                    "finish_reason": choice.finish_reason or "",
                }
            )
    if capture:
        response.output_messages = outputs
    usage = result.get("usage") if mapping else getattr(result, "usage", None)
    if usage is not None:
        response.read_tokens(usage, "prompt_tokens", "completion_tokens")
        _usage_details(usage, response, "prompt_tokens_details", "completion_tokens_details")


def read_embeddings(result: Any, params: Mapping[str, Any], response: Response) -> None:
    """A CreateEmbeddingResponse (the vectors' length, unless the request named it)."""
    response.model = get_field(result, "model") or None
    data = get_field(result, "data") or []
    if data and not given(params.get("dimensions")):
        vector = get_field(data[0], "embedding")
        if isinstance(vector, list):  # base64 encoding gives a str: no count then
            response.attributes = {semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT: len(vector)}
    usage = get_field(result, "usage")
    input_tokens = get_field(usage, "prompt_tokens") if usage is not None else None
    if isinstance(input_tokens, int):
        response.input_tokens = input_tokens


_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


def _responses_finish_reason(result: Any, has_tool_calls: bool) -> str | None:
    status = get_field(result, "status")
    if status == "completed":
        return "tool_calls" if has_tool_calls else "stop"
    if status == "incomplete":
        details = get_field(result, "incomplete_details")
        reason = get_field(details, "reason") if details is not None else None
        return _INCOMPLETE_REASONS.get(str(reason), str(reason or "incomplete"))
    if status in ("failed", "cancelled"):
        return str(status)
    return None


def responses_content(params: Mapping[str, Any]) -> dict[str, Any]:
    """Request-side content of a Responses API call."""
    instructions = params.get("instructions")
    system = (
        [{"type": "text", "content": instructions}]
        if given(instructions) and instructions
        else None
    )
    return request_content(
        responses_input_messages(params.get("input")),
        system,
        tool_definitions(params.get("tools")),
    )


def read_responses(result: Any, params: Mapping[str, Any], response: Response) -> None:
    """A Responses API ``Response`` object."""
    response.id = get_field(result, "id")
    response.model = get_field(result, "model")
    capture = response.capture
    parts: list[dict[str, Any]] = []
    for item in get_field(result, "output") or []:
        kind = get_field(item, "type")
        if kind == "function_call":
            response.tool_calls.append((get_field(item, "call_id"), get_field(item, "name")))
            if capture:
                parts.append(_tool_call_part(item, True))
        elif kind == "message" and capture:
            parts.extend(_content_parts(get_field(item, "content")))
    reason = _responses_finish_reason(result, bool(response.tool_calls))
    if reason:
        response.finish_reasons = [reason]
    if capture:
        response.output_messages = [
            {"role": "assistant", "parts": parts, "finish_reason": reason or ""}
        ]
    usage = get_field(result, "usage")
    if usage is not None:
        response.read_tokens(usage, "input_tokens", "output_tokens")
        _usage_details(usage, response, "input_tokens_details", "output_tokens_details")


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
        "finish_reasons",
        "response_id",
        "response_model",
        "texts",
        "tool_calls",
        "usage",
    )

    def __init__(self, call: Call) -> None:
        super().__init__(call)
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.finish_reasons: dict[Any, str] = {}
        self.tool_calls: dict[tuple[Any, Any], _ToolCallAcc] = {}
        self.texts: dict[Any, list[str]] = {}
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

    def _tool_call_deltas(self, index: Any, tool_calls: Any) -> None:
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

    def read(self, response: Response) -> None:
        response.id = self.response_id
        response.model = self.response_model
        response.set_indexed_finish_reasons(self.finish_reasons)
        response.tool_calls = [(acc.id, acc.name) for _, acc in self._sorted_tool_calls()]
        usage = self.usage
        if usage is not None:
            response.read_tokens(usage, "prompt_tokens", "completion_tokens")
            _usage_details(usage, response, "prompt_tokens_details", "completion_tokens_details")
        if self.capture:
            response.output_messages = self._output_messages()

    def _sorted_tool_calls(self) -> list[tuple[tuple[Any, Any], _ToolCallAcc]]:
        """Tool calls by choice, then by index: a server's null or string index sorts last."""
        return sorted(
            self.tool_calls.items(),
            key=lambda item: (index_order(item[0][0]), index_order(item[0][1])),
        )

    def _output_messages(self) -> list[dict[str, Any]]:
        indexes = sorted(
            set(self.texts) | set(self.finish_reasons) | {i for i, _ in self.tool_calls},
            key=index_order,
        )
        outputs = []
        for i in indexes:
            parts: list[dict[str, Any]] = []
            if i in self.texts:
                parts.append({"type": "text", "content": "".join(self.texts[i])})
            for (ci, _), acc in self._sorted_tool_calls():
                if ci == i:
                    parts.append(
                        {
                            "type": "tool_call",
                            "id": acc.id,
                            "name": acc.name,
                            "arguments": maybe_json("".join(acc.arguments)),
                        }
                    )
            outputs.append(
                {
                    "role": "assistant",
                    "parts": parts,
                    "finish_reason": self.finish_reasons.get(i, ""),
                }
            )
        return outputs


_FINAL_RESPONSE_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


class ResponsesStreamRecorder(LLMStreamRecorder):
    """Accumulates a Responses API event stream: the final ``Response`` carries it all."""

    __slots__ = ("final", "response_id", "response_model", "stream_error")

    def __init__(self, call: Call) -> None:
        super().__init__(call)
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

    def read(self, response: Response) -> None:
        response.error_type = self.stream_error
        if self.final is not None:
            read_responses(self.final, {}, response)
        if response.id is None:
            response.id = self.response_id
        if response.model is None:
            response.model = self.response_model
