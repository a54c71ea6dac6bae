"""Anthropic auto-instrumentation (the ``anthropic`` client library, 0.43 to 2.x).

::

    from otel_agentkit.instrumentation.anthropic import AnthropicInstrumentor

    AnthropicInstrumentor().instrument()

or, with no code change, ``opentelemetry-instrument python app.py`` (entry
point ``agentkit_anthropic``; ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=agentkit_anthropic``
turns it off).

Wraps, sync and async: ``messages.create`` (streamed or not), ``messages.parse``,
``messages.stream`` (the ``MessageStreamManager`` helper: the span starts when
the manager is entered, which is when the request is sent; see ``_manager``)
and the same three on ``beta.messages``. Each call gets one CLIENT span
``chat {model}`` with the GenAI semantic-convention attributes, and the GenAI
client metrics, recorded in the span's context.

anthropic 2.x traces its own API calls (an ``anthropic.messages.create``
span, on by default). Inside a call we trace, the SDK's span is replaced by
ours: the SDK then starts no span of its own, but still sends our span's trace
context with the request (unless its ``propagation`` is off). Pass
``keep_sdk_spans=True`` to keep both (the SDK's span nests under ours).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, ClassVar

from opentelemetry.trace import NonRecordingSpan

from otel_agentkit import semconv
from otel_agentkit.instrumentation._base import WrapTarget, log_internal_error
from otel_agentkit.instrumentation._genai import Call, LLMSettings
from otel_agentkit.instrumentation._llm import API, LLMInstrumentor, Method
from otel_agentkit.instrumentation.anthropic import _messages
from otel_agentkit.instrumentation.anthropic._manager import manager_wrapper

__all__ = ["AnthropicInstrumentor"]

#: Versions of anthropic we support.
_instruments = ("anthropic >= 0.43, < 3",)

MESSAGES = API(
    semconv.OP_CHAT,
    _messages.request_attributes,
    _messages.read_message,
    _messages.message_content,
    _messages.MessageStreamRecorder,
)

_METHODS: tuple[Method, ...] = tuple(
    Method(module, prefix + "Messages", method, MESSAGES, bool(prefix), wrapper)
    for module in ("anthropic.resources.messages", "anthropic.resources.beta.messages")
    for prefix in ("", "Async")
    for method, wrapper in (("create", None), ("parse", None), ("stream", manager_wrapper))
)

#: Where anthropic 2.x starts the span of its own tracing, per API call.
_SDK_SPAN_HOOK = ("anthropic._base_client", None, "start_api_call_span")

#: Client class names (anthropic 1.x has no ``_gen_ai_provider_name``) -> provider.
_PROVIDER_BY_CLIENT = (
    ("Bedrock", semconv.PROVIDER_AWS_BEDROCK),
    ("Vertex", semconv.PROVIDER_GCP_VERTEX_AI),
)


class AnthropicInstrumentor(LLMInstrumentor):
    """Instruments the anthropic client library (v0.43 up to, not including, v3).

    Takes the keyword arguments every LLM instrumentor takes (see
    :class:`~otel_agentkit.instrumentation._llm.LLMInstrumentor`; the default
    provider name is ``anthropic``, or ``aws.bedrock`` / ``gcp.vertex_ai`` for
    those clients), and ``keep_sdk_spans``: anthropic 2.x's own span per API
    call is replaced by ours inside the calls we trace (default); ``True``
    keeps it, nested under ours.
    """

    _instruments = _instruments
    _modules = ("anthropic",)
    _methods = _METHODS
    _in_call: ClassVar[ContextVar[Call | None]] = ContextVar(
        "otel_agentkit_anthropic_call", default=None
    )
    _provider_name = semconv.PROVIDER_ANTHROPIC
    _raw_responses = True

    def _provider_for(self, client: Any, host: str | None, port: int | None) -> str:
        client_type = type(client)
        named = getattr(client_type, "_gen_ai_provider_name", None)
        if isinstance(named, str) and named:
            return named
        for marker, provider in _PROVIDER_BY_CLIENT:
            if marker in client_type.__name__:
                return provider
        return self._provider_name

    def _client_attributes(self, client: Any) -> dict[str, Any]:
        # anthropic 2.x clients may carry a conversation id for their own spans
        # (``open_telemetry={"conversation_id": ...}``): ours, which stand in for them, keep it.
        conversation = getattr(getattr(client, "_otel", None), "conversation_id", None)
        if isinstance(conversation, str) and conversation:
            return {semconv.GEN_AI_CONVERSATION_ID: conversation}
        return {}

    def _extra_targets(self, settings: LLMSettings) -> list[WrapTarget]:
        if settings.options.get("keep_sdk_spans"):
            return []
        module, owner, function = _SDK_SPAN_HOOK
        return [(module, owner, function, self._sdk_span_hook)]

    def _sdk_span_hook(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        """Stand our span in for the anthropic SDK's own span, inside calls we trace.

        The SDK gets a non-recording span with our span's context: it records
        nothing, starts nothing, and propagates our trace context on the request.
        """
        call = self._in_call.get()
        if call is None:
            return wrapped(*args, **kwargs)
        try:
            return NonRecordingSpan(call.span.get_span_context())
        except Exception:
            log_internal_error("anthropic sdk span hook")
            return wrapped(*args, **kwargs)
