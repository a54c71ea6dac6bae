"""Google Gen AI auto-instrumentation (the ``google-genai`` SDK: Gemini API and Vertex AI).

::

    from otel_agentkit.instrumentation.google_genai import GoogleGenAIInstrumentor

    GoogleGenAIInstrumentor().instrument()

or, with no code change, ``opentelemetry-instrument python app.py`` (entry
point ``agentkit_google_genai``;
``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=agentkit_google_genai`` turns it off).

Traces, sync and async, every request ``client.models.generate_content`` and
``generate_content_stream`` send (and so chats, which call them): the SDK's
automatic function calling and automatic continuation send several per call,
so the per-request methods ``Models._generate_content`` /
``_generate_content_stream`` are wrapped, one span each; and
``models.embed_content`` (one request). Each request gets one CLIENT span
``{operation} {model}``: ``generate_content`` (the conventions' operation for
Gemini's GenerateContent) or ``embeddings``, provider ``gcp.vertex_ai`` for a
Vertex AI client and ``gcp.gemini`` for the Gemini Developer API, with the
GenAI attributes and client metrics.

The official instrumentation (opentelemetry-instrumentation-google-genai)
wraps the public methods, around these: inside its span this one steps
aside, so each request has one span.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, ClassVar

from otel_agentkit import semconv
from otel_agentkit.instrumentation._genai import Call, get_field
from otel_agentkit.instrumentation._llm import API, LLMInstrumentor, Method, streaming
from otel_agentkit.instrumentation.google_genai import _calls

__all__ = ["GoogleGenAIInstrumentor"]

#: Versions of google-genai we support.
_instruments = ("google-genai >= 1.51, < 4",)

GENERATE = API(
    semconv.OP_GENERATE_CONTENT,
    _calls.request_attributes,
    _calls.read_response,
    _calls.generate_content,
    _calls.StreamRecorder,
)
GENERATE_STREAM = streaming(GENERATE)
EMBED = API(
    semconv.OP_EMBEDDINGS,
    _calls.embed_request_attributes,
    _calls.read_embeddings,
    _calls.embed_content,
)

_METHODS: tuple[Method, ...] = tuple(
    Method("google.genai.models", prefix + "Models", method, api, is_async=bool(prefix))
    for prefix in ("", "Async")
    for method, api in (
        ("_generate_content", GENERATE),
        ("_generate_content_stream", GENERATE_STREAM),
        ("embed_content", EMBED),
    )
)


class GoogleGenAIInstrumentor(LLMInstrumentor):
    """Instruments the google-genai SDK (v1.0 up to, not including, v4).

    Takes the keyword arguments every LLM instrumentor takes (see
    :class:`~otel_agentkit.instrumentation._llm.LLMInstrumentor`).
    """

    _instruments = _instruments
    _modules = ("google.genai",)
    _loggers = ("google_genai",)
    _methods = _METHODS
    _in_call: ClassVar[ContextVar[Call | None]] = ContextVar(
        "otel_agentkit_google_genai_call", default=None
    )
    _provider_name = semconv.PROVIDER_GCP_GEMINI
    # The sync stream is a generator: its request is sent at the first next().
    _lazy_streams = True

    def _endpoint_of(self, instance: Any) -> tuple[Any, Any]:
        client = getattr(instance, "_api_client", None)
        options = getattr(client, "_http_options", None)  # a dict in google-genai < 1.2
        return client, get_field(options, "base_url") if options is not None else None

    def _provider_for(self, client: Any, host: str | None, port: int | None) -> str:
        if getattr(client, "vertexai", False):
            return semconv.PROVIDER_GCP_VERTEX_AI
        return semconv.PROVIDER_GCP_GEMINI
