"""How Bedrock Runtime reads: requests, content, responses and streams of its two APIs.

``Converse`` / ``ConverseStream`` speak one shape for every model;
``InvokeModel`` (and its stream) carries each model family's own JSON
bodies. One table of every family's sampling keys reads both APIs' requests.
Claude's InvokeModel bodies and events are read by the Anthropic mapping,
Nova's by the Converse readers here; the other families (Titan, Meta Llama,
Cohere, AI21, Mistral, imported OpenAI-shaped models) differ in key names
only, so one table of key paths reads them. Token counts come from the
response (Converse, Claude, Nova), else from the headers every InvokeModel
response carries or a stream's ``amazon-bedrock-invocationMetrics``. Bedrock
counts cached prompt tokens apart from the input tokens:
``gen_ai.usage.input_tokens`` is their sum, as the conventions count it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from otel_agentkit import semconv
from otel_agentkit.instrumentation._base import log_internal_error
from otel_agentkit.instrumentation._botocore import BODY
from otel_agentkit.instrumentation._genai import (
    Call,
    LLMStreamRecorder,
    Response,
    copy_numbers,
    dig,
    maybe_json,
    request_content,
    stop_sequences,
)
from otel_agentkit.instrumentation.anthropic import _messages

#: Sampling keys of Converse's ``inferenceConfig`` and of each model family's own
#: request body (Anthropic, Meta, Nova, Titan, Cohere, AI21, Mistral) -> attribute.
_NUMBERS = {
    key: attribute
    for attribute, keys in (
        (
            semconv.GEN_AI_REQUEST_MAX_TOKENS,
            "maxTokens max_tokens max_tokens_to_sample max_gen_len maxTokenCount max_new_tokens",
        ),
        (semconv.GEN_AI_REQUEST_TEMPERATURE, "temperature"),
        (semconv.GEN_AI_REQUEST_TOP_P, "topP top_p p"),
        (semconv.GEN_AI_REQUEST_TOP_K, "topK top_k k"),
        (semconv.GEN_AI_REQUEST_SEED, "seed"),
        (semconv.GEN_AI_REQUEST_FREQUENCY_PENALTY, "frequency_penalty"),
        (semconv.GEN_AI_REQUEST_PRESENCE_PENALTY, "presence_penalty"),
    )
    for key in keys.split()
}
_STOP_KEYS = ("stopSequences", "stop_sequences", "stop")
_GUARDRAIL_ID = "guardrailConfig.guardrailIdentifier"
#: Token field <- usage keys: Converse's, InvokeModel's (Nova, invocation metrics), Titan's.
_USAGE = {
    "input_tokens": ("inputTokens", "inputTokenCount", "inputTextTokenCount"),
    "output_tokens": ("outputTokens", "outputTokenCount", "totalOutputTextTokenCount"),
    "cache_read_tokens": ("cacheReadInputTokens", "cacheReadInputTokenCount"),
    "cache_creation_tokens": ("cacheWriteInputTokens", "cacheWriteInputTokenCount"),
}
#: Response header -> the invocation-metrics key for its count (``_USAGE``).
_USAGE_HEADERS = {
    "x-amzn-bedrock-input-token-count": "inputTokenCount",
    "x-amzn-bedrock-output-token-count": "outputTokenCount",
    "x-amzn-bedrock-cache-read-input-token-count": "cacheReadInputTokenCount",
    "x-amzn-bedrock-cache-write-input-token-count": "cacheWriteInputTokenCount",
}
#: Where a family puts its texts and finish reasons, in a body or a stream chunk:
#: (key of its list of candidates, "" for the object itself; text paths; reason paths).
_SHAPES = (
    ("results", "outputText", "completionReason"),  # Amazon Titan
    ("generations", "text", "finish_reason"),  # Cohere Command
    ("completions", "data.text", "finishReason.reason"),  # AI21 Jurassic-2
    ("outputs", "text", "stop_reason"),  # Mistral
    ("choices", "message.content delta.content text", "finish_reason"),  # OpenAI-shaped
    # Titan chunks, Claude 2 text completions, Meta Llama, Cohere Command R:
    ("", "outputText completion generation text", "completionReason stop_reason finish_reason"),
)
_TITAN_COUNTS = ("inputTextTokenCount", "totalOutputTextTokenCount")
_CONVERSE_EVENTS = frozenset({"messageStart", "contentBlockDelta", "messageStop", "metadata"})
_INTERVENED = "INTERVENED"
#: The stop reason of a response a guardrail intervened in.
_GUARDRAIL_STOP = "guardrail_intervened"


def request_attributes(params: Mapping[str, Any]) -> dict[str, Any]:
    """gen_ai.request.* and the guardrail of a Converse call, or of an InvokeModel body."""
    attrs: dict[str, Any] = {}
    body = params.get(BODY) or {}
    extra = params.get("additionalModelRequestFields")  # Nova's: {"inferenceConfig": {"topK": 20}}
    for config in (
        *(params.get("inferenceConfig"), extra, dig(extra, "inferenceConfig")),
        *(body, body.get("inferenceConfig"), body.get("textGenerationConfig")),
    ):
        if isinstance(config, Mapping):
            copy_numbers(config, _NUMBERS, attrs)
            stop = next((config[k] for k in _STOP_KEYS if config.get(k)), None)
            if stop:
                attrs[semconv.GEN_AI_REQUEST_STOP_SEQUENCES] = stop_sequences(stop)
    dimensions = body.get("dimensions") or body.get("output_dimension")
    if isinstance(dimensions, int):
        attrs[semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = dimensions
    guardrail = params.get("guardrailIdentifier") or dig(params, _GUARDRAIL_ID)
    if guardrail:
        attrs[semconv.AWS_BEDROCK_GUARDRAIL_ID] = str(guardrail)
    return attrs


def operation(params: Mapping[str, Any]) -> str:
    """``embeddings`` for an embedding model, ``chat`` for messages, else ``text_completion``."""
    if "embed" in str(params.get("modelId")).lower():
        return semconv.OP_EMBEDDINGS
    return semconv.OP_CHAT if "messages" in params[BODY] else semconv.OP_TEXT_COMPLETION


# -- content (capture on only), in the conventions' parts format ------------------------


def _part(block: Any) -> dict[str, Any] | None:
    """One content block (a one-key dict: ``{"text": ...}``, ``{"toolUse": {...}}``...)."""
    if isinstance(block, str):
        return {"type": "text", "content": block}
    kind, value = next(iter(block.items()), ("unknown", None))
    if kind == "text":
        return {"type": "text", "content": value}
    value = value if isinstance(value, Mapping) else {}
    if kind == "guardContent":
        return {"type": "text", "content": dig(value, "text.text")}
    if kind == "reasoningContent":
        return {"type": "reasoning", "content": dig(value, "reasoningText.text")}
    if kind == "toolUse":
        call = {"id": value.get("toolUseId"), "name": value.get("name")}
        return {"type": "tool_call", **call, "arguments": value.get("input")}
    if kind == "toolResult":
        result = {"id": value.get("toolUseId"), "response": value.get("content")}
        return {"type": "tool_call_response", **result}
    if kind in ("image", "document", "video"):  # its format, never its bytes
        return {"type": "blob", "modality": kind, "mime_type": f"{kind}/{value.get('format')}"}
    return None if kind == "cachePoint" else {"type": kind}


def _parts(content: Any) -> list[dict[str, Any]]:
    """A message's content (a list of blocks, or one string) as parts."""
    blocks = [content] if isinstance(content, str) else content or ()
    return [part for part in map(_part, blocks) if part is not None]


