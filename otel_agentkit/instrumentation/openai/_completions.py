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
from otel_agentkit.instrumentation._genai import (
    Call,
    LLMStreamRecorder,
    Response,
    get_field,
    index_order,
)
from otel_agentkit.instrumentation.openai._calls import text_input_messages

__all__ = ["CompletionStreamRecorder", "completion_content", "read_completion"]


def completion_content(params: Mapping[str, Any]) -> dict[str, Any]:
    """Request-side content: the prompt(s) as user messages."""
    return {semconv.GEN_AI_INPUT_MESSAGES: text_input_messages(params.get("prompt"))}


def _output_message(text: str, finish_reason: str | None) -> dict[str, Any]:
    return {
        "role": "assistant",
        "parts": [{"type": "text", "content": text}],
        "finish_reason": finish_reason or "",
    }


def read_completion(result: Any, params: Mapping[str, Any], response: Response) -> None:
    """A ``Completion``."""
    response.id = get_field(result, "id")
    response.model = get_field(result, "model")
    choices = get_field(result, "choices") or []
    if choices:
        response.finish_reasons = [get_field(c, "finish_reason") or "" for c in choices]
    if response.capture:
        response.output_messages = [
            _output_message(get_field(c, "text") or "", get_field(c, "finish_reason"))
            for c in choices
        ]
    response.read_tokens(get_field(result, "usage"), "prompt_tokens", "completion_tokens")


class CompletionStreamRecorder(LLMStreamRecorder):
    """Accumulates a completions stream: id, model, finish reason per choice, usage.

    Text is kept only when content capture is on.
    """

    __slots__ = ("finish_reasons", "response_id", "response_model", "texts", "usage")

    def __init__(self, call: Call) -> None:
        super().__init__(call)
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
        capture = self.capture
        for choice in getattr(chunk, "choices", None) or ():
            index = choice.index
            if choice.finish_reason:
                self.finish_reasons[index] = choice.finish_reason
            if capture and choice.text:
                self.texts.setdefault(index, []).append(choice.text)

    def read(self, response: Response) -> None:
        response.id = self.response_id
        response.model = self.response_model
        response.set_indexed_finish_reasons(self.finish_reasons)
        response.read_tokens(self.usage, "prompt_tokens", "completion_tokens")
        if self.capture:
            response.output_messages = [
                _output_message("".join(self.texts.get(i, ())), self.finish_reasons.get(i))
                for i in sorted(set(self.texts) | set(self.finish_reasons), key=index_order)
            ]
