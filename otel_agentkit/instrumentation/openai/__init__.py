"""OpenAI auto-instrumentation (and every OpenAI-compatible server).

::

    from otel_agentkit.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument()

or, with no code change, ``opentelemetry-instrument python app.py`` (entry
point ``agentkit_openai``; ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=agentkit_openai``
turns it off).

Wraps, sync and async: ``chat.completions.create`` / ``.parse`` (and so
``with_raw_response``, ``with_streaming_response`` and ``.stream()``, which go
through them), ``beta.chat.completions.parse`` where it is a class of its own,
``responses.create``, ``embeddings.create`` and the legacy
``completions.create``. Each call gets one CLIENT span ``{operation} {model}``
with the GenAI semantic-convention attributes, and the GenAI client metrics,
recorded in the span's context. ``_helpers`` ends a ``.stream()`` helper's span
when the helper is closed; ``_unbound`` catches calls made through helpers
bound before ``instrument()`` at the client's ``request``.

Next to another instrumentation of openai (the official
opentelemetry-instrumentation-openai-v2, OpenLLMetry's) or a framework's own
LLM spans, each request still gets one span (the shared policy in
``_duplicates``): inside another instrumentation's span ours steps aside; where
the official one wraps the same method inside ours, ours looks through it.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, ClassVar

from otel_agentkit import semconv
from otel_agentkit.instrumentation._base import WrapTarget
from otel_agentkit.instrumentation._genai import Call, LLMSettings
from otel_agentkit.instrumentation._llm import API, LLMInstrumentor, Method, set_provider_name
from otel_agentkit.instrumentation.openai import _calls, _completions, _helpers, _unbound

__all__ = ["OpenAIInstrumentor", "set_provider_name"]

#: Versions of openai we support.
_instruments = ("openai >= 1.40, < 4",)

#: Modules of instrumentations of openai whose wrapper, inside ours, cannot be told to
#: step aside, so ours calls past it: the official one (opentelemetry-instrumentation-
#: openai-v2), and OpenLLMetry's, whose Responses API wrapper makes its span after the
#: call and ignores the suppression key.
_FOREIGN_WRAPPER_MODULES = (
    "opentelemetry.instrumentation.openai_v2",
    "opentelemetry.instrumentation.openai.",
)

CHAT = API(
    semconv.OP_CHAT,
    _calls.chat_request_attributes,
    _calls.read_chat,
    _calls.chat_content,
    _calls.ChatStreamRecorder,
)
RESPONSES = API(
    semconv.OP_CHAT,
    _calls.responses_request_attributes,
    _calls.read_responses,
    _calls.responses_content,
    _calls.ResponsesStreamRecorder,
)
EMBEDDINGS = API(
    semconv.OP_EMBEDDINGS,
    _calls.embeddings_request_attributes,
    _calls.read_embeddings,
    _calls.embeddings_content,
)
#: The legacy Completions API: its request arguments are a subset of chat's.
COMPLETIONS = API(
    semconv.OP_TEXT_COMPLETION,
    _calls.chat_request_attributes,
    _completions.read_completion,
    _completions.completion_content,
    _completions.CompletionStreamRecorder,
)

_METHODS: tuple[Method, ...] = tuple(
    Method(f"openai.resources.{module}", prefix + cls, method, api, is_async=bool(prefix))
    for module, cls, method, api in (
        ("chat.completions", "Completions", "create", CHAT),
        ("chat.completions", "Completions", "parse", CHAT),
        ("responses", "Responses", "create", RESPONSES),
        ("embeddings", "Embeddings", "create", EMBEDDINGS),
        ("completions", "Completions", "create", COMPLETIONS),
        # openai 1.40 up to the version that made beta.chat the chat resource: a class
        # of its own (skipped where the module is gone). Its parse calls
        # chat.completions.create in some versions: the in-call guard keeps one span.
        ("beta.chat.completions", "Completions", "parse", CHAT),
    )
    for prefix in ("", "Async")
)

#: API path -> API, for calls that reach ``request`` without a resource wrapper
#: (helpers bound before ``instrument()``; see _unbound.py).
_PATHS = {
    "/chat/completions": CHAT,
    "/completions": COMPLETIONS,
    "/embeddings": EMBEDDINGS,
    "/responses": RESPONSES,
}


class OpenAIInstrumentor(LLMInstrumentor):
    """Instruments the openai client library (v1.40 up to, not including, v4).

    Takes the keyword arguments every LLM instrumentor takes (see
    :class:`~otel_agentkit.instrumentation._llm.LLMInstrumentor`): providers,
    ``capture_content``, ``provider_name`` (else derived from the client's
    class and base URL: Azure, Groq, Mistral, ...; see also
    :func:`set_provider_name`) and ``prices``.
    """

    _instruments = _instruments
    _modules = ("openai",)
    _methods = _METHODS
    _in_call: ClassVar[ContextVar[Call | None]] = ContextVar(
        "otel_agentkit_openai_call", default=None
    )
    _provider_name = semconv.PROVIDER_OPENAI
    _raw_responses = True
    _look_through = _FOREIGN_WRAPPER_MODULES

    def _provider_for(self, client: Any, host: str | None, port: int | None) -> str:
        return _calls.provider_for(type(client), host, port)

    def _extra_targets(self, settings: LLMSettings) -> list[WrapTarget]:
        return list(_helpers.HELPER_HOOKS)

    def _after_wrap(self, settings: LLMSettings) -> None:
        def wrappers(is_async: bool) -> dict[str, Any]:
            return {
                path: self.wrapper(settings, Method("", None, "request", api, is_async))
                for path, api in _PATHS.items()
            }

        self._requests = _unbound.install_all(wrappers, self._in_call)

    def _after_unwrap(self) -> None:
        for installed in getattr(self, "_requests", []):
            _unbound.uninstall(installed)
        self._requests = []