def converse_content(params: Mapping[str, Any]) -> dict[str, Any]:
    """Request-side content of a Converse call (or of a Converse-shaped request body)."""
    messages = []
    for message in params.get("messages") or ():
        found = _parts(message.get("content"))
        role = message.get("role") or "user"
        if found and all(p["type"] == "tool_call_response" for p in found):
            role = "tool"
        messages.append({"role": role, "parts": found})
    tools = [tool.get("toolSpec") or {} for tool in dig(params, "toolConfig.tools") or ()]
    definitions = [
        {
            "type": "function",
            "name": spec.get("name"),
            "description": spec.get("description"),
            "parameters": dig(spec, "inputSchema.json"),
        }
        for spec in tools
    ]
    return request_content(messages, _parts(params.get("system")), definitions)


def invoke_content(params: Mapping[str, Any]) -> dict[str, Any]:
    """Request-side content: messages as Anthropic or Converse shape them, else the prompts."""
    body = params[BODY]
    if "messages" in body:
        anthropic = "anthropic_version" in body
        return (_messages.message_content if anthropic else converse_content)(body)
    texts = body.get("texts") or [body.get("prompt") or body.get("inputText")]
    messages = [{"role": "user", "parts": [{"type": "text", "content": t}]} for t in texts if t]
    return {semconv.GEN_AI_INPUT_MESSAGES: messages}


# -- responses ----------------------------------------------------------------------------


