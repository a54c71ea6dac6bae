"""The one duplicate policy: one LLM span per request, whatever else instruments the process.

Several instrumentations may see the same LLM request: ours, another vendor's
instrumentation of the same client (the official openai-v2, OpenLLMetry's),
a framework's own (pydantic-ai's ``chat`` span around its model requests), and
an agent framework's callbacks (LangChain's ``on_chat_model_start``). The
policy, applied by every provider through the shared skeleton
(:meth:`~._llm.LLMInstrumentor.begin`):

* **another instrumentation got there first**: when the current span is a
  GenAI CLIENT span of a model call (``gen_ai.operation.name`` ``chat``,
  ``text_completion``, ``embeddings`` or ``generate_content``) from another
  instrumentation scope, that span stands for the request: ours starts no
  span and records no metrics (:func:`other_llm_span_current`);
  The same when the context carries OpenLLMetry's "suppress language model
  instrumentation" key (:data:`SUPPRESS_KEYS`), its way of saying that a span
  stands for the request (its LangChain callbacks set it, say);
* **ours got there first**: while our call runs its context carries that
  key, which OpenLLMetry's instrumentations (openai, anthropic, ollama,
  bedrock, ...) honour; so does a call ours stepped aside for, so that an
  instrumentation inside ours steps aside as well. A provider also looks
  through the wrappers of an instrumentation that does not honour it
  (``_look_through``: the official openai-v2 and OpenLLMetry's Responses
  API wrapper), or, when such a wrapper sits outside ours, leaves the span to
  it;
* **an agent framework's LLM run**: a framework integration that sees a model
  call start (and could make an LLM span of its own for a client nobody
  instruments) runs it under :func:`watch_llm_requests`; every request a
  span stands for marks the watch (:func:`note_llm_span`), and the
  integration makes its own span only when nothing did.

``instrument(keep_duplicate_spans=True)`` (or
``AGENTKIT_KEEP_DUPLICATE_LLM_SPANS=true``) keeps both: ours is made too,
nested under the other span, and the others are not asked to step aside.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry.trace import INVALID_SPAN, SpanKind, get_current_span

from otel_agentkit import semconv

__all__ = [
    "KEEP_DUPLICATES_ENV",
    "SUPPRESS_KEYS",
    "LLMRequestWatch",
    "aside_context",
    "keep_duplicates",
    "note_llm_span",
    "other_llm_span_current",
    "spoken_for",
    "suppressing",
    "watch_llm_requests",
]

#: Environment variable that keeps every instrumentation's LLM span (``true``/``false``).
KEEP_DUPLICATES_ENV: Final = "AGENTKIT_KEEP_DUPLICATE_LLM_SPANS"

#: Context keys set while our LLM call runs, so other instrumentations step aside:
#: OpenLLMetry's (``opentelemetry.semconv_ai.SUPPRESS_LANGUAGE_MODEL_INSTRUMENTATION_KEY``).
SUPPRESS_KEYS: Final = (("suppress_language_model_instrumentation", True),)

#: OpenLLMetry's older spans name their request type here rather than the operation.
_LEGACY_REQUEST_TYPE: Final = "llm.request.type"
_LEGACY_REQUEST_TYPES: Final = frozenset({"chat", "completion", "embedding"})

_WATCH_KEY: Final = otel_context.create_key("otel_agentkit.llm_request_watch")


def keep_duplicates(kwargs: Mapping[str, Any]) -> bool:
    """``instrument(keep_duplicate_spans=...)``, else the environment variable (default False)."""
    value = kwargs.get("keep_duplicate_spans")
    if value is None:
        value = os.environ.get(KEEP_DUPLICATES_ENV, "")
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def other_llm_span_current(context: otel_context.Context | None = None) -> bool:
    """Whether the current span is another instrumentation's span of an LLM request.

    That is a CLIENT span, from an instrumentation scope other than ours,
    whose ``gen_ai.operation.name`` is a model call: the request about to be
    made is the one it stands for. ``context``: the current context, when the
    caller has it already (else it is read here).
    """
    span = get_current_span(context)
    if span is INVALID_SPAN:  # no span at all: the common case, answered at once
        return False
    if getattr(span, "kind", None) is not SpanKind.CLIENT:
        return False
    scope = getattr(getattr(span, "instrumentation_scope", None), "name", None)
    if scope == semconv.SCOPE_NAME:
        return False
    attributes = getattr(span, "attributes", None) or {}
    return (
        attributes.get(semconv.GEN_AI_OPERATION_NAME) in semconv.LLM_OPERATIONS
        or attributes.get(_LEGACY_REQUEST_TYPE) in _LEGACY_REQUEST_TYPES
    )


def spoken_for(context: otel_context.Context | None = None) -> bool:
    """Whether a span (not ours) already stands for the LLM request about to be made:
    another instrumentation's LLM span is current, or an instrumentation that has
    one asked the others to step aside (:data:`SUPPRESS_KEYS`).

    ``context``: the current context, when the caller has it already (one read
    of the context for every question a call start asks).
    """
    if context is None:
        context = otel_context.get_current()
    for key, value in SUPPRESS_KEYS:
        if context.get(key) == value:
            return True
    return other_llm_span_current(context)


def suppressing(context: otel_context.Context) -> otel_context.Context:
    """``context`` with :data:`SUPPRESS_KEYS` set."""
    for key, value in SUPPRESS_KEYS:
        context = otel_context.set_value(key, value, context)
    return context


def aside_context() -> otel_context.Context | None:
    """The context to run a call in when another instrumentation's LLM span stands for
    it: the current one with :data:`SUPPRESS_KEYS` set, so instrumentations inside
    ours step aside too; None when no such span is current."""
    if not other_llm_span_current():
        return None
    return suppressing(otel_context.get_current())


class LLMRequestWatch:
    """A framework's model call in progress: whether some span stood for its requests."""

    __slots__ = ("seen",)

    def __init__(self) -> None:
        #: True once a request made under the watch had an LLM span (ours or another's).
        self.seen = False


def watch_llm_requests(
    context: otel_context.Context | None = None,
) -> tuple[otel_context.Context, LLMRequestWatch]:
    """``context`` (default: the current one) with a fresh watch set, and the watch."""
    watch = LLMRequestWatch()
    return otel_context.set_value(_WATCH_KEY, watch, context), watch


def note_llm_span(context: otel_context.Context | None = None) -> None:
    """Tell the watch in the current context (if any) that a span stands for its request.

    ``context``: the current context, when the caller has it already.
    """
    watch = otel_context.get_value(_WATCH_KEY, context)
    if watch is not None:
        watch.seen = True  # type: ignore[attr-defined]
