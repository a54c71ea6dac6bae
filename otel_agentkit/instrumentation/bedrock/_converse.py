"""How Bedrock's Converse API reads: request attributes, content, responses, event streams.

The mapping of ``Converse`` / ``ConverseStream``, and the request reader of
InvokeModel bodies too (one table of every model family's sampling keys);
Amazon Nova answers ``InvokeModel`` in Converse's shapes, so :mod:`._invoke`
reuses the readers here. Requests and responses are plain dicts. Bedrock
counts cached prompt tokens apart from the input tokens:
``gen_ai.usage.input_tokens`` is their sum, as the conventions count it.
"""

from __future__ import annotations

from collections.abc import Mapping
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
USAGE = {
    "input_tokens": ("inputTokens", "inputTokenCount", "inputTextTokenCount"),
    "output_tokens": ("outputTokens", "outputTokenCount", "totalOutputTextTokenCount"),
    "cache_read_tokens": ("cacheReadInputTokens", "cacheReadInputTokenCount"),
    "cache_creation_tokens": ("cacheWriteInputTokens", "cacheWriteInputTokenCount"),
}
#: The stop reason of a response a guardrail intervened in.
GUARDRAIL_STOP = "guardrail_intervened"


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


def parts(content: Any) -> list[dict[str, Any]]:
    """A message's content (a list of blocks, or one string) as parts."""
    blocks = [content] if isinstance(content, str) else content or ()
    return [part for part in map(_part, blocks) if part is not None]


def content(params: Mapping[str, Any]) -> dict[str, Any]:
    """Request-side content of a Converse call (or of a Converse-shaped request body)."""
    messages = []
    for message in params.get("messages") or ():
        found = parts(message.get("content"))
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
    return request_content(messages, parts(params.get("system")), definitions)


# -- responses ----------------------------------------------------------------------------


def guardrail(params: Mapping[str, Any], intervened: bool, response: Response) -> None:
    """Whether the guardrail the request named intervened (said by ``intervened`` or the stop)."""
    if params.get("guardrailConfig") or params.get("guardrailIdentifier"):
        intervened = intervened or GUARDRAIL_STOP in (response.finish_reasons or ())
        attrs = {semconv.AGENTKIT_BEDROCK_GUARDRAIL_INTERVENED: intervened}
        response.attributes = {**(response.attributes or {}), **attrs}


def read_message(result: Any, params: Mapping[str, Any], response: Response) -> None:
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
            {"role": role, "parts": parts(blocks), "finish_reason": str(stop or "")}
        ]
    response.read_usage(result.get("usage"), USAGE, cached_apart=True)
    guardrail(params, False, response)


# -- streams ------------------------------------------------------------------------------


class ConverseStreamRecorder(LLMStreamRecorder):
    """Accumulates a ConverseStream (or a Nova InvokeModel stream): stop reason, usage, tools.

    A "chunk" for the streaming metrics is a ``contentBlockDelta`` (generated
    output); ``messageStart``, block start/stop and ``metadata`` do not count.
    Kept by block index: each tool call's ``toolUse`` start (id and name) and,
    with content capture on, the deltas' text or tool input; read at the end
    as a Converse response would be.
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
            else:
                blocks.append({"text": text})
        message = {"role": "assistant", "content": blocks}
        read_message(
            {**self.result, "output": {"message": message}}, self.call.params or {}, response
        )