def _guardrail(params: Mapping[str, Any], intervened: bool, response: Response) -> None:
    """Whether the guardrail the request named intervened (said by ``intervened`` or the stop)."""
    if params.get("guardrailConfig") or params.get("guardrailIdentifier"):
        intervened = intervened or _GUARDRAIL_STOP in (response.finish_reasons or ())
        attrs = {semconv.AGENTKIT_BEDROCK_GUARDRAIL_INTERVENED: intervened}
        response.attributes = {**(response.attributes or {}), **attrs}


def read_converse(result: Any, params: Mapping[str, Any], response: Response) -> None:
    """A Converse response (or Nova's InvokeModel body): stop reason, tool calls, usage."""
    stop = result.get("stopReason")
    if stop:
        response.finish_reasons = [str(stop)]
    message = dig(result, "output.message") or {}
    blocks = message.get("content") or ()
    uses = [block["toolUse"] for block in blocks if "toolUse" in block]
    response.tool_calls = [(use.get("toolUseId"), use.get("name")) for use in uses]
    if response.capture:
        role = message.get("role") or "assistant"
        response.output_messages = [
            {"role": role, "parts": _parts(blocks), "finish_reason": str(stop or "")}
        ]
    response.read_usage(result.get("usage"), _USAGE, cached_apart=True)
    _guardrail(params, False, response)


def _first(item: Any, paths: str) -> Any:
    """The first of ``paths`` (space-separated) that has a value in ``item``."""
    return next(filter(None, (dig(item, path) for path in paths.split())), None)


def _read_text(body: Mapping[str, Any]) -> tuple[list[Any], list[Any]]:
    """Texts and finish reasons, one per candidate, of any text family's body or chunk."""
    for key, text_paths, reason_paths in _SHAPES:
        items = body.get(key) if key else [body]
        if isinstance(items, list):
            texts = [_first(item, text_paths) for item in items]
            reasons = [_first(item, reason_paths) for item in items]
            if any(texts) or any(reasons):
                return texts, reasons
    return [], []


def _read_texts(texts: Mapping[int, str], reasons: Mapping[int, Any], response: Response) -> None:
    response.set_indexed_finish_reasons({i: str(r) for i, r in reasons.items() if r})
    if response.capture:
        response.output_messages = [
            {
                "role": "assistant",
                "parts": [{"type": "text", "content": texts.get(i, "")}],
                "finish_reason": str(reasons.get(i) or ""),
            }
            for i in sorted({*texts, *reasons})
        ]


def read_body(
    invoked: tuple[Mapping[str, str], Any], params: Mapping[str, Any], response: Response
) -> None:
    """An InvokeModel response: (its HTTP headers, its JSON body)."""
    headers, body = invoked
    counts = {key: int(headers[h]) for h, key in _USAGE_HEADERS.items() if h in headers}
    response.read_usage(counts, _USAGE, cached_apart=True)
    if body.get("type") == "message":  # Anthropic Claude Messages
        _messages.read_message(body, params, response)
    elif "output" in body:  # Amazon Nova
        read_converse(body, params, response)
    elif "embedding" in body or "embeddings" in body:  # Titan, Cohere (a list, or by type)
        vector = body.get("embedding") or body.get("embeddings")
        vector = next(iter(vector.values()), None) if isinstance(vector, Mapping) else vector
        vector = vector[0] if vector and isinstance(vector[0], list) else vector
        response.attributes = {semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT: len(vector or ())}
    else:
        texts, reasons = _read_text(body)
        _read_texts(dict(enumerate(texts)), dict(enumerate(reasons)), response)
        response.id, response.model = body.get("id"), body.get("model")  # (non-strings: dropped)
    intervened = body.get("amazon-bedrock-guardrailAction") == _INTERVENED
    _guardrail(params, intervened, response)


# -- streams ------------------------------------------------------------------------------


