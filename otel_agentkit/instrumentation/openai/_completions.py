"""The legacy Completions API (``client.completions.create``), streamed and not.

Operation ``text_completion``, span ``text_completion {model}``. The request
arguments that give attributes are the chat ones (max_tokens, temperature,
top_p, stop, seed, penalties, n, stream), so the chat reader is reused. The
response is a ``Completion``: choices carry ``text`` instead of a message.
Content (the prompt as user messages, each choice's text as an assistant
message) is built only when capture is on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otel_agentkit import semconv
from otel_agentkit.instrumentation._base import log_internal_error
from otel_agentkit.instrumentation._genai import (
    LLMStreamRecorder,
    indexed_finish_reasons,
    response_id_and_model,
    token_counts,
)
from otel_agentkit.instrumentation.openai._calls import (
    Call,
    _get,
    text_input_messages,
)

__all__ = ["CompletionStreamRecorder", "completion_content", "finish_completion"]


def completion_content(call: Call, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Request-side content: the prompt(s) as user messages (empty when capture is off)."""
    if not call.capture_enabled:
        return {}
    return {semconv.GEN_AI_INPUT_MESSAGES: text_input_messages(kwargs.get("prompt"))}


def _output_message(text: str, finish_reason: str | None) -> dict[str, Any]:
    return {
        "role": "assistant",
        "parts": [{"type": "text", "content": text}],
        "finish_reason": finish_reason or "",
    }


def finish_completion(response: Any, call: Call, kwargs: Mapping[str, Any]) -> None:
    """End a text_completion span from a ``Completion``."""
    attrs: dict[str, Any] = {}
    content = completion_content(call, kwargs)
    input_tokens = output_tokens = None
    try:
        response_id_and_model(attrs, _get(response, "id"), _get(response, "model"))
        choices = _get(response, "choices") or []
        if choices:
            attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS] = [
                _get(c, "finish_reason") or "" for c in choices
            ]
        if call.capture_enabled:
            content[semconv.GEN_AI_OUTPUT_MESSAGES] = [
                _output_message(_get(c, "text") or "", _get(c, "finish_reason")) for c in choices
            ]
        input_tokens, output_tokens = token_counts(
            _get(response, "usage"), "prompt_tokens", "completion_tokens", attrs
        )
    except Exception:
        log_internal_error("reading a completion")
    call.succeed(attrs, input_tokens, output_tokens, content)


class CompletionStreamRecorder(LLMStreamRecorder):
    """Accumulates a completions stream: id, model, finish reason per choice, usage.

    Text is kept only when content capture is on.
    """

    __slots__ = ("finish_reasons", "response_id", "response_model", "texts", "usage")

    def __init__(self, call: Call, kwargs: Mapping[str, Any]) -> None:
        super().__init__(call, kwargs)
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.finish_reasons: dict[int, str] = {}
        self.texts: dict[int, list[str]] = {}
        self.usage: Any = None

    def process(self, chunk: Any) -> None:
        if self.response_id is None:
            self.response_id = getattr(chunk, "id", None)
            self.response_model = getattr(chunk, "model", None)
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
        capture = self.call.capture_enabled
        for choice in getattr(chunk, "choices", None) or ():
            index = choice.index
            if choice.finish_reason:
                self.finish_reasons[index] = choice.finish_reason
            if capture and choice.text:
                self.texts.setdefault(index, []).append(choice.text)

    def succeeded(self, ended_at: float) -> None:
        call = self.call
        attrs: dict[str, Any] = {}
        content = completion_content(call, self.kwargs)
        input_tokens = output_tokens = None
        try:
            response_id_and_model(attrs, self.response_id, self.response_model)
            indexed_finish_reasons(self.finish_reasons, attrs)
            input_tokens, output_tokens = token_counts(
                self.usage, "prompt_tokens", "completion_tokens", attrs
            )
            if call.capture_enabled:
                content[semconv.GEN_AI_OUTPUT_MESSAGES] = [
                    _output_message("".join(self.texts.get(i, ())), self.finish_reasons.get(i))
                    for i in sorted(set(self.texts) | set(self.finish_reasons))
                ]
        except Exception:
            log_internal_error("reading a completions stream")
        call.succeed(attrs, input_tokens, output_tokens, content, ended_at)
