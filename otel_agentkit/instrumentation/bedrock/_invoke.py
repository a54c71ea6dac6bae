"""How Bedrock's InvokeModel reads: each model family's own request and response bodies.

Anthropic Claude's Messages bodies (and events) are read by the Anthropic
mapping, Amazon Nova's by the Converse one; the other families (Titan, Meta
Llama, Cohere, AI21, Mistral, imported OpenAI-shaped models) differ in key
names only, so one table of key paths reads them. Token counts come from the
headers every InvokeModel response carries (``X-Amzn-Bedrock-Input-Token-Count``
...) or a stream's ``amazon-bedrock-invocationMetrics``, unless the body says more.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from otel_agentkit import semconv
from otel_agentkit.instrumentation._base import log_internal_error
from otel_agentkit.instrumentation._genai import Call, LLMStreamRecorder, Response
from otel_agentkit.instrumentation.anthropic import _messages
from otel_agentkit.instrumentation.bedrock import _converse

#: Key, in the parameters the mapping reads, of the request body parsed once.
BODY = "_agentkit_body"
#: Response header -> the invocation-metrics key ``_converse.read_usage`` reads.
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


def json_object(data: Any) -> dict[str, Any]:
    """``data`` (JSON bytes or text) parsed, when it is a JSON object; else ``{}``."""
    try:
        parsed = json.loads(data) if isinstance(data, bytes | bytearray | str) else None
    except ValueError:
        parsed = None
    return parsed if isinstance(parsed, dict) else {}


def with_body(params: Mapping[str, Any]) -> dict[str, Any]:
    """The call's parameters and its request body, parsed once."""
    return {**params, BODY: json_object(params.get("body"))}


def operation(params: Mapping[str, Any]) -> str:
    """``embeddings`` for an embedding model, ``chat`` for messages, else ``text_completion``."""
    if "embed" in str(params.get("modelId")).lower():
        return semconv.OP_EMBEDDINGS
    return semconv.OP_CHAT if "messages" in params[BODY] else semconv.OP_TEXT_COMPLETION