class ConverseStreamRecorder(LLMStreamRecorder):
    """Accumulates a ConverseStream (or a Nova InvokeModel stream): stop reason, usage, tools.

    A "chunk" for the streaming metrics is a ``contentBlockDelta`` (generated
    output); ``messageStart``, block start/stop and ``metadata`` do not count.
    Kept by block index: each tool call's ``toolUse`` start (id and name) and,
    with content capture on, the deltas' text or tool input; read at the end
    as a Converse response would be, adjacent text blocks as one (Nova's
    InvokeModel stream sends each token as a block of its own).
    """

    __slots__ = ("pieces", "result", "uses")

    def __init__(self, call: Call) -> None:
        super().__init__(call)
        self.result: dict[str, Any] = {}  # stopReason, usage: as a Converse response has them
        self.uses: dict[int, dict[str, Any]] = {}
        self.pieces: dict[int, list[str]] = {}

    def on_chunk(self, chunk: Any) -> None:
        """One stream event (a one-key dict); never raises."""
        try:
            if "contentBlockDelta" in chunk:
                self.count_output()
                if self.capture:
                    event = chunk["contentBlockDelta"]
                    delta = event.get("delta") or {}
                    piece = delta.get("text") or dig(delta, "toolUse.input") or ""
                    self.pieces.setdefault(event.get("contentBlockIndex", 0), []).append(piece)
            elif "contentBlockStart" in chunk:
                event = chunk["contentBlockStart"]
                use = dig(event, "start.toolUse")
                if use is not None:
                    self.uses[event.get("contentBlockIndex", 0)] = dict(use)
            elif "messageStop" in chunk:
                self.result["stopReason"] = chunk["messageStop"].get("stopReason")
            elif "metadata" in chunk:
                self.result["usage"] = chunk["metadata"].get("usage")
        except Exception:
            log_internal_error("bedrock converse stream event")

    def read(self, response: Response) -> None:
        blocks: list[dict[str, Any]] = []
        for index in sorted({*self.uses, *self.pieces}):
            text = "".join(self.pieces.get(index, ()))
            if index in self.uses:
                blocks.append({"toolUse": {**self.uses[index], "input": maybe_json(text)}})
            elif blocks and "text" in blocks[-1]:  # Nova's stream: a block per token
                blocks[-1]["text"] += text
            else:
                blocks.append({"text": text})
        message = {"role": "assistant", "content": blocks}
        read_converse(
            {**self.result, "output": {"message": message}}, self.call.params or {}, response
        )


class InvokeStreamRecorder(LLMStreamRecorder):
    """An InvokeModelWithResponseStream: each event's ``chunk.bytes`` is the model's own JSON.

    The first chunk says who reads them all: the Anthropic recorder (Claude's
    Messages events, read as attribute objects) or the Converse one (Nova's),
    whose chunk timing is then the stream's; else this one, for the text
    families (every chunk counts). The invocation metrics (or Titan's own
    counts) give the token counts the model's events do not.
    """

    __slots__ = ("inner", "intervened", "reasons", "texts", "usage")

    def __init__(self, call: Call) -> None:
        super().__init__(call)
        self.inner: LLMStreamRecorder | None = None
        self.usage: dict[str, Any] = {}
        self.intervened = False
        self.texts: dict[int, list[str]] = {}
        self.reasons: dict[int, Any] = {}

    def on_chunk(self, chunk: Any) -> None:
        """One ``{"chunk": {"bytes": ...}}`` event; never raises."""
        try:
            raw = chunk["chunk"]["bytes"]
            data = json.loads(raw)
            self.usage.update(data.get("amazon-bedrock-invocationMetrics") or ())
            self.usage.update((k, data[k]) for k in _TITAN_COUNTS if k in data)
            self.intervened |= data.get("amazon-bedrock-guardrailAction") == _INTERVENED
            if self.inner is None:
                kind: type[LLMStreamRecorder] | None = None
                if "type" in data:
                    kind = _messages.MessageStreamRecorder
                elif _CONVERSE_EVENTS.intersection(data):
                    kind = ConverseStreamRecorder
                self.inner = self if kind is None else kind(self.call)
            if self.inner is not self:
                if isinstance(self.inner, _messages.MessageStreamRecorder):
                    data = json.loads(raw, object_hook=lambda fields: SimpleNamespace(**fields))
                self.inner.on_chunk(data)
                return
            self.count_output()
            texts, reasons = _read_text(data)
            self.reasons.update((i, reason) for i, reason in enumerate(reasons) if reason)
            for i, text in enumerate(texts if self.capture else ()):
                self.texts.setdefault(i, []).append(text or "")
        except Exception:
            log_internal_error("bedrock invoke stream chunk")

    def read(self, response: Response) -> None:
        inner = self.inner
        if inner is self:
            texts = {i: "".join(pieces) for i, pieces in self.texts.items()}
            _read_texts(texts, self.reasons, response)
        elif inner is not None:
            inner.read(response)
            self.first_chunk_at, self.last_chunk_at = inner.first_chunk_at, inner.last_chunk_at
            self.chunks = inner.chunks
        if response.input_tokens is None and response.output_tokens is None:
            response.read_usage(self.usage, _USAGE, cached_apart=True)
        _guardrail(self.call.params or {}, self.intervened, response)
