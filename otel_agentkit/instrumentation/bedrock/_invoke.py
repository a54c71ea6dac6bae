"""How Bedrock's InvokeModel reads: each model family's own request and response bodies.

Anthropic Claude's Messages bodies (and events) are read by the Anthropic
mapping, Amazon Nova's by the Converse one; the other families (Titan, Meta
Llama, Cohere, AI21, Mistral, imported OpenAI-shaped models) differ in key
names only, so one table of key paths reads them. Token counts come from the
headers every InvokeModel response carries (``X-Amzn-Bedrock-Input-Token-Count``
...) or a stream's ``amazon-bedrock-invocationMetrics``, unless the body says more.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from otel_agentkit import semconv
from otel_agentkit.instrumentation._base import log_internal_error
from otel_agentkit.instrumentation._botocore import BODY
from otel_agentkit.instrumentation._genai import Call, LLMStreamRecorder, Response, dig
from otel_agentkit.instrumentation.anthropic import _messages
from otel_agentkit.instrumentation.bedrock import _converse

#: Response header -> the invocation-metrics key for its count (``_converse.USAGE``).
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


def operation(params: Mapping[str, Any]) -> str:
    """``embeddings`` for an embedding model, ``chat`` for messages, else ``text_completion``."""
    if "embed" in str(params.get("modelId")).lower():
        return semconv.OP_EMBEDDINGS
    return semconv.OP_CHAT if "messages" in params[BODY] else semconv.OP_TEXT_COMPLETION


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
    return next(filter(None, (dig(item, path) for path in paths.split())), None)


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
    response.read_usage(counts, _converse.USAGE, cached_apart=True)
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


# -- streams ------------------------------------------------------------------------------


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
                    kind = _converse.ConverseStreamRecorder
                self.inner = self if kind is None else kind(self.call)
            if self.inner is not self:
                if isinstance(self.inner, _messages.MessageStreamRecorder):
                    data = json.loads(raw, object_hook=lambda fields: SimpleNamespace(**fields))
                self.inner.on_chunk(data)
                return
            self.count_output()
            texts, reasons = read_text(data)
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
            response.read_usage(self.usage, _converse.USAGE, cached_apart=True)
        _converse.guardrail(self.call.params or {}, self.intervened, response)