def request_attributes(params: Mapping[str, Any]) -> dict[str, Any]:
    """gen_ai.request.* from the body (any family's key names) and the guardrail."""
    body = params[BODY]
    attrs: dict[str, Any] = {}
    for config in (body, body.get("inferenceConfig"), body.get("textGenerationConfig")):
        _converse.sampling_attributes(config, attrs)
    dimensions = body.get("dimensions") or body.get("output_dimension")
    if isinstance(dimensions, int):
        attrs[semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = dimensions
    if params.get("guardrailIdentifier"):
        attrs[semconv.AWS_BEDROCK_GUARDRAIL_ID] = str(params["guardrailIdentifier"])
    return attrs


def content(params: Mapping[str, Any]) -> dict[str, Any]:
    """Request-side content: messages as Anthropic or Converse shape them, else the prompts."""
    body = params[BODY]
    if "messages" in body:
        anthropic = "anthropic_version" in body
        return (_messages.message_content if anthropic else _converse.content)(body)
    texts = body.get("texts") or [body.get("prompt") or body.get("inputText")]
    messages = [{"role": "user", "parts": [{"type": "text", "content": t}]} for t in texts if t]
    return {semconv.GEN_AI_INPUT_MESSAGES: messages}


# -- responses ----------------------------------------------------------------------------


def _first(item: Any, paths: str) -> Any:
    """The first of ``paths`` (space-separated) that has a value in ``item``."""
    return next(filter(None, (_converse.dig(item, path) for path in paths.split())), None)


def read_text(body: Mapping[str, Any]) -> tuple[list[Any], list[Any]]:
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
    _converse.read_usage(counts, response)
    if body.get("type") == "message":  # Anthropic Claude Messages
        _messages.read_message(body, params, response)
    elif "output" in body:  # Amazon Nova
        _converse.read_message(body, params, response)
    elif "embedding" in body or "embeddings" in body:  # Titan, Cohere (a list, or by type)
        vector = body.get("embedding") or body.get("embeddings")
        vector = next(iter(vector.values()), None) if isinstance(vector, Mapping) else vector
        vector = vector[0] if vector and isinstance(vector[0], list) else vector
        response.attributes = {semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT: len(vector or ())}
    else:
        texts, reasons = read_text(body)
        _read_texts(dict(enumerate(texts)), dict(enumerate(reasons)), response)
        response.id, response.model = body.get("id"), body.get("model")  # (non-strings: dropped)
    intervened = body.get("amazon-bedrock-guardrailAction") == _INTERVENED
    _converse.guardrail(params, intervened, response)


class _UnreadBody:
    """Stands in for a response body whose read failed: reading it raises that error again."""

    def __init__(self, error: BaseException) -> None:
        self._error = error

    def read(self, *args: Any, **kwargs: Any) -> bytes:
        """Raise the error the first read raised."""
        raise self._error


def take_body(result: dict[str, Any], call: Call) -> tuple[Mapping[str, str], Any] | None:
    """Read InvokeModel's body; the caller gets a fresh ``StreamingBody`` of the same bytes.

    A read that fails fails ``call`` (returns None); the caller's read raises the same error.
    """
    from botocore.response import StreamingBody

    try:
        data = result["body"].read()
    except Exception as exc:
        call.fail(exc)
        result["body"] = _UnreadBody(exc)
        return None
    result["body"] = StreamingBody(io.BytesIO(data), len(data))
    return _converse.dig(result, "ResponseMetadata.HTTPHeaders") or {}, json_object(data)


# -- streams ------------------------------------------------------------------------------


class _TextStreamRecorder(LLMStreamRecorder):
    """A stream of one of the text families' chunks: texts (capture on) and finish reasons."""

    __slots__ = ("reasons", "texts")

    def __init__(self, call: Call) -> None:
        super().__init__(call)
        self.texts: dict[int, list[str]] = {}
        self.reasons: dict[int, Any] = {}

    def process(self, chunk: Any) -> None:
        texts, reasons = read_text(chunk)
        self.reasons.update((i, reason) for i, reason in enumerate(reasons) if reason)
        for i, text in enumerate(texts if self.capture else ()):
            self.texts.setdefault(i, []).append(text or "")

    def read(self, response: Response) -> None:
        texts = {i: "".join(pieces) for i, pieces in self.texts.items()}
        _read_texts(texts, self.reasons, response)


class InvokeStreamRecorder(LLMStreamRecorder):
    """An InvokeModelWithResponseStream: each event's ``chunk.bytes`` is the model's own JSON.

    The first chunk picks who reads them all: the Anthropic recorder (Claude's
    Messages events, read as attribute objects), the Converse one (Nova's), or
    the text families' reader; their chunk timing is the stream's. The
    invocation metrics (or Titan's own counts) give the token counts the
    model's events do not.
    """

    __slots__ = ("inner", "intervened", "usage")

    def __init__(self, call: Call) -> None:
        super().__init__(call)
        self.inner: LLMStreamRecorder | None = None
        self.usage: dict[str, Any] = {}
        self.intervened = False

    def on_chunk(self, chunk: Any) -> None:
        """One ``{"chunk": {"bytes": ...}}`` event; never raises."""
        try:
            raw = chunk["chunk"]["bytes"]
            data = json.loads(raw)
            self.usage.update(data.get("amazon-bedrock-invocationMetrics") or ())
            self.usage.update((k, data[k]) for k in _TITAN_COUNTS if k in data)
            self.intervened |= data.get("amazon-bedrock-guardrailAction") == _INTERVENED
            if self.inner is None:
                converse = _CONVERSE_EVENTS.intersection(data)
                kind = _converse.ConverseStreamRecorder if converse else _TextStreamRecorder
                self.inner = (_messages.MessageStreamRecorder if "type" in data else kind)(
                    self.call
                )
            if isinstance(self.inner, _messages.MessageStreamRecorder):
                data = json.loads(raw, object_hook=lambda fields: SimpleNamespace(**fields))
            self.inner.on_chunk(data)
        except Exception:
            log_internal_error("bedrock invoke stream chunk")

    def read(self, response: Response) -> None:
        inner = self.inner
        if inner is not None:
            inner.read(response)
            self.first_chunk_at, self.last_chunk_at = inner.first_chunk_at, inner.last_chunk_at
            self.chunks = inner.chunks
        if response.input_tokens is None and response.output_tokens is None:
            _converse.read_usage(self.usage, response)
        _converse.guardrail(self.call.params or {}, self.intervened, response)
